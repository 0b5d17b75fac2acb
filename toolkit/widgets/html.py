"""HTML pieces of the widgets: number cards, event and finding tables, notices.

Every value is escaped (carrier text is untrusted).
"""

from __future__ import annotations

from html import escape
from typing import Any

import pandas as pd

from toolkit.diagnosis.diagnose import Diagnosis
from toolkit.tracking.gloss import with_english
from toolkit.tracking.numbers import TrackingNumber, carrier_label

EVENT_TABLE_COLUMNS = (
    "time_local",
    "carrier",
    "leg",
    "tracking_number",
    "location",
    "description",
    "milestone",
    "source",
)
FINDING_LIST_COLUMNS = (
    "id",
    "updated_at",
    "category",
    "status",
    "analyst",
    "root_cause",
    "actions_taken",
    "buyer_contacted",
    "compensation_kind",
    "compensation_amount",
    "compensation_currency",
    "follow_up",
    "notes",
)


SANDBOX_NOTE_HTML = (
    '<div style="padding:4px 8px;border-left:4px solid #b5651d;background:#fff4e5;'
    'color:#5a3e1b;font-size:12px"><b>Sandbox data</b>: these scans come from the built-in '
    "sandbox over the demo data set, not from the carriers.</div>"
)


# Widget labels wrap instead of ending in "…" (ipywidgets cuts descriptions to one line).
WRAP_CLASS = "toolkit-wrap"
WRAP_CSS = (
    "<style>"
    f".{WRAP_CLASS} .widget-label-basic, .{WRAP_CLASS} .widget-label-basic span,"
    f" .{WRAP_CLASS}.widget-button, .{WRAP_CLASS} .widget-button"
    "{white-space:normal;overflow:visible;text-overflow:clip;height:auto;line-height:1.35;}"
    f".{WRAP_CLASS}.widget-checkbox, .{WRAP_CLASS} .widget-checkbox"
    "{height:auto;align-items:flex-start;}"
    f".{WRAP_CLASS} .widget-checkbox input{{margin-top:3px;}}"
    "</style>"
)


# Tick and cross as inline SVG: emoji marks need an emoji font, and many machines have none.
_SVG = (
    '<svg width="12" height="12" viewBox="0 0 12 12" role="img" aria-label="{label}" '
    'style="vertical-align:-1px"><path d="{path}" fill="none" stroke="{color}" '
    'stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round"/></svg>'
)
MARK_OK = _SVG.format(label="passes", path="M2 6.5 5 9.5 10 2.5", color="#2a7f62")
MARK_BAD = _SVG.format(label="fails", path="M2.5 2.5 9.5 9.5M9.5 2.5 2.5 9.5", color="#c1121f")


# ------------------------------------------------------------------ HTML pieces


def _carriers_html(tn: TrackingNumber) -> str:
    """The candidates by name, most likely first; for a foreign post's S10 number, China
    Post (or EMS) is said to be the carrier of its leg in China, not another guess."""
    if not tn.candidates:
        return "unknown"
    leg = tn.china_leg
    guesses = [c for c in tn.candidates if c != leg]
    text = f"<b>{escape(carrier_label(guesses[0]))}</b>" if guesses else ""
    if len(guesses) > 1:
        text += ", or " + escape(", ".join(carrier_label(c) for c in guesses[1:]))
    if leg:
        name = escape(carrier_label(leg))
        text += f" (in China: {name}, under the same number)" if text else f"in China: {name}"
    return text


def parse_html(tn: TrackingNumber) -> str:
    """A parsed number as an HTML card: validity, carriers, problems, suggestions (escaped)."""
    if not tn.normalized:
        return "<i>Type a tracking number or pick a demo parcel.</i>"
    verdict = {
        True: f"{MARK_OK} check digit passes",
        False: f"{MARK_BAD} not valid",
        None: "format recognised",
    }
    parts = [
        f"<b>{escape(tn.normalized)}</b> · {verdict[tn.valid]}",
        "Carrier: " + _carriers_html(tn),
    ]
    if tn.problems:
        parts.append("<ul>" + "".join(f"<li>{escape(p)}</li>" for p in tn.problems) + "</ul>")
    if tn.suggestions:
        parts.append(
            "Did you mean: " + ", ".join(f"<code>{escape(s)}</code>" for s in tn.suggestions)
        )
    return "<br>".join(parts)


def events_html(events: pd.DataFrame, max_rows: int = 200) -> str:
    """Events as an escaped HTML table, newest last."""
    if events.empty:
        return "<i>No events are known under this number.</i>"
    cols = [c for c in EVENT_TABLE_COLUMNS if c in events.columns]
    return with_english(events.tail(max_rows), cols).to_html(index=False, escape=True, na_rep="")


def buyer_message_html(d: Diagnosis, lang: str) -> str:
    """The buyer message as escaped, line-preserving HTML."""
    return f'<div style="white-space:pre-wrap">{escape(d.buyer_message(lang))}</div>'


def error_note(row: Any) -> str:
    """One line of the errors table as a note: the number, then what went wrong."""
    if row.error == "implausible_answer":
        return f"{row.tracking_number}: answer set aside: {row.message}"
    return f"{row.tracking_number}: {row.message}"


def message_html(text: str, kind: str = "error") -> str:
    """A short escaped notice: kind is "error", "warning" or "ok"."""
    color = {"error": "#c1121f", "warning": "#b5651d", "ok": "#2a7f62"}.get(kind, "#333")
    return f'<div style="color:{color};white-space:pre-wrap">{escape(text)}</div>'


def findings_html(findings: pd.DataFrame) -> str:
    """Earlier findings as an escaped HTML table (or a note that there are none)."""
    if findings is None or findings.empty:
        return "<i>No findings recorded for this parcel yet.</i>"
    cols = [c for c in FINDING_LIST_COLUMNS if c in findings.columns]
    shown = findings[cols].copy()
    for c in shown.columns:
        shown[c] = shown[c].map(
            lambda v: "; ".join(map(str, v)) if isinstance(v, list | tuple) else v
        )
    return shown.to_html(index=False, escape=True, na_rep="")
