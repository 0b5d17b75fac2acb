"""What both widgets share: the callback guard, the findings store, the report-language
picker, download links for exports and the figure slot that replaces a figure in place.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

import ipywidgets as w
import pandas as pd
import plotly.graph_objects as go

from toolkit.errors import ToolkitError
from toolkit.plots import CHART_CONFIG, TEMPLATE, widget_json
from toolkit.tracking.carriers.base import WARNING_KINDS
from toolkit.widgets.form import FindingForm
from toolkit.widgets.html import message_html
from toolkit.widgets.parts import HasParts

log = logging.getLogger(__name__)


# Tracking failures that say something about the number rather than the service.
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


def _clicked(action: str) -> Callable:
    """A button's callback: run the widget's method of that name, guarded."""

    def run(self, _button=None) -> None:
        getattr(self, action)()

    run.__name__ = run.__qualname__ = action  # what the log names when it fails
    return _guarded(run)


def _default_store() -> Any:
    from toolkit.findings.store import FindingsStore

    return FindingsStore()


def _report_language() -> w.Dropdown:
    """The language of the partner report an export writes."""
    return w.Dropdown(
        options=[("English report", "en"), ("中文报告", "zh")],
        value="en",
        description="",
        layout=w.Layout(width="150px"),
        tooltip="Language of the partner report",
    )


# ------------------------------------------------------------------ what every widget has


def _shows(child: str, doc: str) -> property:
    """A read-only property: the value of one of the widget's HTML children."""
    return property(lambda self: getattr(self, child).value, doc=doc)


class WidgetBase(HasParts):
    """The settings, message line, findings store, finding form and export outputs every
    widget has.

    The constructor keeps the settings, makes the children every widget shows
    (``_w_message``, ``_w_saved``, ``_w_report_lang``, ``_w_export``, ``_w_download``) and
    the finding form, then calls ``_build``: the widget makes its own children there, lays
    them out (``_save_row`` and ``_export_outputs`` place the shared ones) and sets
    ``self.layout``.
    """

    layout: w.Box
    # the finding form has a free-text box for the actions taken (else they are ticked)
    _free_actions = False

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
        self.now = pd.Timestamp(now) if now is not None else None
        self.track_options = {"progress": False, **dict(track_options or {})}
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self._store = store
        self._w_message = w.HTML()
        self._w_saved = w.HTML()
        self._w_report_lang = _report_language()
        self._w_export = w.HTML()
        self._w_download = w.Output()
        self.form = FindingForm(analyst, free_actions=self._free_actions)
        self._build(parcels, events, now)

    def _build(self, parcels: pd.DataFrame | None, events: pd.DataFrame | None, now: Any) -> None:
        """Make the widget's own children and its layout (the constructor's last step)."""
        raise NotImplementedError

    @staticmethod
    def _connect(
        changes: Sequence[tuple[w.Widget, Callable]], clicks: Sequence[tuple[w.Button, Callable]]
    ) -> None:
        """Call each callback when its widget's value changes or its button is clicked."""
        for widget, callback in changes:
            widget.observe(callback, names="value")
        for button, callback in clicks:
            button.on_click(callback)

    def _save_row(self, *buttons: w.Widget) -> w.HBox:
        """The save button, its confirmation, the widget's export buttons and the report
        language, in one wrapping row."""
        return w.HBox(
            [self._b_save, self._w_saved, *buttons, self._w_report_lang],
            layout=w.Layout(align_items="center", flex_flow="row wrap"),
        )

    def _export_outputs(self) -> list[w.Widget]:
        """What the last export said and its download link (the end of the layout)."""
        return [self._w_export, self._w_download]

    # ------------------------------------------------------------ what it shows (read-only)
    message = _shows(
        "_w_message", "The message line (HTML): problems, warnings and what to do next."
    )
    saved_message = _shows(
        "_w_saved", 'The confirmation next to the save button (HTML; "" until a finding is saved).'
    )
    export_message = _shows(
        "_w_export", "What the last export said: where the file is and who may see it (HTML)."
    )

    # ------------------------------------------------------------ plumbing
    @property
    def store(self) -> Any:
        """The findings store (a default FindingsStore() on first use)."""
        if self._store is None:
            self._store = _default_store()
        return self._store

    def _say(self, text: str, kind: str = "error") -> None:
        self._w_message.value = message_html(text, kind) if text else ""

    def _saved(self, text: str) -> None:
        """Confirm a recorded finding and make the form ready for the next one."""
        self._w_saved.value = message_html(text, "ok")
        self._say("")
        self.form.clear()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.layout)


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
