"""``GroupTriage``: filter a group of parcels and act on a selection of them."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

import ipywidgets as w
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from toolkit.diagnosis.diagnose import diagnose_all
from toolkit.diagnosis.messages import carrier_name
from toolkit.diagnosis.triage import Triage, TriageFilter, triage_table
from toolkit.errors import DecodingWarning, InputError
from toolkit.io import write_spreadsheet_csv
from toolkit.model import PERSONAL_COLUMNS, text_isin
from toolkit.plots import CHART_CONFIG
from toolkit.widgets.base import (
    TRACKING_WARNINGS,
    FigureSlot,
    WidgetBase,
    _clicked,
    _guarded,
    _replace,
    _show_export,
    _shows,
)
from toolkit.widgets.html import SANDBOX_NOTE_HTML, WRAP_CLASS, WRAP_CSS, error_note


def _option_label(column: str, value: str) -> str:
    """A filter option as analysts read it: a carrier's name with its code."""
    if column == "carrier":
        name = carrier_name(value)
        if name and name != value:
            return f"{name} [{value}]"
    return value


# ------------------------------------------------------------------ a group of parcels


class GroupTriage(WidgetBase):
    """Filter a group of parcels by carrier, lane, province, silence and category; act on a selection."""

    _free_actions = True

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
        """``store``, ``track_options``, ``out_dir`` and ``analyst`` as for
        ParcelInvestigator; at most ``list_limit`` parcels are listed and
        ``swimlane_limit`` timelines drawn."""
        self.list_limit = int(list_limit)
        self.swimlane_limit = int(swimlane_limit)
        super().__init__(
            parcels,
            events,
            now,
            store=store,
            track_options=track_options,
            out_dir=out_dir,
            analyst=analyst,
        )

    def _build(self, parcels: pd.DataFrame | None, events: pd.DataFrame | None, now) -> None:
        self._quiet = False
        self.parcels: pd.DataFrame | None = None
        self.events: pd.DataFrame | None = None
        self.diagnoses: pd.DataFrame | None = None
        self.triage: Triage | None = None
        self.mask = np.zeros(0, bool)
        self.selected: list[str] = []
        self.timings: dict[str, float] = {}
        self._swimlane_key: tuple[list[str], int] | None = None
        self.dataset = None  # a DiagnosesDataset when a diagnoses folder is open

        self._w_upload = w.FileUpload(
            accept=".csv,.tsv,.txt,.gz,.parquet", multiple=False, description="Upload CSV"
        )
        self._b_demo = w.Button(description="Load demo set", icon="database")
        self._w_status = w.HTML()
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
        self.incidents: pd.DataFrame | None = None
        self._w_incidents = w.VBox([])
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
        self._b_save = w.Button(
            description="Record finding for selection",
            icon="save",
            tooltip="Record one finding for every selected parcel",
            layout=w.Layout(width="auto"),
        )
        self._b_csv = w.Button(description="Export selection as CSV", icon="file-csv")
        self._b_partner = w.Button(description="Export for partner", icon="file-export")

        filters = (self._w_carrier, self._w_lane, self._w_province, self._w_category, self._w_days)
        self._connect(
            changes=[
                *((widget, self._on_filter) for widget in filters),
                (self._w_delivered, self._on_delivered),
                (self._w_upload, self._on_upload),
                (self._w_parcels, self._on_pick),
            ],
            clicks=[
                (self._b_demo, self._on_demo),
                (self._b_reset, self._on_reset),
                (self._b_select_all, self._on_select_all),
                (self._b_select_none, self._on_select_none),
                (self._b_save, self._on_save),
                (self._b_csv, self._on_csv),
                (self._b_partner, self._on_partner),
            ],
        )

        self.layout = w.VBox(
            [
                w.HTML(WRAP_CSS),
                w.HBox([self._w_upload, self._b_demo]),
                self._w_status,
                self._w_message,
                self._w_incidents,
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
                self._save_row(self._b_csv, self._b_partner),
                *self._export_outputs(),
            ]
        )
        if parcels is not None:
            self._guarded_load(parcels, events, now)

    # ------------------------------------------------------------ what it shows (read-only)
    status = _shows("_w_status", "The status line (HTML): what is loaded, from where.")
    summary_html = _shows(
        "_w_summary", "The table of parcels per category under the filters (HTML)."
    )

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
        self.dataset = None
        self.parcels, self.events, self.diagnoses = (
            parcels.reset_index(drop=True),
            events,
            diagnoses,
        )
        self.triage = Triage(triage_table(diagnoses, parcels, self.now, events))
        self._index_events()
        self._show_incidents(diagnoses)
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

    def load_dataset(
        self,
        diagnoses: str | Path,
        events: str | Path | None = None,
        parcels: str | Path | None = None,
        now: pd.Timestamp | str | None = None,
    ) -> None:
        """Open a diagnoses folder too large for memory (``toolkit.scale.diagnose_dataset``
        wrote it): only the columns the filters need are loaded, the scans, parcels rows and
        full diagnoses of the parcels drawn, selected or exported are read on demand from
        their partitions. ``events``, ``parcels`` and ``now`` default to what the folder
        records. Lane incidents need every scan: run ``toolkit.incidents`` on the cluster's
        output instead."""
        from toolkit.scale import open_diagnoses

        dataset = open_diagnoses(diagnoses, events, parcels, now)
        triage = Triage(dataset.triage_table())
        self.dataset, self.now, self.triage = dataset, dataset.now, triage
        self.parcels = self.events = self.diagnoses = None
        self.selected = []
        self._swimlane_key = None
        self._events_cache: dict[str, pd.DataFrame] = {}
        self.incidents = None
        self._w_incidents.children = ()
        self._set_filter_options()
        scans = "scans read on demand" if dataset.events is not None else "no scans folder"
        self._w_status.value = (
            f"<b>{len(triage):,}</b> parcels from <code>{escape(dataset.label)}</code> "
            f"({dataset.partitions:,} partitions; {scans}), "
            f"as of {escape(f'{self.now:%Y-%m-%d %H:%M} UTC')}"
        )
        self._say(
            "Opened a diagnoses folder: lane incidents are not computed here (they need "
            "every scan).",
            "ok",
        )
        self.refresh()

    def _show_incidents(self, diagnoses: pd.DataFrame) -> None:
        """The open lane incidents above the filters, one button each (a click selects the
        incident's parcels); nothing when there are none."""
        from toolkit.diagnosis.incidents import detect

        self.incidents = detect(self.events, self.parcels, self.now, diagnoses=diagnoses)
        if self.incidents.empty:
            self._w_incidents.children = ()
            return
        shown = self.incidents.head(INCIDENTS_SHOWN)
        buttons = []
        for row in shown.itertuples():
            button = w.Button(
                description=incident_label(row),
                tooltip=str(row.evidence),
                button_style="warning",
                icon="exclamation-triangle",
                layout=w.Layout(width="auto", max_width="100%"),
            )
            button.add_class(WRAP_CLASS)
            button.on_click(self._incident_picker(list(map(str, row.parcel_ids))))
            buttons.append(button)
        more = len(self.incidents) - len(shown)
        head = (
            f"<b>Open incidents ({len(self.incidents)})</b>: many parcels of one place or "
            "carrier stalled at once. Click one to select its parcels."
            + (f" {more} more in <code>triage.incidents</code>." if more > 0 else "")
        )
        evidence = "".join(f"<li>{escape(str(e))}</li>" for e in shown["evidence"])
        self._w_incidents.children = (
            w.HTML(head),
            *buttons,
            w.HTML(f'<ul style="margin:2px 0 6px 0;font-size:12px">{evidence}</ul>'),
        )

    def _incident_picker(self, parcel_ids: list[str]) -> Any:
        return lambda _button=None: self.select_incident(parcel_ids)

    @_guarded
    def select_incident(self, parcel_ids: list[str]) -> None:
        """Select an incident's parcels (what its button does)."""
        self.select(parcel_ids)
        self._say(f"{len(parcel_ids):,} parcel(s) of the incident selected.", "ok")

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
        """Scans of these parcels (the group's events), by slicing the per-parcel index; from
        their partitions when a diagnoses folder is open (the last ones read are kept)."""
        if self.dataset is not None:
            return self._dataset_events(list(parcel_ids))
        pos = self.triage.index.get_indexer(list(parcel_ids))
        pos = pos[pos >= 0]
        counts = self._ev_count[pos]
        starts = np.repeat(self._ev_start[pos], counts)
        within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        return self.events.iloc[self._ev_order[starts + within]]

    def _dataset_events(self, parcel_ids: list[str]) -> pd.DataFrame:
        cache = self._events_cache
        wanted = [i for i in dict.fromkeys(parcel_ids) if i not in cache]
        if wanted and len(cache) + len(wanted) > EVENTS_CACHED:
            cache.clear()  # start again with these parcels only: none of them is lost
            wanted = list(dict.fromkeys(parcel_ids))
        if wanted:
            read = self.dataset.events_of(wanted)
            by_id = dict(tuple(read.groupby(read["parcel_id"].astype(str), sort=False)))
            empty = read.iloc[:0]
            for pid in wanted:
                cache[pid] = by_id.get(pid, empty)
        frames = [cache[i] for i in parcel_ids if i in cache]
        if not frames:
            return self.dataset.events_of([])
        return pd.concat(frames, ignore_index=True)

    def _parcel_rows(self, parcel_ids: list[str]) -> pd.DataFrame:
        """The parcels rows of these parcels (from their partitions for a diagnoses folder)."""
        if self.dataset is not None:
            return self.dataset.parcels_of(parcel_ids)
        return self.parcels[text_isin(self.parcels["parcel_id"], parcel_ids)]

    def _diagnosis_rows(self, parcel_ids: list[str]) -> pd.DataFrame:
        if self.dataset is not None:
            return self.dataset.diagnoses_of(parcel_ids)
        return self.diagnoses

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
        from toolkit.world.demo import load_demo

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

    _on_save = _clicked("record_finding")
    _on_csv = _clicked("export_csv")
    _on_partner = _clicked("export_for_partner")

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
        rows = self._parcel_rows(ids)
        numbers = pd.concat([rows["international_number"], rows["domestic_number"]]).dropna()
        finding = self.store.add(
            parcel_ids=list(ids),
            tracking_numbers=list(dict.fromkeys(numbers.astype(str))),
            **values,
        )
        self._saved(f"Finding {finding.id} recorded for {len(ids):,} parcel(s).")
        return finding

    def selection_table(self) -> pd.DataFrame:
        """The selected parcels (every parcels column) with their diagnosis."""
        ids = self._need_selection("export")
        rows, diagnoses = self._parcel_rows(ids), self._diagnosis_rows(ids)
        p = rows.assign(parcel_id=rows["parcel_id"].astype(str))
        d = diagnoses.assign(parcel_id=diagnoses["parcel_id"].astype(str))
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
        rows = self._parcel_rows(ids)
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


INCIDENTS_SHOWN = 6  # incidents with a button above the filters
EVENTS_CACHED = 2000  # parcels whose scans are kept after reading them from a diagnoses folder


def incident_label(row: Any) -> str:
    """An incident in one line: kind, place, parcels and since when."""
    start = pd.Timestamp(row.start)
    since = f" since {start:%Y-%m-%d %H:%M} UTC" if pd.notna(start) else ""
    return f"{row.kind} · {row.where} · {int(row.parcels):,} parcel(s){since}"


def _ageing_figure(data: pd.DataFrame) -> go.Figure:
    """The stuck parcels per day since the last scan, as the report draws its histogram."""
    from toolkit import plots

    return plots.ageing_bars(
        data.rename(columns={"days": "x"}),
        title=f"Stuck parcels by days since the last scan ({int(data['parcels'].sum()):,})",
        x_title="Days since the last scan (days)",
        categorical=False,
        height=340,
    )


def _heatmap_figure(data: pd.DataFrame) -> go.Figure:
    """The filtered parcels' gone-dark share by carrier and lane, as the report draws it."""
    from toolkit import plots

    return plots.gone_dark_grid(
        data,
        title="Share of parcels gone dark, by carrier and lane",
        height=max(300, 160 + 26 * data["carrier"].nunique()),
    )
