"""The partner scorecard counts gone-dark parcels, times arrival to first domestic scan, and rates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.diagnosis.scorecard import (
    BLANK,
    GONE_DARK,
    journey_times,
    lane_labels,
    parcel_facts,
    scorecard,
    style_scorecard,
)
from toolkit.errors import InputError, SchemaError
from toolkit.model import CATEGORIES, EVENT_DTYPES, PARCEL_DTYPES

T0 = pd.Timestamp("2026-11-01T00:00:00Z")
NOW = pd.Timestamp("2026-11-30T00:00:00Z")


def events_table(rows: list[tuple]) -> pd.DataFrame:
    """Contract events from (parcel_id, days after T0, milestone, leg, carrier) tuples."""
    df = pd.DataFrame(rows, columns=["parcel_id", "days", "milestone", "leg", "carrier"])
    df["time_utc"] = T0 + pd.to_timedelta(df["days"].astype(float), unit="D")
    df["tracking_number"] = "N-" + df["parcel_id"].astype(str)
    df["time_local"] = df["time_utc"].astype(str)
    df["tz_assumed"] = False
    df["location"] = ""
    df["description"] = "scan"
    df["raw_status"] = ""
    df["source"] = "test"
    out = df[list(EVENT_DTYPES)].astype({k: v for k, v in EVENT_DTYPES.items() if k != "time_utc"})
    out["time_utc"] = pd.to_datetime(out["time_utc"], utc=True)
    return out


def parcels_table(rows: list[tuple]) -> pd.DataFrame:
    """Parcels from (parcel_id, carrier, origin, province, shipped days after T0 or None) tuples."""
    df = pd.DataFrame(
        rows,
        columns=[
            "parcel_id",
            "international_carrier",
            "origin_country",
            "destination_province",
            "d",
        ],
    )
    df["international_number"] = "N-" + df["parcel_id"]
    df["shipped_at"] = T0 + pd.to_timedelta(df["d"].astype(float), unit="D")
    for col, dtype in PARCEL_DTYPES.items():
        if col not in df.columns:
            df[col] = pd.NA
        if col != "shipped_at":
            df[col] = df[col].astype(dtype)
    df["shipped_at"] = pd.to_datetime(df["shipped_at"], utc=True)
    return df[list(PARCEL_DTYPES)]


def diagnoses_table(categories: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({"parcel_id": list(categories), "category": list(categories.values())})


INTL, DOM = "international", "domestic"


@pytest.fixture
def small():
    """Two carriers, one lane each; the expected numbers are worked out in the test below."""
    events = events_table(
        [
            # A1: arrives day 5, first domestic scan day 6 (1 day), delivered day 10: on time
            ("A1", 1, "accepted", INTL, "usps"),
            ("A1", 5, "arrived_destination", INTL, "usps"),
            ("A1", 6, "accepted", DOM, "zto"),
            ("A1", 10, "delivered", DOM, "zto"),
            # A2: only a clearance scan marks arrival (day 5); domestic day 8 (3 days); late
            ("A2", 5, "customs_clearance", INTL, "usps"),
            ("A2", 8, "domestic_in_transit", DOM, "sf"),
            ("A2", 22, "delivered", DOM, "sf"),
            # A3: arrived day 5, nothing since: gone dark, promise passed
            ("A3", 5, "arrived_destination", INTL, "usps"),
            # B1: shipped day 24, arrives day 25, domestic day 27 (2 days); promise not due yet
            ("B1", 25, "arrived_destination", INTL, "dhl"),
            ("B1", 27, "domestic_in_transit", DOM, "yto"),
            # B2: held at arrival day 3, domestic day 7 (4 days), then silence
            ("B2", 3, "customs_hold", INTL, "dhl"),
            ("B2", 7, "domestic_in_transit", DOM, "yto"),
        ]
    )
    parcels = parcels_table(
        [
            ("A1", "usps", "US", "广东省", 0),
            ("A2", "usps", "US", "广东省", 0),
            ("A3", "usps", "US", "广东省", 0),
            ("A4", "usps", "US", "广东省", 0),
            ("B1", "dhl", "DE", "上海市", 24),
            ("B2", "dhl", "DE", "上海市", 0),
            ("B3", "dhl", "DE", "上海市", None),
        ]
    )
    diagnoses = diagnoses_table(
        {
            "A1": "delivered",
            "A2": "delivered",
            "A3": "handover_not_synced",
            "A4": "number_invalid",
            "B1": "moving",
            "B2": "silent_too_long",
            "B3": "number_not_found",
        }
    )
    return events, parcels, diagnoses


def test_scorecard_numbers_on_a_hand_made_table(small):
    events, parcels, diagnoses = small
    table = scorecard(events, parcels, diagnoses, now=NOW, by="international_carrier")
    assert table["international_carrier"].tolist() == ["dhl", "usps"]  # worst gone-dark rate first
    row = table.set_index("international_carrier")
    usps, dhl = row.loc["usps"], row.loc["dhl"]
    assert usps["parcels"] == 4 and dhl["parcels"] == 3
    assert usps["gone_dark_rate"] == pytest.approx(1 / 4)
    assert dhl["gone_dark_rate"] == pytest.approx(1 / 3)
    # usps arrival -> first domestic scan: 1 and 3 days; dhl: 2 and 4 days
    assert usps["arrival_to_domestic_n"] == 2
    assert usps["arrival_to_domestic_median_days"] == pytest.approx(2.0)
    assert usps["arrival_to_domestic_p90_days"] == pytest.approx(2.8)
    assert dhl["arrival_to_domestic_median_days"] == pytest.approx(3.0)
    assert dhl["arrival_to_domestic_p90_days"] == pytest.approx(3.8)
    assert usps["number_problem_rate"] == pytest.approx(1 / 4)
    assert dhl["number_problem_rate"] == pytest.approx(1 / 3)
    # usps: all four decided (two delivered, two past the 20-day promise), one on time
    assert usps["on_time_decided"] == 4 and usps["on_time_rate"] == pytest.approx(0.25)
    # dhl: B1 not due yet, B3 has no shipping time and no scan to count from; B2 late
    assert dhl["on_time_decided"] == 1 and dhl["on_time_rate"] == 0.0


def test_scorecard_by_lane_and_overall(small):
    events, parcels, diagnoses = small
    by_lane = scorecard(events, parcels, diagnoses, now=NOW, by="lane")
    assert set(by_lane["lane"]) == {"US → 广东省", "DE → 上海市"}
    overall = scorecard(events, parcels, diagnoses, now=NOW, by=())
    assert len(overall) == 1 and overall["parcels"].iloc[0] == 7
    assert overall["gone_dark"].iloc[0] == 2
    # four measured durations: 1, 3, 2 and 4 days
    assert overall["arrival_to_domestic_median_days"].iloc[0] == pytest.approx(2.5)
    assert overall["arrival_to_domestic_p90_days"].iloc[0] == pytest.approx(3.7)


def test_promised_days_default_comes_from_the_policy(small):
    events, parcels, diagnoses = small
    base = scorecard(events, parcels, diagnoses, now=NOW, by="international_carrier")
    generous = scorecard(
        events, parcels, diagnoses, now=NOW, by="international_carrier", promised_days=25
    )
    # A2 took 22 days: late against the policy's 20, on time against 25
    assert base.set_index("international_carrier").loc["usps", "on_time"] == 1
    assert generous.set_index("international_carrier").loc["usps", "on_time"] == 2
    with pytest.raises(InputError, match="promised_days"):
        scorecard(events, parcels, diagnoses, now=NOW, promised_days=-1)


def test_blank_lane_fields_form_their_own_group(small):
    events, parcels, diagnoses = small
    parcels.loc[parcels["parcel_id"] == "B3", "destination_province"] = pd.NA
    table = scorecard(events, parcels, diagnoses, now=NOW)
    assert table["parcels"].sum() == len(parcels)
    assert BLANK in set(table["destination_province"])


def test_parcel_without_a_diagnosis_is_named(small):
    events, parcels, diagnoses = small
    with pytest.raises(SchemaError, match="'B2'"):
        scorecard(events, parcels, diagnoses[diagnoses["parcel_id"] != "B2"], now=NOW)


def test_missing_lane_column_is_reported(small):
    events, parcels, diagnoses = small
    with pytest.raises(SchemaError, match="origin_country"):
        scorecard(events, parcels.drop(columns="origin_country"), diagnoses, now=NOW)


def test_scorecard_diagnoses_the_parcels_when_not_given(small):
    events, parcels, _ = small
    from toolkit.diagnosis.diagnose import diagnose_all

    own = scorecard(events, parcels, now=NOW)
    given_ = scorecard(events, parcels, diagnose_all(events, parcels, NOW), now=NOW)
    pd.testing.assert_frame_equal(own, given_)


def test_journey_times_and_facts(small):
    events, parcels, diagnoses = small
    points = journey_times(events)
    # A domestic-leg "accepted" scan is the first domestic scan
    assert points.loc["A1", "first_domestic"] == T0 + pd.Timedelta(days=6)
    assert pd.isna(points.loc["A2", "arrival"])
    assert points.loc["A2", "clearance_start"] == T0 + pd.Timedelta(days=5)
    facts = parcel_facts(events, parcels, diagnoses, now=NOW).set_index("parcel_id")
    assert facts.loc["A3", "gone_dark"] and not facts.loc["A1", "gone_dark"]
    assert pd.isna(facts.loc["B1", "on_time"]) and facts.loc["A1", "on_time"]


def test_lane_labels_and_styled_table(small):
    events, parcels, diagnoses = small
    assert lane_labels(parcels).iloc[0] == "US → 广东省"
    html = style_scorecard(scorecard(events, parcels, diagnoses, now=NOW)).to_html()
    assert "25.0%" in html and "33.3%" in html


def test_naive_now_is_refused(small):
    events, parcels, diagnoses = small
    with pytest.raises(InputError, match="time zone"):
        scorecard(events, parcels, diagnoses, now=pd.Timestamp("2026-11-30"))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(CATEGORIES),
            st.floats(min_value=0.01, max_value=30, allow_nan=False),
            st.booleans(),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_rates_and_quantiles_match_direct_computation(parcels_spec):
    """Gone-dark rate is the GONE_DARK share; median and p90 are numpy's linear percentiles."""
    rows, cats, durations = [], {}, []
    for i, (cat, days, scanned) in enumerate(parcels_spec):
        pid = f"P{i}"
        cats[pid] = cat
        if scanned:
            rows += [
                (pid, 1, "arrived_destination", INTL, "usps"),
                (pid, 1 + days, "accepted", DOM, "sf"),
            ]
            durations.append(days)
    parcels = parcels_table([(pid, "usps", "US", "北京市", 0) for pid in cats])
    events = events_table(rows) if rows else events_table([("Z", 0, "accepted", INTL, "usps")])
    table = scorecard(events, parcels, diagnoses_table(cats), now=NOW, by=())
    dark = sum(c in GONE_DARK for c in cats.values())
    assert table["gone_dark_rate"].iloc[0] == pytest.approx(dark / len(cats))
    assert table["arrival_to_domestic_n"].iloc[0] == len(durations)
    if durations:
        median, p90 = np.percentile(durations, [50, 90])
        assert table["arrival_to_domestic_median_days"].iloc[0] == pytest.approx(median, rel=1e-6)
        assert table["arrival_to_domestic_p90_days"].iloc[0] == pytest.approx(p90, rel=1e-6)
    else:
        assert np.isnan(table["arrival_to_domestic_median_days"].iloc[0])


def test_unreadable_scans_are_counted_of_the_international_carriers_own_scans(small):
    events, parcels, diagnoses = small
    extra = events_table(
        [
            ("A1", 2, "unknown", INTL, "usps"),  # USPS wrote something nobody can read
            ("A2", 6, "unknown", INTL, "usps"),  # ... and once with no text at all
            ("A1", 7, "unknown", DOM, "zto"),  # the domestic carrier's: not USPS's doing
            ("B1", 26, "unknown", INTL, "dhl"),
        ]
    )
    extra["description"] = ["Qzx 42", "", "派件中心 Qzx", "Forward destination (DD's expected)"]
    events = pd.concat([events, extra], ignore_index=True)
    table = scorecard(events, parcels, diagnoses, now=NOW, by="international_carrier")
    row = table.set_index("international_carrier")
    # USPS wrote 6 scans (A1: 3, A2: 2, A3: 1), one unreadable; DHL 3 (B1: 2, B2: 1), one
    assert (row.loc["usps", "carrier_scans"], row.loc["usps", "unread_scans"]) == (6, 1)
    assert row.loc["usps", "unread_rate"] == pytest.approx(1 / 6)
    assert (row.loc["dhl", "carrier_scans"], row.loc["dhl", "unread_scans"]) == (3, 1)
    overall = scorecard(events, parcels, diagnoses, now=NOW, by=())
    assert overall["unread_scans"].iloc[0] == 2 and overall["carrier_scans"].iloc[0] == 9
    html = style_scorecard(table).to_html()
    assert "unreadable scans %" in html and "16.7%" in html
