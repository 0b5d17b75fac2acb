"""Scans with impossible dates: set aside from the diagnosis, named in its evidence, kept."""

from __future__ import annotations

import pandas as pd
import pytest

from toolkit.diagnosis.diagnose import diagnose, diagnose_all, diagnose_each, set_aside
from toolkit.policy import (
    PRE_ADVICE_BEFORE_SHIPPED_DAYS,
    SCAN_AFTER_NOW_DAYS,
    SCAN_BEFORE_SHIPPED_DAYS,
)
from toolkit.tracking.normalize import normalize

NOW = pd.Timestamp("2026-11-20 04:00", tz="UTC")
SHIPPED = pd.Timestamp("2026-10-31 08:00", tz="UTC")


def scans(parcel_id: str, rows: list[tuple[str, str]]) -> pd.DataFrame:
    return normalize(
        [
            {
                "parcel_id": parcel_id,
                "tracking_number": "RR205774935DE",
                "carrier": "deutschepost",
                "time_utc": t,
                "description": text,
            }
            for t, text in rows
        ]
    )


def parcel(parcel_id: str, shipped=SHIPPED) -> dict:
    return {"parcel_id": parcel_id, "international_number": "RR205774935DE", "shipped_at": shipped}


MOVING = [
    ("2026-11-01T10:00Z", "Accepted at origin post office"),
    ("2026-11-03T10:00Z", "Departed from origin country"),
]


def test_a_scan_dated_2099_does_not_make_the_parcel_delivered_in_2100():
    events = scans("P1", [*MOVING, ("2099-12-31T20:00Z", "Delivered")])
    d = diagnose(events, now=NOW, parcel=parcel("P1"))
    assert d.category != "delivered"
    assert not any("delivered on 2100" in t for t in d.evidence_text)
    assert d.last_scan_utc == pd.Timestamp("2026-11-03 10:00", tz="UTC")
    assert d.days_since_last_scan == pytest.approx(16.75)
    why = [t for t in d.evidence_text if "set aside" in t]
    assert len(why) == 1
    assert "delivery dated 2100-01-01" in why[0] and "after now (2026-11-20)" in why[0]
    assert f"{SCAN_AFTER_NOW_DAYS:g}-day allowance" in why[0]
    assert any("2100-01-01" in t and "未计入诊断" in t for t in d.evidence_text_zh)
    assert list(d.set_aside["milestone"]) == ["delivered"]
    assert "after now" in d.set_aside["reason"].iloc[0]
    assert "delivered" not in set(d.evidence["milestone"])
    assert "2100" not in d.buyer_message("en") and "2100" not in d.explanation
    # nothing is lost: the events table still holds the scan
    assert len(events) == 3 and (events["time_utc"].dt.year == 2099).sum() == 1
    assert d.to_dict()["set_aside"][0]["reason"] == d.set_aside["reason"].iloc[0]


def test_a_scan_dated_1970_is_not_reported_as_silent_for_twenty_thousand_days():
    events = scans("P2", [("1970-01-01T00:00Z", "Arrived at destination country")])
    d = diagnose(events, now=NOW, parcel=parcel("P2"))
    text = " ".join(d.evidence_text + d.evidence_text_zh + [d.explanation])
    assert "20777" not in text.replace(",", "") and "20,777" not in text
    assert d.days_since_last_scan is None and d.last_scan_utc is None
    assert d.category == "number_not_found"
    assert "no scans with a possible date under number RR205774935DE" in d.evidence_text[0]
    assert "1 scan set aside (not counted)" in d.evidence_text[1]
    assert "dated 1970-01-01, before 2000" in d.evidence_text[1]


def test_a_1970_scan_beside_real_ones_leaves_the_real_last_scan():
    events = scans("P3", [("1970-01-01T00:00Z", "Departed from origin country"), *MOVING])
    d = diagnose(events, now=NOW)  # no parcel record: no ship date, the floor still holds
    assert d.last_scan_utc == pd.Timestamp("2026-11-03 10:00", tz="UTC")
    assert len(d.set_aside) == 1 and "before 2000" in d.set_aside["reason"].iloc[0]


def test_a_time_zone_slip_after_now_is_allowed():
    events = scans("P4", [*MOVING, ("2026-11-20T20:00Z", "Departed from origin country")])
    d = diagnose(events, now=NOW, parcel=parcel("P4"))
    assert d.set_aside.empty
    assert d.last_scan_utc == pd.Timestamp("2026-11-20 20:00", tz="UTC")


def test_scans_long_before_shipping_are_set_aside_but_a_label_made_ahead_is_not():
    early = SHIPPED - pd.Timedelta(days=SCAN_BEFORE_SHIPPED_DAYS + 3)
    slip = SHIPPED - pd.Timedelta(days=2)
    label = SHIPPED - pd.Timedelta(days=SCAN_BEFORE_SHIPPED_DAYS + 3)
    old_label = SHIPPED - pd.Timedelta(days=PRE_ADVICE_BEFORE_SHIPPED_DAYS + 5)
    events = scans(
        "P5",
        [
            (old_label.isoformat(), "Shipping label created, awaiting item"),
            (label.isoformat(), "Shipping label created, awaiting item"),
            (early.isoformat(), "Delivered"),
            (slip.isoformat(), "Accepted at origin post office"),
            *MOVING,
        ],
    )
    assert set(events["milestone"]) >= {"info_received", "delivered", "accepted"}
    d = diagnose(events, now=NOW, parcel=parcel("P5"))
    assert d.category != "delivered"
    kept = set(pd.to_datetime(d.set_aside["time_utc"]))
    assert kept == {old_label.floor("s"), early.floor("s")}
    reasons = " ".join(d.set_aside["reason"])
    assert "before the parcel was shipped on 2026-10-31" in reasons
    assert f"more than {PRE_ADVICE_BEFORE_SHIPPED_DAYS:g} days" in reasons
    assert f"more than {SCAN_BEFORE_SHIPPED_DAYS:g} days" in reasons
    # without the ship date the same scans are one trace (a month apart at most)
    assert diagnose(events, now=NOW).category == "delivered"


def test_without_a_ship_date_an_older_parcels_scans_are_set_aside():
    events = scans("P6", [("2024-05-02T10:00Z", "Delivered"), *MOVING])
    d = diagnose(events, now=NOW)
    assert d.category != "delivered"
    assert "an older parcel under the same number" in d.set_aside["reason"].iloc[0]


def test_an_impossible_ship_date_is_not_used_as_a_bound():
    events = scans("P7", MOVING)
    d = diagnose(events, now=NOW, parcel=parcel("P7", pd.Timestamp("2099-01-01", tz="UTC")))
    assert d.set_aside.empty and d.last_scan_utc is not None


def test_diagnose_and_diagnose_all_agree_on_set_aside_scans():
    cases = {
        "P1": [*MOVING, ("2099-12-31T20:00Z", "Delivered")],
        "P2": [("1970-01-01T00:00Z", "Arrived at destination country")],
        "P3": [("1970-01-01T00:00Z", "Departed from origin country"), *MOVING],
        "P5": [("2026-10-01T10:00Z", "Delivered"), *MOVING],
        "P6": [("2024-05-02T10:00Z", "Delivered"), *MOVING],
        "P8": MOVING,
    }
    events = pd.concat([scans(p, rows) for p, rows in cases.items()], ignore_index=True)
    shipped = {"P1": SHIPPED, "P2": SHIPPED, "P3": None, "P5": SHIPPED, "P6": None, "P8": None}
    parcels = pd.DataFrame([parcel(p, shipped[p]) for p in cases])
    parcels["shipped_at"] = pd.to_datetime(parcels["shipped_at"], utc=True)
    table = diagnose_all(events, parcels, now=NOW).set_index("parcel_id")
    each = {d.parcel_id: d for d in diagnose_each(events, parcels, now=NOW)}
    aside = set_aside(events, parcels, now=NOW)
    for rec in parcels.to_dict("records"):
        pid = rec["parcel_id"]
        one = diagnose(events, now=NOW, parcel=rec)
        row = table.loc[pid]
        for d in (one, each[pid]):
            assert str(row["category"]) == d.category, pid
            assert row["scans_set_aside"] == len(d.set_aside), pid
            assert row["evidence"] == "; ".join(d.evidence_text[: 2 if len(d.set_aside) else 1])
            if d.last_scan_utc is None:
                assert pd.isna(row["last_scan_utc"])
            else:
                assert row["last_scan_utc"] == d.last_scan_utc
        mine = aside[aside["parcel_id"] == pid]
        assert list(mine["reason"]) == list(one.set_aside["reason"]), pid
    assert table.loc["P8", "scans_set_aside"] == 0
    assert not table["evidence"].str.contains("delivered on 2100|20777|20,777").any()
    assert (table["days_since_last_scan"].dropna() < 365).all()


def test_a_set_aside_scan_sharing_an_index_label_with_a_real_one_leaves_the_real_one():
    real = scans("P9", [("2026-11-03T10:00Z", "Departed from origin country")])
    placeholder = scans("P9", [("1970-01-01T00:00Z", "Departed from origin country")])
    events = pd.concat([real, placeholder])  # both rows are labelled 0
    d = diagnose(events, now=NOW)
    assert len(d.set_aside) == 1
    assert list(d.evidence["time_utc"]) == [pd.Timestamp("2026-11-03 10:00", tz="UTC")]
