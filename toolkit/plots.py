"""Plotly figures of parcel events: the single-parcel timeline."""

from __future__ import annotations

from html import escape

import pandas as pd
import plotly.graph_objects as go

from toolkit.model import MILESTONES, validate_events

# One colour per milestone, grouped by family: customs in ambers, delivery in greens,
# trouble in reds, the journey in blues.
MILESTONE_COLORS: dict[str, str] = {
    "info_received": "#9db4c0",
    "accepted": "#5c9ead",
    "in_transit": "#3a7ca5",
    "departed_origin": "#2f6690",
    "arrived_destination": "#16425b",
    "customs_clearance": "#f4a259",
    "customs_hold": "#d1495b",
    "customs_cleared": "#e9c46a",
    "handed_over": "#8d6a9f",
    "domestic_in_transit": "#4f5d75",
    "out_for_delivery": "#8ab17d",
    "available_for_pickup": "#6a994e",
    "delivery_failed": "#e76f51",
    "delivered": "#2a9d8f",
    "returning": "#bc4749",
    "returned": "#780000",
    "exception": "#c1121f",
    "unknown": "#adb5bd",
}
SANDBOX_NOTE = "Sandbox data: built-in demo carriers, not real tracking"
GAP_HOURS = 48.0


def _lane(events: pd.DataFrame) -> pd.Series:
    return events["leg"].astype(str) + " · " + events["carrier"].astype(str)


def _is_sandbox(events: pd.DataFrame) -> bool:
    if events.attrs.get("sandbox"):
        return True
    src = events["source"].astype("string").fillna("")
    return bool(src.str.contains("sandbox|demo", regex=True).any())


def timeline_figure(
    events: pd.DataFrame,
    now: pd.Timestamp | None = None,
    title: str | None = None,
    gap_hours: float = GAP_HOURS,
    eta: object | None = None,
) -> go.Figure:
    """Timeline of one parcel's scans: a lane per leg and carrier, silent gaps shaded."""
    validate_events(events)
    ev = events.sort_values("time_utc", kind="stable").reset_index(drop=True)
    lanes = _lane(ev)
    # Lanes in order of first appearance, international first so the story reads top-down.
    lane_order = list(dict.fromkeys(lanes))
    fig = go.Figure()
    for milestone in [m for m in MILESTONES if m in set(ev["milestone"])]:
        sel = ev["milestone"] == milestone
        part = ev[sel]
        hover = [
            f"<b>{escape(str(t))}</b><br>{escape(str(d))}<br>"
            f"{escape(str(loc))}<br><i>{escape(milestone)}</i> · {escape(str(num))}"
            for t, d, loc, num in zip(
                part["time_local"].fillna(""),
                part["description"].fillna(""),
                part["location"].fillna(""),
                part["tracking_number"].fillna(""),
                strict=True,
            )
        ]
        fig.add_trace(
            go.Scatter(
                x=part["time_utc"],
                y=lanes[sel],
                mode="markers",
                name=milestone.replace("_", " "),
                marker={"size": 11, "color": MILESTONE_COLORS[milestone], "line": {"width": 1}},
                hovertext=hover,
                hoverinfo="text",
            )
        )
    gaps = silent_gaps(ev, gap_hours, now)
    for _, g in gaps.iterrows():
        fig.add_vrect(
            x0=g["start"],
            x1=g["end"],
            fillcolor="#d1495b" if g["open"] else "#adb5bd",
            opacity=0.15,
            line_width=0,
            annotation_text=f"{g['days']:.1f} days silent",
            annotation_position="top left",
        )
    if now is not None:
        now = pd.Timestamp(now).tz_convert("UTC")
        fig.add_vline(x=now, line_dash="dash", line_color="#333")
        fig.add_annotation(x=now, y=1, yref="paper", text="now", showarrow=False, yanchor="bottom")
    low, high = _eta_window(eta)
    if low is not None and high is not None:
        fig.add_vrect(
            x0=low,
            x1=high,
            fillcolor="#2a9d8f",
            opacity=0.15,
            line_width=0,
            annotation_text="expected delivery",
            annotation_position="bottom left",
        )
    elif low is not None:
        fig.add_vline(x=low, line_dash="dot", line_color="#2a9d8f")
        fig.add_annotation(
            x=low, y=0, yref="paper", text="delivery expected from", showarrow=False, yanchor="top"
        )
    number = str(ev["tracking_number"].iloc[0]) if len(ev) else ""
    fig.update_layout(
        title=title
        or f"Tracking timeline · {escape(str(ev['parcel_id'].iloc[0]) if len(ev) else number)}",
        xaxis_title="Time (UTC)",
        yaxis_title="Leg · carrier",
        yaxis={"categoryorder": "array", "categoryarray": lane_order[::-1]},
        height=max(260, 140 + 70 * len(lane_order)),
        legend_title="Milestone",
        template="plotly_white",
        margin={"l": 20, "r": 20, "t": 60, "b": 40},
    )
    if _is_sandbox(ev):
        fig.add_annotation(
            text=SANDBOX_NOTE,
            xref="paper",
            yref="paper",
            x=1,
            y=-0.18,
            showarrow=False,
            xanchor="right",
            font={"size": 11, "color": "#b5651d"},
        )
    return fig


def _eta_window(eta: object | None) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """(start, end) in UTC of an ETA object (.low/.high dates in China) or a pair of times."""
    if eta is None:
        return None, None
    low, high = (eta.low, eta.high) if hasattr(eta, "low") else eta

    def as_utc(value, end_of_day: bool) -> pd.Timestamp | None:
        if value is None:
            return None
        t = pd.Timestamp(value)
        if t.tzinfo is None:  # a calendar date in China: the whole day counts
            t = t.tz_localize("Asia/Shanghai") + pd.Timedelta(days=1 if end_of_day else 0)
        return t.tz_convert("UTC")

    return as_utc(low, False), as_utc(high, True)


def silent_gaps(
    events: pd.DataFrame, gap_hours: float = GAP_HOURS, now: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Stretches with no scan longer than gap_hours: start, end, days, open (runs to now)."""
    t = events["time_utc"].sort_values(kind="stable").reset_index(drop=True)
    starts, ends = t.iloc[:-1].reset_index(drop=True), t.iloc[1:].reset_index(drop=True)
    out = pd.DataFrame({"start": starts, "end": ends, "open": False})
    if now is not None and len(t):
        now = pd.Timestamp(now).tz_convert("UTC")
        out = pd.concat(
            [out, pd.DataFrame({"start": [t.iloc[-1]], "end": [now], "open": [True]})],
            ignore_index=True,
        )
    out["days"] = (out["end"] - out["start"]).dt.total_seconds() / 86400
    return out[out["days"] * 24 > gap_hours].reset_index(drop=True)
