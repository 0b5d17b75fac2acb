"""Group triage filters and summaries agree with plain pandas on the same table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.diagnosis.diagnose import diagnose_all
from toolkit.diagnosis.scorecard import GONE_DARK
from toolkit.diagnosis.triage import UNKNOWN, Triage, TriageFilter, triage_table
from toolkit.errors import InputError, MissingColumnsError
from toolkit.model import CATEGORIES
from toolkit.world import demo


@pytest.fixture(scope="module")
def demo_triage():
    parcels, events = demo.load_demo()
    now = pd.Timestamp(parcels["as_of"].iloc[0])
    table = triage_table(diagnose_all(events, parcels, now=now), parcels, now)
    return Triage(table), parcels, now


def small_table() -> pd.DataFrame:
    now = pd.Timestamp("2026-11-20 00:00", tz="UTC")
    diag = pd.DataFrame(
        {
            "parcel_id": ["a", "b", "c", "d", "e"],
            "category": [
                "delivered",
                "handover_not_synced",
                "silent_too_long",
                "number_not_found",
                "handover_not_synced",
            ],
            "last_scan_utc": pd.to_datetime(
                [
                    "2026-11-19 12:00",
                    "2026-11-10 00:00",
                    "2026-10-01 00:00",
                    None,
                    "2026-11-15 00:00",
                ],
                utc=True,
            ),
        }
    )
    parcels = pd.DataFrame(
        {
            "parcel_id": ["a", "b", "c", "d", "e"],
            "international_number": ["N1", "N2", "N3", "N4", "N5"],
            "international_carrier": ["usps", "usps", "ups", None, "ups"],
            "origin_country": ["US", "US", "US", "GB", "US"],
            "destination_province": ["广东省", "广东省", "上海市", "广东省", ""],
            "shipped_at": pd.to_datetime(
                ["2026-11-01", "2026-11-01", "2026-09-20", None, "2026-11-01"], utc=True
            ),
        }
    )
    return triage_table(diag, parcels, now)


def test_table_fills_blanks_and_counts_days_from_the_last_scan():
    t = small_table()
    assert t["carrier"].tolist() == ["usps", "usps", "ups", UNKNOWN, "ups"]
    assert t["lane"].tolist()[0] == "US → 广东省"
    assert t["lane"].tolist()[4] == f"US → {UNKNOWN}"
    # 12 hours, 10 days, 50 days; d has neither a scan nor a shipping time.
    assert t["days_silent"].tolist()[:3] == [0, 10, 50]
    assert t["days_known"].tolist() == [True, True, True, False, True]


def test_filters_combine_and_undated_parcels_only_hide_when_the_range_narrows():
    tr = Triage(small_table())
    assert tr.mask(TriageFilter()).all()
    m = tr.mask(TriageFilter(carriers=("ups",), categories=("handover_not_synced",)))
    assert tr.table.loc[m, "parcel_id"].tolist() == ["e"]
    full = tr.mask(TriageFilter(days=(0, tr.max_days)))
    assert full.all()  # d is undated yet kept while the range is the full range
    narrow = tr.mask(TriageFilter(days=(6, 20)))
    assert tr.table.loc[narrow, "parcel_id"].tolist() == ["b"]
    assert tr.mask(TriageFilter(carriers=(UNKNOWN,))).sum() == 1
    assert not tr.mask(TriageFilter(carriers=("no-such-carrier",))).any()


def test_summaries_match_hand_counts():
    tr = Triage(small_table())
    everything = tr.mask(TriageFilter())
    counts = tr.category_counts(everything).set_index("category")["parcels"].to_dict()
    assert counts == {
        "handover_not_synced": 2,
        "delivered": 1,
        "silent_too_long": 1,
        "number_not_found": 1,
    }
    ageing = tr.ageing(everything)
    # delivered and the undated parcel are not in the ageing chart
    assert set(zip(ageing["category"], ageing["days"], ageing["parcels"], strict=True)) == {
        ("handover_not_synced", 10, 1),
        ("handover_not_synced", 5, 1),
        ("silent_too_long", 50, 1),
    }
    dark = tr.gone_dark(everything).set_index(["carrier", "lane"])
    assert dark.loc[("usps", "US → 广东省"), ["parcels", "gone_dark"]].tolist() == [2, 1]
    assert dark.loc[("ups", "US → 上海市"), "rate"] == 1.0
    assert tr.ids(everything, limit=2) == ["c", "b"]  # longest silent first


def test_bad_filters_and_tables_are_toolkit_errors():
    tr = Triage(small_table())
    with pytest.raises(InputError, match="unknown category 'stuck'"):
        tr.mask(TriageFilter(categories=("stuck",)))
    with pytest.raises(InputError, match="day range"):
        tr.mask(TriageFilter(days=(9, 3)))
    with pytest.raises(MissingColumnsError, match="category"):
        triage_table(pd.DataFrame({"parcel_id": ["a"]}), pd.DataFrame({"parcel_id": ["a"]}), None)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_any_filter_agrees_with_pandas(demo_triage, data):
    tr, _, _ = demo_triage
    t = tr.table

    def some(column: str) -> tuple[str, ...]:
        values = sorted(t[column].astype(str).unique())
        return tuple(data.draw(st.lists(st.sampled_from(values), max_size=3, unique=True)))

    with_delivered = data.draw(st.booleans())
    top = tr.max_days_of(with_delivered)
    lo = data.draw(st.integers(0, top))
    hi = data.draw(st.integers(lo, top))
    flt = TriageFilter(
        carriers=tuple(
            data.draw(st.lists(st.sampled_from([v for v, _ in tr.options("carrier")]), max_size=3))
        ),
        lanes=some("lane"),
        provinces=some("destination_province"),
        categories=some("category"),
        days=(lo, hi),
        include_delivered=with_delivered,
    )
    expected = pd.Series(True, index=t.index)
    if flt.carriers:  # either leg
        expected &= t["carrier"].isin(flt.carriers) | t["domestic_carrier"].isin(flt.carriers)
    for column, chosen in (
        ("lane", flt.lanes),
        ("destination_province", flt.provinces),
        ("category", flt.categories),
    ):
        if chosen:
            expected &= t[column].astype(str).isin(chosen)
    if not (lo == 0 and hi == top):  # a narrowed range: delivered parcels only when asked for
        judged = t["days_known"] & (with_delivered | (t["category"] != "delivered"))
        expected &= judged & t["days_silent"].between(lo, hi)
    mask = tr.mask(flt)
    assert np.array_equal(mask, expected.to_numpy(bool))
    counts = tr.category_counts(mask).set_index("category")["parcels"]
    assert counts.to_dict() == t.loc[mask, "category"].astype(str).value_counts().to_dict()
    stuck = t[mask & (t["category"] != "delivered") & t["days_known"]]
    ageing = tr.ageing(mask)
    assert ageing["parcels"].sum() == len(stuck)
    dark = tr.gone_dark(mask)
    assert dark["parcels"].sum() == mask.sum()
    assert dark["gone_dark"].sum() == t.loc[mask, "category"].astype(str).isin(GONE_DARK).sum()


def test_every_category_of_the_demo_set_is_a_filter_option(demo_triage):
    tr, parcels, _ = demo_triage
    options = dict(tr.options("category"))
    assert set(options) <= set(CATEGORIES)
    assert sum(options.values()) == len(parcels)


# ------------------------------------------------------------------ silence and carriers


def legs_table() -> pd.DataFrame:
    """Delivered long ago (the longest "silence"), stuck, never scanned, and two carriers."""
    now = pd.Timestamp("2026-11-20 00:00", tz="UTC")
    diag = pd.DataFrame(
        {
            "parcel_id": ["old", "stuck", "short", "noscan", "sf_scan"],
            "category": [
                "delivered",
                "silent_too_long",
                "handover_not_synced",
                "number_not_found",
                "moving",
            ],
            "last_scan_utc": pd.to_datetime(
                ["2026-09-21", "2026-10-21", "2026-11-10", None, "2026-11-19"], utc=True
            ),
        }
    )
    parcels = pd.DataFrame(
        {
            "parcel_id": ["old", "stuck", "short", "noscan", "sf_scan"],
            "international_number": ["N1", "N2", "N3", "N4", "N5"],
            "international_carrier": ["usps", "USPS", "ems", "usps", "usps"],
            "domestic_carrier": [" SF ", None, "ems", None, None],
            "origin_country": ["US"] * 5,
            "destination_province": ["广东省"] * 5,
            "shipped_at": pd.to_datetime(
                ["2026-09-01", "2026-10-01", "2026-11-01", "2026-08-01", "2026-11-01"], utc=True
            ),
        }
    )
    # the domestic carrier of sf_scan is known only from its scans
    events = pd.DataFrame(
        {
            "parcel_id": ["sf_scan", "sf_scan"],
            "carrier": ["usps", "sf"],
            "leg": ["international", "domestic"],
            "time_utc": pd.to_datetime(["2026-11-10", "2026-11-19"], utc=True),
        }
    )
    return triage_table(diag, parcels, now, events)


def test_delivered_and_unscanned_parcels_stay_out_of_the_silent_views():
    tr = Triage(legs_table())
    everything = tr.mask(TriageFilter())
    assert everything.all()  # counts and rates still see every parcel
    # "old" was delivered 60 days ago: the longest gap, but not silence
    assert tr.ids(everything, silent=True) == ["stuck", "short", "sf_scan"]
    # and "noscan" (shipped 111 days ago, no scan) has no scans to show either
    assert tr.ids(everything, silent=True, include_delivered=True) == [
        "old",
        "stuck",
        "short",
        "sf_scan",
    ]
    # the full list keeps everything, the parcels whose silence counts first
    assert tr.ids(everything) == ["noscan", "stuck", "short", "sf_scan", "old"]
    # the days range runs over parcels not yet delivered...
    assert tr.max_days == 111 and tr.max_days_of(include_delivered=True) == 111
    long_silent = tr.mask(TriageFilter(days=(20, 200)))
    assert tr.table.loc[long_silent, "parcel_id"].tolist() == ["stuck", "noscan"]
    # ...and takes delivered ones in only when asked
    with_delivered = tr.mask(TriageFilter(days=(20, 200), include_delivered=True))
    assert tr.table.loc[with_delivered, "parcel_id"].tolist() == ["old", "stuck", "noscan"]


def test_the_carrier_filter_matches_either_leg_with_the_report_codes():
    tr = Triage(legs_table())
    options = dict(tr.options("carrier"))
    # lower-case codes, domestic carriers included; a parcel counts once per carrier
    assert options == {"usps": 4, "sf": 2, "ems": 1}

    def chosen(*codes: str) -> list[str]:
        return tr.table.loc[tr.mask(TriageFilter(carriers=codes)), "parcel_id"].tolist()

    assert chosen("sf") == ["old", "sf_scan"]  # the domestic leg, given or from its scans
    assert chosen("usps") == ["old", "stuck", "noscan", "sf_scan"]
    assert chosen("ems") == ["short"]  # EMS on both legs
    assert chosen("sf", "ems") == ["old", "short", "sf_scan"]
    # the heatmap still groups by the international carrier
    assert set(tr.gone_dark(tr.mask(TriageFilter()))["carrier"]) == {"usps", "ems"}


def test_every_carrier_option_selects_what_the_report_selects(demo_triage):
    from toolkit.report.scope import check_carrier, select_parcels

    _, parcels, now = demo_triage
    _, events = demo.load_demo()
    tr = Triage(triage_table(diagnose_all(events, parcels, now=now), parcels, now, events))
    codes = [v for v, _ in tr.options("carrier")]
    assert {"sf", "ems", "yto", "zto", "jd"} <= set(codes)  # domestic carriers are there
    for code in codes:
        assert check_carrier(code, parcels, events) == code
        mine = set(tr.table.loc[tr.mask(TriageFilter(carriers=(code,))), "parcel_id"])
        assert mine == set(select_parcels(parcels, events, carrier=code)["parcel_id"]), code
