"""Figures show what the data says: lanes, scans, gaps, stacks, shares, dwell hours, rows."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import plotly.io as pio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.errors import InputError
from toolkit.model import CATEGORIES, EVENT_DTYPES
from toolkit.plots import (
    DWELL_STAGES,
    SANDBOX_NOTE,
    TEMPLATE,
    ageing_histogram,
    dwell_figure,
    dwell_times,
    gone_dark_heatmap,
    is_sandbox,
    silent_gaps,
    swimlanes,
    timeline_figure,
    widget_json,
)
from toolkit.tracking.normalize import normalize


def _events():
    return normalize(
        [
            {
                "tracking_number": "LX123456785US",
                "carrier": "usps",
                "leg": "international",
                "time_local": "2026-11-01T10:00:00-05:00",
                "description": "Accepted at USPS Origin Facility",
            },
            {
                "tracking_number": "LX123456785US",
                "carrier": "usps",
                "leg": "international",
                "time_local": "2026-11-02T10:00:00-05:00",
                "description": "Processed Through Facility ISC NEW YORK NY(USPS)",
            },
            {
                "tracking_number": "LX123456785US",
                "carrier": "ems",
                "leg": "international",
                "time_local": "2026-11-08 09:00:00",
                "description": "进口清关中 <img src=x onerror=alert(1)>",
            },
            {
                "tracking_number": "LX123456785US",
                "carrier": "ems",
                "leg": "international",
                "time_local": "2026-11-09 09:00:00",
                "description": "海关放行",
            },
        ],
        source="test",
    ).assign(parcel_id="P1")


def test_lanes_markers_and_gaps():
    ev = _events()
    now = pd.Timestamp("2026-11-19T01:00:00Z")
    fig = timeline_figure(ev, now=now)
    assert set(fig.layout.yaxis.categoryarray) == {"international · USPS", "international · EMS"}
    assert sum(len(t.x) for t in fig.data) == 4
    labels = [a.text for a in fig.layout.annotations]
    # Nov 2 15:00 UTC -> Nov 8 01:00 UTC is 5.4 days; Nov 9 01:00 UTC -> now is 10.0 days.
    assert "5.4 days silent" in labels and "10.0 days silent" in labels
    assert "now" in labels
    assert len([s for s in fig.layout.shapes if s.type == "rect"]) == 2


def test_carrier_text_is_escaped_in_hover():
    fig = timeline_figure(_events())
    hovers = " ".join(h for t in fig.data for h in t.hovertext)
    assert "<img" not in hovers and "&lt;img src=x onerror=alert(1)&gt;" in hovers


def test_silent_gaps_open_gap_runs_to_now():
    ev = _events()
    gaps = silent_gaps(ev, 48, now=pd.Timestamp("2026-11-12T01:00:00Z"))
    assert list(gaps["open"]) == [False, True]
    assert round(gaps["days"].iloc[1], 1) == 3.0


# ---------------------------------------------------------------- theme and sandbox note

T0 = pd.Timestamp("2026-11-01T00:00:00Z")
INTL, DOM = "international", "domestic"


def events_table(rows: list[tuple], source: str = "test") -> pd.DataFrame:
    """Contract events from (parcel_id, hours after T0, milestone, leg, carrier) tuples."""
    df = pd.DataFrame(rows, columns=["parcel_id", "hours", "milestone", "leg", "carrier"])
    df["time_utc"] = T0 + pd.to_timedelta(df["hours"].astype(float), unit="h")
    df["tracking_number"] = "N-" + df["parcel_id"].astype(str)
    df["time_local"] = df["time_utc"].astype(str)
    df["tz_assumed"] = False
    df["location"] = ""
    df["description"] = "scan " + df["milestone"]
    df["raw_status"] = ""
    df["source"] = source
    out = df[list(EVENT_DTYPES)].astype({k: v for k, v in EVENT_DTYPES.items() if k != "time_utc"})
    out["time_utc"] = pd.to_datetime(out["time_utc"], utc=True)
    return out


def parcels_table(rows: list[tuple]) -> pd.DataFrame:
    """Parcels from (parcel_id, carrier, origin country, destination province) tuples."""
    df = pd.DataFrame(
        rows,
        columns=["parcel_id", "international_carrier", "origin_country", "destination_province"],
    )
    df["international_number"] = "N-" + df["parcel_id"]
    return df.astype("string")


def notes(fig) -> list[str]:
    return [a.text for a in fig.layout.annotations if a.text == SANDBOX_NOTE]


JOURNEY = [
    # P1 goes through every point: 5 h to clearance, 24 h in customs, 6 h to handover,
    # 12 h to the first domestic scan, 48 h to delivery
    ("P1", 0, "departed_origin", INTL, "usps"),
    ("P1", 10, "arrived_destination", INTL, "usps"),
    ("P1", 15, "customs_clearance", INTL, "usps"),
    ("P1", 39, "customs_cleared", INTL, "usps"),
    ("P1", 45, "handed_over", INTL, "usps"),
    ("P1", 57, "accepted", DOM, "sf"),
    ("P1", 80, "domestic_in_transit", DOM, "sf"),
    ("P1", 105, "delivered", DOM, "sf"),
    # P2: no handover scan, no delivery yet; clearance took 10 h
    ("P2", 0, "arrived_destination", INTL, "dhl"),
    ("P2", 2, "customs_hold", INTL, "dhl"),
    ("P2", 12, "customs_cleared", INTL, "dhl"),
    ("P2", 30, "domestic_in_transit", DOM, "yto"),
    # P3: arrived, nothing since
    ("P3", 0, "arrived_destination", INTL, "dhl"),
]


def test_every_figure_uses_the_theme_titles_and_axis_units():
    ev = events_table(JOURNEY)
    parcels = parcels_table(
        [
            ("P1", "usps", "US", "广东省"),
            ("P2", "dhl", "DE", "上海市"),
            ("P3", "dhl", "DE", "上海市"),
        ]
    )
    diagnoses = pd.DataFrame(
        {
            "parcel_id": ["P1", "P2", "P3"],
            "category": ["delivered", "moving", "handover_not_synced"],
            "days_since_last_scan": [1.0, 2.0, 9.0],
        }
    )
    figures = [
        timeline_figure(ev[ev["parcel_id"] == "P1"]),
        ageing_histogram(diagnoses),
        dwell_figure(dwell_times(ev, parcels)),
        gone_dark_heatmap(diagnoses, parcels),
        swimlanes(ev),
    ]
    for fig in figures:
        assert fig.layout.template == pio.templates[TEMPLATE]
        assert fig.layout.title.text
        assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
        assert not notes(fig)  # source "test" is not sandbox data
    assert "(hours)" in figures[2].layout.yaxis.title.text
    assert "(days)" in figures[1].layout.xaxis.title.text
    assert "(count)" in figures[1].layout.yaxis.title.text


def test_sandbox_note_present_for_sandbox_data_and_absent_otherwise():
    ev = events_table(JOURNEY)
    assert not notes(timeline_figure(ev[ev["parcel_id"] == "P1"]))
    demo_ev = events_table(JOURNEY, source="demo")
    assert notes(timeline_figure(demo_ev[demo_ev["parcel_id"] == "P1"])) == [SANDBOX_NOTE]
    assert notes(swimlanes(events_table(JOURNEY, source="sandbox-17track")))
    marked = ev.copy()
    marked.attrs["sandbox"] = True
    assert notes(swimlanes(marked))
    assert notes(dwell_figure(dwell_times(marked)))  # carried by dwell_times' attrs
    assert notes(swimlanes(ev, sandbox=True)) and not notes(swimlanes(demo_ev, sandbox=False))
    assert is_sandbox(None, demo_ev) and not is_sandbox(ev)


# ---------------------------------------------------------------- timeline


def test_timeline_eta_window_and_single_scan_range():
    ev = _events()
    low, high = pd.Timestamp("2026-11-20T00:00:00Z"), pd.Timestamp("2026-11-24T00:00:00Z")
    fig = timeline_figure(ev, now=pd.Timestamp("2026-11-19T01:00:00Z"), eta=(low, high))
    eta = [s for s in fig.layout.shapes if s.type == "rect" and s.fillcolor == "#2a9d8f"]
    assert len(eta) == 1
    assert pd.Timestamp(eta[0].x0) == low and pd.Timestamp(eta[0].x1) == high
    assert "expected delivery" in [a.text for a in fig.layout.annotations]
    # one scan: the x range still shows the scan and now, with room on both sides
    one = ev.head(1)
    now = pd.Timestamp("2026-11-03T00:00:00Z")
    fig = timeline_figure(one, now=now)
    lo, hi = (pd.Timestamp(x) for x in fig.layout.xaxis.range)
    assert lo < one["time_utc"].iloc[0] and hi > now
    assert sum(len(t.x) for t in fig.data) == 1


def test_timeline_with_200_scans_labels_the_longest_gaps_and_shades_all():
    hours = np.cumsum([60 if i % 10 == 9 else 5 for i in range(200)])  # a 60 h gap every 10 scans
    ev = events_table([("P9", float(h), "in_transit", INTL, "usps") for h in hours])
    fig = timeline_figure(ev)
    gaps = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(gaps) == 20  # every silent gap is shaded
    labels = [a.text for a in fig.layout.annotations if a.text and "silent" in a.text]
    assert labels.count("2.5 days silent") == 8  # the longest eight are labelled
    assert "12 shorter silent gaps shaded, not labelled" in labels
    assert sum(len(t.x) for t in fig.data) == 200
    assert fig.data[0].marker.size < 11  # smaller markers when crowded


# ---------------------------------------------------------------- ageing


def _diagnoses(spec: list[tuple[str, float | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "parcel_id": [f"P{i}" for i in range(len(spec))],
            "category": [c for c, _ in spec],
            "days_since_last_scan": [np.nan if d is None else d for _, d in spec],
            "last_scan_utc": [pd.NaT if d is None else T0 - pd.Timedelta(days=d) for _, d in spec],
        }
    )


def _bars(fig) -> dict[str, dict[str, int]]:
    return {t.name: dict(zip(t.x, (int(v) for v in t.y), strict=True)) for t in fig.data}


def test_ageing_histogram_stacks_stuck_parcels_by_category():
    d = _diagnoses(
        [
            ("delivered", 0.5),
            ("delivered", 12.0),
            ("moving", 0.5),
            ("moving", 2.5),
            ("handover_not_synced", 9.2),
            ("silent_too_long", 16.0),
            ("number_invalid", None),
            ("number_not_found", None),
        ]
    )
    fig = ageing_histogram(d)
    bars = _bars(fig)
    assert sum(sum(b.values()) for b in bars.values()) == 6  # not delivered
    assert "delivered" not in bars
    assert bars["moving"]["0–1"] == 1 and bars["moving"]["2–3"] == 1
    assert bars["handover not synced"]["9–10"] == 1
    assert bars["number invalid"]["no scan yet"] == 1
    assert list(fig.data[0].x)[:2] == ["no scan yet", "0–1"]
    assert fig.layout.barmode == "stack"
    # with now given, ages are counted from the last scan to now
    later = ageing_histogram(d, now=T0 + pd.Timedelta(days=3))
    assert _bars(later)["moving"]["3–4"] == 1
    with pytest.raises(InputError, match="before the last scan"):
        ageing_histogram(d, now=T0 - pd.Timedelta(days=5))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(CATEGORIES),
            st.one_of(st.none(), st.floats(min_value=0, max_value=400, allow_nan=False)),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_ageing_stacks_always_sum_to_the_stuck_parcels(spec):
    fig = ageing_histogram(_diagnoses(spec))
    bars = _bars(fig)
    stuck = [c for c, _ in spec if c != "delivered"]
    assert sum(sum(b.values()) for b in bars.values()) == len(stuck)
    for cat in set(stuck):
        assert sum(bars[cat.replace("_", " ")].values()) == stuck.count(cat)
    assert len(fig.data[0].x) <= 41 if fig.data else True


# ---------------------------------------------------------------- dwell times


def test_dwell_hours_of_a_hand_made_parcel():
    ev = events_table(JOURNEY)
    parcels = parcels_table(
        [
            ("P1", "usps", "US", "广东省"),
            ("P2", "dhl", "DE", "上海市"),
            ("P3", "dhl", "DE", "上海市"),
            ("P4", "dhl", "DE", "上海市"),
        ]
    )
    dwell = dwell_times(ev, parcels)
    assert len(dwell) == 4 * len(DWELL_STAGES)
    p1 = dwell[dwell["parcel_id"] == "P1"].set_index("stage")
    assert p1["hours"].tolist() == [5.0, 24.0, 6.0, 12.0, 48.0]
    assert set(p1["status"]) == {"measured"} and set(p1["carrier"]) == {"usps"}
    p2 = dwell[dwell["parcel_id"] == "P2"].set_index("stage")
    assert p2.loc["wait_for_customs", "hours"] == 2.0  # a hold starts the clearance
    assert p2.loc["customs", "hours"] == 10.0
    assert p2.loc["wait_for_handover", "status"] == "end_missing"  # no handover scan
    assert p2.loc["wait_for_domestic_scan", "status"] == "start_missing"
    assert p2.loc["domestic_delivery", "status"] == "open"
    p3 = dwell[dwell["parcel_id"] == "P3"].set_index("stage")
    assert p3.loc["wait_for_customs", "status"] == "open" and p3["hours"].isna().all()
    assert set(dwell.loc[dwell["parcel_id"] == "P4", "status"]) == {"start_missing"}
    assert dwell["origin_country"].iloc[0] == "US"


def test_dwell_without_parcels_takes_the_first_international_carrier_and_flags_order():
    ev = events_table(
        [
            ("Q1", 0, "arrived_destination", INTL, "ems"),
            ("Q1", 20, "customs_cleared", INTL, "ems"),
            ("Q1", 10, "customs_clearance", INTL, "ems"),
            ("Q2", 5, "customs_clearance", INTL, "yunexpress"),
            ("Q2", 1, "arrived_destination", INTL, "yunexpress"),
            ("Q2", 3, "customs_cleared", INTL, "yunexpress"),  # released before clearance starts
        ]
    )
    dwell = dwell_times(ev).set_index(["parcel_id", "stage"])
    assert dwell.loc[("Q1", "customs"), "hours"] == 10.0
    assert dwell.loc[("Q1", "customs"), "carrier"] == "ems"
    assert dwell.loc[("Q2", "customs"), "status"] == "out_of_order"
    assert np.isnan(dwell.loc[("Q2", "customs"), "hours"])


def test_dwell_figure_boxes_per_stage_and_carrier():
    rows = []
    for i, hours in enumerate([10, 20, 30, 40, 50]):  # usps: customs takes 10..50 h
        rows += [
            (f"U{i}", 0, "customs_clearance", INTL, "usps"),
            (f"U{i}", hours, "customs_cleared", INTL, "usps"),
        ]
    rows += [("D0", 0, "customs_clearance", INTL, "dhl"), ("D0", 7, "customs_cleared", INTL, "dhl")]
    fig = dwell_figure(dwell_times(events_table(rows)))
    assert [t.type for t in fig.data] == ["box", "box"]
    usps = next(t for t in fig.data if t.name.startswith("usps"))
    assert usps.median == (30.0,) and usps.q1 == (20.0,) and usps.q3 == (40.0,)
    assert usps.lowerfence == (14.0,) and usps.upperfence == (46.0,)  # 10th and 90th percentiles
    assert len(usps.x) == 1 and usps.x[0].startswith("Clearance start →<br>cleared")
    assert "n = 6 of 6" in usps.x[0]
    one = dwell_figure(dwell_times(events_table(rows)), by=None)
    assert len(one.data) == 1 and one.data[0].median == (25.0,)


def annotation_texts(fig) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def test_dwell_figure_with_nothing_measured_says_so():
    # Clearance started but not finished: the stage has no duration yet.
    started = dwell_figure(
        dwell_times(events_table([("U0", 0, "customs_clearance", INTL, "usps")]))
    )
    nothing = dwell_figure(dwell_times(events_table([])), empty_text="尚无")
    assert started.data == () and any(
        "No stage time measured" in t for t in annotation_texts(started)
    )
    assert started.layout.xaxis.visible is False
    assert "尚无" in annotation_texts(nothing)


# ---------------------------------------------------------------- gone dark


def test_heatmap_cells_are_the_shares_gone_dark():
    parcels = parcels_table(
        [
            ("A1", "usps", "US", "广东省"),
            ("A2", "usps", "US", "广东省"),
            ("A3", "usps", "US", "广东省"),
            ("A4", "usps", "US", "北京市"),
            ("B1", "dhl", "US", "广东省"),
            ("B2", "dhl", "DE", "上海市"),
        ]
    )
    diagnoses = pd.DataFrame(
        {
            "parcel_id": ["A1", "A2", "A3", "A4", "B1", "B2"],
            "category": [
                "handover_not_synced",
                "delivered",
                "silent_too_long",
                "customs_hold",
                "number_not_found",
                "silent_too_long",
            ],
        }
    )
    fig = gone_dark_heatmap(diagnoses, parcels)
    hm = fig.data[0]
    z = pd.DataFrame(np.array(hm.z, dtype=float), index=list(hm.y), columns=list(hm.x))
    assert z.loc["usps", "US → 广东省"] == pytest.approx(2 / 3)
    assert z.loc["usps", "US → 北京市"] == 0.0
    assert z.loc["dhl", "US → 广东省"] == 0.0  # number problems are not "gone dark"
    assert z.loc["dhl", "DE → 上海市"] == 1.0
    assert np.isnan(z.loc["usps", "DE → 上海市"])  # no parcels there
    custom = np.array(hm.customdata)
    row, col = list(hm.y).index("usps"), list(hm.x).index("US → 广东省")
    assert custom[row][col].tolist() == [2, 3]  # gone dark, parcels
    assert list(hm.y) == ["dhl", "usps"]  # worst carrier on top (1/2 vs 2/4)
    sparse = gone_dark_heatmap(diagnoses, parcels, min_parcels=2)
    zs = np.array(sparse.data[0].z, dtype=float)
    assert np.isfinite(zs).sum() == 1  # only usps US → 广东省 has 2+ parcels
    empty = gone_dark_heatmap(diagnoses.iloc[:0], parcels.iloc[:0])
    assert empty.data == () and "No parcels to show" in annotation_texts(empty)


# ---------------------------------------------------------------- swimlanes


@pytest.mark.parametrize("webgl, kind", [(True, "scattergl"), (None, "scatter")])
def test_swimlanes_one_row_per_parcel(webgl, kind):
    ev = events_table(JOURNEY)
    fig = swimlanes(ev, now=T0 + pd.Timedelta(days=6), webgl=webgl)
    markers = [t for t in fig.data if t.mode == "markers"]
    assert all(t.type == kind for t in fig.data)  # a few scans: SVG unless asked
    assert sum(len(t.x) for t in markers) == len(ev)
    rows = {int(y) for t in markers for y in t.y}
    assert rows == {0, 1, 2}
    assert list(fig.layout.yaxis.ticktext) == ["P1", "P2", "P3"]  # by first scan
    assert {t.name for t in markers} >= {"delivered", "customs hold"}
    picked = swimlanes(ev, parcel_ids=["P3", "P1", "P7"])
    assert list(picked.layout.yaxis.ticktext) == ["P3", "P1", "P7"]
    assert "1 without any scan" in picked.layout.title.text
    assert {int(y) for t in picked.data if t.mode == "markers" for y in t.y} == {0, 1}


def test_swimlanes_escape_carrier_text():
    ev = events_table(JOURNEY[:2])
    ev["description"] = ev["description"].astype(str) + " <script>x</script>"
    hovers = " ".join(h for t in swimlanes(ev).data if t.hovertext is not None for h in t.hovertext)
    assert "<script>" not in hovers and "&lt;script&gt;" in hovers


def test_swimlanes_limit_tells_the_user_to_filter():
    ids = [f"P{i}" for i in range(5001)]
    ev = events_table([(pid, 0, "accepted", INTL, "usps") for pid in ids])
    with pytest.raises(InputError) as err:
        swimlanes(ev)
    message = str(err.value)
    assert "5,001 parcels" in message and "limit is 5,000" in message and "Filter first" in message
    fig = swimlanes(ev, parcel_ids=ids[:5000])
    assert sum(len(t.x) for t in fig.data if t.mode == "markers") == 5000


def test_heatmap_and_dwell_labels_escape_names_from_the_parcels_file():
    parcels = parcels_table([("A1", "<b>x</b>", "US", "广东省")])
    diagnoses = pd.DataFrame({"parcel_id": ["A1"], "category": ["silent_too_long"]})
    hm = gone_dark_heatmap(diagnoses, parcels).data[0]
    assert list(hm.y) == ["&lt;b&gt;x&lt;/b&gt;"] and hm.z[0][0] == 1.0
    ev = events_table(JOURNEY[:3])
    parcels = parcels_table([("P1", "<i>y</i>", "US", "广东省")])
    names = [t.name for t in dwell_figure(dwell_times(ev, parcels)).data]
    assert names == ["&lt;i&gt;y&lt;/i&gt; (1)"]  # one stage measured


def test_group_figures_from_sandbox_diagnoses_carry_the_note():
    from toolkit.diagnosis.diagnose import diagnose_all
    from toolkit.world import demo

    parcels, events = demo.load_demo()
    now = pd.Timestamp(parcels["as_of"].iloc[0])
    diagnoses = diagnose_all(events, parcels, now=now)
    assert diagnoses.attrs["sandbox"] is True
    for fig in (ageing_histogram(diagnoses, now=now), gone_dark_heatmap(diagnoses, parcels)):
        assert SANDBOX_NOTE in [a.text for a in fig.layout.annotations]


# ---------------------------------------------------------------- into a FigureWidget


def _sent(fig) -> tuple[list, dict]:
    """What a FigureWidget built from widget_json(fig) sends to the browser (data, layout)."""
    import plotly.graph_objects as go
    from plotly.serializers import _py_to_js

    spec = widget_json(fig)
    fw = go.FigureWidget(data=spec["data"], layout=spec["layout"])
    return _py_to_js(fw._data, None), _py_to_js(fw._layout, None)


DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$")


def test_a_timeline_in_a_figure_widget_sends_dates_not_nanoseconds():
    ev = _events()
    now = pd.Timestamp("2026-11-20 12:00", tz="UTC")
    fig = timeline_figure(ev, now=now, eta=(pd.Timestamp("2026-11-25"), pd.Timestamp("2026-11-28")))
    data, layout = _sent(fig)
    xs = [x for t in data for x in t["x"]]
    assert xs and all(isinstance(x, str) and DATE_TEXT.match(x) for x in xs), xs[:3]
    # the scans' times, to the millisecond, in UTC
    first = ev["time_utc"].min().tz_convert("UTC")
    assert min(xs) == first.strftime("%Y-%m-%dT%H:%M:%S.000")
    placed = [s[k] for s in layout["shapes"] for k in ("x0", "x1")] + [
        a["x"] for a in layout["annotations"] if a.get("xref", "x") == "x"
    ]
    assert placed and all(DATE_TEXT.match(x) for x in placed), placed
    now_label = next(a for a in layout["annotations"] if a["text"] == "now")
    assert now_label["x"] == "2026-11-20T12:00:00.000"
    assert all(DATE_TEXT.match(x) for x in layout["xaxis"]["range"])


def test_swimlanes_in_a_figure_widget_break_lines_between_parcels():
    ev = _events()
    ids = list(pd.unique(ev["parcel_id"]))
    data, _ = _sent(swimlanes(ev, parcel_ids=ids))
    journey = next(t for t in data if t["name"] == "journey")
    assert journey["x"][2::3] == [None] * len(ids)  # a gap after each parcel's line
    assert all(DATE_TEXT.match(x) for t in data for x in t["x"] if x is not None)


def test_scans_with_impossible_dates_are_not_drawn_and_are_named_under_the_chart():
    ev = _events()
    now = pd.Timestamp("2026-11-19T01:00:00Z")
    late = ev.iloc[[-1]].assign(time_utc=pd.Timestamp("2099-12-31 23:00", tz="UTC"))
    early = ev.iloc[[0]].assign(time_utc=pd.Timestamp("1970-01-01", tz="UTC"))
    fig = timeline_figure(pd.concat([ev, late, early], ignore_index=True), now=now)
    assert sum(len(t.x) for t in fig.data) == len(ev)  # only the possible scans
    low, high = (pd.Timestamp(x) for x in fig.layout.xaxis.range)
    assert low.year == 2026 and high.year == 2026  # the axis is not stretched to 1970 or 2099
    notes = [a.text for a in fig.layout.annotations]
    assert "2 scan(s) with an impossible date not drawn (1970-01-01, 2099-12-31)" in notes
    # a scan long before the parcel was shipped is set aside too
    shipped = pd.Timestamp("2026-11-10T00:00:00Z")
    fig = timeline_figure(ev, now=now, shipped_at=shipped)
    assert sum(len(t.x) for t in fig.data) < len(ev)
    assert any("impossible date" in a.text for a in fig.layout.annotations)
    # nothing possible at all: an empty chart that says why, not an error
    fig = timeline_figure(pd.concat([late, early], ignore_index=True), now=now)
    assert sum(len(t.x) for t in fig.data) == 0
    assert any("2 scan(s)" in a.text for a in fig.layout.annotations)


def test_hovers_give_the_english_gloss_under_a_chinese_scan():
    ev = events_table(JOURNEY[:2])
    ev.loc[0, "description"] = "【北京国际邮件互换局】已到达"
    for fig in (timeline_figure(ev[ev["parcel_id"] == ev.loc[0, "parcel_id"]]), swimlanes(ev)):
        hovers = [h for t in fig.data if t.hovertext is not None for h in t.hovertext]
        chinese = [h for h in hovers if "互换局" in h]
        assert chinese and all(
            "≈ Arrived at Beijing International Mail Exchange Office" in h for h in chinese
        )
        assert not any("≈" in h for h in hovers if "互换局" not in h)  # English scans as they are


def test_a_timeline_of_scans_read_from_parquet_draws_its_silent_gaps(tmp_path):
    ev = _events()
    ev.to_parquet(tmp_path / "events.parquet")
    back = pd.read_parquet(tmp_path / "events.parquet")  # UTC as zoneinfo, not datetime's
    now = pd.Timestamp("2026-11-19T01:00:00Z")
    labels = [a.text for a in timeline_figure(back, now=now).layout.annotations]
    assert "5.4 days silent" in labels and "10.0 days silent" in labels
