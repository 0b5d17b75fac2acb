"""Group triage: parcels joined with their diagnoses once, then filtered without loops.

``triage_table`` builds one row per parcel with the columns analysts filter on
(carrier of either leg, lane, destination province, category, days since the last scan).
Silence is what matters for parcels not yet delivered: delivered parcels and parcels
without any scan stay out of the "longest silent" views, and a narrowed days-silent
range keeps delivered parcels out unless asked for (``TriageFilter.include_delivered``).
``Triage`` holds that table with every filter column factorised to integer codes,
so a filter change is a handful of ``numpy`` look-ups over the codes, and the
summaries the charts need (counts per category, ageing buckets, gone-dark shares
per carrier and lane) are ``bincount`` calls over the selected rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from toolkit.diagnosis.scorecard import GONE_DARK
from toolkit.errors import InputError, MissingColumnsError
from toolkit.model import CATEGORIES, Category, require_columns, text_isin

UNKNOWN = "(unknown)"
LANE_ARROW = " → "
# Columns a filter can pick values from, and the label analysts see. The carrier filter
# matches a parcel on either leg (international or domestic carrier), like the partner
# report's --carrier, with the same lower-case carrier codes.
FILTER_COLUMNS: dict[str, str] = {
    "carrier": "Carrier",
    "lane": "Lane",
    "destination_province": "Province",
    "category": "Category",
}
TABLE_COLUMNS = (
    "parcel_id",
    "international_number",
    "carrier",
    "domestic_carrier",
    "origin_country",
    "destination_province",
    "lane",
    "category",
    "last_milestone",
    "last_scan_utc",
    "days_silent",
    "days_known",
)


def _text(values: pd.Series) -> pd.Series:
    """Strings with blanks and missing values shown as UNKNOWN."""
    s = values.astype("string").str.strip()
    return s.mask(s.isna() | (s == ""), UNKNOWN).astype(object)


def _codes(values: pd.Series) -> pd.Series:
    """Carrier codes as the report accepts them (lower case), blanks as UNKNOWN."""
    return _text(values.astype("string").str.lower())


# the columns triage_table reads of each table (all a triage over a diagnoses folder loads)
DIAGNOSIS_COLUMNS_READ = ("parcel_id", "category", "last_milestone", "last_scan_utc")
PARCEL_COLUMNS_READ = (
    "parcel_id",
    "international_number",
    "international_carrier",
    "domestic_carrier",
    "origin_country",
    "destination_province",
    "shipped_at",
)


def triage_table(
    diagnoses: pd.DataFrame,
    parcels: pd.DataFrame,
    now: pd.Timestamp,
    events: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per diagnosed parcel with the columns group triage filters on.

    ``carrier`` and ``domestic_carrier`` are lower-case carrier codes; a parcel without a
    domestic carrier on record takes the one of its latest domestic scan when ``events``
    are given. ``days_silent`` is whole days since the last scan, or since shipping when
    the parcel has no scan; ``days_known`` is False where neither time is known. For a
    delivered parcel it counts from the delivery, and the silent views leave it out.
    """
    for df, cols, name in (
        (diagnoses, ("parcel_id", "category", "last_scan_utc"), "diagnoses"),
        (parcels, ("parcel_id",), "parcels"),
    ):
        require_columns(df, cols, name, "triage_table")
    now = pd.Timestamp(now)
    if now.tzinfo is None:
        raise InputError(f"now={now} has no time zone", "triage_table", "Pass a tz-aware time")
    keep = [c for c in PARCEL_COLUMNS_READ if c in parcels.columns]
    p = parcels[keep].copy()
    p["parcel_id"] = p["parcel_id"].astype(str)
    d = diagnoses[[c for c in diagnoses.columns if c in DIAGNOSIS_COLUMNS_READ]].copy()
    d["parcel_id"] = d["parcel_id"].astype(str)
    t = d.merge(p, on="parcel_id", how="left", validate="one_to_one")
    n = len(t)

    def col(name: str) -> pd.Series:
        return t[name] if name in t.columns else pd.Series(pd.NA, index=t.index)

    out = pd.DataFrame(index=t.index)
    out["parcel_id"] = t["parcel_id"].to_numpy()
    out["international_number"] = col("international_number").astype("string")
    out["carrier"] = _codes(col("international_carrier"))
    domestic = col("domestic_carrier").astype("string")
    if events is not None and len(events) and {"leg", "carrier", "parcel_id"} <= set(events):
        dom = events[(events["leg"] == "domestic").to_numpy(bool)]
        if len(dom):
            latest = (
                dom.sort_values("time_utc", kind="stable")
                .assign(parcel_id=dom["parcel_id"].astype(str))
                .groupby("parcel_id")["carrier"]
                .last()
                .astype("string")
            )
            blank = domestic.isna() | (domestic.str.strip() == "")
            domestic = domestic.mask(blank, out["parcel_id"].map(latest).astype("string"))
    out["domestic_carrier"] = _codes(domestic)
    out["origin_country"] = _text(col("origin_country"))
    out["destination_province"] = _text(col("destination_province"))
    out["lane"] = out["origin_country"] + LANE_ARROW + out["destination_province"]
    out["category"] = pd.Categorical(t["category"].astype(str), categories=list(CATEGORIES))
    out["last_milestone"] = col("last_milestone").astype("string")
    out["last_scan_utc"] = t["last_scan_utc"]
    since = t["last_scan_utc"]
    if "shipped_at" in t.columns:
        since = since.fillna(t["shipped_at"])
    days = (now.tz_convert("UTC") - since) / pd.Timedelta(days=1)
    known = days.notna().to_numpy(bool) if n else np.zeros(0, bool)
    out["days_silent"] = np.floor(days.fillna(0).clip(lower=0)).astype(np.int64)
    out["days_known"] = known
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class TriageFilter:
    """What an analyst filters on; an empty choice means every value."""

    carriers: tuple[str, ...] = ()
    lanes: tuple[str, ...] = ()
    provinces: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    days: tuple[int, int] | None = None  # inclusive range of days_silent
    # a narrowed days range judges delivered parcels too (their days count from delivery)
    include_delivered: bool = False


_FILTER_FIELDS = {
    "carriers": "carrier",
    "lanes": "lane",
    "provinces": "destination_province",
    "categories": "category",
}


def _recode(codes: np.ndarray, to_values: np.ndarray) -> np.ndarray:
    """Codes into one value list from a column's own factorisation (-1 stays -1)."""
    out = np.append(to_values, -1).astype(np.int64)
    return out[codes]  # code -1 reads the appended -1


def _text_rank(values: pd.Series) -> np.ndarray:
    """Each entry's rank in sorted text order (equal texts share a rank), computed by Arrow:
    a sort key for millions of ids without a Python string each."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.array(values.astype("string"), type=pa.large_string())
    return pc.rank(text, sort_keys="ascending", tiebreaker="dense").to_numpy()


@dataclass
class Triage:
    """A triage table with its filter columns factorised once, for fast filtering."""

    table: pd.DataFrame
    codes: dict[str, np.ndarray] = field(init=False, repr=False)
    values: dict[str, pd.Index] = field(init=False, repr=False)
    days: np.ndarray = field(init=False, repr=False)
    known: np.ndarray = field(init=False, repr=False)
    delivered: np.ndarray = field(init=False, repr=False)
    scanned: np.ndarray = field(init=False, repr=False)
    _index: pd.Index | None = field(init=False, repr=False)
    _by_silence: np.ndarray = field(init=False, repr=False)
    _by_days: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        missing = [c for c in TABLE_COLUMNS if c not in self.table.columns]
        if missing:
            raise MissingColumnsError(missing, "triage", "Triage")
        self.table = self.table.reset_index(drop=True)
        self._index = None
        self.codes, self.values = {}, {}
        for column in FILTER_COLUMNS:
            if column == "category":
                cat = self.table["category"].astype(pd.CategoricalDtype(list(CATEGORIES)))
                self.codes[column] = cat.cat.codes.to_numpy(np.int64)
                self.values[column] = pd.Index(CATEGORIES)
            elif column == "carrier":
                # one code list for both legs; an unknown domestic carrier matches nothing
                intl, intl_seen = pd.factorize(self.table["carrier"])
                dom, dom_seen = pd.factorize(self.table["domestic_carrier"])
                intl_seen, dom_seen = intl_seen.astype(str), dom_seen.astype(str)
                values = pd.Index(sorted(set(intl_seen) | (set(dom_seen) - {UNKNOWN})))
                self.values[column] = values
                self.codes[column] = _recode(intl, values.get_indexer(intl_seen))
                to_values = values.get_indexer(dom_seen)
                to_values[np.asarray(dom_seen == UNKNOWN, bool)] = -1
                self.codes["domestic_carrier"] = _recode(dom, to_values)
            else:
                codes, uniques = pd.factorize(self.table[column], sort=True)
                self.codes[column] = codes.astype(np.int64)
                self.values[column] = pd.Index(uniques)
        self.days = self.table["days_silent"].to_numpy(np.int64)
        self.known = self.table["days_known"].to_numpy(bool)
        self.delivered = self.codes["category"] == CATEGORIES.index(Category.DELIVERED)
        self.scanned = self.table["last_scan_utc"].notna().to_numpy(bool)
        ids = _text_rank(self.table["parcel_id"])
        # Longest silent first, then by id: the order of lists and samples. Parcels whose
        # silence means nothing (delivered, or not dated at all) come after the others.
        self._by_silence = np.lexsort((ids, -self.days, self.delivered | ~self.known))
        self._by_days = np.lexsort((ids, -self.days))

    def __len__(self) -> int:
        return len(self.table)

    @property
    def index(self) -> pd.Index:
        """The parcel ids as an index (row positions by id), built on first use: a triage
        over millions of parcels looks rows up with ``rows`` instead."""
        if self._index is None:
            self._index = pd.Index(self.table["parcel_id"].astype(object))
        return self._index

    @property
    def max_days(self) -> int:
        """Largest days_silent of the parcels not yet delivered (0 when there are none)."""
        return self.max_days_of(include_delivered=False)

    def max_days_of(self, include_delivered: bool = False) -> int:
        """Largest days_silent among the parcels a days range judges (0 when none)."""
        judged = self.known & (include_delivered | ~self.delivered)
        return int(self.days[judged].max()) if judged.any() else 0

    def silent(self, include_delivered: bool = False) -> np.ndarray:
        """Rows whose silence a "longest silent" view shows: parcels with scans, not delivered
        (delivered ones too when asked for). Parcels without any scan have their own
        categories (number invalid or not found) and no scans to show."""
        return self.scanned & (include_delivered | ~self.delivered)

    def options(self, column: str) -> list[tuple[str, int]]:
        """(value, parcels) for every value of a filter column, most parcels first."""
        counts = np.bincount(
            self.codes[column][self.codes[column] >= 0], minlength=len(self.values[column])
        )
        if column == "carrier":  # parcels with this carrier on either leg, each counted once
            dom, intl = self.codes["domestic_carrier"], self.codes["carrier"]
            other = (dom >= 0) & (dom != intl)
            counts = counts + np.bincount(dom[other], minlength=len(counts))
        pairs = [(str(v), int(c)) for v, c in zip(self.values[column], counts, strict=True) if c]
        return sorted(pairs, key=lambda p: (-p[1], p[0]))

    def _pick(self, column: str, chosen: Iterable[str]) -> np.ndarray:
        chosen = list(chosen)
        wanted = self.values[column].get_indexer(chosen)
        unknown = [c for c, i in zip(chosen, wanted, strict=True) if i < 0]
        if unknown and column == "category":
            raise InputError(
                f"unknown categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(map(repr, unknown))}",
                "triage filter",
                f"Use one of {', '.join(CATEGORIES)}",
            )
        lookup = np.zeros(len(self.values[column]) + 1, bool)
        lookup[wanted[wanted >= 0]] = True
        picked = lookup[self.codes[column]]  # code -1 (missing) reads the spare last slot
        if column == "carrier":
            picked |= lookup[self.codes["domestic_carrier"]]
        return picked

    def mask(self, flt: TriageFilter) -> np.ndarray:
        """Boolean row mask of the parcels the filter keeps.

        Parcels whose silence cannot be dated (no scan, no shipping time) are kept only
        while the day range is the full range, so they are never hidden by accident. So
        are delivered parcels, unless ``include_delivered``: then their days since the
        delivery are judged like the others'. A carrier matches on either leg.
        """
        keep = np.ones(len(self), bool)
        for name, column in _FILTER_FIELDS.items():
            chosen = getattr(flt, name)
            if chosen:
                keep &= self._pick(column, chosen)
        if flt.days is not None:
            lo, hi = int(flt.days[0]), int(flt.days[1])
            if lo > hi:
                raise InputError(
                    f"the day range starts at {lo} after it ends at {hi}",
                    "triage filter",
                    "Give (low, high) with low <= high",
                )
            full = lo <= 0 and hi >= self.max_days_of(flt.include_delivered)
            if not full:
                judged = self.known & (flt.include_delivered | ~self.delivered)
                keep &= judged & (self.days >= lo) & (self.days <= hi)
        return keep

    def category_counts(self, mask: np.ndarray) -> pd.DataFrame:
        """Parcels per category among the kept rows: category, parcels, share."""
        codes = self.codes["category"][mask]
        counts = np.bincount(codes[codes >= 0], minlength=len(CATEGORIES))
        total = int(counts.sum())
        share = counts / total if total else np.zeros(len(counts))
        out = pd.DataFrame({"category": list(CATEGORIES), "parcels": counts, "share": share})
        return (
            out[out["parcels"] > 0]
            .sort_values("parcels", ascending=False, kind="stable")
            .reset_index(drop=True)
        )

    def ageing(self, mask: np.ndarray, bin_days: int = 1) -> pd.DataFrame:
        """Stuck (not delivered) parcels per category and bucket of days since the last scan.

        Columns: category, days (bucket start), parcels; only non-empty cells.
        """
        cat = self.codes["category"]
        stuck = mask & (cat != CATEGORIES.index(Category.DELIVERED)) & (cat >= 0) & self.known
        bucket = self.days[stuck] // max(int(bin_days), 1)
        nb = int(bucket.max()) + 1 if len(bucket) else 0
        flat = np.bincount(cat[stuck] * nb + bucket, minlength=len(CATEGORIES) * nb)
        grid = flat.reshape(len(CATEGORIES), nb) if nb else np.zeros((len(CATEGORIES), 0), np.int64)
        ci, bi = np.nonzero(grid)
        return pd.DataFrame(
            {
                "category": np.array(CATEGORIES, dtype=object)[ci],
                "days": bi * max(int(bin_days), 1),
                "parcels": grid[ci, bi],
            }
        )

    def gone_dark(self, mask: np.ndarray) -> pd.DataFrame:
        """Per carrier and lane among the kept rows: parcels, gone dark, their share."""
        dark_codes = [CATEGORIES.index(c) for c in GONE_DARK]
        nc, nl = len(self.values["carrier"]), len(self.values["lane"])
        key = self.codes["carrier"][mask] * nl + self.codes["lane"][mask]
        dark = np.isin(self.codes["category"][mask], dark_codes)
        total = np.bincount(key, minlength=nc * nl)
        gone = np.bincount(key[dark], minlength=nc * nl)
        cells = np.flatnonzero(total)
        return pd.DataFrame(
            {
                "carrier": self.values["carrier"].to_numpy()[cells // nl],
                "lane": self.values["lane"].to_numpy()[cells % nl],
                "parcels": total[cells],
                "gone_dark": gone[cells],
                "rate": gone[cells] / total[cells],
            }
        )

    def ids(
        self,
        mask: np.ndarray,
        limit: int | None = None,
        *,
        silent: bool = False,
        include_delivered: bool = False,
    ) -> list[str]:
        """Parcel ids of the kept rows, longest silent first (at most ``limit``).

        Delivered and undated parcels come last; with ``silent`` only the rows of
        ``silent(include_delivered)`` are listed (the longest-silent views).
        """
        if silent:
            mask = mask & self.silent(include_delivered)
        by = self._by_days if include_delivered else self._by_silence
        order = by[mask[by]]
        if limit is not None:
            order = order[:limit]
        return self.table["parcel_id"].iloc[order].tolist()

    def rows(self, parcel_ids: Iterable[str]) -> pd.DataFrame:
        """Triage rows of these parcel ids, in the order given (ids not in the table are
        left out)."""
        wanted = [str(i) for i in parcel_ids]
        found = np.flatnonzero(text_isin(self.table["parcel_id"], wanted))
        at = dict(zip(self.table["parcel_id"].iloc[found].astype(str), found, strict=True))
        pos = np.array([at[i] for i in wanted if i in at], dtype=np.int64)
        return self.table.iloc[pos].reset_index(drop=True)
