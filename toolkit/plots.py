"""Plotly figures of parcel events: one parcel's timeline and the group views.

Every figure uses the registered plotly template ``"toolkit"`` (plotly_white with the
toolkit's fonts and palettes), has a title and axis titles with units, and carries
the ``SANDBOX_NOTE`` annotation when its data came from the sandbox or the demo set.
Carrier text is escaped wherever it becomes hover HTML.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from html import escape
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from toolkit.diagnosis.scorecard import GONE_DARK, JOURNEY_POINTS, gone_dark_rates, journey_times
from toolkit.errors import InputError
from toolkit.model import (
    CATEGORIES,
    MILESTONES,
    Category,
    is_sandbox,
    require_columns,
    validate_events,
)
from toolkit.times import to_utc
from toolkit.tracking.gloss import glosses_beside

__all__ = [
    "CATEGORY_COLORS",
    "DWELL_STAGES",
    "MILESTONE_COLORS",
    "SANDBOX_NOTE",
    "TEMPLATE",
    "ageing_histogram",
    "dwell_figure",
    "dwell_times",
    "gone_dark_heatmap",
    "is_sandbox",
    "silent_gaps",
    "swimlanes",
    "timeline_figure",
    "widget_json",
]

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
# One colour per diagnosis category: fine in green and blue, waiting in amber, the
# partners' silence in purple and red, number problems in browns.
CATEGORY_COLORS: dict[str, str] = {
    "delivered": "#2a9d8f",
    "moving": "#3a7ca5",
    "awaiting_clearance": "#f4a259",
    "customs_hold": "#e76f51",
    "handover_not_synced": "#8d6a9f",
    "number_invalid": "#7f5539",
    "number_not_found": "#b08968",
    "silent_too_long": "#c1121f",
    "returned_or_exception": "#780000",
}
# Series without a palette of their own (carriers, lanes) cycle through these.
SERIES_COLORS: tuple[str, ...] = (
    "#3a7ca5", "#e76f51", "#2a9d8f", "#8d6a9f", "#e9c46a", "#16425b",
    "#6a994e", "#bc4749", "#9db4c0", "#f4a259", "#4f5d75", "#b08968",
)  # fmt: skip
# Shares from none (white) to all (dark red), for rates of trouble.
RATE_SCALE: tuple[tuple[float, str], ...] = (
    (0.0, "#ffffff"),
    (0.15, "#fde0c5"),
    (0.4, "#f4a259"),
    (0.7, "#d1495b"),
    (1.0, "#780000"),
)
SANDBOX_NOTE = "Sandbox data: built-in demo carriers, not real tracking"
NO_DWELL = "No stage time measured yet: no parcel has both scans of a stage in China"
NO_PARCELS = "No parcels to show"
SANDBOX_COLOR = "#b5651d"
GAP_HOURS = 48.0
GAP_LABELS = 8  # timeline gaps labelled with their length, longest first
SWIMLANE_LIMIT = 5000
WEBGL_SCANS = 5000  # swimlanes with more scans draw their markers with WebGL
TEMPLATE = "toolkit"
# px above the plot: the sandbox note at the top right, the title (one or two lines) below
# it on the left, then the "now" label just above the plot
_TOP = 112


def _template() -> go.layout.Template:
    """plotly_white with the toolkit's fonts, colours and title placement."""
    t = go.layout.Template(pio.templates["plotly_white"])
    t.layout.update(
        font={
            "family": "Inter, 'Segoe UI', Helvetica, Arial, 'PingFang SC', "
            "'Microsoft YaHei', 'Noto Sans CJK SC', sans-serif",
            "size": 13,
            "color": "#212529",
        },
        title={
            "x": 0,
            "xref": "paper",
            "xanchor": "left",
            "y": 1,
            "yref": "paper",
            "yanchor": "bottom",
            "pad": {"b": 44},
            "font": {"size": 17},
        },
        colorway=list(SERIES_COLORS),
        hoverlabel={"align": "left", "font": {"size": 12}},
        legend={"title": {"font": {"size": 12}}, "font": {"size": 12}},
        margin={"l": 70, "r": 30, "t": _TOP, "b": 60},
    )
    t.data.heatmap = [go.Heatmap(colorscale=[list(p) for p in RATE_SCALE])]
    return t


pio.templates[TEMPLATE] = _template()
# How charts behave in the browser: no plotly logo (a link to plotly's site in the tool bar)
# and no button that sends a chart to an online service (plotly.js leaves its other links
# off by default; the Python renderers warn about keys they do not list, so none are added).
CHART_CONFIG: dict[str, Any] = {"displaylogo": False, "showSendToCloud": False}


def use_chart_config() -> None:
    """Make every chart shown from now on (notebook outputs, exported pages) use CHART_CONFIG."""
    for name in ("notebook", "notebook_connected", "plotly_mimetype", "jupyterlab"):
        if name in pio.renderers:
            pio.renderers[name].config = dict(CHART_CONFIG)


# ---------------------------------------------------------------- shared helpers


def _finish(fig: go.Figure, sandbox: bool, title: str, height: int | None = None) -> go.Figure:
    """Apply the theme and title; add the sandbox note when the data came from the sandbox."""
    fig.update_layout(template=TEMPLATE, title_text=title)
    if height is not None:
        fig.update_layout(height=height)
    if sandbox:
        fig.add_annotation(
            text=SANDBOX_NOTE,
            name="sandbox_note",
            xref="paper",
            yref="paper",
            x=1,
            y=1,
            xanchor="right",
            yanchor="bottom",
            yshift=_TOP - 24,
            showarrow=False,
            font={"size": 11, "color": SANDBOX_COLOR},
        )
    return fig


def _nothing_to_draw(fig: go.Figure, text: str) -> go.Figure:
    """Say in the plot area why it is empty, instead of drawing empty axes."""
    fig.add_annotation(
        text=text,
        name="nothing_to_draw",
        xref="paper",
        yref="paper",
        x=0.5,
        y=0.5,
        showarrow=False,
        font={"size": 14, "color": "#6c757d"},
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def grid_cells(values: np.ndarray) -> list[list[float | None]]:
    """A 2-D grid of numbers with blank cells (NaN, ±inf) as None, which JSON holds as null.

    Heatmaps leave cells without data blank. NaN is not JSON: a figure inside a widget
    (FigureWidget) sends its data over the kernel's JSON channel, where NaN is refused.
    """
    grid = np.asarray(values, dtype=float)
    return np.where(np.isfinite(grid), grid, None).tolist()


def _escape(values: pd.Series, limit: int | None = None) -> pd.Series:
    """HTML-escaped text of a column (blank for missing), optionally cut to ``limit`` chars."""
    text = values.astype("string").fillna("")
    if limit is not None:
        long = text.str.len() > limit
        text = text.where(~long, text.str.slice(0, limit - 1) + "…")
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;")):
        text = text.str.replace(char, entity, regex=False)
    return text.str.replace("'", "&#x27;", regex=False)


def _gloss_line(ev: pd.DataFrame, limit: int | None = None) -> pd.Series:
    """A hover line with each scan's English gloss ("" where the text is English already)."""
    english = glosses_beside(ev["description"], ev.get("carrier", None))
    if english is None:
        return pd.Series("", index=ev.index, dtype="string")
    shown = _escape(english, limit)
    return ("<br>≈ " + shown).where(english.ne("").to_numpy(), "")


def _now_line(fig: go.Figure, now: pd.Timestamp) -> None:
    fig.add_vline(x=now, line_dash="dash", line_color="#333", line_width=1)
    fig.add_annotation(
        x=now, y=1, yref="paper", text="now", showarrow=False, yanchor="bottom", font={"size": 11}
    )


def _duration(hours: float) -> str:
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.0f} hours"


# ---------------------------------------------------------------- into a FigureWidget


def _time_text(values: np.ndarray) -> np.ndarray:
    """datetime64 values as plotly's date text (naive UTC, ms), NaT as None (a gap)."""
    text = np.datetime_as_string(values.astype("M8[ms]"), unit="ms").astype(object)
    text[np.isnat(values)] = None
    return text


def _widget_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _widget_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_widget_value(v) for v in value]
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "M":
            return _time_text(value)
        if value.dtype.kind == "O":
            return np.array([_widget_value(v) for v in value.tolist()], dtype=object)
        if value.dtype.kind == "f" and value.ndim > 1:  # sent as JSON lists, where NaN is refused
            return np.where(np.isfinite(value), value, None).tolist()
        return value
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, pd.Series | pd.Index):
        return _widget_value(value.to_numpy())
    if isinstance(value, dt.datetime | np.datetime64):
        ts = pd.Timestamp(value)
        if ts is pd.NaT:
            return None
        if ts.tzinfo is not None:
            ts = ts.tz_convert("UTC").tz_localize(None)
        return _time_text(np.array([ts.to_datetime64()]))[0]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def widget_json(fig: go.Figure) -> dict[str, Any]:
    """A figure as ``{"data": [...], "layout": {...}}`` ready for a ``go.FigureWidget``.

    The widget path sends numpy datetime64 arrays as integer nanoseconds and a Timestamp
    in a shape, annotation or axis range as text with a zone suffix, so plotly.js draws a
    numeric axis (1.79e18) and piles the "now" and gap labels at its left edge. Here every
    time becomes the naive-UTC text that plain figure output sends (NaT a gap).
    """
    # the figure's own properties: to_plotly_json() would turn arrays into base64 blocks
    return {
        "data": [_widget_value(t) for t in fig._data],
        "layout": _widget_value(fig._layout),
    }


# ---------------------------------------------------------------- one parcel


def _lane(events: pd.DataFrame) -> pd.Series:
    """'international · USPS': the leg and the carrier's display name (its code if unknown)."""
    from toolkit.tracking.numbers import carrier_label

    names = events["carrier"].map(lambda c: carrier_label(c) if isinstance(c, str) else c)
    return _escape(events["leg"]) + " · " + _escape(names.astype("string"))


def _set_aside(ev: pd.DataFrame, now: pd.Timestamp | None, shipped_at: object) -> np.ndarray:
    """Which scans (positions) the diagnosis would set aside for an impossible date."""
    if now is None or not len(ev):
        return np.zeros(len(ev), bool)
    from toolkit.diagnosis.diagnose import scan_flags

    parcels = None
    if shipped_at is not None and not pd.isna(shipped_at):
        shipped = to_utc(shipped_at, "shipped_at")
        ids = ev["parcel_id"].dropna().unique() if "parcel_id" in ev.columns else []
        parcels = pd.DataFrame({"parcel_id": list(ids), "shipped_at": shipped})
    return scan_flags(ev, parcels, now) != 0


def timeline_figure(
    events: pd.DataFrame,
    now: pd.Timestamp | None = None,
    title: str | None = None,
    gap_hours: float = GAP_HOURS,
    eta: object | None = None,
    *,
    sandbox: bool | None = None,
    shipped_at: object = None,
) -> go.Figure:
    """Timeline of one parcel's scans: a lane per leg and carrier, silent gaps shaded.

    Scans the diagnosis sets aside for an impossible date (after ``now``, before the
    parcel was shipped at ``shipped_at``; rules of ``diagnose.scan_flags``) are not drawn,
    so that they do not stretch the time axis; a note under the chart names them.
    """
    validate_events(events, "events")
    ev = events.sort_values("time_utc", kind="stable").reset_index(drop=True)
    now = None if now is None else to_utc(now, "now")
    aside = _set_aside(ev, now, shipped_at)
    if aside.any():
        dropped, ev = ev[aside], ev[~aside].reset_index(drop=True)
    lanes = _lane(ev)
    # Lanes in order of first appearance, so the story reads top-down.
    lane_order = list(dict.fromkeys(lanes))
    n = len(ev)
    size = 11 if n <= 40 else 8 if n <= 120 else 6
    fig = go.Figure()
    # a thin line through each lane, from its first to its last scan, to follow the order
    for lane in lane_order:
        times = ev.loc[lanes == lane, "time_utc"]
        fig.add_shape(
            type="line",
            x0=times.min(),
            x1=times.max(),
            y0=lane,
            y1=lane,
            line={"color": "#ced4da", "width": 2},
            layer="below",
        )
    assumed = np.where(ev["tz_assumed"].to_numpy(bool), " (time zone assumed)", "")
    hover_all = (
        "<b>"
        + _escape(ev["time_local"])
        + "</b>"
        + assumed
        + "<br>"
        + _escape(ev["description"])
        + _gloss_line(ev)
        + "<br>"
        + _escape(ev["location"])
        + "<br><i>"
        + _escape(ev["milestone"])
        + "</i> · "
        + _escape(ev["carrier"])
        + " "
        + _escape(ev["tracking_number"])
    )
    present = set(ev["milestone"].astype(str))
    for milestone in [m for m in MILESTONES if m in present]:
        sel = (ev["milestone"] == milestone).to_numpy(bool)
        fig.add_trace(
            go.Scatter(
                x=ev.loc[sel, "time_utc"],
                y=lanes[sel],
                mode="markers",
                name=milestone.replace("_", " "),
                marker={
                    "size": size,
                    "color": MILESTONE_COLORS[milestone],
                    "line": {"width": 1, "color": "#ffffff"},
                },
                hovertext=hover_all[sel].tolist(),
                hoverinfo="text",
            )
        )
    gaps = silent_gaps(ev, gap_hours, now)
    labelled = sorted(gaps["days"].nlargest(GAP_LABELS).index)
    # neighbouring labels alternate between the top and the bottom edge so they do not overlap;
    # the latest gap is labelled at the top, leaving the bottom to the ETA window's label
    position = {i: ("top left", "bottom left")[k % 2] for k, i in enumerate(labelled[::-1])}
    for i, g in gaps.iterrows():
        fig.add_vrect(
            x0=g["start"],
            x1=g["end"],
            fillcolor="#d1495b" if g["open"] else "#adb5bd",
            opacity=0.18 if g["open"] else 0.15,
            line_width=0,
            layer="below",
            annotation_text=f"{_duration(g['days'] * 24)} silent" if i in labelled else None,
            annotation_position=position.get(i, "top left"),
            annotation_font={"size": 11, "color": "#6c757d"},
        )
    notes = []  # lines under the chart: what it leaves out
    if aside.any():
        days = ", ".join(dict.fromkeys(f"{t:%Y-%m-%d}" for t in dropped["time_utc"]))
        text = f"{int(aside.sum())} scan(s) with an impossible date not drawn ({days})"
        notes.append((text, "#b5651d"))
    if len(gaps) > len(labelled):
        text = f"{len(gaps) - len(labelled)} shorter silent gaps shaded, not labelled"
        notes.append((text, "#6c757d"))
    for row, (text, colour) in enumerate(notes):
        fig.add_annotation(
            text=text,
            xref="paper",
            yref="paper",
            x=0,
            y=0,
            yshift=-44 - 16 * row,
            xanchor="left",
            yanchor="top",
            showarrow=False,
            font={"size": 11, "color": colour},
        )
    if now is not None:
        _now_line(fig, now)
    low, high = _eta_window(eta)
    if low is not None and high is not None:
        fig.add_vrect(
            x0=low,
            x1=high,
            fillcolor="#2a9d8f",
            opacity=0.15,
            line_width=0,
            layer="below",
            annotation_text="expected delivery",
            annotation_position="bottom left",
        )
    elif low is not None:
        fig.add_vline(x=low, line_dash="dot", line_color="#2a9d8f")
        # inside the plot, right of its line: below the axis it would sit on the date ticks
        fig.add_annotation(
            x=low,
            y=0,
            yref="paper",
            text="delivery expected from",
            showarrow=False,
            xanchor="left",
            yanchor="bottom",
            xshift=4,
            font={"size": 11, "color": "#2a9d8f"},
        )
    # Pad the time range so one scan, the now line and the ETA window are all in view.
    candidates = (ev["time_utc"].min(), ev["time_utc"].max(), now, low, high)
    extent = [t for t in candidates if t is not None and not pd.isna(t)]
    if extent:
        lo, hi = min(extent), max(extent)
        pad = max((hi - lo) * 0.04, pd.Timedelta(hours=12))
        # room right of a lone "delivery expected from" line for its label
        right = pad * 4 if low is not None and high is None and low >= hi else pad
        fig.update_xaxes(range=[lo - pad, hi + right])
    parcel = escape(str(ev["parcel_id"].iloc[0])) if n else ""
    fig.update_layout(
        xaxis_title="Time (UTC)",
        yaxis_title="Leg · carrier",
        yaxis={"categoryorder": "array", "categoryarray": lane_order[::-1]},
        legend_title="Milestone",
        margin={"l": 20, "r": 20},
        hovermode="closest",
    )
    fig.update_yaxes(type="category")
    return _finish(
        fig,
        is_sandbox(ev) if sandbox is None else sandbox,
        title or f"Tracking timeline · {parcel} · {n} scan{'s' if n != 1 else ''}",
        # tall enough for every lane and for the legend, which lists each milestone shown
        height=max(_TOP + 70 + 70 * len(lane_order), _TOP + 100 + 20 * len(present)),
    )


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
        now = to_utc(now, "now")
        out = pd.concat(
            [out, pd.DataFrame({"start": [t.iloc[-1]], "end": [now], "open": [True]})],
            ignore_index=True,
        )
    # one UTC type for both columns: scans read from Parquet carry zoneinfo's UTC, ``now``
    # datetime's, and pandas keeps such a mix as objects
    for col in ("start", "end"):
        out[col] = pd.to_datetime(out[col], utc=True)
    out["days"] = (out["end"] - out["start"]).dt.total_seconds() / 86400
    return out[out["days"] * 24 > gap_hours].reset_index(drop=True)


# ---------------------------------------------------------------- ageing


def _bin_width(max_days: float, max_bins: int = 40) -> int:
    for width in (1, 2, 3, 5, 7, 14, 30, 60, 90, 180, 365):
        if max_days / width < max_bins:
            return width
    return int(np.ceil(max_days / max_bins))


def ageing_histogram(
    diagnoses: pd.DataFrame,
    now: pd.Timestamp | None = None,
    *,
    bin_days: int | None = None,
    sandbox: bool | None = None,
    title: str | None = None,
) -> go.Figure:
    """Parcels not delivered, by days since their last scan, stacked by diagnosis category.

    Ages come from ``days_since_last_scan``, or from ``last_scan_utc`` when ``now`` is
    given. Parcels without any scan get their own "no scan yet" bar on the left.
    """
    require_columns(
        diagnoses, ("parcel_id", "category", "days_since_last_scan"), "diagnoses", "diagnoses"
    )
    stuck = diagnoses[diagnoses["category"].astype(str) != Category.DELIVERED]
    if now is not None:
        require_columns(diagnoses, ("last_scan_utc",), "diagnoses", "diagnoses")
        now = to_utc(now, "now")
        days = (now - stuck["last_scan_utc"]) / pd.Timedelta(days=1)
        early = (days < 0).to_numpy(bool)
        if early.any():
            raise InputError(
                f"now ({now:%Y-%m-%d %H:%M} UTC) is before the last scan of {int(early.sum())} "
                f"parcel(s), e.g. {stuck['parcel_id'].iloc[int(np.argmax(early))]!r}",
                "ageing_histogram",
                "Pass the time the data was taken, or leave now out to use the diagnosis' ages",
            )
    else:
        days = stuck["days_since_last_scan"].astype(float)
    days = days.to_numpy(dtype=float)
    scanned = ~np.isnan(days)
    top = float(days[scanned].max()) if scanned.any() else 0.0
    if bin_days is not None and (isinstance(bin_days, bool) or not int(bin_days) >= 1):
        raise InputError(f"bin_days must be a whole number >= 1, got {bin_days!r}", "bin_days")
    width = int(bin_days) if bin_days is not None else _bin_width(top)
    nbins = int(top // width) + 1
    labels = ["no scan yet"] + [f"{k * width}–{(k + 1) * width}" for k in range(nbins)]
    # bin 0 holds parcels without scans, bin k+1 ages [k*width, (k+1)*width)
    bins = np.where(scanned, np.floor(np.nan_to_num(days) / width) + 1, 0).astype(int)
    if not (~scanned).any():
        labels, bins = labels[1:], bins - 1
    cats = stuck["category"].astype(str).to_numpy()
    counts = pd.crosstab(cats, bins).reindex(columns=range(len(labels)), fill_value=0)
    counts.columns = labels
    table = counts.rename_axis(index="category", columns="x").stack().rename("parcels")
    return ageing_bars(
        table.reset_index(),
        title=title
        or f"Parcels not delivered, by time since their last scan · {len(stuck):,} parcels",
        sandbox=is_sandbox(diagnoses) if sandbox is None else sandbox,
    )


def ageing_bars(
    counts: pd.DataFrame,
    *,
    title: str,
    x_title: str = "Time since last scan (days)",
    categorical: bool = True,
    sandbox: bool = False,
    height: int = 440,
) -> go.Figure:
    """Bars of parcels by days since the last scan, stacked by diagnosis category.

    ``counts`` has the columns category, x (a day or a range of days) and parcels: the
    report's histogram (``ageing_histogram``) and the triage widget draw theirs from it.
    With ``categorical`` the x values are labels in the given order, else numbers.
    """
    require_columns(counts, ("category", "x", "parcels"), "ageing counts", "ageing_bars")
    fig = go.Figure()
    category = counts["category"].astype(str)
    for cat in [c for c in CATEGORIES if (category == c).any()]:
        part = counts[(category == cat).to_numpy()]
        words = cat.replace("_", " ")
        fig.add_trace(
            go.Bar(
                x=part["x"].tolist(),
                y=part["parcels"].to_numpy(),
                name=words,
                meta=cat,
                marker_color=CATEGORY_COLORS[cat],
                hovertemplate=f"{words}<br>%{{x}} days: %{{y:,}} parcels<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="stack",
        bargap=0.08,
        xaxis={"type": "category" if categorical else "linear", "title": x_title},
        yaxis_title="Parcels (count)",
        legend_title="Diagnosis",
    )
    return _finish(fig, sandbox, title, height=height)


# ---------------------------------------------------------------- dwell times

# Stages of the journey in China, each between two journey points (toolkit.diagnosis.scorecard):
# (name, from point, to point, label).
DWELL_STAGES: tuple[tuple[str, str, str, str], ...] = (
    ("wait_for_customs", "arrival", "clearance_start", "Arrival → clearance start"),
    ("customs", "clearance_start", "cleared", "Clearance start → cleared"),
    ("wait_for_handover", "cleared", "handover", "Cleared → handover"),
    ("wait_for_domestic_scan", "handover", "first_domestic", "Handover → first domestic scan"),
    ("domestic_delivery", "first_domestic", "delivered", "First domestic scan → delivery"),
)
DWELL_STATUS: dict[str, str] = {
    "measured": "both scans seen, hours measured",
    "open": "started, no later point reached yet",
    "end_missing": "a later point was reached without this stage's end scan",
    "start_missing": "no scan marks the start of this stage",
    "out_of_order": "the end scan is earlier than the start scan",
}


def dwell_times(events: pd.DataFrame, parcels: pd.DataFrame | None = None) -> pd.DataFrame:
    """Hours each parcel spent in each stage in China: one row per parcel and stage.

    Stages (``DWELL_STAGES``) run between the first scans of consecutive journey
    points (``toolkit.diagnosis.scorecard.JOURNEY_POINTS``): arrival (arrived_destination) →
    clearance start (customs_clearance or customs_hold) → cleared (customs_cleared)
    → handover (handed_over) → first domestic scan (a domestic-leg scan, or a
    domestic milestone) → delivery (delivered). ``hours`` is set only when both
    scans were seen in order; ``status`` says why not otherwise (``DWELL_STATUS``).
    With ``parcels``, rows are those parcels, ``carrier`` is their international
    carrier and the lane columns are added; without, ``carrier`` is the carrier of
    each parcel's first international scan.
    """
    validate_events(events, "events")
    if parcels is not None:
        require_columns(parcels, ("parcel_id",), "parcels", "parcels")
        ids = pd.Index(parcels["parcel_id"].astype("string"))
    else:
        ids = pd.Index(pd.unique(events["parcel_id"].astype("string")), dtype="string")
    points = journey_times(events, ids)
    order = list(JOURNEY_POINTS)
    times = (
        np.column_stack(
            [points[p].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("M8[ns]") for p in order]
        )
        if len(ids)
        else np.empty((0, len(order)), "M8[ns]")
    )
    seen = ~np.isnat(times)
    # later[:, k]: some point after k was reached
    later = np.zeros_like(seen)
    if seen.shape[1] > 1:
        later[:, :-1] = np.flip(np.logical_or.accumulate(np.flip(seen[:, 1:], axis=1), axis=1), 1)
    n, k = len(ids), len(DWELL_STAGES)
    a = np.array([order.index(s[1]) for s in DWELL_STAGES])
    b = np.array([order.index(s[2]) for s in DWELL_STAGES])
    start, end = times[:, a], times[:, b]
    hours = (end - start) / np.timedelta64(1, "h")
    status = np.select(
        [~seen[:, a], ~seen[:, b] & later[:, b], ~seen[:, b], hours < 0],
        ["start_missing", "end_missing", "open", "out_of_order"],
        default="measured",
    )
    hours = np.where(status == "measured", hours, np.nan)

    if parcels is not None:
        carrier = (
            parcels["international_carrier"].astype("string")
            if "international_carrier" in parcels.columns
            else pd.Series(pd.NA, index=parcels.index, dtype="string")
        ).to_numpy(dtype=object)
    else:
        intl = events[events["leg"].astype("string").eq("international").fillna(False)]
        intl = intl.sort_values("time_utc", kind="stable")
        first = intl["carrier"].groupby(intl["parcel_id"].astype("string").to_numpy()).first()
        carrier = first.reindex(ids).astype("string").to_numpy(dtype=object)
    out = pd.DataFrame(
        {
            "parcel_id": pd.array(np.repeat(ids.to_numpy(dtype=object), k), dtype="string"),
            "carrier": pd.array(np.repeat(carrier, k), dtype="string"),
        }
    )
    if parcels is not None:
        for col in ("origin_country", "destination_province"):
            if col in parcels.columns:
                values = parcels[col].astype("string").to_numpy(dtype=object)
                out[col] = pd.array(np.repeat(values, k), dtype="string")
    names = [s[0] for s in DWELL_STAGES]
    out["stage"] = pd.Categorical(np.tile(names, n), categories=names, ordered=True)
    out["start"] = pd.to_datetime(start.ravel()).tz_localize("UTC")
    out["end"] = pd.to_datetime(end.ravel()).tz_localize("UTC")
    out["hours"] = hours.ravel()
    out["status"] = pd.Categorical(status.ravel(), categories=list(DWELL_STATUS))
    out.attrs["sandbox"] = is_sandbox(events)
    return out


def _dwell_boxes(
    fig: go.Figure,
    dwell: pd.DataFrame,
    data: pd.DataFrame,
    group: pd.Series,
    stages: list[str],
    labels: dict[str, str],
    by: str | None,
    log_y: bool,
) -> None:
    """The boxes of dwell_figure, from the measured rows ``data`` grouped by ``group``."""
    keys = [group.to_numpy(dtype=object), data["stage"].astype(str).to_numpy()]
    stats = (
        data["hours"]
        .groupby(keys)
        .quantile([0.1, 0.25, 0.5, 0.75, 0.9])
        .unstack()
        .set_axis(["p10", "q1", "median", "q3", "p90"], axis=1)
    )
    stats["n"] = data["hours"].groupby(keys).size()
    measured = data["stage"].astype(str).value_counts()
    total = dwell["stage"].astype(str).value_counts()
    ticks = {
        s: labels[s].replace(" → ", " →<br>")
        + f"<br><i>n = {int(measured.get(s, 0)):,} of {int(total.get(s, 0)):,}</i>"
        for s in stages
    }
    groups = group.value_counts().index.tolist()  # most parcels first
    for i, name in enumerate(groups):
        part = stats.loc[name].reindex(stages).dropna(subset=["median"])
        fig.add_trace(
            go.Box(
                x=[ticks[s] for s in part.index],
                q1=part["q1"].tolist(),
                median=part["median"].tolist(),
                q3=part["q3"].tolist(),
                lowerfence=part["p10"].tolist(),
                upperfence=part["p90"].tolist(),
                name=f"{escape(str(name))} ({int(part['n'].sum()):,})",
                marker_color=SERIES_COLORS[i % len(SERIES_COLORS)],
                boxpoints=False,
                hoverinfo="x+y+name",
            )
        )
    fig.update_layout(
        boxmode="group",
        xaxis={
            "title": "Stage in China",
            "type": "category",
            "tickangle": 0,
            "categoryorder": "array",
            "categoryarray": [ticks[s] for s in stages],
        },
        yaxis={"title": "Time in stage (hours)", "type": "log" if log_y else "linear"},
        legend_title=f"{by.replace('_', ' ') if by else 'group'} (stage times measured)",
        margin={"b": 90},
    )


def dwell_figure(
    dwell: pd.DataFrame,
    by: str | None = "carrier",
    *,
    log_y: bool = False,
    sandbox: bool | None = None,
    title: str | None = None,
    empty_text: str = NO_DWELL,
) -> go.Figure:
    """Box per stage and ``by`` group of the hours from ``dwell_times`` (whiskers 10th-90th percentile).

    Boxes are computed here (quartiles, median, 10th and 90th percentiles), so the
    figure stays small for any number of parcels. ``by=None`` draws one box per stage.
    When no stage time is measured, the plot area says so (``empty_text``).
    """
    require_columns(dwell, ("stage", "hours", *([by] if by else [])), "dwell times", "dwell_figure")
    labels = {s[0]: s[3] for s in DWELL_STAGES}
    stages = [s[0] for s in DWELL_STAGES if s[0] in set(dwell["stage"].astype(str))]
    data = dwell[dwell["hours"].notna()]
    group = (
        data[by].astype("string").fillna("(unknown)")
        if by
        else pd.Series("all parcels", index=data.index)
    )
    fig = go.Figure()
    if data.empty:
        _nothing_to_draw(fig, empty_text)
    else:
        _dwell_boxes(fig, dwell, data, group, stages, labels, by, log_y)
    who = by.replace("_", " ") if by else "all parcels"
    return _finish(
        fig,
        is_sandbox(dwell) if sandbox is None else sandbox,
        title
        or f"Time spent in each stage in China, by {who}"
        "<br><sup>box: middle half of parcels, line: median, whiskers: 10th–90th percentile; "
        "n: parcels with both scans of the stage</sup>",
        height=580,
    )


# ---------------------------------------------------------------- gone dark


def gone_dark_heatmap(
    diagnoses: pd.DataFrame,
    parcels: pd.DataFrame,
    *,
    min_parcels: int = 1,
    sandbox: bool | None = None,
    title: str | None = None,
    empty_text: str = NO_PARCELS,
) -> go.Figure:
    """Carrier × lane (origin → destination province) share of parcels gone dark, counts in hover.

    "Gone dark" is ``toolkit.diagnosis.scorecard.GONE_DARK``. Cells with fewer than
    ``min_parcels`` parcels are left blank (their counts stay in the hover). With no
    parcel, the plot area says so (``empty_text``).
    """
    require_columns(
        parcels,
        ("parcel_id", "international_carrier", "origin_country", "destination_province"),
        "parcels",
        "gone_dark_heatmap",
    )
    rates = gone_dark_rates(diagnoses, parcels, by=("international_carrier", "lane"))
    dark_names = ", ".join(sorted(c.replace("_", " ") for c in GONE_DARK))
    sandbox = is_sandbox(diagnoses, parcels) if sandbox is None else sandbox
    if rates.empty:
        return _finish(
            _nothing_to_draw(go.Figure(), empty_text),
            sandbox,
            title
            or f"Share of parcels gone dark, by carrier and lane<br><sup>gone dark: {dark_names}</sup>",
            height=420,
        )
    n = int(rates["parcels"].sum())
    return gone_dark_grid(
        rates.rename(columns={"international_carrier": "carrier"}),
        min_parcels=min_parcels,
        sandbox=sandbox,
        title=title
        or f"Share of parcels gone dark, by carrier and lane · {n:,} parcels"
        f"<br><sup>gone dark: {dark_names}"
        + (f"; cells with fewer than {min_parcels} parcels left blank" if min_parcels > 1 else "")
        + "</sup>",
    )


def gone_dark_grid(
    rates: pd.DataFrame,
    *,
    title: str,
    min_parcels: int = 1,
    sandbox: bool = False,
    height: int | None = None,
) -> go.Figure:
    """Carrier × lane grid of the share of parcels gone dark, counts in the hover.

    ``rates`` has the columns carrier, lane, parcels and gone_dark (one row a cell): the
    report's heatmap (``gone_dark_heatmap``) and the triage widget draw theirs from it.
    Carriers come most gone dark first; cells with fewer than ``min_parcels`` parcels are
    blank.
    """
    require_columns(
        rates, ("carrier", "lane", "parcels", "gone_dark"), "gone-dark rates", "gone_dark_grid"
    )
    rates = rates.assign(
        # carrier and lane names come from the parcels file: escape them for the labels
        carrier=_escape(rates["carrier"]).to_numpy(),
        lane=_escape(rates["lane"]).to_numpy(),
        gone_dark_rate=(rates["gone_dark"] / rates["parcels"]).to_numpy(),
    )
    carriers_total = rates.groupby("carrier")[["gone_dark", "parcels"]].sum()
    carriers = (
        (carriers_total["gone_dark"] / carriers_total["parcels"])
        .sort_values(ascending=False, kind="stable")
        .index.tolist()
    )
    lanes = sorted(rates["lane"].unique())
    grid = rates.pivot(index="carrier", columns="lane")
    share = grid["gone_dark_rate"].reindex(index=carriers, columns=lanes)
    dark = grid["gone_dark"].reindex(index=carriers, columns=lanes)
    total = grid["parcels"].reindex(index=carriers, columns=lanes)
    z = share.where(total >= min_parcels).to_numpy(dtype=float)
    custom = np.dstack([dark.fillna(0).to_numpy(), total.fillna(0).to_numpy()])
    small = len(carriers) <= 25 and len(lanes) <= 30
    zmax = float(np.nanmax(z)) if np.isfinite(z).any() else 1.0
    fig = go.Figure(
        go.Heatmap(
            z=grid_cells(z),
            x=lanes,
            y=carriers,
            customdata=custom,
            zmin=0,
            zmax=max(zmax, 0.05),
            colorbar={"title": {"text": "Gone dark<br>(% of parcels)"}, "tickformat": ".0%"},
            texttemplate="%{z:.0%}" if small else None,
            xgap=1,
            ygap=1,
            hovertemplate="%{y} · %{x}<br>gone dark: %{customdata[0]:,} of %{customdata[1]:,}"
            " parcels (%{z:.1%})<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis={"title": "Lane (origin country → destination province)", "tickangle": -45},
        yaxis={"title": "International carrier", "autorange": "reversed"},
    )
    return _finish(fig, sandbox, title, height=height or max(420, 220 + 28 * len(carriers)))


# ---------------------------------------------------------------- swimlanes


def swimlanes(
    events: pd.DataFrame,
    parcel_ids: Iterable[str] | None = None,
    max_parcels: int = SWIMLANE_LIMIT,
    *,
    now: pd.Timestamp | None = None,
    sandbox: bool | None = None,
    title: str | None = None,
    webgl: bool | None = None,
) -> go.Figure:
    """One row per parcel with a marker per scan, coloured by milestone (up to max_parcels).

    Rows are ``parcel_ids`` in that order, or every parcel in ``events`` by first scan.
    Markers are WebGL (``webgl=None``: when there are more than ``WEBGL_SCANS`` scans);
    fewer scans draw faster as SVG, without setting up WebGL.
    """
    validate_events(events, "events")
    pid = events["parcel_id"].astype("string")
    if parcel_ids is None:
        first = events["time_utc"].groupby(pid.to_numpy()).min().sort_values(kind="stable")
        ids = pd.Index(first.index, dtype="string")
    else:
        ids = pd.Index(pd.unique(pd.Series(list(parcel_ids), dtype="string")), dtype="string")
    if len(ids) > max_parcels:
        raise InputError(
            f"{len(ids):,} parcels are too many for one swimlane chart (the limit is "
            f"{max_parcels:,})",
            "swimlanes",
            f"Filter first (e.g. by carrier, lane, category or age) or pass parcel_ids= with at "
            f"most {max_parcels:,} parcels",
        )
    row = ids.get_indexer(pid)
    keep = row >= 0
    ev = events[keep]
    row = row[keep]
    n = len(ids)
    scatter = go.Scattergl if (len(ev) > WEBGL_SCANS if webgl is None else webgl) else go.Scatter
    size = 8 if n <= 100 else 5 if n <= 1000 else 3
    fig = go.Figure()
    # naive UTC datetime64: plotly serialises these fast, where Timestamps go one by one
    times = ev["time_utc"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("M8[ns]")
    if len(ev):
        span = pd.Series(times).groupby(row).agg(["min", "max"])
        xs = np.column_stack(
            [
                span["min"].to_numpy("M8[ns]"),
                span["max"].to_numpy("M8[ns]"),
                np.full(len(span), np.datetime64("NaT"), "M8[ns]"),
            ]
        ).ravel()
        ys = np.column_stack(
            [span.index.to_numpy(), span.index.to_numpy(), np.full(len(span), np.nan)]
        ).ravel()
        fig.add_trace(
            scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"color": "#dee2e6", "width": 1},
                hoverinfo="skip",
                showlegend=False,
                name="journey",
            )
        )
    hover = (
        "<b>"
        + _escape(ev["parcel_id"])
        + "</b> · "
        + _escape(ev["time_local"])
        + "<br>"
        + _escape(ev["description"], limit=120)
        + _gloss_line(ev, limit=120)
        + "<br><i>"
        + _escape(ev["milestone"])
        + "</i> · "
        + _escape(ev["carrier"])
    ).to_numpy(dtype=object)
    milestones = ev["milestone"].astype(str).to_numpy()
    for milestone in [m for m in MILESTONES if m in set(milestones)]:
        sel = milestones == milestone
        fig.add_trace(
            scatter(
                x=times[sel],
                y=row[sel],
                mode="markers",
                name=milestone.replace("_", " "),
                marker={"size": size, "color": MILESTONE_COLORS[milestone]},
                hovertext=hover[sel],
                hoverinfo="text",
            )
        )
    if now is not None:
        _now_line(fig, to_utc(now, "now"))
    labelled = n <= 60
    fig.update_layout(
        xaxis_title="Time (UTC)",
        yaxis={
            "title": "Parcel (one row each)",
            "range": [n - 0.5, -0.5],
            "tickmode": "array" if labelled else "auto",
            "tickvals": list(range(n)) if labelled else None,
            "ticktext": [escape(str(i)) for i in ids] if labelled else None,
            "showticklabels": labelled,
            "showgrid": False,
            "zeroline": False,
        },
        legend_title="Milestone",
        hovermode="closest",
    )
    silent = n - len(np.unique(row))
    note = f" · {silent:,} without any scan (empty rows)" if silent else ""
    return _finish(
        fig,
        is_sandbox(events) if sandbox is None else sandbox,
        title or f"Scans of {n:,} parcel{'s' if n != 1 else ''}, one row each{note}",
        height=int(np.clip(150 + 16 * n, 320, 1400)),
    )
