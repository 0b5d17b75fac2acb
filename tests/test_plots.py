"""The parcel timeline shows lanes, every scan, silent gaps with their length, and escapes text."""

from __future__ import annotations

import pandas as pd

from toolkit.normalize import normalize
from toolkit.plots import silent_gaps, timeline_figure


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
    assert set(fig.layout.yaxis.categoryarray) == {"international · usps", "international · ems"}
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
