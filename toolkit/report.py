"""Partner reports as one HTML file that opens offline, and the export for chosen parcels.

``render_report`` runs ``notebooks/03_partner_report.ipynb`` with papermill and converts it
with nbconvert (template ``toolkit/templates/partner``): code, prompts, parameters and
analyst notes left out, plotly.js inline once, nothing loaded from another address. Before
the file is written it is checked for external references, local paths and API keys.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

from toolkit.errors import InputError, ToolkitError
from toolkit.files import private_dir, write_private_text
from toolkit.keys import redact, url_secrets
from toolkit.report_content import (
    INTERNAL_SUFFIX,
    TEXT,
    PartnerReport,
    build_report,
    carrier_label,
    check_carrier,
    check_findings_filter,
    check_language,
    load,
    load_tables,
    parse_period,
    report_now,
    select_parcels,
    selection_ids,
)

__all__ = [
    "PartnerReport",
    "build_report",
    "check_shareable",
    "default_export_dir",
    "export_for_partner",
    "external_references",
    "load",
    "render_report",
    "to_html",
]

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "03_partner_report.ipynb"
TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "partner"
DEFAULT_OUT = ROOT / "out"
# Every partner report is masked; its file name says so, for whoever sends it on.
SAFE_SUFFIX = "-partner-safe"
# Cells left out of the HTML: parameters (local paths, store URLs) and notes for analysts.
REMOVED_TAGS: tuple[str, ...] = ("parameters", "injected-parameters", "analyst-only")


# ---------------------------------------------------------------- rendering


class _References(HTMLParser):
    """Collects addresses a page would load: src/href and friends, CSS url() and @import."""

    ATTRS = ("src", "href", "srcset", "data", "poster", "action", "formaction", "xlink:href")
    CSS = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"]?)\s*((?:https?:)?//[^'")\s]+)""", re.I)
    MODULE = re.compile(r"""\bimport\s*(?:\(\s*)?['"]((?:https?:)?//[^'"]+)""")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._tag: str | None = None
        self._module = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag = tag
        self._module = tag == "script" and ("type", "module") in attrs
        for name, value in attrs:
            if value is None:
                continue
            if name in self.ATTRS and re.match(r"\s*(?:https?:)?//", value, re.I):
                self.found.append(value.strip())
            if name == "style":
                self.found += self.CSS.findall(value)

    def handle_endtag(self, tag: str) -> None:
        self._tag = None

    def handle_data(self, data: str) -> None:
        if self._tag == "style":
            self.found += self.CSS.findall(_strip_css_comments(data))
        elif self._tag == "script" and self._module:
            self.found += self.MODULE.findall(data)


def _strip_css_comments(css: str) -> str:
    return re.sub(r"/\*.*?\*/", "", css, flags=re.S)


def external_references(page: str) -> list[str]:
    """Addresses outside the page that it would load (scripts, styles, images, fonts, frames)."""
    parser = _References()
    parser.feed(page)
    parser.close()
    return parser.found


_EXTERNAL_SCRIPT = re.compile(
    r"""<script\b[^>]*\bsrc\s*=\s*["']?(?:https?:)?//[^>]*>\s*</script>""", re.I
)


def _offline_outputs(nb):
    """Drop scripts loaded from the internet from HTML outputs (plotly adds a MathJax one)."""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "text/html" in data:
                text = data["text/html"]
                text = "".join(text) if isinstance(text, list) else text
                data["text/html"] = _EXTERNAL_SCRIPT.sub("", text)
    return nb


def _shareable(nb, title: str):
    """The executed notebook without parameter cells, analyst notes and run metadata."""
    keep = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & set(REMOVED_TAGS):
            continue
        cell.metadata = {"tags": sorted(tags)} if tags else {}
        if cell.cell_type == "code":
            cell.source = ""  # code stays out of the file, not just out of sight
        keep.append(cell)
    nb.cells = keep
    nb.metadata = {
        "kernelspec": nb.metadata.get("kernelspec", {}),
        "language_info": {"name": "python"},
        "title": title,
    }
    return _offline_outputs(nb)


def to_html(nb, title: str, language: str = "en") -> str:
    """One self-contained HTML page of an executed report notebook: outputs only, no CDN."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name=TEMPLATE,
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        language_code=language,
    )
    body, _ = exporter.from_notebook_node(_shareable(nb, title))
    return body


def _forbidden(tmp: str, findings_url: str | None) -> dict[str, str]:
    """Text that must never reach a shared report, keyed by a description safe to print."""
    from toolkit.keys import MIN_REDACT, load_keys

    found = {
        "the temporary folder's path": tmp,
        "the toolkit's folder path": str(ROOT),
        "the home folder's path": str(Path.home()) + os.sep,
    }
    if findings_url:
        found["the findings store address"] = findings_url
    for i, secret in enumerate(load_keys().secrets()):
        value = secret.reveal()
        if len(value) >= MIN_REDACT:
            found[f"API key {i + 1}"] = value
    return {k: v for k, v in found.items() if v and v != os.sep}


def check_shareable(page: str, forbidden: dict[str, str]) -> None:
    """Raise ToolkitError if a page loads anything from outside or holds forbidden text."""
    leaks = [what for what, value in forbidden.items() if value in page]
    external = external_references(page)
    if leaks or external:
        problems = leaks + [f"a reference to {u}" for u in external[:5]]
        raise ToolkitError(
            "the report was not written because it would contain " + ", ".join(problems),
            "partner report",
            "Keep paths, keys and links out of the data and the notebook outputs",
        )


_TITLE = re.compile(r'<h1 class="report-title">(.*?)</h1>', re.S)


def _title_of(nb) -> str | None:
    """The title the report's header shows (its h1), as plain text for the page's title."""
    import html

    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text = out.get("data", {}).get("text/html", "")
            m = _TITLE.search("".join(text) if isinstance(text, list) else text)
            if m:
                return html.unescape(m.group(1))
    return None


def _file_name(carrier: str | None, out_dir: Path, when: dt.datetime) -> Path:
    stem = f"partner-report-{carrier or 'all'}-{when:%Y%m%d-%H%M%S}"
    path, n = out_dir / f"{stem}{SAFE_SUFFIX}.html", 1
    while path.exists():
        n += 1
        path = out_dir / f"{stem}-{n}{SAFE_SUFFIX}.html"
    return path


EXPORT_DIR_ENV = "TOOLKIT_EXPORT_DIR"


def default_export_dir() -> Path:
    """Where exports go unless told: $TOOLKIT_EXPORT_DIR, notebooks/exports/ in a checkout,
    else ./exports.

    notebooks/ is the JupyterLab root of ``make lab``, so files there can be downloaded
    from the notebook; the folder is git-ignored. A Lab started on another folder names a
    folder inside its root with TOOLKIT_EXPORT_DIR.
    """
    if os.environ.get(EXPORT_DIR_ENV, "").strip():
        return Path(os.environ[EXPORT_DIR_ENV].strip()).expanduser()
    if (ROOT / "pyproject.toml").is_file() and (ROOT / "notebooks").is_dir():
        return ROOT / "notebooks" / "exports"
    return Path.cwd() / "exports"


def _kernel_manager(folder: str):
    """A kernel manager whose kernel talks over Unix sockets in ``folder`` (POSIX only).

    The report's kernel holds unmasked recipient data; sockets in the run's private temporary
    folder (mode 0700) keep that traffic off the TCP loopback, and ipykernel then has no
    reason to warn about unencrypted TCP. Elsewhere the default (TCP on localhost) is kept.
    """
    if os.name != "posix":
        return None
    from jupyter_client import AsyncKernelManager

    class LocalSocketKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            super().__init__(transport="ipc", ip=os.path.join(folder, "kernel"), **kwargs)

        async def _async_interrupt_kernel(self) -> None:
            # jupyter_client interrupts the kernel before asking it to shut down; the report
            # has finished by then, and a SIGINT racing the shutdown message only makes
            # ipykernel print "KeyboardInterrupt caught in kernel" on the analyst's terminal.
            if self.shutting_down:
                return
            await super()._async_interrupt_kernel()

    return LocalSocketKernelManager


def _redacted(text: str, parameters: Mapping[str, object]) -> str:
    """Text from the report's kernel with the secrets of any URL (the findings store's) hidden."""
    return redact(text, url_secrets(str(parameters.get("findings_url") or "")))


def _execute(parameters: dict, cwd: str):
    """Run the report notebook with papermill; a failing cell becomes a ToolkitError."""
    import papermill as pm

    manager = _kernel_manager(cwd)
    if not NOTEBOOK.is_file():
        raise ToolkitError(
            "the report notebook is missing",
            "notebooks/03_partner_report.ipynb",
            "Restore it from the repository",
        )
    try:
        return pm.execute_notebook(
            str(NOTEBOOK),
            None,
            parameters=parameters,
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
            cwd=cwd,
            **({} if manager is None else {"kernel_manager_class": manager}),
        )
    except pm.PapermillExecutionError as exc:
        raise ToolkitError(
            f"the report stopped with {exc.ename}: {_redacted(exc.evalue, parameters)}",
            "partner report",
            "Run notebooks/03_partner_report.ipynb in JupyterLab with the same parameters "
            "to see where",
        ) from None


def render_report(
    out_dir: str | os.PathLike,
    *,
    carrier: str | None = None,
    since: object = None,
    parcels_file: str | os.PathLike | None = None,
    parcels: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    findings_url: str | None = None,
    language: str = "en",
    parcel_ids: Sequence[str] | None = None,
    now: object = None,
    findings_filter: Mapping[str, object] | None = None,
    until: object = None,
) -> Path:
    """Render the partner report to one self-contained HTML file in out_dir; return its path.

    The parcels are those of the carrier (either leg), shipped in [since, until), named by
    parcels_file or parcel_ids, and with a recorded finding matching findings_filter (keys
    status, category, analyst, since; see FindingsStore.query); each filter given narrows.
    """
    language = check_language(language)
    wanted = check_findings_filter(findings_filter)
    if (parcels is None) != (events is None):
        raise InputError(
            "parcels were given without events, or the other way round",
            "render_report",
            "Pass both tables, or neither for the demo set",
        )
    ids = selection_ids(parcels_file, parcel_ids)
    tables = load_tables()[:2] if parcels is None else (parcels, events)
    scope = select_parcels(  # fail before running
        *tables,
        carrier=carrier,
        since=since,
        parcel_ids=ids,
        findings_filter=wanted,
        findings_url=findings_url,
        until=until,
    )
    code = check_carrier(carrier, *tables)
    start, end = parse_period(since, until)
    when = report_now(now, tables[0])
    out = Path(out_dir)
    try:
        private_dir(out)
    except OSError as exc:
        raise InputError(f"the output folder cannot be created ({exc.strerror})", str(out)) from exc
    with tempfile.TemporaryDirectory(prefix="toolkit-report-") as tmp:
        params: dict = {
            "carrier": code,
            "since": None if start is None else start.isoformat(),
            "until": None if end is None else end.isoformat(),
            "parcel_ids": ids,
            "findings_url": findings_url,
            "findings_filter": wanted,
            "language": language,
            "now": when.isoformat(),
        }
        if parcels is not None:
            params["parcels_path"] = str(Path(tmp) / f"parcels{INTERNAL_SUFFIX}")
            params["events_path"] = str(Path(tmp) / f"events{INTERNAL_SUFFIX}")
            parcels.to_pickle(params["parcels_path"])
            events.to_pickle(params["events_path"])
        nb = _execute(params, tmp)
        title = _title_of(nb) or TEXT[language]["title"].format(
            who=carrier_label(code, language) or TEXT[language]["all_carriers"]
        )
        page = to_html(nb, title, language)
        check_shareable(page, _forbidden(tmp, findings_url))
    # a report on one parcel is named after it (letters, digits, dashes only)
    one = re.sub(r"[^A-Za-z0-9-]+", "-", str(scope["parcel_id"].iloc[0])) if len(scope) == 1 else ""
    path = _file_name(code or one.strip("-")[:40] or None, out, dt.datetime.now())
    write_private_text(path, page)  # owner-only until the analyst chooses to share it
    return path


def export_for_partner(
    parcel_ids: Sequence[str] | Iterable[str],
    parcels: pd.DataFrame,
    events: pd.DataFrame,
    out_dir: Path | None = None,
    *,
    carrier: str | None = None,
    now: object = None,
    language: str = "en",
    findings_url: str | None = None,
) -> Path:
    """The partner report for these parcels (ids or numbers) as one HTML file; return its path.

    Recipient data is masked, as in every partner report. The file goes to out_dir, by default
    the git-ignored exports folder inside the Lab root (``default_export_dir``).
    """
    ids = [parcel_ids] if isinstance(parcel_ids, str) else list(parcel_ids)
    if not ids:
        raise InputError(
            "no parcel to export", "export for partner", "Select at least one parcel first"
        )
    return render_report(
        default_export_dir() if out_dir is None else out_dir,
        carrier=carrier,
        parcels=parcels,
        events=events,
        parcel_ids=ids,
        now=now,
        language=language,
        findings_url=findings_url,
    )
