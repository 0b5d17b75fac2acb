"""Partner reports as one HTML file that opens offline, and the export for chosen parcels.

``render_report`` runs ``notebooks/03_partner_report.ipynb`` with papermill and converts it
with nbconvert (template ``toolkit/report/templates/partner``): code, prompts, parameters and
analyst notes left out, plotly.js inline once, nothing loaded from another address. Before
the file is written it is checked for external references, local paths and API keys.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

from toolkit import paths
from toolkit.errors import InputError, ToolkitError
from toolkit.files import private_dir, write_private_text
from toolkit.keys import redact, url_secrets
from toolkit.report.scope import INTERNAL_SUFFIX, ReportScope, load_tables
from toolkit.report.translations import TEXT, carrier_label

__all__ = [
    "check_shareable",
    "default_export_dir",
    "export_for_partner",
    "external_references",
    "render_report",
    "to_html",
]

ROOT = paths.ROOT
# notebooks/03_partner_report.ipynb in a checkout, the package's copy of it when installed
NOTEBOOK = paths.report_notebook()
TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "partner"
DEFAULT_OUT = Path("out")  # `python -m toolkit report` writes here, in the working folder
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


# What the browser reads out of a page: JSON string escapes (plotly's figure JSON writes "/"
# as \u002f and "<" as \u003c), HTML character references and URL percent-escapes.
_JSON_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|([/\\\"]))")
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
# Characters people put between the digits of a phone number, or that hide inside one.
_DIGIT_GAPS = re.compile(r"[\s\-.()/\\\u200b-\u200d\u2060\ufeff\u00ad]+")
# plotly.js inline: library code, megabytes long, never data; skipped by the data checks.
_PLOTLY_BUNDLE = re.compile(r"<script[^>]*>\s*/\*\*?\s*\*?\s*plotly\.js v.*?</script>", re.S)


def _unescape_json(text: str) -> str:
    def one(m: re.Match) -> str:
        return chr(int(m.group(1), 16)) if m.group(1) else m.group(2)

    return _JSON_ESCAPE.sub(one, text)


def _views(page: str) -> list[str]:
    """The page as written and as the browser shows it: JSON, HTML and URL escapes decoded,
    full-width and other compatibility forms folded (NFKC)."""
    import html
    from urllib.parse import unquote

    data = _PLOTLY_BUNDLE.sub("", page)
    shown = unicodedata.normalize("NFKC", html.unescape(_unescape_json(data)))
    views = [page, shown]
    if _PERCENT.search(shown):
        views.append(unquote(shown))
    return views


def _alternation(values: Iterable[str]) -> re.Pattern | None:
    """One regex finding any of these strings (longest first), or None for none."""
    words = sorted({v for v in values if v}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, words))) if words else None


# How a building is written before its room in a page: 6栋1703, 6号楼1703, B座1203.
BUILDING_WORDS: tuple[str, ...] = ("栋", "号楼", "幢", "座", "号")
# Marks a name form looked for as words in a row (lower case, joined), not as written.
LETTERS = "\x00"


def personal_data(parcels: pd.DataFrame) -> dict[str, str]:
    """The recipient data of these parcels as it must never appear in a partner page, keyed
    by a description safe to print (which field of which parcel): the phone's digits (without
    a +86 prefix), the full name (Han names also in simplified and traditional form and in pinyin),
    the address, the part of it a masked address hides, and its building and room."""
    from toolkit.privacy import MASK, building_rooms, mask_address

    found: dict[str, str] = {}
    if "parcel_id" not in parcels.columns:
        return found
    for row in parcels.itertuples(index=False):
        pid = getattr(row, "parcel_id", "")
        phone = getattr(row, "recipient_phone", None)
        digits = "".join(c for c in phone if c.isdigit()) if isinstance(phone, str) else ""
        if len(digits) > 11 and digits.lstrip("0").startswith("86"):
            digits = digits.lstrip("0")[2:]  # the country prefix is matched separately
        if len(digits) >= 7:
            found[f"the recipient phone of parcel {pid}"] = digits
            if digits.startswith("0"):  # an area code's 0 is dropped after +86
                found[f"the recipient phone of parcel {pid} (1)"] = digits[1:]
        name = getattr(row, "recipient_name", None)
        if isinstance(name, str) and len(name.strip()) >= 2:
            for i, form in enumerate(_name_forms(name.strip())):
                found[f"the recipient name of parcel {pid}" + (f" ({i})" if i else "")] = form
        address = getattr(row, "recipient_address", None)
        if isinstance(address, str) and len(address.strip()) >= 4:
            address = address.strip()
            masked = mask_address(address)
            kept = masked[: -len(MASK)] if masked.endswith(MASK) else ""
            hidden = address[len(kept) :].strip()
            if len(hidden) >= 4:
                found[f"the recipient address of parcel {pid}"] = hidden
            # the building and room alone, however the building is written
            forms = dict.fromkeys(
                f"{b}{word}{r}"
                for building, r in building_rooms(hidden)
                for b in dict.fromkeys((building.upper(), building))
                for word in BUILDING_WORDS
            )
            for i, form in enumerate(forms, start=1):
                found[f"the recipient address of parcel {pid} ({i})"] = form
    return found


@functools.cache
def _opencc(config: str):
    """An OpenCC converter (loading one reads its dictionaries: made once per config)."""
    from opencc import OpenCC

    return OpenCC(config)


def _name_forms(name: str) -> list[str]:
    """A name as it may be written: as given, simplified, traditional and pinyin (Han names),
    and in letters (Latin names and pinyin, either order, marked with LETTERS)."""
    name = unicodedata.normalize("NFKC", name)
    if re.search(r"[\u3400-\u9fff]", name):
        from pypinyin import lazy_pinyin

        han = re.sub(r"\s+", "", name)
        simplified = _opencc("t2s").convert(han)
        forms = [han, simplified, _opencc("s2t").convert(han)]
        syllables = lazy_pinyin(simplified)
        if len(syllables) >= 2:
            joined = "".join(syllables)
            flipped = "".join(syllables[1:] + syllables[:1])
            forms += [LETTERS + joined, LETTERS + flipped] if len(joined) >= 5 else []
        return list(dict.fromkeys(forms))
    letters = re.sub(r"[^a-z]", "", name.lower())
    return [LETTERS + letters] if len(letters) >= 5 else []


_WORD = re.compile(r"[A-Za-z]+")
_BETWEEN_PARTS = re.compile(r"[\s.\-_'’]*")
_MAX_PARTS = 4


def _spelled_names(text: str, names: set[str]) -> set[str]:
    """The names (LETTERS + lower-case letters) written in this text as words next to each
    other, in any case, with or without spaces, dots or dashes between them."""
    from toolkit.privacy import spells_a_place

    words = list(_WORD.finditer(text))
    found: set[str] = set()
    for i, first in enumerate(words):
        joined, end = first.group(0).lower(), first.end()
        for nxt in [None, *words[i + 1 : i + _MAX_PARTS]]:
            if nxt is not None:
                if not _BETWEEN_PARTS.fullmatch(text, end, nxt.start()):
                    break
                joined, end = joined + nxt.group(0).lower(), nxt.end()
            # one word that spells a place (Dongying) is the place, as the masking reads it
            if LETTERS + joined in names and (nxt is not None or not spells_a_place(joined)):
                found.add(joined)
    return found


def check_shareable(
    page: str, forbidden: dict[str, str], personal: Mapping[str, str] | None = None
) -> None:
    """Raise ToolkitError if a page loads anything from outside or holds forbidden text.

    Forbidden text (paths, keys, store addresses) and personal data (``personal_data``) are
    looked for in the page as written and as a browser decodes it, so that an escaped form
    in a chart's JSON or an attribute does not slip through. Personal data is also looked
    for with the separators between digits removed and, for names written in letters, in
    the page's words joined (forms starting with LETTERS).
    """
    views = _views(page)
    leaks = [what for what, value in forbidden.items() if any(value in v for v in views)]
    if personal:
        shown = views[1:]
        digits = [_DIGIT_GAPS.sub("", v) for v in shown]
        by_value: dict[str, list[str]] = {}
        for what, value in personal.items():
            by_value.setdefault(value, []).append(what)
        phones = _alternation(v for v in by_value if v.isdigit())
        plain = _alternation(v for v in by_value if not (v.isdigit() or v.startswith(LETTERS)))
        names = {v for v in by_value if v.startswith(LETTERS)}
        hits: set[str] = {LETTERS + w for v in shown for w in _spelled_names(v, names)}
        searches = [(plain, shown + digits)]
        if phones is not None:  # whole numbers only, maybe after a country prefix
            phones = re.compile(rf"(?<!\d)(?:0{{0,2}}86)?({phones.pattern})(?!\d)")
            searches.append((phones, digits))
        for pattern, texts in searches:
            if pattern is not None:
                for text in texts:
                    hits.update(m.group(m.lastindex or 0) for m in pattern.finditer(text))
        leaks += sorted({w.split(" (")[0] for hit in hits for w in by_value.get(hit, [])})
    external = external_references(page)
    if leaks or external:
        problems = leaks[:10] + [f"a reference to {u}" for u in external[:5]]
        raise ToolkitError(
            "the report was not written because it would contain " + ", ".join(problems),
            "partner report",
            "Keep paths, keys and links out of the data and the notebook outputs, and "
            "recipient data out of free-text columns and notes",
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
    if paths.in_checkout() and (ROOT / "notebooks").is_dir():
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
    scope = parameters.get("scope") or {}
    url = parameters.get("findings_url") or scope.get("findings_url")  # type: ignore[union-attr]
    return redact(text, url_secrets(str(url or "")))


def _execute(parameters: dict, cwd: str):
    """Run the report notebook with papermill; a failing cell becomes a ToolkitError."""
    import papermill as pm

    manager = _kernel_manager(cwd)
    if not NOTEBOOK.is_file():
        raise ToolkitError(
            "the report notebook is missing",
            str(NOTEBOOK),
            "Restore notebooks/03_partner_report.ipynb from the repository, or reinstall "
            "the toolkit",
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
    if (parcels is None) != (events is None):
        raise InputError(
            "parcels were given without events, or the other way round",
            "render_report",
            "Pass both tables, or neither for the demo set",
        )
    tables = load_tables()[:2] if parcels is None else (parcels, events)
    checked = ReportScope.check(  # the one check; the notebook gets the scope as it is
        *tables,
        carrier=carrier,
        since=since,
        until=until,
        parcels_file=parcels_file,
        parcel_ids=parcel_ids,
        findings_filter=findings_filter,
        findings_url=findings_url,
        language=language,
        now=now,
    )
    chosen = checked.select(*tables)  # fail before running
    code, language = checked.carrier, checked.language
    out = Path(out_dir)
    try:
        private_dir(out)
    except OSError as exc:
        raise InputError(f"the output folder cannot be created ({exc.strerror})", str(out)) from exc
    with tempfile.TemporaryDirectory(prefix="toolkit-report-") as tmp:
        params: dict = {"scope": checked.to_parameters()}
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
        check_shareable(page, _forbidden(tmp, findings_url), personal_data(chosen))
    # a report on one parcel is named after it (letters, digits, dashes only)
    one = (
        re.sub(r"[^A-Za-z0-9-]+", "-", str(chosen["parcel_id"].iloc[0])) if len(chosen) == 1 else ""
    )
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
