"""Notebook widgets: plain classes holding ipywidgets children, shown through `.layout`."""

from __future__ import annotations

from html import escape

import ipywidgets as w
import pandas as pd
import plotly.graph_objects as go

from toolkit.diagnose import Diagnosis, diagnose, fit_eta
from toolkit.errors import ToolkitError
from toolkit.lookup import events_for, parcel_ids_for
from toolkit.numbers import TrackingNumber, parse
from toolkit.plots import timeline_figure

EVENT_TABLE_COLUMNS = (
    "time_local",
    "carrier",
    "leg",
    "tracking_number",
    "location",
    "description",
    "milestone",
)


def parse_html(tn: TrackingNumber) -> str:
    """A parsed number as an HTML card: validity, carriers, problems, suggestions (escaped)."""
    if not tn.normalized:
        return "<i>Type a tracking number or pick a demo parcel.</i>"
    verdict = {True: "✅ check digit passes", False: "❌ not valid", None: "format recognised"}
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


class ParcelPicker:
    """Choose a parcel by number or from the demo list; see the number, events, diagnosis."""

    def __init__(
        self,
        parcels: pd.DataFrame | None,
        events: pd.DataFrame,
        now: pd.Timestamp | None = None,
    ):
        self.parcels = parcels
        self.events = events
        self.now = now
        self.parsed: TrackingNumber | None = None
        self.selected = events.iloc[0:0]
        self.diagnosis: Diagnosis | None = None
        # Lane history for arrival estimates, fitted once for every parcel shown.
        self._eta_model = fit_eta(events, parcels, now=now) if len(events) else None
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
        self._w_parse = w.HTML(parse_html(parse("")))
        self._w_message = w.HTML()
        self._w_events = w.HTML()
        self._w_fig = go.FigureWidget()
        self._w_diagnosis = w.HTML()
        self._w_lang = w.ToggleButtons(options=[("中文", "zh"), ("English", "en")], value="zh")
        self._w_buyer = w.HTML()
        self._w_lang.observe(self._on_lang, names="value")
        self._w_demo.observe(self._on_demo, names="value")
        self._w_number.observe(self._on_number, names="value")
        self.layout = w.VBox(
            [
                w.HBox([self._w_number, self._w_demo]),
                self._w_parse,
                self._w_message,
                self._w_diagnosis,
                w.HTML("<b>Message to the buyer</b>"),
                self._w_lang,
                self._w_buyer,
                self._w_fig,
                self._w_events,
            ]
        )

    def _on_demo(self, change) -> None:
        if change["new"]:
            self._w_number.value = change["new"]

    def _on_number(self, change) -> None:
        self.show(change["new"])

    def _on_lang(self, change) -> None:
        if self.diagnosis is not None:
            self._w_buyer.value = buyer_message_html(self.diagnosis, change["new"])

    def show(self, number: str) -> None:
        """Parse the number and show what is known under it; errors appear in the widget."""
        try:
            self.parsed = parse(number)
            self._w_parse.value = parse_html(self.parsed)
            self._w_message.value = ""
            if not self.parsed.normalized:
                self._set_events(self.events.iloc[0:0])
                self._clear_diagnosis()
                self._draw()
                return
            self._set_events(events_for(self.parsed.normalized, self.parcels, self.events))
            self._set_diagnosis(self.parsed.normalized)
            self._draw()
        except ToolkitError as exc:
            self._w_message.value = f'<span style="color:#c1121f">{escape(str(exc))}</span>'

    def _clear_diagnosis(self) -> None:
        self.diagnosis = None
        self._w_diagnosis.value = ""
        self._w_buyer.value = ""

    def _set_diagnosis(self, number: str) -> None:
        """Diagnose the parcel behind the number: its record if known, else the number alone."""
        self._clear_diagnosis()
        ids = parcel_ids_for(number, self.parcels, self.events)
        parcel = None
        if ids and self.parcels is not None:
            rows = self.parcels[self.parcels["parcel_id"].astype(str) == ids[0]]
            parcel = rows.iloc[0] if len(rows) else None
        if parcel is None:
            parcel = {"parcel_id": ids[0] if ids else number, "international_number": number}
        own = self.selected[self.selected["parcel_id"].astype(str) == str(parcel["parcel_id"])]
        self.diagnosis = diagnose(own, now=self.now, parcel=parcel, eta_model=self._eta_model)
        self._w_diagnosis.value = self.diagnosis._repr_html_()
        self._w_buyer.value = buyer_message_html(self.diagnosis, self._w_lang.value)

    def _set_events(self, events: pd.DataFrame) -> None:
        self.selected = events
        self._w_events.value = events_html(events) if self.parsed and self.parsed.normalized else ""

    def _draw(self) -> None:
        """Redraw the timeline of the selected events with the diagnosis' ETA window."""
        eta = self.diagnosis.eta if self.diagnosis is not None else None
        with self._w_fig.batch_update():
            self._w_fig.data = ()
            self._w_fig.layout = {}
            if len(self.selected):
                fig = timeline_figure(self.selected, now=self.now, eta=eta)
                self._w_fig.update(data=fig.data, layout=fig.layout, overwrite=True)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.layout)
