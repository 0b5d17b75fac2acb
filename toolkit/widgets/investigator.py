"""``ParcelInvestigator``: one parcel's number check, tracking, timeline, diagnosis,
actions, buyer message and findings.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as w
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from toolkit.diagnosis.diagnose import Diagnosis, diagnose, fit_eta, same_history
from toolkit.errors import InputError, ToolkitError
from toolkit.model import PARCEL_DTYPES, empty_parcels
from toolkit.plots import timeline_figure
from toolkit.tracking.lookup import Correction, parcel_ids_for, rank_corrections
from toolkit.tracking.numbers import TrackingNumber, parse
from toolkit.views import diagnosis_html
from toolkit.widgets.base import (
    NUMBER_FAILURES,
    TRACKING_WARNINGS,
    FigureSlot,
    WidgetBase,
    _clicked,
    _guarded,
    _show_export,
    _shows,
)
from toolkit.widgets.html import (
    SANDBOX_NOTE_HTML,
    WRAP_CLASS,
    WRAP_CSS,
    buyer_message_html,
    error_note,
    events_html,
    findings_html,
    message_html,
    parse_html,
)
from toolkit.widgets.wording import WordingTeacher

log = logging.getLogger(__name__)


SUGGESTION_BUTTONS = 5  # corrections offered as buttons under the number


# ------------------------------------------------------------------ one parcel


class ParcelInvestigator(WidgetBase):
    """Look into one parcel: number check, tracking, timeline, diagnosis, actions, findings."""

    def _build(self, parcels: pd.DataFrame | None, events: pd.DataFrame | None, _now) -> None:
        self.parcels = parcels
        self.history = events
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
        self._w_sandbox = w.HTML()
        self._w_diagnosis = w.HTML()
        self._w_actions = w.VBox([])
        self._w_lang = w.ToggleButtons(options=[("中文", "zh"), ("English", "en")], value="zh")
        self._w_buyer = w.HTML()
        self._timeline = FigureSlot()
        self._shown_number: str | None = None
        self._w_events = w.HTML()
        # the parcel's scans the reader does not know, taught in place (closed until asked)
        self.teacher = WordingTeacher(
            on_taught=self._retaught, analyst=self.form.parts.analyst.value
        )
        self._w_unread = w.Accordion(children=[self.teacher.layout], selected_index=None)
        self._w_unread.layout.display = "none"
        self._b_save = w.Button(description="Save finding", icon="save", disabled=True)
        self._w_findings = w.HTML()
        self._b_export = w.Button(
            description="Export for partner",
            icon="file-export",
            disabled=True,
            tooltip="Write an HTML report for the carrier partner (recipient data masked)",
            layout=w.Layout(width="auto"),
        )

        self._connect(
            changes=[
                (self._w_demo, self._on_demo),
                (self._w_number, self._on_number),
                (self._w_lang, self._on_lang),
            ],
            clicks=[
                (self._b_investigate, self._on_investigate),
                (self._b_save, self._on_save),
                (self._b_export, self._on_export),
            ],
        )

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
                self._w_unread,
                w.HTML("<h4>Record a finding</h4>"),
                self.form.layout,
                self._save_row(self._b_export),
                *self._export_outputs(),
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
    diagnosis_html = _shows(
        "_w_diagnosis", 'The diagnosis card of the parcel shown (HTML; "" when none is).'
    )
    findings_html = _shows(
        "_w_findings", "The findings recorded for the parcel shown, as listed (HTML)."
    )

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
        from toolkit.tracking.track import numbers_with_scans

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

    _on_save = _clicked("save_finding")
    _on_export = _clicked("export_for_partner")

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

    def _incident_of(self, parcel_id: str, now: pd.Timestamp) -> dict | None:
        """The lane incident the loaded tables show this parcel caught in (None: none, or
        no tables loaded). Incidents are found once per ``now`` over the loaded tables."""
        if self.parcels is None or self.history is None or not len(self.history):
            return None
        cached = self._ids_cache.get("incidents")
        if cached is None or cached[0] != now:
            from toolkit.diagnosis.incidents import detect

            cached = (now, detect(self.history, self.parcels, now))
            self._ids_cache["incidents"] = cached
        from toolkit.diagnosis.incidents import incident_of

        return incident_of(cached[1], parcel_id)

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
        self._w_unread.layout.display = "none"
        self._w_findings.value = ""
        self._w_export.value = ""
        self._w_download.outputs = ()
        self._w_saved.value = ""
        self._b_save.disabled = True
        self._b_export.disabled = True
        self._timeline.hide()  # emptied or replaced when the next result is shown

    @property
    def _w_timeline_box(self) -> w.Box:
        """The box around the timeline (hidden while there is none to show)."""
        return self._timeline.box

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
        d = d.with_incident(self._incident_of(d.parcel_id, now))
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
        self._show_unread(events)
        shipped = (self.parcel or {}).get("shipped_at")
        fig = timeline_figure(events, now=now, eta=d.eta, shipped_at=shipped)
        self._timeline.show(fig if len(events) else None)
        self.form.preset(str(d.category))
        self._b_save.disabled = False
        self._b_export.disabled = False
        self._w_result.layout.display = ""
        self._refresh_findings()

    def _show_unread(self, events: pd.DataFrame) -> None:
        """Offer to teach the reader the parcel's scan texts it does not know."""
        self.teacher.load(events)
        count = len(self.teacher.unread)
        self._w_unread.set_title(
            0, f"{count} scan text{'s' if count != 1 else ''} the reader does not know: teach it"
        )
        self._w_unread.layout.display = "" if count else "none"

    def _retaught(self, events: pd.DataFrame) -> None:
        """After a teaching: the parcel's scans re-read, its diagnosis made again."""
        now = self.now if self.now is not None else pd.Timestamp.now(tz="UTC")
        model = self.basis[3] if self.basis is not None else None
        d = diagnose(events, now=now, parcel=self.parcel, eta_model=model)
        d = d.with_incident(self._incident_of(d.parcel_id, now))
        self.events, self.diagnosis = events, d
        self._show(d, events, now)

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
        self._saved(f"Finding {finding.id} saved for parcel {self.diagnosis.parcel_id}.")
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
        # same moment: the same estimate (toolkit.diagnosis.diagnose.parcel_eta) on both
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


def _bare_parcels(rec: Mapping[str, Any]) -> pd.DataFrame:
    """A one-row parcels table in the contract from a partial record."""
    row = {c: rec.get(c, pd.NA) for c in PARCEL_DTYPES}
    row["shipped_at"] = pd.to_datetime(rec.get("shipped_at"), utc=True)
    out = pd.concat([empty_parcels(), pd.DataFrame([row])], ignore_index=True)
    return out.astype(PARCEL_DTYPES)
