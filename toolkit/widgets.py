"""Notebook widgets: plain classes holding ipywidgets children, shown through `.layout`.

``ParcelInvestigator`` looks into one parcel (track, timeline, diagnosis, actions,
buyer message, findings); ``GroupTriage`` filters a group of parcels and acts on a
selection of them. Every error a callback meets is shown inside the widget.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

import ipywidgets as w
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from toolkit.carriers.base import WARNING_KINDS
from toolkit.diagnose import Diagnosis, diagnose, diagnose_all, fit_eta, same_history
from toolkit.errors import DecodingWarning, InputError, ToolkitError
from toolkit.findings import COMPENSATION_KINDS, STATUSES
from toolkit.io import write_spreadsheet_csv
from toolkit.lookup import Correction, parcel_ids_for, rank_corrections
from toolkit.messages import carrier_name
from toolkit.model import CATEGORIES, PARCEL_DTYPES, PERSONAL_COLUMNS, empty_parcels
from toolkit.numbers import TrackingNumber, parse
from toolkit.plots import CHART_CONFIG, TEMPLATE, grid_cells, timeline_figure, widget_json
from toolkit.triage import Triage, TriageFilter, triage_table
from toolkit.views import diagnosis_html

log = logging.getLogger(__name__)

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
CURRENCIES = ("CNY", "USD", "EUR", "GBP", "JPY", "KRW", "AUD", "CAD", "HKD")
# Tracking failures that say something about the number rather than the service.
SUGGESTION_BUTTONS = 5  # corrections offered as buttons under the number
NUMBER_FAILURES = (
    "not_found",
    "invalid_number",
    "carrier_unknown",
    "needs_phone",
    "implausible_answer",
)
# Rows of the errors table that warn about a number that WAS tracked (carrier_mismatch):
# shown as warnings beside the diagnosis, never as a failure that hides it.
TRACKING_WARNINGS = WARNING_KINDS
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
        "Carrier: " + (escape(", ".join(tn.candidates)) if tn.candidates else "unknown"),
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
    return events[cols].tail(max_rows).to_html(index=False, escape=True, na_rep="")


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


# ------------------------------------------------------------------ callback boundary


def _guarded(method: Callable) -> Callable:
    """Run a widget callback; show any error in the widget's message area, never a traceback."""

    @functools.wraps(method)
    def run(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except ToolkitError as exc:
            self._say(str(exc), "error")
        except Exception as exc:  # the boundary: anything else becomes a short notice
            log.exception("widget action %s failed", method.__name__)
            self._say(
                f"Something went wrong ({type(exc).__name__}). The details are in the log; "
                "try again, and report it if it keeps happening.",
                "error",
            )
        return None

    return run


def _default_store() -> Any:
    from toolkit.findings import FindingsStore

    return FindingsStore()


# ------------------------------------------------------------------ the finding form


class FindingForm:
    """Fields of a finding; ``values()`` gives the keyword arguments of FindingsStore.add."""

    def __init__(self, analyst: str = "", free_actions: bool = False):
        full = w.Layout(width="95%")
        style = {"description_width": "130px"}
        self._w_category = w.Dropdown(options=list(CATEGORIES), description="Category", style=style)
        self._w_root_cause = w.Textarea(description="Root cause", layout=full, style=style)
        self._w_actions = w.Textarea(
            description="Actions taken",
            placeholder="one per line",
            layout=full,
            style=style,
        )
        self._w_buyer = w.Checkbox(description="Buyer contacted", value=False, indent=False)
        self._w_comp_kind = w.Dropdown(
            options=[("none", ""), *((k.replace("_", " "), k) for k in COMPENSATION_KINDS)],
            value="",
            description="Compensation",
            style=style,
        )
        self._w_comp_amount = w.BoundedFloatText(
            value=0.0, min=0.0, max=1e9, step=1.0, description="Amount", style=style
        )
        self._w_comp_currency = w.Dropdown(options=CURRENCIES, value="CNY", description="Currency")
        self._w_notes = w.Textarea(description="Notes", layout=full, style=style)
        self._w_internal = w.Textarea(
            description="Internal notes",
            placeholder="kept out of anything shared with partners",
            layout=full,
            style=style,
        )
        self._w_analyst = w.Text(value=analyst, description="Analyst", style=style)
        self._w_status = w.Dropdown(options=STATUSES, value="open", description="Status")
        self._w_follow_up = w.DatePicker(description="Follow up", style=style)
        children = [
            w.HBox([self._w_category, self._w_status]),
            self._w_root_cause,
        ]
        if free_actions:
            children.append(self._w_actions)
        children += [
            self._w_buyer,
            w.HBox([self._w_comp_kind, self._w_comp_amount, self._w_comp_currency]),
            self._w_notes,
            self._w_internal,
            w.HBox([self._w_analyst, self._w_follow_up]),
        ]
        self.layout = w.VBox(children)

    def clear(self) -> None:
        """Empty the form for the next finding (the analyst and the category stay)."""
        for box in (self._w_root_cause, self._w_actions, self._w_notes, self._w_internal):
            box.value = ""
        self._w_buyer.value = False
        self._w_comp_kind.value = ""
        self._w_comp_amount.value = 0.0
        self._w_comp_currency.value = "CNY"
        self._w_status.value = "open"
        self._w_follow_up.value = None

    def preset(self, category: str | None) -> None:
        """Start the form from a diagnosis category."""
        if category in CATEGORIES:
            self._w_category.value = category

    def values(self, actions_taken: list[str] | None = None) -> dict[str, Any]:
        """The form as FindingsStore.add keyword arguments (actions from the box if not given)."""
        analyst = self._w_analyst.value.strip()
        if not analyst:
            raise InputError(
                "the analyst is empty", "finding form", "Type your name in the Analyst box"
            )
        if actions_taken is None:
            actions_taken = [a.strip() for a in self._w_actions.value.splitlines() if a.strip()]
        out: dict[str, Any] = {
            "category": self._w_category.value,
            "analyst": analyst,
            "notes": self._w_notes.value.strip(),
            "internal_notes": self._w_internal.value.strip(),
            "root_cause": self._w_root_cause.value.strip(),
            "actions_taken": list(actions_taken),
            "buyer_contacted": bool(self._w_buyer.value),
            "status": self._w_status.value,
        }
        if self._w_comp_kind.value:
            out["compensation_kind"] = self._w_comp_kind.value
            out["compensation_amount"] = float(self._w_comp_amount.value)
            out["compensation_currency"] = self._w_comp_currency.value
        if self._w_follow_up.value is not None:
            out["follow_up"] = self._w_follow_up.value
        return out


# ------------------------------------------------------------------ one parcel


class ParcelInvestigator:
    """Look into one parcel: number check, tracking, timeline, diagnosis, actions, findings."""

    def __init__(
        self,
        parcels: pd.DataFrame | None = None,
        events: pd.DataFrame | None = None,
        now: pd.Timestamp | None = None,
        *,
        store: Any = None,
        track_options: Mapping[str, Any] | None = None,
        out_dir: str | Path | None = None,
        analyst: str = "",
    ):
        self.parcels = parcels
        self.history = events
        self.now = pd.Timestamp(now) if now is not None else None
        self.track_options = {"progress": False, **dict(track_options or {})}
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self._store = store
        # what the shown parcel's delivery estimate was made from, which an export passes on:
        # (parcels, events, now, lane model)
        self.basis: tuple[pd.DataFrame, Callable[[], pd.DataFrame], pd.Timestamp, Any] | None = None
        self._history_model: tuple[pd.Timestamp, Any] | None = None  # (now, fit on history)
        self._ids_cache: dict[str, Any] = {}
        self.parsed: TrackingNumber | None = None
        self.parcel: dict[str, Any] | None = None
        self.events: pd.DataFrame | None = None
        self.errors: pd.DataFrame | None = None
        self.diagnosis: Diagnosis | None = None
        self.corrections: list[Correction] = []

        options = [("— demo parcels —", "")]
        if parcels is not None and len(parcels):
            label = (
                parcels["parcel_id"].astype(str)
                + " · "
                + parcels["international_number"].astype(str)
                + " · "
                + parcels["origin_country"].fillna("").astype(str)
                + "→"
                + parcels["destination_province"].fillna("").astype(str)
            )
            options += list(zip(label, parcels["international_number"].astype(str), strict=True))
        self._w_demo = w.Dropdown(options=options, value="", description="Demo parcel")
        self._w_number = w.Text(
            description="Number",
            placeholder="e.g. LX123456785US, 1Z…, SF1234567890123",
            continuous_update=True,
        )
        self._b_investigate = w.Button(
            description="Investigate", button_style="primary", icon="search"
        )
        self._w_parse = w.HTML(parse_html(parse("")))
        self._w_suggestions = w.HBox([])
        self._w_message = w.HTML()
        self._w_sandbox = w.HTML()
        self._w_diagnosis = w.HTML()
        self._w_actions = w.VBox([])
        self._w_lang = w.ToggleButtons(options=[("中文", "zh"), ("English", "en")], value="zh")
        self._w_buyer = w.HTML()
        self._timeline = FigureSlot()
        self._shown_number: str | None = None
        self._w_events = w.HTML()
        self.form = FindingForm(analyst)
        self._b_save = w.Button(description="Save finding", icon="save", disabled=True)
        self._w_saved = w.HTML()
        self._w_findings = w.HTML()
        self._b_export = w.Button(
            description="Export for partner",
            icon="file-export",
            disabled=True,
            tooltip="Write an HTML report for the carrier partner (recipient data masked)",
            layout=w.Layout(width="auto"),
        )
        self._w_report_lang = _report_language()
        self._w_export = w.HTML()
        self._w_download = w.Output()

        self._w_demo.observe(self._on_demo, names="value")
        self._w_number.observe(self._on_number, names="value")
        self._w_lang.observe(self._on_lang, names="value")
        self._b_investigate.on_click(self._on_investigate)
        self._b_save.on_click(self._on_save)
        self._b_export.on_click(self._on_export)

        self._w_result = w.VBox(
            [
                self._w_sandbox,
                self._w_diagnosis,
                w.HTML("<b>Next actions</b> (tick what you have done)"),
                self._w_actions,
                w.HTML("<b>Message to the buyer</b>"),
                self._w_lang,
                self._w_buyer,
                self._timeline.box,
                self._w_events,
                w.HTML("<h4>Record a finding</h4>"),
                self.form.layout,
                w.HBox(
                    [self._b_save, self._w_saved, self._b_export, self._w_report_lang],
                    layout=w.Layout(align_items="center", flex_flow="row wrap"),
                ),
                self._w_export,
                self._w_download,
                w.HTML("<b>Earlier findings for this parcel</b>"),
                self._w_findings,
            ]
        )
        self._w_result.layout.display = "none"
        self.layout = w.VBox(
            [
                w.HTML(WRAP_CSS),
                w.HBox([self._w_number, self._b_investigate, self._w_demo]),
                self._w_parse,
                self._w_suggestions,
                self._w_message,
                self._w_result,
            ]
        )

    # ------------------------------------------------------------ what it shows (read-only)
    @property
    def message(self) -> str:
        """The message line (HTML): problems, warnings and what to do next."""
        return self._w_message.value

    @property
    def diagnosis_html(self) -> str:
        """The diagnosis card of the parcel shown (HTML; "" when none is)."""
        return self._w_diagnosis.value

    @property
    def findings_html(self) -> str:
        """The findings recorded for the parcel shown, as listed (HTML)."""
        return self._w_findings.value

    @property
    def saved_message(self) -> str:
        """The confirmation next to the save button (HTML; "" until a finding is saved)."""
        return self._w_saved.value

    @property
    def export_message(self) -> str:
        """What the last export said: where the file is and who may see it (HTML)."""
        return self._w_export.value

    # ------------------------------------------------------------ plumbing
    @property
    def store(self) -> Any:
        """The findings store (a default FindingsStore() on first use)."""
        if self._store is None:
            self._store = _default_store()
        return self._store

    def _say(self, text: str, kind: str = "error") -> None:
        self._w_message.value = message_html(text, kind) if text else ""

    # ----------------------------------------------------------- callbacks
    def _on_demo(self, change) -> None:
        if change["new"]:
            self._w_number.value = change["new"]

    @_guarded
    def _on_number(self, change) -> None:
        self.parsed = parse(change["new"])
        if self._shown_number is not None and self.parsed.normalized != self._shown_number:
            self._say("")  # a different number: the previous parcel's result goes
            self._clear()
        self._w_parse.value = parse_html(self.parsed)
        self._show_corrections(self.parsed.suggestions)

    def _show_corrections(self, suggestions: tuple[str, ...], with_scans: set[str] = frozenset()):
        """Buttons for the corrections that lead somewhere first: a parcel in the loaded
        table, then a number the carrier has scans for, then the likeliest edits."""
        self.corrections = rank_corrections(
            suggestions, self.parcels, self.history, with_scans=with_scans
        )
        buttons = []
        for c in self.corrections[:SUGGESTION_BUTTONS]:
            label = c.number + (f" → {c.parcel_id}" if c.parcel_id else "")
            label += " · has scans" if c.has_scans and not c.parcel_id else ""
            b = w.Button(
                description=label,
                tooltip=f"Investigate {c.number}: {c.why}",
                layout=w.Layout(width="auto"),
                button_style="info" if c.leads_somewhere else "",
            )
            b.on_click(functools.partial(self._use_suggestion, c.number))
            buttons.append(b)
        self._w_suggestions.children = tuple(buttons)

    def _use_suggestion(self, number: str, _button=None) -> None:
        self._w_number.value = number
        self.investigate(number)

    def _check_corrections(self, tn: TrackingNumber) -> None:
        """Ask the carrier service which suggested corrections have scans (one call)."""
        from toolkit.track import numbers_with_scans

        self._show_corrections(tn.suggestions)
        if not tn.suggestions or any(c.parcel_id is not None for c in self.corrections):
            return  # a correction already leads to a known parcel: no call needed
        try:
            found = numbers_with_scans(tn.suggestions, **self.track_options)
        except ToolkitError as exc:  # the number's own result stays on screen
            log.warning("checking the suggested corrections failed: %s", exc)
            return
        self._show_corrections(tn.suggestions, found)

    def _on_lang(self, change) -> None:
        if self.diagnosis is not None:
            self._w_buyer.value = buyer_message_html(self.diagnosis, change["new"])

    def _on_investigate(self, _button=None) -> None:
        self.investigate(self._w_number.value)

    @_guarded
    def _on_save(self, _button=None) -> None:
        self.save_finding()

    @_guarded
    def _on_export(self, _button=None) -> None:
        self.export_for_partner()

    # ------------------------------------------------------------- actions
    def _parcel_record(self, number: str) -> tuple[dict[str, Any], pd.DataFrame | None]:
        """The parcels-table record behind a number (and its one-row table), or a bare one."""
        if self.parcels is not None and len(self.parcels):
            history = self.history if self.history is not None else pd.DataFrame()
            ids = parcel_ids_for(number, self.parcels, history)
            if ids:
                rows = self.parcels[self.parcels["parcel_id"].astype(str) == ids[0]]
                if len(rows):
                    return rows.iloc[0].to_dict(), rows
        return {"parcel_id": number, "international_number": number}, None

    def _estimate_basis(
        self, rec: Mapping[str, Any], events: pd.DataFrame, now: pd.Timestamp
    ) -> tuple[pd.DataFrame, Callable[[], pd.DataFrame], pd.Timestamp, Any]:
        """What the parcel's delivery estimate is made from: the parcels table (with its
        record), the events (the loaded history with this parcel's scans as just tracked,
        built when asked for), now, and the lane model fitted on them.

        The partner export renders from the same tables and now, so the report's estimate
        for the parcel is the one shown here (both come from diagnose.parcel_eta).
        """
        pid = str(rec["parcel_id"])
        known = self.parcels is not None and pid in self._known_ids()
        if known:
            parcels = self.parcels
        elif self.parcels is not None and len(self.parcels):
            parcels = pd.concat([self.parcels, _bare_parcels(rec)], ignore_index=True)
        else:
            parcels = _bare_parcels(rec)
        history = self.history
        if history is None or not len(history):
            return parcels, lambda: events, now, fit_eta(events, parcels, now=now)
        mine = self._history_ids() == pid

        def tables() -> pd.DataFrame:
            out = pd.concat([history[~mine], events], ignore_index=True)
            out.attrs = dict(events.attrs)
            return out

        if known and same_history(
            history[mine].assign(parcel_id=pid), events.assign(parcel_id=pid), pid
        ):
            # the scans just tracked tell the model what the loaded ones did: the model
            # fitted once on the loaded tables is the one these tables give
            if self._history_model is None or self._history_model[0] != now:
                self._history_model = (now, fit_eta(history, self.parcels, now=now))
            return parcels, tables, now, self._history_model[1]
        return parcels, tables, now, fit_eta(tables(), parcels, now=now)

    def _known_ids(self) -> set[str]:
        if self._ids_cache.get("parcels") is None:
            self._ids_cache["parcels"] = set(self.parcels["parcel_id"].astype(str))
        return self._ids_cache["parcels"]

    def _history_ids(self) -> np.ndarray:
        if self._ids_cache.get("history") is None:
            self._ids_cache["history"] = self.history["parcel_id"].astype(str).to_numpy()
        return self._ids_cache["history"]

    def _clear(self) -> None:
        self.diagnosis = None
        self.basis = None
        self.events = None
        self._shown_number = None
        self._w_result.layout.display = "none"
        self._w_sandbox.value = ""
        self._w_diagnosis.value = ""
        self._w_actions.children = ()
        self._w_buyer.value = ""
        self._w_events.value = ""
        self._w_findings.value = ""
        self._w_export.value = ""
        self._w_download.outputs = ()
        self._w_saved.value = ""
        self._b_save.disabled = True
        self._b_export.disabled = True
        self._timeline.hide()  # emptied or replaced when the next result is shown

    @property
    def _w_fig(self) -> go.FigureWidget:
        """The FigureWidget showing the timeline."""
        return self._timeline.widget

    @_guarded
    def investigate(self, number: str) -> Diagnosis | None:
        """Track the parcel behind a number and show its timeline, diagnosis and findings."""
        from toolkit import track

        self._say("")
        self._clear()
        tn = parse(number)
        if not tn.normalized:
            self._say("Type a tracking number first.", "warning")
            return None
        self._shown_number = tn.normalized
        rec, rows = self._parcel_record(tn.normalized)
        events, errors = track(rows if rows is not None else tn.normalized, **self.track_options)
        self.parcel, self.events, self.errors = rec, events, errors
        self._w_sandbox.value = SANDBOX_NOTE_HTML if events.attrs.get("sandbox") else ""
        notes = [error_note(r) for r in errors.itertuples(index=False)]
        failed = errors[~errors["error"].isin(TRACKING_WARNINGS)] if len(errors) else errors
        service_failed = (
            bool((~failed["error"].isin(NUMBER_FAILURES)).any()) if len(failed) else False
        )
        if events.empty and service_failed:
            self._say("The parcel could not be tracked.\n" + "\n".join(notes))
            self._w_result.layout.display = "none"
            self._timeline.show(None)
            return None
        if events.empty and tn.valid is False:
            self._check_corrections(tn)
            if any(c.leads_somewhere for c in self.corrections):
                notes.append("Corrections that lead to a parcel are shown first, marked blue.")
        if notes:
            self._say("\n".join(notes), "warning")
        now = self.now if self.now is not None else pd.Timestamp.now(tz="UTC")
        self.basis = self._estimate_basis(rec, events, now)
        d = diagnose(events, now=now, parcel=rec, eta_model=self.basis[3])
        self.diagnosis = d
        self._show(d, events, now)
        return d

    def _show(self, d: Diagnosis, events: pd.DataFrame, now: pd.Timestamp) -> None:
        self._w_diagnosis.value = diagnosis_html(d)
        self._w_actions.children = tuple(
            w.Checkbox(
                value=False,
                description=a.text(),
                tooltip=a.text(),
                indent=False,
                layout=w.Layout(width="95%", height="auto"),
            ).add_class(WRAP_CLASS)
            for a in d.actions
        )
        self._w_buyer.value = buyer_message_html(d, self._w_lang.value)
        self._w_events.value = events_html(events)
        shipped = (self.parcel or {}).get("shipped_at")
        fig = timeline_figure(events, now=now, eta=d.eta, shipped_at=shipped)
        self._timeline.show(fig if len(events) else None)
        self.form.preset(str(d.category))
        self._b_save.disabled = False
        self._b_export.disabled = False
        self._w_result.layout.display = ""
        self._refresh_findings()

    def actions_taken(self) -> list[str]:
        """The ticked items of the actions checklist."""
        return [c.description for c in self._w_actions.children if c.value]

    def _tracking_numbers(self) -> list[str]:
        numbers = []
        for key in ("international_number", "domestic_number"):
            v = (self.parcel or {}).get(key)
            if isinstance(v, str) and v.strip():
                numbers.append(v.strip())
        if self.events is not None and len(self.events):
            numbers += [str(n) for n in pd.unique(self.events["tracking_number"].dropna())]
        return list(dict.fromkeys(numbers))

    def _refresh_findings(self) -> None:
        if self.diagnosis is None:
            return
        try:
            found = self.store.query(parcel_id=self.diagnosis.parcel_id)
        except ToolkitError as exc:
            self._w_findings.value = message_html(str(exc))
            return
        self._w_findings.value = findings_html(found)

    def save_finding(self) -> Any:
        """Save the form as a finding for the parcel shown; return the stored finding."""
        if self.diagnosis is None:
            raise InputError("no parcel is shown", "finding form", "Investigate a parcel first")
        values = self.form.values(actions_taken=self.actions_taken())
        finding = self.store.add(
            parcel_ids=[self.diagnosis.parcel_id],
            tracking_numbers=self._tracking_numbers(),
            **values,
        )
        self._w_saved.value = message_html(
            f"Finding {finding.id} saved for parcel {self.diagnosis.parcel_id}.", "ok"
        )
        self._say("")
        self.form.clear()
        for box in self._w_actions.children:
            box.value = False
        self._refresh_findings()
        return finding

    def export_for_partner(self) -> Path:
        """Write the partner report for the parcel shown; return its path."""
        from toolkit.report import export_for_partner

        if self.diagnosis is None or self.events is None:
            raise InputError("no parcel is shown", "export", "Investigate a parcel first")
        pid = self.diagnosis.parcel_id
        # the report fits its lane model on the tables the shown estimate came from, at the
        # same moment: the same estimate (toolkit.diagnose.parcel_eta) on both
        parcels, tables, now, _ = self.basis
        events = tables()
        path = export_for_partner(
            [pid],
            parcels,
            events,
            out_dir=self.out_dir,
            now=now,
            language=self._w_report_lang.value,
        )
        _show_export(self._w_export, self._w_download, Path(path), partner=True)
        return Path(path)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.layout)


def _report_language() -> w.Dropdown:
    """The language of the partner report an export writes."""
    return w.Dropdown(
        options=[("English report", "en"), ("中文报告", "zh")],
        value="en",
        description="",
        layout=w.Layout(width="150px"),
        tooltip="Language of the partner report",
    )


def _option_label(column: str, value: str) -> str:
    """A filter option as analysts read it: a carrier's name with its code."""
    if column == "carrier":
        name = carrier_name(value)
        if name and name != value:
            return f"{name} [{value}]"
    return value


def _bare_parcels(rec: Mapping[str, Any]) -> pd.DataFrame:
    """A one-row parcels table in the contract from a partial record."""
    row = {c: rec.get(c, pd.NA) for c in PARCEL_DTYPES}
    row["shipped_at"] = pd.to_datetime(rec.get("shipped_at"), utc=True)
    out = pd.concat([empty_parcels(), pd.DataFrame([row])], ignore_index=True)
    return out.astype(PARCEL_DTYPES)


# ------------------------------------------------------------------ a group of parcels


class GroupTriage:
    """Filter a group of parcels by carrier, lane, province, silence and category; act on a selection."""

    def __init__(
        self,
        parcels: pd.DataFrame | None = None,
        events: pd.DataFrame | None = None,
        now: pd.Timestamp | None = None,
        *,
        store: Any = None,
        track_options: Mapping[str, Any] | None = None,
        out_dir: str | Path | None = None,
        analyst: str = "",
        list_limit: int = 1000,
        swimlane_limit: int = 100,
    ):
        self.now = pd.Timestamp(now) if now is not None else None
        self.track_options = {"progress": False, **dict(track_options or {})}
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.list_limit = int(list_limit)
        self.swimlane_limit = int(swimlane_limit)
        self._store = store
        self._quiet = False
        self.parcels: pd.DataFrame | None = None
        self.events: pd.DataFrame | None = None
        self.diagnoses: pd.DataFrame | None = None
        self.triage: Triage | None = None
        self.mask = np.zeros(0, bool)
        self.selected: list[str] = []
        self.timings: dict[str, float] = {}
        self._swimlane_key: tuple[list[str], int] | None = None

        self._w_upload = w.FileUpload(
            accept=".csv,.tsv,.txt,.gz,.parquet", multiple=False, description="Upload CSV"
        )
        self._b_demo = w.Button(description="Load demo set", icon="database")
        self._w_status = w.HTML()
        self._w_message = w.HTML()
        box = w.Layout(width="230px", height="120px")
        self._w_carrier = w.SelectMultiple(description="Carrier", layout=box)
        self._w_lane = w.SelectMultiple(description="Lane", layout=box)
        self._w_province = w.SelectMultiple(description="Province", layout=box)
        self._w_category = w.SelectMultiple(description="Category", layout=box)
        self._w_days = w.IntRangeSlider(
            value=(0, 0),
            min=0,
            max=0,
            description="Days silent",
            continuous_update=False,
            layout=w.Layout(width="480px"),
        )
        self._w_delivered = w.Checkbox(
            value=False,
            description="Include delivered",
            indent=False,
            layout=w.Layout(width="160px"),
            tooltip="Delivered parcels in the days-silent range and the longest-silent "
            "timelines (their days count from the delivery)",
        )
        self._b_reset = w.Button(description="Clear filters", icon="times")
        self._w_summary = w.HTML()
        self._w_ageing = go.FigureWidget()
        self._w_heatmap = go.FigureWidget()
        for chart in (self._w_ageing, self._w_heatmap):
            chart._config = dict(CHART_CONFIG)
        self._swimlanes = FigureSlot()
        self._w_parcels = w.SelectMultiple(
            description="Parcels", layout=w.Layout(width="95%", height="180px")
        )
        self._b_select_all = w.Button(description="Select all filtered", icon="check-square")
        self._b_select_none = w.Button(description="Select none", icon="square")
        self._w_selected = w.HTML()
        self.form = FindingForm(analyst, free_actions=True)
        self._b_save = w.Button(
            description="Record finding for selection",
            icon="save",
            tooltip="Record one finding for every selected parcel",
            layout=w.Layout(width="auto"),
        )
        self._w_saved = w.HTML()
        self._b_csv = w.Button(description="Export selection as CSV", icon="file-csv")
        self._b_partner = w.Button(description="Export for partner", icon="file-export")
        self._w_report_lang = _report_language()
        self._w_export = w.HTML()
        self._w_download = w.Output()

        for widget in (
            self._w_carrier,
            self._w_lane,
            self._w_province,
            self._w_category,
            self._w_days,
        ):
            widget.observe(self._on_filter, names="value")
        self._w_delivered.observe(self._on_delivered, names="value")
        self._w_upload.observe(self._on_upload, names="value")
        self._w_parcels.observe(self._on_pick, names="value")
        self._b_demo.on_click(self._on_demo)
        self._b_reset.on_click(self._on_reset)
        self._b_select_all.on_click(self._on_select_all)
        self._b_select_none.on_click(self._on_select_none)
        self._b_save.on_click(self._on_save)
        self._b_csv.on_click(self._on_csv)
        self._b_partner.on_click(self._on_partner)

        self.layout = w.VBox(
            [
                w.HTML(WRAP_CSS),
                w.HBox([self._w_upload, self._b_demo]),
                self._w_status,
                self._w_message,
                w.HBox([self._w_carrier, self._w_lane, self._w_province, self._w_category]),
                w.HBox([self._w_days, self._w_delivered, self._b_reset]),
                self._w_summary,
                self._w_ageing,
                self._w_heatmap,
                self._swimlanes.box,
                w.HTML("<h4>Selection</h4>"),
                self._w_parcels,
                w.HBox([self._b_select_all, self._b_select_none, self._w_selected]),
                self.form.layout,
                w.HBox(
                    [
                        self._b_save,
                        self._w_saved,
                        self._b_csv,
                        self._b_partner,
                        self._w_report_lang,
                    ],
                    layout=w.Layout(align_items="center", flex_flow="row wrap"),
                ),
                self._w_export,
                self._w_download,
            ]
        )
        if parcels is not None:
            self._guarded_load(parcels, events, now)

    # ------------------------------------------------------------ what it shows (read-only)
    @property
    def status(self) -> str:
        """The status line (HTML): what is loaded, from where."""
        return self._w_status.value

    @property
    def message(self) -> str:
        """The message line (HTML): problems, warnings and what to do next."""
        return self._w_message.value

    @property
    def summary_html(self) -> str:
        """The table of parcels per category under the filters (HTML)."""
        return self._w_summary.value

    @property
    def saved_message(self) -> str:
        """The confirmation next to the save button (HTML; "" until a finding is saved)."""
        return self._w_saved.value

    @property
    def export_message(self) -> str:
        """What the last export said: where the file is and who may see it (HTML)."""
        return self._w_export.value

    # ------------------------------------------------------------ plumbing
    @property
    def store(self) -> Any:
        """The findings store (a default FindingsStore() on first use)."""
        if self._store is None:
            self._store = _default_store()
        return self._store

    def _say(self, text: str, kind: str = "error") -> None:
        self._w_message.value = message_html(text, kind) if text else ""

    @_guarded
    def _guarded_load(self, parcels, events, now) -> None:
        self.load(parcels, events, now)

    # ------------------------------------------------------------- loading
    def load(
        self,
        parcels: pd.DataFrame,
        events: pd.DataFrame | None = None,
        now: pd.Timestamp | None = None,
        *,
        notes: Sequence[str] = (),
    ) -> None:
        """Diagnose a group once (tracking it first when no events are given) and show it;
        ``notes`` (e.g. what reading the file warned about) are shown with the result."""
        from toolkit import track

        notes = list(notes)
        if events is None:
            events, errors = track(parcels, **self.track_options)
            warned = errors["error"].isin(TRACKING_WARNINGS)
            for rows, what in (
                (errors[~warned], "could not be tracked"),
                (errors[warned], "were tracked with a warning"),
            ):
                if len(rows):
                    shown = [error_note(r) for r in rows.head(5).itertuples()]
                    more = f"\n… and {len(rows) - 5} more" if len(rows) > 5 else ""
                    notes.append(f"{len(rows)} number(s) {what}:\n" + "\n".join(shown) + more)
        if now is not None:
            self.now = pd.Timestamp(now)
        elif self.now is None:
            as_of = parcels["as_of"].dropna() if "as_of" in parcels.columns else pd.Series()
            self.now = pd.Timestamp(as_of.iloc[0]) if len(as_of) else pd.Timestamp.now("UTC")
        diagnoses = diagnose_all(events, parcels, now=self.now)
        self.parcels, self.events, self.diagnoses = (
            parcels.reset_index(drop=True),
            events,
            diagnoses,
        )
        self.triage = Triage(triage_table(diagnoses, parcels, self.now, events))
        self._index_events()
        self._set_filter_options()
        sandbox = bool(events.attrs.get("sandbox")) or (
            "source" in events.columns
            and events["source"].astype("string").str.contains("sandbox|demo").fillna(False).any()
        )
        self._w_status.value = (
            f"<b>{len(parcels):,}</b> parcels, <b>{len(events):,}</b> scans, "
            f"as of {escape(f'{self.now:%Y-%m-%d %H:%M} UTC')}"
            + (SANDBOX_NOTE_HTML if sandbox else "")
        )
        self._say("\n".join(notes), "warning" if notes else "ok")
        self.refresh()

    def load_file(self, content: bytes, name: str) -> None:
        """Read a parcels file (CSV/TSV/Parquet bytes), track and diagnose it."""
        from toolkit.io import read_parcels

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DecodingWarning)
            parcels = read_parcels(bytes(content), name=name)
        said = [str(w.message) for w in caught if issubclass(w.category, DecodingWarning)]
        self.now = None
        self.load(parcels, notes=said)

    def _index_events(self) -> None:
        """Event row numbers grouped by parcel, so a selection's scans are found by slicing."""
        ids = self.triage.index
        pos = ids.get_indexer(self.events["parcel_id"].astype(str))
        order = np.argsort(pos, kind="stable")
        self._ev_order = order[pos[order] >= 0]
        counts = np.bincount(pos[pos >= 0], minlength=len(ids))
        self._ev_start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        self._ev_count = counts

    def events_of(self, parcel_ids: list[str]) -> pd.DataFrame:
        """Scans of these parcels (the group's events), by slicing the per-parcel index."""
        pos = self.triage.index.get_indexer(list(parcel_ids))
        pos = pos[pos >= 0]
        counts = self._ev_count[pos]
        starts = np.repeat(self._ev_start[pos], counts)
        within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        return self.events.iloc[self._ev_order[starts + within]]

    def _set_filter_options(self) -> None:
        t = self.triage
        self._quiet = True
        try:
            for widget, column in (
                (self._w_carrier, "carrier"),
                (self._w_lane, "lane"),
                (self._w_province, "destination_province"),
                (self._w_category, "category"),
            ):
                widget.value = ()
                widget.options = [
                    (f"{_option_label(column, v)} ({n:,})", v) for v, n in t.options(column)
                ]
            self._w_delivered.value = False
            self._w_days.min = 0
            self._set_days_range()
        finally:
            self._quiet = False

    def _set_days_range(self) -> None:
        """The days-silent slider over the parcels it judges, set to its full range."""
        top = max(self.triage.max_days_of(self._w_delivered.value), 1)
        if top > self._w_days.max:
            self._w_days.max = top
            self._w_days.value = (0, top)
        else:
            self._w_days.value = (0, top)
            self._w_days.max = top

    # ------------------------------------------------------------ filtering
    def current_filter(self) -> TriageFilter:
        """The filter the widgets describe."""
        lo, hi = self._w_days.value
        return TriageFilter(
            carriers=tuple(self._w_carrier.value),
            lanes=tuple(self._w_lane.value),
            provinces=tuple(self._w_province.value),
            categories=tuple(self._w_category.value),
            days=(int(lo), int(hi)),
            include_delivered=bool(self._w_delivered.value),
        )

    def filtered_ids(self) -> list[str]:
        """Every parcel id the filters keep, longest silent first."""
        return self.triage.ids(self.mask) if self.triage is not None else []

    def refresh(self) -> None:
        """Recompute the filtered set and update the summary, charts and list together."""
        import time

        if self.triage is None:
            return
        t0 = time.perf_counter()
        self.mask = self.triage.mask(self.current_filter())
        t1 = time.perf_counter()
        self._w_summary.value = self._summary_html()
        self._draw_ageing()
        self._draw_heatmap()
        t2 = time.perf_counter()
        self._draw_swimlanes()
        t3 = time.perf_counter()
        self._fill_list()
        t4 = time.perf_counter()
        self.timings = {
            "filter": t1 - t0,
            "summary + histogram + heatmap": t2 - t1,
            "swimlanes": t3 - t2,
            "parcel list": t4 - t3,
            "total": t4 - t0,
        }

    def _summary_html(self) -> str:
        counts = self.triage.category_counts(self.mask)
        kept = int(self.mask.sum())
        head = f"<b>{kept:,}</b> of {len(self.triage):,} parcels match the filters"
        undated = int((self.mask & ~self.triage.known).sum())
        if undated:
            head += f" ({undated:,} without any scan or shipping time)"
        if counts.empty:
            return head
        table = counts.assign(share=(counts["share"] * 100).round(1).astype(str) + " %")
        return head + table.to_html(index=False, escape=True)

    def _draw_ageing(self) -> None:
        data = self.triage.ageing(self.mask)
        _replace(self._w_ageing, _ageing_figure(data), keep_layout=True)

    def _draw_heatmap(self) -> None:
        data = self.triage.gone_dark(self.mask)
        _replace(self._w_heatmap, _heatmap_figure(data), keep_layout=True)

    def _draw_swimlanes(self) -> None:
        with_delivered = bool(self._w_delivered.value)
        candidates = self.mask & self.triage.silent(with_delivered)
        ids = self.selected or self.triage.ids(
            candidates, self.swimlane_limit, include_delivered=with_delivered
        )
        ids = ids[: self.swimlane_limit]
        total = len(self.selected) if self.selected else int(candidates.sum())
        if (ids, total) == self._swimlane_key:
            return  # the same parcels are drawn already
        self._swimlane_key = (ids, total)
        from toolkit import plots

        events = self.events_of(ids) if ids else None
        fig = None
        if events is not None and not events.empty:
            fig = plots.swimlanes(events, parcel_ids=ids, max_parcels=self.swimlane_limit)
            if not self.selected:
                what = "parcels with scans" if with_delivered else "parcels not yet delivered"
                fig.update_layout(
                    title=f"Scans of the {len(ids):,} longest-silent of {total:,} {what}"
                    if total > len(ids)
                    else f"Scans of the {total:,} {what}, longest silent first"
                )
        self._swimlanes.show(fig)

    @property
    def _w_swimlanes(self) -> go.FigureWidget:
        """The FigureWidget showing the swimlanes."""
        return self._swimlanes.widget

    def _fill_list(self) -> None:
        ids = self.triage.ids(self.mask, self.list_limit)
        rows = self.triage.rows(ids)
        # days silent mean nothing for a delivered parcel: its list entry leaves them out
        silence = (" · " + rows["days_silent"].astype(str) + " d").where(
            rows["category"].astype(str) != "delivered", ""
        )
        labels = (
            rows["parcel_id"]
            + " · "
            + rows["category"].astype(str)
            + " · "
            + rows["lane"]
            + silence
        )
        self._quiet = True
        try:
            keep = [i for i in self._w_parcels.value if i in set(ids)]
            self._w_parcels.options = list(zip(labels, ids, strict=True))
            self._w_parcels.value = tuple(keep)
        finally:
            self._quiet = False
        shown = len(ids)
        total = int(self.mask.sum())
        self._w_parcels.description = "Parcels" if shown == total else f"{shown:,}/{total:,}"
        self._show_selection()

    def _show_selection(self) -> None:
        self._w_selected.value = f"<b>{len(self.selected):,}</b> parcel(s) selected"
        if self.selected:
            cats = self.triage.rows(self.selected)["category"].astype(str)
            if len(cats):
                self.form.preset(cats.value_counts().index[0])

    # ----------------------------------------------------------- callbacks
    @_guarded
    def _on_filter(self, _change=None) -> None:
        if not self._quiet:
            self.refresh()

    @_guarded
    def _on_delivered(self, _change=None) -> None:
        if self._quiet or self.triage is None:
            return
        self._quiet = True
        try:
            self._set_days_range()
        finally:
            self._quiet = False
        self.refresh()

    @_guarded
    def _on_upload(self, change) -> None:
        files = change["new"]
        if not files:
            return
        f = files[0]
        name = f.get("name", "upload.csv")
        self._say(f"Reading {name} …", "ok")
        self.load_file(bytes(f["content"]), name)

    @_guarded
    def _on_demo(self, _button=None) -> None:
        from toolkit.demo import load_demo

        parcels, events = load_demo()
        self.now = None
        self.load(parcels, events)

    @_guarded
    def _on_reset(self, _button=None) -> None:
        if self.triage is not None:
            self._set_filter_options()
            self.refresh()

    def _on_pick(self, change) -> None:
        if self._quiet:
            return
        self.selected = list(change["new"])
        self._show_selection()
        self._draw_swimlanes()

    def _on_select_all(self, _button=None) -> None:
        self.select(self.filtered_ids())

    def _on_select_none(self, _button=None) -> None:
        self.select([])

    @_guarded
    def _on_save(self, _button=None) -> None:
        self.record_finding()

    @_guarded
    def _on_csv(self, _button=None) -> None:
        self.export_csv()

    @_guarded
    def _on_partner(self, _button=None) -> None:
        self.export_for_partner()

    # ------------------------------------------------------------- actions
    def select(self, parcel_ids: list[str]) -> None:
        """Make these parcels the selection (the list shows those among its entries)."""
        self.selected = list(dict.fromkeys(parcel_ids))
        shown = set(v for _, v in self._w_parcels.options)
        self._quiet = True
        try:
            self._w_parcels.value = tuple(i for i in self.selected if i in shown)
        finally:
            self._quiet = False
        self._show_selection()
        self._draw_swimlanes()

    def _need_selection(self, what: str) -> list[str]:
        if not self.selected:
            raise InputError(
                "no parcel is selected",
                what,
                "Pick parcels in the list, or press 'Select all filtered'",
            )
        return self.selected

    def record_finding(self) -> Any:
        """Record one finding for every selected parcel; return it."""
        ids = self._need_selection("finding")
        values = self.form.values()
        rows = self.parcels[self.parcels["parcel_id"].astype(str).isin(ids)]
        numbers = pd.concat([rows["international_number"], rows["domestic_number"]]).dropna()
        finding = self.store.add(
            parcel_ids=list(ids),
            tracking_numbers=list(dict.fromkeys(numbers.astype(str))),
            **values,
        )
        self._w_saved.value = message_html(
            f"Finding {finding.id} recorded for {len(ids):,} parcel(s).", "ok"
        )
        self._say("")
        self.form.clear()
        return finding

    def selection_table(self) -> pd.DataFrame:
        """The selected parcels (every parcels column) with their diagnosis."""
        ids = self._need_selection("export")
        p = self.parcels.assign(parcel_id=self.parcels["parcel_id"].astype(str))
        d = self.diagnoses.assign(parcel_id=self.diagnoses["parcel_id"].astype(str))
        d = d[[c for c in d.columns if c not in p.columns or c == "parcel_id"]]
        out = pd.DataFrame({"parcel_id": ids}).merge(p, on="parcel_id", how="left")
        return out.merge(d, on="parcel_id", how="left")

    def export_csv(self, path: str | Path | None = None) -> Path:
        """Write the selection with its diagnosis to CSV (recipient data kept); return the path.

        The file name ends in -CONTAINS-RECIPIENT-DATA when the selection has any recipient
        name, phone or address, so that nobody mistakes it for a file to send on.
        """
        table = self.selection_table()
        personal = _has_recipient_data(table)
        if path is None:
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
            suffix = RECIPIENT_DATA_SUFFIX if personal else ""
            path = _export_dir(self.out_dir) / f"triage-selection-{stamp}{suffix}.csv"
        # UTF-8 with BOM so that Excel reads the Chinese text; formula-like text defused
        path = write_spreadsheet_csv(table, path)
        _show_export(
            self._w_export, self._w_download, Path(path), rows=len(table), personal=personal
        )
        return Path(path)

    def export_for_partner(self) -> Path:
        """Write the partner report for the selection; return its path."""
        from toolkit.report import export_for_partner

        ids = self._need_selection("export")
        rows = self.parcels[self.parcels["parcel_id"].astype(str).isin(ids)]
        path = export_for_partner(
            list(ids),
            rows,
            self.events_of(ids),
            out_dir=self.out_dir,
            now=self.now,
            language=self._w_report_lang.value,
        )
        _show_export(self._w_export, self._w_download, Path(path), partner=True)
        return Path(path)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.layout)


def _export_dir(out_dir: Path | None) -> Path:
    """Where exports go: the given folder, else notebooks/exports/ (inside the Lab root)."""
    from toolkit.report import default_export_dir

    return out_dir if out_dir is not None else default_export_dir()


RECIPIENT_DATA_SUFFIX = "-CONTAINS-RECIPIENT-DATA"


def _has_recipient_data(table: pd.DataFrame) -> bool:
    """True when any recipient name, phone or address of the table is filled in."""
    cols = [c for c in PERSONAL_COLUMNS if c in table.columns]
    if not cols:
        return False
    values = table[cols].astype("string").apply(lambda col: col.str.strip())
    return bool((values.notna() & (values != "")).any().any())


def link_target(path: Path, start: Path | None = None) -> str:
    """The href of a file relative to the notebook's folder (the kernel's working folder).

    JupyterLab resolves relative links in outputs against the notebook's path and turns them
    into download addresses of its server; a server path (/home/...) is no link at all.
    """
    start = Path.cwd() if start is None else start
    try:
        rel = os.path.relpath(Path(path).resolve(), start.resolve())
    except ValueError:  # another drive (Windows): no relative link exists
        rel = Path(path).resolve().as_posix()
    return quote(Path(rel).as_posix())


# An arrow into a tray, drawn inline: a font may lack the arrow characters.
_DOWNLOAD_ICON = (
    '<svg width="12" height="12" viewBox="0 0 12 12" aria-hidden="true" '
    'style="vertical-align:-1px"><path d="M6 1v7M3 5.5 6 8.5 9 5.5M1.5 10.5h9" '
    'fill="none" stroke="currentColor" stroke-width="1.5"/></svg>'
)


def download_link_html(path: Path, start: Path | None = None) -> str:
    """An HTML link that downloads the file when clicked in JupyterLab."""
    name = Path(path).name
    return (
        f'<a href="{escape(link_target(path, start))}" download="{escape(name)}" '
        'style="display:inline-block;padding:4px 10px;border:1px solid #2a7f62;'
        'border-radius:3px;color:#2a7f62;text-decoration:none;font-family:sans-serif">'
        f"{_DOWNLOAD_ICON} Download {escape(name)}</a>"
    )


def _shown_path(path: Path) -> str:
    """The file's path relative to the working folder when it is inside, else as given."""
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def _show_export(
    message: w.HTML,
    download: w.Output,
    path: Path,
    *,
    partner: bool = False,
    rows: int | None = None,
    personal: bool = False,
) -> None:
    """Say what was written and whether it may leave the team; offer it for download."""
    shown = _shown_path(path)
    if partner:
        text = (
            f"Partner report written: {shown}. Recipient names, phones and addresses are "
            "masked: this file is safe to send to the partner."
        )
        kind = "ok"
    elif personal:
        text = (
            f"{rows:,} parcel(s) written to {shown}. This file CONTAINS RECIPIENT DATA "
            "(full names, phones, addresses): keep it for your own follow-up and never send "
            "it to a partner; use 'Export for partner' for them."
        )
        kind = "warning"
    else:
        text = f"{rows:,} parcel(s) written to {shown}. It holds no recipient data."
        kind = "ok"
    message.value = message_html(text, kind)
    from IPython.display import HTML

    download.outputs = ()
    download.append_display_data(HTML(download_link_html(path)))


class FigureSlot:
    """A box with one FigureWidget that shows one figure at a time, or is hidden.

    The widget is made once and its content replaced (``_replace``): a new FigureWidget
    per figure would send plotly's whole JavaScript bundle (about 5 MB) to the browser.
    """

    def __init__(self) -> None:
        self.widget = go.FigureWidget(layout={"template": TEMPLATE})
        self.widget._config = dict(CHART_CONFIG)
        self.box = w.Box([self.widget])
        self.box.layout.display = "none"

    def hide(self) -> None:
        """Take the figure off screen (the next ``show`` replaces all of it)."""
        self.box.layout.display = "none"

    def show(self, fig: go.Figure | None) -> None:
        """Show this figure (None: hide the box and empty the widget)."""
        if fig is None:
            self.box.layout.display = "none"
            if self.widget.data or self.widget.layout.meta == "drawn":
                _replace(self.widget, None)
            return
        self.box.layout.display = ""  # first, so plotly sizes the chart in a visible box
        _replace(self.widget, fig)


def _replace(widget: go.FigureWidget, fig: go.Figure | None, keep_layout: bool = False) -> None:
    """Swap a FigureWidget's traces and layout for a figure's (None: for nothing).

    Every figure that goes into a FigureWidget passes through ``plots.widget_json`` (the
    widget path would send datetime64 arrays as integer nanoseconds). The browser merges
    a new layout into the old one, so layout keys the new figure lacks (the last parcel's
    shapes, annotations, axis ranges) are removed explicitly. With ``keep_layout`` only
    the title and height change once the widget was drawn (the filters' charts).
    """
    spec = widget_json(fig) if fig is not None else {"data": [], "layout": {}}
    layout = {"template": TEMPLATE, **spec["layout"], "meta": "drawn"}
    widget.data = ()
    if keep_layout and widget.layout.meta == "drawn":
        widget.add_traces(spec["data"])
        with widget.batch_update():
            widget.layout.title = layout.get("title")
            widget.layout.height = layout.get("height")
        return
    gone = {k: None for k in widget.layout.to_plotly_json() if k not in layout}
    if gone:
        widget.plotly_relayout(gone)
    if spec["data"]:
        widget.add_traces(spec["data"])
    widget.layout = layout


def _theme() -> dict[str, Any]:
    """Template and category colours of toolkit.plots (plotly_white until it has its own)."""
    from toolkit import plots

    template = "toolkit" if "toolkit" in pio.templates else "plotly_white"
    return {"template": template, "colors": getattr(plots, "CATEGORY_COLORS", {})}


def _ageing_figure(data: pd.DataFrame) -> go.Figure:
    """Stacked bars of stuck parcels per day since the last scan, one trace per category."""
    theme = _theme()
    fig = go.Figure()
    for category in CATEGORIES:
        part = data[data["category"] == category]
        if part.empty:
            continue
        fig.add_trace(
            go.Bar(
                x=part["days"].to_numpy(),
                y=part["parcels"].to_numpy(),
                name=category.replace("_", " "),
                meta=category,
                marker_color=theme["colors"].get(category),
                hovertemplate="%{y} parcels, %{x} days silent<extra>%{fullData.name}</extra>",
            )
        )
    fig.update_layout(
        barmode="stack",
        template=theme["template"],
        title=f"Stuck parcels by days since the last scan ({int(data['parcels'].sum()):,})",
        xaxis_title="Days since the last scan (days)",
        yaxis_title="Parcels (count)",
        legend_title="Category",
        height=340,
        margin={"l": 20, "r": 20, "t": 60, "b": 40},
    )
    return fig


def _heatmap_figure(data: pd.DataFrame) -> go.Figure:
    """Carrier x lane grid of the share of parcels gone dark, counts in the hover."""
    theme = _theme()
    carriers = sorted(pd.unique(data["carrier"]))
    lanes = sorted(pd.unique(data["lane"]))
    grid = data.pivot(index="carrier", columns="lane", values="rate").reindex(
        index=carriers, columns=lanes
    )
    total = data.pivot(index="carrier", columns="lane", values="parcels").reindex(
        index=carriers, columns=lanes
    )
    dark = data.pivot(index="carrier", columns="lane", values="gone_dark").reindex(
        index=carriers, columns=lanes
    )
    custom = np.dstack([total.fillna(0).to_numpy(), dark.fillna(0).to_numpy()])
    fig = go.Figure(
        go.Heatmap(
            z=grid_cells((grid * 100).to_numpy()),
            x=lanes,
            y=carriers,
            customdata=custom,
            colorscale="Reds",
            zmin=0,
            zmax=100,
            colorbar={"title": "gone dark (%)"},
            hovertemplate="%{y} · %{x}<br>%{z:.0f}% gone dark "
            "(%{customdata[1]:.0f} of %{customdata[0]:.0f})<extra></extra>",
        )
    )
    fig.update_layout(
        template=theme["template"],
        title="Share of parcels gone dark, by carrier and lane",
        xaxis_title="Lane (origin → province)",
        yaxis_title="International carrier",
        height=max(300, 120 + 26 * len(carriers)),
        margin={"l": 20, "r": 20, "t": 60, "b": 40},
    )
    return fig
