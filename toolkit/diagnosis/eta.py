"""Arrival estimates from history: Kaplan-Meier curves per lane and milestone stage.

The estimator is a small vectorised Kaplan-Meier written in numpy: it fits thousands
of (stage, lane) curves in one pass and answers conditional quantiles for a million
parcels with ``searchsorted``, which a per-curve library such as lifelines does not do.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.errors import InputError
from toolkit.model import Milestone
from toolkit.policy import DEFAULT_CONFIG, LANE_FIELDS, DiagnosisConfig

NS_PER_DAY = 86_400 * 10**9
MINUTES_PER_DAY = 1440  # durations are counted in whole minutes
NO_TIME = np.iinfo(np.int64).min  # "never happened" in int64 nanosecond arrays
DESTINATION_TZ = "Asia/Shanghai"  # delivery dates are calendar dates in China

# Stages of the journey; an estimate counts from when the parcel entered its current one.
STAGES: tuple[str, ...] = ("label", "origin", "arrived", "released", "domestic", "last_mile")
STAGE_TEXT: dict[str, str] = {
    "label": "label created",
    "origin": "accepted by the international carrier",
    "arrived": "arrival in the destination country",
    "released": "customs release",
    "domestic": "first domestic scan",
    "last_mile": "out for delivery",
}
M = Milestone
MILESTONE_STAGE: dict[str, int] = {
    M.INFO_RECEIVED: 0,
    M.ACCEPTED: 1,
    M.IN_TRANSIT: 1,
    M.DEPARTED_ORIGIN: 1,
    M.ARRIVED_DESTINATION: 2,
    M.CUSTOMS_CLEARANCE: 2,
    M.CUSTOMS_HOLD: 2,
    M.CUSTOMS_CLEARED: 3,
    M.HANDED_OVER: 3,
    M.DOMESTIC_IN_TRANSIT: 4,
    M.OUT_FOR_DELIVERY: 5,
    M.AVAILABLE_FOR_PICKUP: 5,
    M.DELIVERY_FAILED: 5,
}
DOMESTIC_STAGE = STAGES.index("domestic")

# Grouping levels, finest first: lane, then origin x carrier, origin, everything.
LEVELS: tuple[tuple[str, ...], ...] = (
    LANE_FIELDS,
    LANE_FIELDS[:2],
    LANE_FIELDS[:1],
    (),
)


@dataclass(frozen=True)
class ETA:
    """An arrival estimate: delivery likely between ``low`` and ``high`` (calendar dates in China).

    ``high`` is None when history does not reach the upper chance; ``basis`` names the
    group of past parcels used, ``n`` how many there were and ``delivered`` how many of
    them were delivered.
    """

    low: dt.date
    high: dt.date | None
    low_chance: float
    high_chance: float
    basis: str
    n: int
    delivered: int
    stage: str

    def text(self) -> str:
        """The range in words, e.g. '2026-11-20 to 2026-11-24'."""
        if self.high is None:
            return f"{self.low.isoformat()} or later"
        if self.high == self.low:
            return self.low.isoformat()
        return f"{self.low.isoformat()} to {self.high.isoformat()}"

    def to_dict(self) -> dict:
        """The estimate as plain values (dates as ISO text)."""
        return {
            "low": self.low.isoformat(),
            "high": None if self.high is None else self.high.isoformat(),
            "low_chance": self.low_chance,
            "high_chance": self.high_chance,
            "basis": self.basis,
            "n": self.n,
            "delivered": self.delivered,
            "stage": self.stage,
        }


class GroupedKM:
    """Kaplan-Meier survival curves for many groups at once (durations in days, to the minute)."""

    def __init__(
        self, group: np.ndarray, duration: np.ndarray, observed: np.ndarray, n_groups: int
    ):
        group = np.asarray(group, dtype=np.int64)
        duration = np.asarray(duration, dtype=np.float64)
        observed = np.asarray(observed, dtype=bool)
        if not (len(group) == len(duration) == len(observed)):
            raise InputError("group, duration and observed must have the same length")
        if len(duration) and (np.isnan(duration).any() or (duration < 0).any()):
            raise InputError("durations must be numbers >= 0", "Kaplan-Meier input")
        # durations on a whole-minute grid, so that one integer sort orders (group, time)
        q = np.rint(duration * MINUTES_PER_DAY).astype(np.int64)
        span = int(q.max()) + 2 if len(q) else 2
        key = group * span + q
        order = np.argsort(key, kind="stable")
        self._set_sorted(key[order], np.ones(len(key), np.int64), observed[order], span, n_groups)

    @classmethod
    def from_counts(
        cls,
        group: np.ndarray,
        minutes: np.ndarray,
        count: np.ndarray,
        delivered: np.ndarray,
        n_groups: int,
    ) -> GroupedKM:
        """The same curves from counts: per (group, whole minutes) how many parcels left
        the group then (``count``) and how many of them were delivered (``delivered``).

        Counts summed over any split of the parcels give the very model of all of them,
        which is how a dataset too large for one machine is fitted (toolkit.scale).
        """
        group = np.asarray(group, dtype=np.int64)
        q = np.asarray(minutes, dtype=np.int64)
        span = int(q.max()) + 2 if len(q) else 2
        key = group * span + q
        order = np.argsort(key, kind="stable")
        return cls._from_sorted(
            key[order], np.asarray(count)[order], np.asarray(delivered)[order], span, n_groups
        )

    @classmethod
    def _from_sorted(
        cls, key: np.ndarray, count: np.ndarray, delivered: np.ndarray, span: int, n_groups: int
    ) -> GroupedKM:
        """The curves from counts already ordered by ``key`` = group * span + minutes."""
        self = cls.__new__(cls)
        self._set_sorted(key, count, delivered, span, n_groups)
        return self

    def _set_sorted(
        self, key: np.ndarray, count: np.ndarray, delivered: np.ndarray, span: int, n_groups: int
    ) -> None:
        """Fit from per-row counts ordered by ``key`` = group * span + minutes."""
        self.n_groups = int(n_groups)
        self._span = int(span)
        count = np.asarray(count, dtype=np.int64)
        delivered = np.asarray(delivered, dtype=np.int64)
        group = key // self._span
        self.n = np.bincount(group, weights=count, minlength=n_groups).astype(np.int64)
        self.delivered = np.bincount(group, weights=delivered, minlength=n_groups).astype(np.int64)
        if len(key) == 0:
            self._fit(key, count, count)
            return
        starts = np.flatnonzero(_firsts(key))
        self._fit(key[starts], np.add.reduceat(delivered, starts), np.add.reduceat(count, starts))

    def _fit(self, key: np.ndarray, d: np.ndarray, c: np.ndarray) -> None:
        """The curves from sorted distinct (group, minute) keys, their deliveries and leavers."""
        if len(key) == 0:
            self.s = np.zeros(0)
            self.at_risk = np.zeros(0, np.int64)
            self.events = np.zeros(0, np.int64)
            self._key = np.zeros(0, np.int64)
            return
        self._key = key
        gu = self._key // self._span
        # parcels still at risk at each time: group size minus those that left before
        group_offset = np.r_[0, np.cumsum(self.n)][gu]
        left_before = np.cumsum(c) - c - group_offset
        at_risk = self.n[gu] - left_before
        factor = 1.0 - d / at_risk
        s = pd.Series(factor).groupby(gu).cumprod().to_numpy()
        self.s, self.at_risk, self.events = s, at_risk, d

    # Each curve point's group and time are read off its key when asked, not stored: the
    # curves of millions of parcels hold tens of millions of points, sent to every worker.
    @property
    def g(self) -> np.ndarray:
        """The group of each curve point."""
        return self._key // self._span

    @property
    def t(self) -> np.ndarray:
        """The time of each curve point, in days."""
        return (self._key % self._span) / MINUTES_PER_DAY

    def survival(self, group: np.ndarray, t: np.ndarray) -> np.ndarray:
        """S(t) per (group, t) pair: the chance of still not being delivered after t days."""
        group = np.asarray(group, dtype=np.int64)
        if len(self._key) == 0:
            return np.ones(len(group))
        q = np.rint(np.asarray(t, dtype=np.float64) * MINUTES_PER_DAY)
        q = np.clip(q, 0, self._span - 1).astype(np.int64)
        pos = np.searchsorted(self._key, group * self._span + q, side="right") - 1
        ok = pos >= 0
        ok[ok] = self._key[pos[ok]] // self._span == group[ok]
        return np.where(ok, self.s[np.maximum(pos, 0)], 1.0)

    def time_to_reach(self, group: np.ndarray, level: np.ndarray) -> np.ndarray:
        """Smallest time with S(t) <= level per (group, level) pair; NaN when never reached."""
        group = np.asarray(group, dtype=np.int64)
        level = np.asarray(level, dtype=np.float64)
        out = np.full(len(group), np.nan)
        if len(self._key) == 0:
            return out
        key = self._reach_key()
        pos = np.searchsorted(key, group * 2.0 + (1.0 - level) - 1e-9, side="left")
        ok = pos < len(key)
        ok[ok] = self._key[pos[ok]] // self._span == group[ok]
        out[ok] = (self._key[pos[ok]] % self._span) / MINUTES_PER_DAY
        return out

    def _reach_key(self) -> np.ndarray:
        """Sorted (group, 1 - S) keys that time_to_reach searches: made once per curves, not
        once per question (the curves of millions of parcels hold tens of millions of points)."""
        key = self.__dict__.get("_reach")
        if key is None or len(key) != len(self._key):
            key = self.g * 2.0 + (1.0 - self.s)
            self.__dict__["_reach"] = key
        return key

    def conditional_quantile(
        self, group: np.ndarray, waited: np.ndarray, q: float, s_w: np.ndarray | None = None
    ) -> np.ndarray:
        """Total time by which a share q of parcels still waiting after ``waited`` days arrive
        (``s_w``: their survival at ``waited`` when already known)."""
        if s_w is None:
            s_w = self.survival(group, waited)
        t = self.time_to_reach(group, (1.0 - q) * s_w)
        t[s_w <= 0] = np.nan
        return t


def kaplan_meier(duration, observed) -> pd.DataFrame:
    """Kaplan-Meier table of one sample: time, at_risk, events, survival."""
    duration = np.asarray(duration, dtype=np.float64)
    km = GroupedKM(np.zeros(len(duration), np.int64), duration, observed, 1)
    return pd.DataFrame(
        {"time": km.t, "at_risk": km.at_risk, "events": km.events, "survival": km.s}
    )


def _codes(values: pd.Series, sort: bool = False) -> tuple[np.ndarray, pd.Index]:
    cleaned = values.astype("string").str.strip().str.lower()
    codes, uniques = pd.factorize(cleaned, sort=sort, use_na_sentinel=True)
    return codes.astype(np.int64), pd.Index(uniques)


def _categories(vocab: pd.Index) -> pd.Index:
    """A lane vocabulary as categories (plain strings; empty when there are none)."""
    return pd.Index(vocab.astype(object), dtype=object)


def _lookup(values: pd.Series, vocab: pd.Index) -> np.ndarray:
    cleaned = values.astype("string").str.strip().str.lower()
    if len(vocab) == 0:
        return np.full(len(values), -1, np.int64)
    return vocab.get_indexer(cleaned.astype(object).where(cleaned.notna(), None)).astype(np.int64)


def _level_keys(stage: np.ndarray, lane_codes: dict[str, np.ndarray], sizes, cols) -> np.ndarray:
    """Integer key of (stage, lane values of one level); -1 where a lane value is unknown."""
    key = stage.astype(np.int64).copy()
    bad = stage < 0
    for col in cols:
        code = lane_codes[col]
        bad |= code < 0
        key = key * (sizes[col] + 1) + code
    key[bad] = -1
    return key


def _firsts(ordered: np.ndarray) -> np.ndarray:
    """True at the first of each run of equal values in a sorted array."""
    return np.r_[True, ordered[1:] != ordered[:-1]] if len(ordered) else np.zeros(0, bool)


_ONE_KEY = 2**62  # history rows are sorted on one int64 key while the key space fits
_HISTORY_COLUMNS = ("stage", *LANE_FIELDS, "minutes", "parcels", "delivered")


@dataclass(frozen=True)
class EtaHistory:
    """What the lane model learns from past parcels, counted: one row per (stage, lane,
    whole minutes spent until leaving the stage's clock) with how many parcels left then
    (``parcels``) and how many of them by delivery (``delivered``); ``parcels`` of the
    history itself is how many past parcels it holds.

    Counts of disjoint sets of parcels add up (``merge``) to the counts of their union, and
    ``EtaModel.from_history`` of those is exactly the model fitted on all of them at once.
    Its size is bounded by stages x lanes x distinct minutes; on the whole-minute grid it
    stays close to one row per past parcel up to millions of parcels (10.6 M rows for
    4.8 M parcels in bench/diagnose_cluster.py), still far fewer than their scans. The lane
    columns are categorical (a small integer code per row, the words once, in sorted order),
    ``stage`` and ``minutes`` narrow integers, so that a row takes about 30 bytes. Rows are
    kept sorted by stage, lane codes and minutes: merging sorted histories and fitting the
    model then merge sorted runs instead of sorting tens of millions of rows from scratch.
    """

    counts: pd.DataFrame
    parcels: int

    @classmethod
    def of(
        cls, stage_first: np.ndarray, delivered: np.ndarray, end: np.ndarray, lanes: pd.DataFrame
    ) -> EtaHistory:
        """Count per-parcel stage entry times, delivery and censoring times (as from_stage_times)."""
        stage_first = np.asarray(stage_first, dtype=np.int64)
        delivered = np.asarray(delivered, dtype=np.int64)
        end = np.asarray(end, dtype=np.int64)
        n = stage_first.shape[0]
        parcel, stage = np.nonzero(stage_first != NO_TIME)
        start = stage_first[parcel, stage]
        is_obs = delivered[parcel] != NO_TIME
        stop = np.where(is_obs, delivered[parcel], end[parcel])
        duration = np.maximum(stop - start, 0) / NS_PER_DAY
        minutes = np.rint(duration * MINUTES_PER_DAY).astype(np.int64)
        codes, vocab = {}, {}
        for col in LANE_FIELDS:
            values = lanes[col] if col in lanes else pd.Series(pd.NA, index=range(n))
            lane, vocab[col] = _codes(values.reset_index(drop=True), sort=True)
            codes[col] = lane[parcel]
        ones = np.ones(len(stage), np.int64)
        return cls(_counted(stage, codes, vocab, minutes, ones, is_obs.astype(np.int64)), n)

    @classmethod
    def merge(cls, histories) -> EtaHistory:
        """The counts of several disjoint histories added up: the history of all their parcels."""
        histories = list(histories)
        if not histories:
            return cls.of(np.zeros((0, len(STAGES)), np.int64), [], [], pd.DataFrame())
        parcels = sum(h.parcels for h in histories)
        tables = [h.counts for h in histories]
        codes, vocab = {}, {}
        for col in LANE_FIELDS:  # one sorted vocabulary, so that sorted tables stay in order
            words = set().union(*(t[col].cat.categories for t in tables))
            vocab[col] = pd.Index(sorted(words), dtype=object)
            parts = []
            for t in tables:
                old = t[col].cat.codes.to_numpy(np.int32)
                new = vocab[col].get_indexer(t[col].cat.categories).astype(np.int32)
                parts.append(np.where(old >= 0, new[np.maximum(old, 0)], -1) if len(new) else old)
            codes[col] = np.concatenate(parts).astype(np.int32, copy=False)

        def joined(col: str) -> np.ndarray:  # in the column's own (narrow) type
            return np.concatenate([t[col].to_numpy() for t in tables])

        table = _counted(
            joined("stage"), codes, vocab, joined("minutes"), joined("parcels"), joined("delivered")
        )
        return cls(table, parcels)


def _counted(
    stage: np.ndarray,
    codes: dict[str, np.ndarray],
    vocab: dict[str, pd.Index],
    minutes: np.ndarray,
    parcels: np.ndarray,
    delivered: np.ndarray,
) -> pd.DataFrame:
    """History rows summed per (stage, lanes, minutes), in the order of stage, lane codes
    (unknown first) and minutes: a sorted table merges with others and fits without a full
    sort (the sorted runs of the pieces only need merging)."""
    # narrow columns (the merges of the largest histories hold tens of millions of rows)
    columns = [np.asarray(stage, np.int8)]
    columns += [np.asarray(codes[c], np.int32) + np.int32(1) for c in LANE_FIELDS]
    columns.append(np.asarray(minutes, np.int32))
    radix = [len(STAGES), *(len(vocab[c]) + 1 for c in LANE_FIELDS)]
    radix.append(int(columns[-1].max()) + 1 if len(stage) else 1)
    if math.prod(radix) < _ONE_KEY:  # one integer key: a stable sort finds the sorted runs
        key = np.zeros(len(stage), np.int64)
        for col, size in zip(columns, radix, strict=True):
            key *= size
            key += col
        order = np.argsort(key, kind="stable")
        key = key[order]
        first = _firsts(key)
    else:
        order = np.lexsort(columns[::-1])
        first = np.zeros(len(order), bool)
        first[:1] = True
        for col in columns:
            ordered = col[order]
            first[1:] |= ordered[1:] != ordered[:-1]
    starts = np.flatnonzero(first)
    out = {
        "stage": columns[0][order[starts]].astype(np.int8),
        **{
            c: pd.Categorical.from_codes(
                columns[i + 1][order[starts]] - 1, categories=_categories(vocab[c])
            )
            for i, c in enumerate(LANE_FIELDS)
        },
        "minutes": columns[-1][order[starts]].astype(np.int32),
    }
    for name, values in (("parcels", parcels), ("delivered", delivered)):
        summed = np.add.reduceat(np.asarray(values, np.int64)[order], starts) if len(starts) else []
        out[name] = np.asarray(summed, np.int64)
    return pd.DataFrame(out, columns=list(_HISTORY_COLUMNS))


class EtaModel:
    """Delivery-time curves fitted on history, answering estimates for waiting parcels."""

    def __init__(self, config: DiagnosisConfig = DEFAULT_CONFIG):
        self.config = config
        self._vocab: dict[str, pd.Index] = {c: pd.Index([]) for c in LANE_FIELDS}
        self._levels: list[tuple[np.ndarray, GroupedKM]] = []
        self.n_history = 0
        self.history_rows = 0  # rows of counted history (EtaHistory) it was fitted from

    @classmethod
    def from_stage_times(
        cls,
        stage_first: np.ndarray,
        delivered: np.ndarray,
        end: np.ndarray,
        lanes: pd.DataFrame,
        config: DiagnosisConfig = DEFAULT_CONFIG,
    ) -> EtaModel:
        """Fit from per-parcel stage entry times, delivery times and censoring times (int64 ns).

        ``stage_first`` is (parcels x stages) with NO_TIME where a stage was not seen;
        ``delivered`` is NO_TIME for parcels not delivered, which count as censored at ``end``.
        """
        return cls.from_history(EtaHistory.of(stage_first, delivered, end, lanes), config)

    @classmethod
    def from_history(
        cls, history: EtaHistory, config: DiagnosisConfig = DEFAULT_CONFIG
    ) -> EtaModel:
        """Fit from counted history (``EtaHistory``), e.g. the merged counts of many partitions."""
        model = cls(config)
        model.n_history = history.parcels
        counts = history.counts
        model.history_rows = len(counts)
        lane_codes, sizes = {}, {}
        for col in LANE_FIELDS:
            lane = counts[col]
            if isinstance(lane.dtype, pd.CategoricalDtype):  # coded already (EtaHistory)
                lane_codes[col] = lane.cat.codes.to_numpy(np.int64)
                model._vocab[col] = pd.Index(lane.cat.categories.astype(object))
            else:
                lane_codes[col], model._vocab[col] = _codes(lane)
            sizes[col] = len(model._vocab[col])
        model._sizes = sizes
        stage = counts["stage"].to_numpy(np.int64)
        minutes = counts["minutes"].to_numpy(np.int64)
        left = counts["parcels"].to_numpy(np.int64)
        arrived = counts["delivered"].to_numpy(np.int64)
        # One sort per level. LEVELS are ever shorter prefixes of the lane fields, so rows in
        # the order of one level come in sorted runs for the next (a stable sort merges runs
        # faster than it sorts from scratch); rows left out of a finer level for an unknown
        # lane value join where their own level's lanes are known.
        order = np.zeros(0, np.int64)
        taken = np.zeros(len(stage), bool)
        for cols in LEVELS:
            key = _level_keys(stage, {c: lane_codes[c] for c in cols}, sizes, cols)
            keep = key >= 0
            rows = np.r_[order, np.flatnonzero(keep & ~taken)]
            taken |= keep
            q = minutes[rows]
            span = int(q.max()) + 2 if len(q) else 2
            lanes_of = key[rows]
            words = None
            if len(rows) and (int(lanes_of.max()) + 1) * span >= _ONE_KEY:
                # lane keys too sparse to carry the minutes in one integer: number them first
                words, lanes_of = np.unique(lanes_of, return_inverse=True)
            point = lanes_of * span + q
            by = np.argsort(point, kind="stable")
            order, point = rows[by], point[by]
            lane_key = point // span
            first = _firsts(lane_key)
            uniq = lane_key[first] if words is None else words[lane_key[first]]
            group = np.cumsum(first) - 1
            km = GroupedKM._from_sorted(
                group * span + point % span, left[order], arrived[order], span, len(uniq)
            )
            model._levels.append((uniq, km))
        return model

    def predict(
        self,
        stage: np.ndarray,
        entered: np.ndarray,
        lanes: pd.DataFrame,
        now: pd.Timestamp,
    ) -> pd.DataFrame:
        """Estimates for parcels in ``stage`` (index into STAGES, -1 for none) since ``entered`` (ns).

        Returns columns eta_low, eta_high (calendar dates), eta_n, eta_delivered,
        eta_level (index into LEVELS, -1 when no estimate) and eta_reason.
        """
        stage = np.asarray(stage, dtype=np.int64)
        entered = np.asarray(entered, dtype=np.int64)
        n = len(stage)
        now_ns = pd.Timestamp(now).value
        cfg = self.config
        lanes = lanes.reset_index(drop=True)
        codes = {
            c: _lookup(lanes[c] if c in lanes else pd.Series(pd.NA, index=range(n)), self._vocab[c])
            for c in LANE_FIELDS
        }
        level_of = np.full(n, -1, np.int64)
        group_of = np.full(n, -1, np.int64)
        best_n = np.zeros(n, np.int64)
        for li, (cols, (uniq, km)) in enumerate(zip(LEVELS, self._levels, strict=True)):
            key = _level_keys(stage, {c: codes[c] for c in cols}, self._sizes, cols)
            pos = np.clip(np.searchsorted(uniq, key), 0, max(len(uniq) - 1, 0))
            found = (key >= 0) & (len(uniq) > 0)
            if len(uniq):
                found &= uniq[pos] == key
            grp = np.where(found, pos, -1)
            enough = found.copy()
            enough[found] = (km.n[grp[found]] >= cfg.eta_min_parcels) & (
                km.delivered[grp[found]] >= cfg.eta_min_delivered
            )
            take = enough & (level_of < 0)
            level_of[take] = li
            group_of[take] = grp[take]
            seen = found & (best_n == 0)
            best_n[seen] = km.n[grp[seen]]
        waited = np.maximum(now_ns - entered, 0) / NS_PER_DAY
        t_low = np.full(n, np.nan)
        t_high = np.full(n, np.nan)
        s_w = np.ones(n)
        n_used = np.zeros(n, np.int64)
        d_used = np.zeros(n, np.int64)
        for li, (_uniq, km) in enumerate(self._levels):
            rows = level_of == li
            if not rows.any():
                continue
            # asked in curve order (lane, then time waited): the curves of millions of parcels
            # hold tens of millions of points, and searching them in order keeps to the cache
            # (4 to 5 times faster than in the parcels' order)
            idx = np.flatnonzero(rows)
            idx = idx[np.lexsort((waited[idx], group_of[idx]))]
            g, w = group_of[idx], waited[idx]
            s = km.survival(g, w)
            s_w[idx] = s
            t_low[idx] = km.conditional_quantile(g, w, cfg.eta_low_quantile, s)
            t_high[idx] = km.conditional_quantile(g, w, cfg.eta_high_quantile, s)
            n_used[idx] = km.n[g]
            d_used[idx] = km.delivered[g]
        has = level_of >= 0
        code = np.full(n, None, dtype=object)  # why there is no estimate (messages.ETA_REASONS)
        code[~has] = "little_history"
        code[stage < 0] = "no_stage"
        beyond = has & (s_w <= 0)
        code[beyond] = "waited_too_long"
        unreached = has & ~beyond & np.isnan(t_low)
        code[unreached] = "too_few_delivered"
        ok = has & ~np.isnan(t_low)
        level_of[~ok] = -1
        low = _to_dates(entered, t_low, ok)
        high = _to_dates(entered, t_high, ok & ~np.isnan(t_high))
        return pd.DataFrame(
            {
                "eta_low": low,
                "eta_high": high,
                "eta_n": np.where(ok, n_used, 0),
                "eta_delivered": np.where(ok, d_used, 0),
                "eta_level": level_of,
                "eta_reason": pd.Series(reason_texts(code, cfg), dtype="string"),
                "eta_reason_code": pd.Series(code, dtype="string"),
            }
        )


def reason_texts(codes: np.ndarray, cfg: DiagnosisConfig, language: str = "en") -> np.ndarray:
    """The reasons for no estimate, in words, from their codes (None stays None)."""
    from toolkit.diagnosis.messages import eta_reason

    params = {"min_parcels": cfg.eta_min_parcels, "min_delivered": cfg.eta_min_delivered}
    codes = pd.Series(codes, dtype=object)
    words = {c: eta_reason(c, language, **params) for c in codes.dropna().unique()}
    texts = codes.map(words)  # one look-up per parcel, in pandas rather than a Python loop
    return texts.where(texts.notna(), None).to_numpy(dtype=object)


def _to_dates(entered: np.ndarray, days: np.ndarray, ok: np.ndarray) -> pd.Series:
    """Calendar dates in China of entered + days, NaT where not ok."""
    step = np.where(ok, np.nan_to_num(days) * NS_PER_DAY, 0).astype(np.int64)
    ns = np.where(ok, entered + step, NO_TIME)
    times = pd.Series(pd.DatetimeIndex(ns.view("M8[ns]")).tz_localize("UTC"))
    return times.dt.tz_convert(DESTINATION_TZ).dt.tz_localize(None).dt.normalize()


def basis_text(level: int, lane: dict, stage: int, n: int, delivered: int) -> str:
    """Plain description of the history an estimate used."""
    cols = LEVELS[level]
    group = ", ".join(f"{c.replace('_', ' ')} {lane.get(c)}" for c in cols) or "all lanes"
    return (
        f"{n} past parcels ({delivered} delivered) of {group}, "
        f"counted from {STAGE_TEXT[STAGES[stage]]}"
    )
