"""Which parcels a partner report covers: the scope checked once, the tables, the selection."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from toolkit.errors import FileFormatError, InputError
from toolkit.model import (
    CARRIERS,
    text_isin,
    validate_events,
    validate_parcels,
)
from toolkit.report.translations import CATEGORY_LABELS, FINDING_STATUS_ZH
from toolkit.times import to_utc

LANGUAGES: tuple[str, ...] = ("en", "zh")


SELECTION_COLUMNS: tuple[str, ...] = (
    "parcel_id",
    "international_number",
    "tracking_number",
    "domestic_number",
    "order_id",
)


_TABLE_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".parquet")


INTERNAL_SUFFIX = ".pkl"  # tables handed by toolkit.report to its own notebook run


def check_language(language: object) -> str:
    """The report language, or InputError naming the ones there are."""
    if language not in LANGUAGES:
        raise InputError(
            f"unknown report language {language!r}",
            "partner report",
            f"Use one of: {', '.join(LANGUAGES)}",
        )
    return str(language)


def check_carrier(carrier: object, parcels: pd.DataFrame, events: pd.DataFrame) -> str | None:
    """The carrier code in lower case; known to the registry or present in the data."""
    if carrier is None:
        return None
    code = str(carrier).strip().lower()
    present = set(events["carrier"].dropna().astype(str).str.lower())
    for col in ("international_carrier", "domestic_carrier"):
        if col in parcels.columns:
            present |= set(parcels[col].dropna().astype(str).str.lower())
    if not code or (code not in CARRIERS and code not in present):
        raise InputError(
            f"unknown carrier {carrier!r}",
            "partner report --carrier",
            f"Use a carrier code such as {', '.join(sorted(CARRIERS)[:8])}… "
            "(the full list is toolkit.model.CARRIERS)",
        )
    return code


def parse_since(
    since: object, where: str = "partner report --since", what: str = "start date"
) -> pd.Timestamp | None:
    """The start of the reporting period as a UTC timestamp (a date means its midnight, UTC)."""
    return to_utc(
        since,
        what,
        where,
        naive="utc",
        empty="none",
        hint="Give a date such as 2026-11-01, or a time such as 2026-11-01T08:00+08:00",
    )


def parse_period(since: object, until: object) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The reporting period [since, until) in UTC; until must come after since."""
    start = parse_since(since)
    end = parse_since(until, "partner report --until", "end date")
    if start is not None and end is not None and end <= start:
        raise InputError(
            f"the period ends ({end:%Y-%m-%d %H:%M} UTC) before it starts "
            f"({start:%Y-%m-%d %H:%M} UTC)",
            "partner report --until",
            "Give an end after the start: --since 2026-10-01 --until 2026-11-01 is October",
        )
    return start, end


def _normalise_keys(values: pd.Series) -> pd.Series:
    return values.astype("string").str.replace(r"[\s\u3000]", "", regex=True).str.upper()


# What a parcel id, order id or tracking number is made of: letters and digits (of any
# script), with - _ . / # between them. A file whose values hold anything else is not a
# list of parcels, and errors about it quote none of its lines.
_SELECTION_VALUE = re.compile(r"[\w\-./#]{1,100}")


def read_selection(path: str | os.PathLike) -> list[str]:
    """Parcel ids or tracking numbers from a file: a parcels CSV/Parquet, or text, one a line."""
    from toolkit import io

    path = Path(path)
    if not path.is_file():
        raise FileFormatError(
            "the parcels file does not exist",
            str(path),
            "Give a CSV or Parquet of parcels, or a text file with one parcel id or number a line",
        )
    name = path.name.lower()
    if name.endswith(_TABLE_SUFFIXES):
        values = _selection_column(_read_selection_table(path), path)
        _check_selection(
            [(re.sub(r"\s", "", v), f"value {n}") for n, v in enumerate(values, start=1)], path
        )
    else:
        text = io.read_text(path)
        tokens = [
            (token, f"line {number}")
            for number, line in enumerate(text.splitlines(), start=1)
            if line.strip() and not line.lstrip().startswith("#")
            for token in re.split(r"[,;\s]+", line.strip())
            if token
        ]
        _check_selection(tokens, path)
        values = [token for token, _ in tokens]
    values = list(dict.fromkeys(v.strip() for v in values if v and v.strip()))
    if not values:
        raise InputError(
            "the parcels file names no parcel",
            str(path),
            "Put one parcel id or tracking number on each line",
        )
    return values


def _check_selection(values: list[tuple[str, str]], path: Path) -> None:
    """Refuse, without quoting it, a file whose values are not parcel ids or numbers."""
    odd = next((where for value, where in values if not _SELECTION_VALUE.fullmatch(value)), None)
    if odd is not None:
        raise FileFormatError(
            f"this does not look like a list of parcel ids or tracking numbers: {odd} holds "
            "characters that ids and numbers do not have",
            str(path),
            "Give a CSV/TSV/Parquet table of parcels with a parcel_id or international_number "
            "column, or a text file with one parcel id or tracking number a line (letters, "
            "digits and - _ . / # only)",
        )


def _read_selection_table(path: Path) -> pd.DataFrame:
    from toolkit import io

    return io.read_table(path)


def _selection_column(table: pd.DataFrame, path: Path) -> list[str]:
    columns = {str(c).strip().lower(): c for c in table.columns}
    pick = next((columns[c] for c in SELECTION_COLUMNS if c in columns), None)
    if pick is None and len(table.columns) == 1:
        pick = table.columns[0]
    if pick is None:
        raise InputError(
            f"the parcels file has no column {' or '.join(repr(c) for c in SELECTION_COLUMNS[:3])}",
            str(path),
            "Name the column parcel_id (or international_number), or list one id a line "
            "in a text file",
        )
    return table[pick].dropna().astype(str).str.strip().tolist()


def load_tables(
    parcels_path: str | os.PathLike | None = None, events_path: str | os.PathLike | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    """(parcels, events, is_demo): the given tables, or the demo set when none is given."""
    from toolkit import io
    from toolkit.world import demo

    if (parcels_path is None) != (events_path is None):
        raise InputError(
            "a parcels table was given without its events, or the other way round",
            "partner report",
            "Give both tables (parcels_path and events_path), or neither for the demo set",
        )
    if parcels_path is None:
        parcels, events = demo.load_demo()
        return parcels, events, True
    if str(parcels_path).endswith(INTERNAL_SUFFIX):
        parcels, events = pd.read_pickle(parcels_path), pd.read_pickle(events_path)
    else:
        parcels, events = io.read_parcels(parcels_path), io.read_events(events_path)
    return parcels, events, False


def match_selection(parcels: pd.DataFrame, wanted: Sequence[str]) -> set[str]:
    """Parcel ids named by ids or numbers; unknown entries raise InputError naming them."""
    if isinstance(wanted, str):
        wanted = [wanted]
    wanted = [str(w) for w in wanted if w is not None and str(w).strip()]
    if not wanted:
        raise InputError(
            "the list of parcels is empty", "partner report", "Name at least one parcel"
        )
    cols = [c for c in ("parcel_id", "order_id", "international_number", "domestic_number")]
    keys = pd.concat(
        [
            pd.DataFrame({"key": _normalise_keys(parcels[c]), "parcel_id": parcels["parcel_id"]})
            for c in cols
            if c in parcels.columns
        ],
        ignore_index=True,
    ).dropna()
    asked = _normalise_keys(pd.Series(wanted, dtype="string"))
    hit = keys[text_isin(keys["key"], asked)]
    known = set(hit["key"])
    unknown = [w for w, k in zip(wanted, asked, strict=True) if k not in known]
    if unknown:
        shown = ", ".join(repr(u) for u in unknown[:10])
        more = f" (and {len(unknown) - 10} more)" if len(unknown) > 10 else ""
        raise InputError(
            f"{len(unknown)} parcel(s) are not in the parcels table: {shown}{more}",
            "partner report",
            "Check the ids or numbers, or report on a parcels table that holds them",
        )
    return set(hit["parcel_id"].astype(str))


FINDINGS_FILTER_KEYS: tuple[str, ...] = ("status", "category", "analyst", "since")


def check_findings_filter(value: object) -> dict[str, object] | None:
    """A findings filter as FindingsStore.query takes it (keys FINDINGS_FILTER_KEYS).

    Values are text or lists of text; ``since`` becomes ISO text. Empty values are dropped,
    and an empty filter is None (no filter).
    """
    if value is None:
        return None
    example = 'Give keys and values, e.g. {"status": "open", "category": "customs_hold"}'
    if not isinstance(value, Mapping):
        raise InputError(
            f"the findings filter {value!r} is not a mapping", "partner report", example
        )
    unknown = sorted(str(k) for k in value if k not in FINDINGS_FILTER_KEYS)
    if unknown:
        raise InputError(
            f"unknown findings filter key(s): {', '.join(unknown)}",
            "partner report",
            f"Use {', '.join(FINDINGS_FILTER_KEYS)}",
        )
    out: dict[str, object] = {}
    for key, v in value.items():
        if v is None or (isinstance(v, str) and not v.strip()):
            continue
        if key == "since":
            start = parse_since(v, "partner report findings filter since (--finding-since)")
            if start is not None:
                out[key] = start.isoformat()
            continue
        values = [v] if isinstance(v, str) else list(v) if isinstance(v, Sequence) else None
        if values is None or not all(isinstance(x, str) for x in values):
            raise InputError(
                f"findings filter {key} {v!r} is neither text nor a list of text",
                "partner report",
                example,
            )
        values = [x.strip() for x in values if x.strip()]
        if values:
            out[key] = values[0] if len(values) == 1 else values
    return out or None


def describe_findings_filter(
    wanted: Mapping[str, object], *, public: bool = False, language: str = "en"
) -> str:
    """The filter in words, e.g. "status open, category customs_hold"; public: no analyst."""
    zh = language == "zh"
    words = {
        "status": lambda v: FINDING_STATUS_ZH.get(v, v),
        "category": lambda v: CATEGORY_LABELS["zh"].get(v, v),
    }
    parts = []
    for key in FINDINGS_FILTER_KEYS:
        if key not in wanted or (public and key == "analyst"):
            continue
        v = wanted[key]
        values = [v] if isinstance(v, str) else [str(x) for x in v]  # type: ignore[union-attr]
        if key == "since":
            day = f"{pd.Timestamp(str(v)):%Y-%m-%d}"
            parts.append(f"{day} 以来有更新" if zh else f"changed since {day}")
        elif zh:
            label = {"status": "状态", "category": "诊断", "analyst": "记录人"}[key]
            parts.append(label + " " + "或".join(words.get(key, str)(x) for x in values))
        else:
            parts.append(f"{key} {' or '.join(values)}")
    return "，".join(parts) if zh else ", ".join(parts)


def no_findings_store(url: str | None) -> bool:
    """True when no store is named and the default one was never created."""
    from toolkit.findings import store as store_module

    named = url is not None or os.environ.get(store_module.ENV_URL, "").strip()
    return not named and not store_module.default_path().is_file()


def parcels_with_findings(wanted: Mapping[str, object], url: str | None = None) -> set[str]:
    """Ids of the parcels with a current finding matching the filter; InputError if none."""
    from toolkit.findings import store as store_module

    # Without a store the filter is still checked (against an empty in-memory one).
    with store_module.FindingsStore(url="sqlite://" if no_findings_store(url) else url) as store:
        found = store.query(**wanted)  # type: ignore[arg-type]
    if found.empty:
        raise InputError(
            f"no recorded finding matches {describe_findings_filter(wanted)}",
            "partner report",
            "Loosen the findings filter, check the findings store address, or record "
            "the findings first",
        )
    return {str(pid) for ids in found["parcel_ids"] for pid in ids}


def report_now(now: object, parcels: pd.DataFrame) -> pd.Timestamp:
    """The moment the report describes: given, else the data set's as_of, else the clock."""
    if now is None and "as_of" in parcels.columns and parcels["as_of"].notna().any():
        now = parcels["as_of"].dropna().iloc[0]
    if now is None:
        return pd.Timestamp.now(tz="UTC")
    return to_utc(
        now,
        "report time",
        "partner report",
        naive="utc",
        hint="Give an ISO time such as 2026-11-20T04:00Z",
    )


def selection_ids(
    parcels_file: str | os.PathLike | None, parcel_ids: Sequence[str] | None
) -> list[str] | None:
    """The parcels named by a file and a list together; None when neither is given."""
    if parcels_file is None and parcel_ids is None:
        return None
    ids = (
        []
        if parcel_ids is None
        else [parcel_ids]
        if isinstance(parcel_ids, str)
        else list(parcel_ids)
    )
    if parcels_file is not None:
        ids += read_selection(parcels_file)
    return ids


@dataclass(frozen=True)
class ReportScope:
    """What one partner report covers, checked once against the tables it applies to.

    ``ReportScope.check`` reads the caller's values (carrier code, period, named parcels,
    findings filter, language, the moment described) and raises InputError naming the bad
    one; the scope it returns is passed along as it is, from the command line or a widget
    through ``render_report`` into the report notebook (``to_parameters`` /
    ``from_parameters``), and nothing downstream checks it again. The named parcels and the
    findings filter are resolved to parcel ids at check time (``selected``, ``with_findings``).
    """

    carrier: str | None = None
    since: pd.Timestamp | None = None
    until: pd.Timestamp | None = None
    parcel_ids: tuple[str, ...] | None = None  # ids or numbers, as the sender named them
    selected: frozenset[str] | None = None  # the parcel ids they name
    findings_filter: Mapping[str, object] | None = None
    with_findings: frozenset[str] | None = None  # parcels with a matching finding
    findings_url: str | None = None
    language: str = "en"
    now: pd.Timestamp | None = None

    @classmethod
    def check(
        cls,
        parcels: pd.DataFrame,
        events: pd.DataFrame,
        *,
        carrier: object = None,
        since: object = None,
        until: object = None,
        parcels_file: str | os.PathLike | None = None,
        parcel_ids: Sequence[str] | None = None,
        findings_filter: Mapping[str, object] | None = None,
        findings_url: str | None = None,
        language: object = "en",
        now: object = None,
    ) -> ReportScope:
        """The scope these values describe, or InputError naming the value to correct."""
        validate_parcels(parcels, "parcels to report on")
        validate_events(events, "events to report on")
        language = check_language(language)
        code = check_carrier(carrier, parcels, events)
        start, end = parse_period(since, until)
        wanted = check_findings_filter(findings_filter)
        ids = selection_ids(parcels_file, parcel_ids)
        return cls(
            carrier=code,
            since=start,
            until=end,
            parcel_ids=None if ids is None else tuple(str(i) for i in ids),
            selected=None if ids is None else frozenset(match_selection(parcels, ids)),
            findings_filter=wanted,
            with_findings=None
            if wanted is None
            else frozenset(parcels_with_findings(wanted, findings_url)),
            findings_url=findings_url,
            language=language,
            now=report_now(now, parcels),
        )

    def select(self, parcels: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
        """The parcels in scope: of the carrier (either leg), shipped in [since, until), among
        the named ones, with a matching finding; every part given narrows. InputError if none."""
        keep = pd.Series(True, index=parcels.index)
        ids = parcels["parcel_id"].astype(str)
        if self.selected is not None:
            keep &= text_isin(ids, self.selected)
        if self.with_findings is not None:
            keep &= text_isin(ids, self.with_findings)
        if (code := self.carrier) is not None:
            on_leg = pd.Series(False, index=parcels.index)
            for col in ("international_carrier", "domestic_carrier"):
                on_leg |= parcels[col].astype("string").str.lower().eq(code).fillna(False)
            scanned = events.loc[
                events["carrier"].astype("string").str.lower() == code, "parcel_id"
            ]
            keep &= on_leg | text_isin(parcels["parcel_id"], scanned)
        start, end = self.since, self.until
        if start is not None or end is not None:
            first_scan = events.groupby("parcel_id")["time_utc"].min()
            began = parcels["shipped_at"].fillna(parcels["parcel_id"].map(first_scan))
            # A parcel with neither a shipping time nor a scan cannot be placed: it stays in.
            if start is not None:
                keep &= began.isna() | (began >= start)
            if end is not None:
                keep &= began.isna() | (began < end)
        out = parcels[keep.to_numpy(bool)].reset_index(drop=True)
        if out.empty:
            raise InputError(
                f"no parcel matches {self.describe() or 'the report'}",
                "partner report",
                "Widen the period, check the carrier code, pass other parcels or loosen the "
                "findings filter",
            )
        return out

    def describe(self) -> str:
        """The scope in words, for messages: 'carrier sf, shipped since 2026-11-01 00:00 UTC'."""
        start, end, wanted = self.since, self.until, self.findings_filter
        parts = (
            f"carrier {self.carrier}" if self.carrier else "",
            f"shipped since {start:%Y-%m-%d %H:%M} UTC" if start is not None else "",
            f"shipped before {end:%Y-%m-%d %H:%M} UTC" if end is not None else "",
            f"{len(self.parcel_ids)} named parcel(s)" if self.parcel_ids is not None else "",
            f"findings with {describe_findings_filter(wanted)}" if wanted is not None else "",
        )
        return ", ".join(p for p in parts if p)

    def to_parameters(self) -> dict[str, object]:
        """The scope as plain values (text, lists, None), as a notebook parameter takes it."""

        def iso(t: pd.Timestamp | None) -> str | None:
            return None if t is None else t.isoformat()

        def listed(ids: frozenset[str] | tuple[str, ...] | None) -> list[str] | None:
            return None if ids is None else sorted(ids) if isinstance(ids, frozenset) else list(ids)

        return {
            "carrier": self.carrier,
            "since": iso(self.since),
            "until": iso(self.until),
            "parcel_ids": listed(self.parcel_ids),
            "selected": listed(self.selected),
            "findings_filter": None if self.findings_filter is None else dict(self.findings_filter),
            "with_findings": listed(self.with_findings),
            "findings_url": self.findings_url,
            "language": self.language,
            "now": iso(self.now),
        }

    @classmethod
    def from_parameters(cls, values: Mapping[str, object]) -> ReportScope:
        """The scope ``to_parameters`` gave, restored as it was checked (not checked again)."""
        if not isinstance(values, Mapping) or set(values) != set(cls().to_parameters()):
            raise InputError(
                "the report scope parameter is not one that render_report wrote",
                "partner report",
                "Leave scope = None and give carrier, since, until, parcel_ids … instead",
            )

        def when(v: object) -> pd.Timestamp | None:
            return None if v is None else pd.Timestamp(str(v))

        def ids(v: object) -> frozenset[str] | None:
            return None if v is None else frozenset(str(x) for x in v)  # type: ignore[union-attr]

        named = values["parcel_ids"]
        return cls(
            carrier=values["carrier"],  # type: ignore[arg-type]
            since=when(values["since"]),
            until=when(values["until"]),
            parcel_ids=None if named is None else tuple(str(x) for x in named),  # type: ignore[union-attr]
            selected=ids(values["selected"]),
            findings_filter=values["findings_filter"],  # type: ignore[arg-type]
            with_findings=ids(values["with_findings"]),
            findings_url=values["findings_url"],  # type: ignore[arg-type]
            language=str(values["language"]),
            now=when(values["now"]),
        )


def select_parcels(
    parcels: pd.DataFrame,
    events: pd.DataFrame,
    *,
    carrier: str | None = None,
    since: object = None,
    parcel_ids: Sequence[str] | None = None,
    findings_filter: Mapping[str, object] | None = None,
    findings_url: str | None = None,
    until: object = None,
) -> pd.DataFrame:
    """The parcels a report with these values covers (``ReportScope.check`` then ``select``)."""
    scope = ReportScope.check(
        parcels,
        events,
        carrier=carrier,
        since=since,
        until=until,
        parcel_ids=parcel_ids,
        findings_filter=findings_filter,
        findings_url=findings_url,
    )
    return scope.select(parcels, events)
