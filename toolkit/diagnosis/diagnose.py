"""Diagnosis: which situation a parcel is in, the evidence, next actions, ETA, buyer message.

All parcels are diagnosed by one vectorised core (``_core``): per-parcel first/last
times of every milestone are aggregated with a single group-by, and the category is
chosen with ``np.select`` over boolean columns. ``diagnose`` runs the same core on one
parcel and adds the evidence rows, actions and messages.

Scans with impossible dates (after ``now``, before 2000, long before the parcel was
shipped or before the rest of its trace: ``scan_flags``, thresholds in toolkit.policy)
are set aside first: they stay in the events table but count for nothing below, and the
evidence names them and says why.

Rules, first match wins (thresholds from DiagnosisConfig, per lane):

1. number_invalid: no scans and the international number fails its check.
2. number_not_found: no scans under a number that passes (or has no) check.
3. delivered: a delivery scan not followed by a return.
4. returned_or_exception: a return scan, or an exception no later normal scan cleared.
5. customs_hold: a hold no later release, handover or domestic scan cleared.
6. awaiting_clearance: arrived (or released) with no domestic scan yet, within the
   clearance + handover window from arrival (handover window from the last release scan).
7. handover_not_synced: the same, past that window, while the last scan is no older than
   the lane's loss limit (policy.HANDOVER_LOSS_LIMIT, the international silence limit).
8. silent_too_long: last scan older than the leg's silence limit (for a parcel waiting
   for its handover, the limit of rule 7); the evidence names the limit passed.
9. moving: anything else.

Dates in texts are calendar dates in China (Asia/Shanghai).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from toolkit.diagnosis.eta import (
    DESTINATION_TZ,
    DOMESTIC_STAGE,
    ETA,
    MILESTONE_STAGE,
    NO_TIME,
    NS_PER_DAY,
    STAGES,
    EtaHistory,
    EtaModel,
    basis_text,
    reason_texts,
)
from toolkit.diagnosis.messages import (
    MILESTONE_PHRASE,
    Action,
    build_actions,
    buyer_message,
    evidence_zh,
    explanation,
)
from toolkit.errors import InputError, SchemaError, ValueNotAllowedError
from toolkit.model import (
    CATEGORIES,
    EVENT_COLUMNS,
    LEGS,
    MILESTONES,
    Category,
    Milestone,
    is_sandbox,
    missing_values_error,
    require_columns,
    text_isin,
)
from toolkit.policy import (
    DEFAULT_CONFIG,
    DEFAULT_POLICY,
    HANDOVER_LOSS_LIMIT,
    LANE_FIELDS,
    PRE_ADVICE_BEFORE_SHIPPED_DAYS,
    SCAN_AFTER_NOW_DAYS,
    SCAN_BEFORE_SHIPPED_DAYS,
    SCAN_TIME_FLOOR,
    SCAN_TRACE_SPAN_DAYS,
    CompensationPolicy,
    DiagnosisConfig,
)
from toolkit.privacy import phone_last4
from toolkit.times import utc_now
from toolkit.tracking import numbers

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_POLICY",
    "Action",
    "CompensationPolicy",
    "Diagnosis",
    "DiagnosisConfig",
    "diagnose",
    "diagnose_all",
    "eta_history",
    "fit_eta",
    "parcel_eta",
    "scan_flags",
    "set_aside",
]

M = Milestone
C = Category
NM = len(MILESTONES)
_IX = {m: i for i, m in enumerate(MILESTONES)}
NEVER = np.iinfo(np.int64).max  # "never" for first-time arrays (min-friendly)

_SIGNIFICANT = np.array([_IX[m] for m in MILESTONES if m != M.UNKNOWN])
_NORMAL = np.array(
    [_IX[m] for m in MILESTONES if m not in (M.EXCEPTION, M.UNKNOWN, M.RETURNING, M.RETURNED)]
)
_POST_CUSTOMS = np.array(
    [
        _IX[m]
        for m in (
            M.CUSTOMS_CLEARED,
            M.HANDED_OVER,
            M.DOMESTIC_IN_TRANSIT,
            M.OUT_FOR_DELIVERY,
            M.AVAILABLE_FOR_PICKUP,
            M.DELIVERY_FAILED,
            M.DELIVERED,
        )
    ]
)
_ARRIVAL = np.array([_IX[m] for m in (M.ARRIVED_DESTINATION, M.CUSTOMS_CLEARANCE, M.CUSTOMS_HOLD)])
_RELEASE = np.array([_IX[m] for m in (M.CUSTOMS_CLEARED, M.HANDED_OVER)])
_STAGE_COLS = [
    np.array([_IX[m] for m, s in MILESTONE_STAGE.items() if s == k]) for k in range(len(STAGES))
]
_CAT_IX = {c: i for i, c in enumerate(CATEGORIES)}
_NEEDED_EVENT_COLUMNS = ("parcel_id", "time_utc", "milestone", "leg")
_OPTIONAL_PARCEL_COLUMNS = (
    "international_carrier",
    "domestic_number",
    "domestic_carrier",
    "origin_country",
    "destination_province",
    "shipped_at",
    "recipient_phone",
)

# ---------------------------------------------------------------- input checks


def _rows(mask: np.ndarray) -> list[int]:
    return [int(i) + 1 for i in np.flatnonzero(mask)]


def _check_events(events: pd.DataFrame) -> pd.DataFrame:
    """Light contract check of the columns the diagnosis reads; returns time_utc in ns."""
    require_columns(events, _NEEDED_EVENT_COLUMNS, "events", "events")
    t = events["time_utc"]
    if not isinstance(t.dtype, pd.DatetimeTZDtype) or str(t.dtype.tz) != "UTC":
        raise SchemaError(
            f"column 'time_utc' must hold tz-aware UTC timestamps, found dtype {t.dtype}",
            "events",
            "Load events with toolkit.io, or convert with pd.to_datetime(..., utc=True)",
            columns=["time_utc"],
        )
    if t.isna().any():
        raise missing_values_error(
            "time_utc", t.isna(), "events", "Every event needs a time; fix or remove these rows"
        )
    if events["parcel_id"].isna().any():
        raise missing_values_error(
            "parcel_id",
            events["parcel_id"].isna(),
            "events",
            "Every event needs the parcel it belongs to",
        )
    for col, allowed in (("milestone", MILESTONES), ("leg", LEGS)):
        codes, uniques = pd.factorize(events[col], use_na_sentinel=True)
        bad_u = [i for i, u in enumerate(uniques) if u not in allowed]
        bad = np.isin(codes, bad_u) | (codes < 0)
        if bad.any():
            raise ValueNotAllowedError(
                col, _rows(bad), events[col][bad].astype(str).tolist(), allowed, "events"
            )
    return events


def _as_parcels(parcels: pd.DataFrame) -> pd.DataFrame:
    require_columns(parcels, ("parcel_id", "international_number"), "parcels", "parcels")
    ids = parcels["parcel_id"]
    if ids.isna().any():
        raise missing_values_error("parcel_id", ids.isna(), "parcels", "Every parcel needs an id")
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        rows = _rows(dup)
        raise SchemaError(
            f"parcel_id repeats in row(s) {', '.join(map(str, rows[:10]))} "
            f"(e.g. {ids[dup].iloc[0]!r})",
            "parcels",
            "Each parcel needs its own parcel_id; merge or rename the duplicates",
            columns=["parcel_id"],
            rows=rows,
        )
    out = parcels.reset_index(drop=True)
    for col in _OPTIONAL_PARCEL_COLUMNS:
        if col not in out.columns:
            out[col] = pd.Series(pd.NaT if col == "shipped_at" else pd.NA, index=out.index)
    if not isinstance(out["shipped_at"].dtype, pd.DatetimeTZDtype):
        if out["shipped_at"].notna().any():
            raise SchemaError(
                f"column 'shipped_at' must hold tz-aware UTC timestamps, found dtype "
                f"{out['shipped_at'].dtype}",
                "parcels",
                "Load parcels with toolkit.io, or convert with pd.to_datetime(..., utc=True)",
                columns=["shipped_at"],
            )
        out["shipped_at"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns, UTC]")
    return out


# ---------------------------------------------------------------- the vectorised core


def _ns(series: pd.Series) -> np.ndarray:
    """int64 nanoseconds of a tz-aware time column (NaT -> NO_TIME)."""
    return series.dt.tz_convert("UTC").dt.as_unit("ns").array.asi8.astype(np.int64, copy=False)


# ------------------------------------------------------ scans with impossible dates
# Why a scan is set aside (0: it counts). Thresholds and their reasons: toolkit.policy.
AFTER_NOW, BEFORE_FLOOR, BEFORE_SHIPPED, BEFORE_TRACE = 1, 2, 3, 4
_FLOOR_NS = pd.Timestamp(SCAN_TIME_FLOOR, tz="UTC").value
_AFTER_NOW_NS = int(SCAN_AFTER_NOW_DAYS * NS_PER_DAY)


def _shipped_ns(events: pd.DataFrame, parcels: pd.DataFrame | None, now_ns: int) -> np.ndarray:
    """Each event's parcel's shipping time (NO_TIME where unknown or itself impossible)."""
    out = np.full(len(events), NO_TIME, np.int64)
    if parcels is None or "shipped_at" not in parcels or not parcels["shipped_at"].notna().any():
        return out
    shipped = parcels["shipped_at"]
    known = shipped.notna().to_numpy(bool)
    ns = np.full(len(shipped), NO_TIME, np.int64)
    ns[known] = _ns(shipped[known])
    ns = _believable_shipped(ns, now_ns)
    pos = pd.Index(parcels["parcel_id"]).get_indexer(events["parcel_id"])
    found = pos >= 0
    out[found] = ns[pos[found]]
    return out


def _believable_shipped(ns: np.ndarray, now_ns: int) -> np.ndarray:
    """Shipping times that can be trusted as a bound (NO_TIME for missing or impossible ones)."""
    ok = (ns != NO_TIME) & (ns >= _FLOOR_NS) & (ns <= now_ns + _AFTER_NOW_NS)
    return np.where(ok, ns, NO_TIME)


def _flag_times(
    t: np.ndarray, parcel: np.ndarray, shipped: np.ndarray, pre_advice: np.ndarray, now_ns: int
) -> np.ndarray:
    """scan_flags on arrays: times, parcel keys, shipping times, pre-advice marks."""
    flags = np.zeros(len(t), np.int8)
    if not len(t):
        return flags
    allowance = np.where(pre_advice, PRE_ADVICE_BEFORE_SHIPPED_DAYS, SCAN_BEFORE_SHIPPED_DAYS)
    early = (shipped != NO_TIME) & (t < shipped - (allowance * NS_PER_DAY).astype(np.int64))
    flags[early] = BEFORE_SHIPPED
    flags[t < _FLOOR_NS] = BEFORE_FLOOR
    flags[t > now_ns + _AFTER_NOW_NS] = AFTER_NOW
    ok = flags == 0
    span = int(SCAN_TRACE_SPAN_DAYS * NS_PER_DAY)
    if ok.any() and int(t[ok].max()) - int(t[ok].min()) > span:
        latest = (
            pd.Series(np.where(ok, t, NO_TIME))
            .groupby(parcel, sort=False)
            .transform("max")
            .to_numpy(np.int64)
        )
        flags[ok & (latest != NO_TIME) & (t < latest - span)] = BEFORE_TRACE
    return flags


def scan_flags(events: pd.DataFrame, parcels: pd.DataFrame | None, now: pd.Timestamp) -> np.ndarray:
    """Per event, why its date is impossible (AFTER_NOW, BEFORE_FLOOR, BEFORE_SHIPPED,
    BEFORE_TRACE) or 0 where it counts; ``parcels`` gives the shipping times (shipped_at).

    A scan is set aside when it is dated after ``now`` by more than SCAN_AFTER_NOW_DAYS,
    before SCAN_TIME_FLOOR, before the parcel's shipping time by more than
    SCAN_BEFORE_SHIPPED_DAYS (PRE_ADVICE_BEFORE_SHIPPED_DAYS for a pre-advice scan), or
    before the parcel's latest counted scan by more than SCAN_TRACE_SPAN_DAYS
    (toolkit.policy says why each).
    """
    now_ns = utc_now(now).value
    if not len(events):
        return np.zeros(0, np.int8)
    return _flag_times(
        _ns(events["time_utc"]),
        events["parcel_id"].to_numpy(),
        _shipped_ns(events, parcels, now_ns),
        (events["milestone"] == M.INFO_RECEIVED).fillna(False).to_numpy(bool),
        now_ns,
    )


def _why_set_aside(
    flags: np.ndarray, t: np.ndarray, milestone: np.ndarray, shipped: np.ndarray, now_ns: int
) -> np.ndarray:
    """In words, why each flagged scan is set aside ("" where it counts)."""
    out = np.full(len(flags), "", dtype=object)
    if not (flags != 0).any():
        return out
    phrase = np.array([MILESTONE_PHRASE.get(m, "a scan") for m in milestone], dtype=object)
    head = phrase + " dated " + _china_dates(t)
    now_date = _china_dates(np.array([now_ns], np.int64))[0]
    pre = milestone == M.INFO_RECEIVED
    days = np.where(pre, PRE_ADVICE_BEFORE_SHIPPED_DAYS, SCAN_BEFORE_SHIPPED_DAYS)
    reasons = {
        AFTER_NOW: np.full(
            len(flags),
            f", after now ({now_date}) by more than the {SCAN_AFTER_NOW_DAYS:g}-day allowance "
            "for clock and time-zone slips",
            dtype=object,
        ),
        BEFORE_FLOOR: np.full(
            len(flags),
            f", before {SCAN_TIME_FLOOR[:4]}: a placeholder date, not a scan",
            dtype=object,
        ),
        BEFORE_SHIPPED: ", more than "
        + np.array([f"{d:g}" for d in days], dtype=object)
        + " days before the parcel was shipped on "
        + _china_dates(shipped),
        BEFORE_TRACE: np.full(
            len(flags),
            f", more than {SCAN_TRACE_SPAN_DAYS:g} days before the parcel's latest scan "
            "(an older parcel under the same number)",
            dtype=object,
        ),
    }
    for code, text in reasons.items():
        mask = flags == code
        out[mask] = head[mask] + text[mask]
    return out


def set_aside(
    events: pd.DataFrame, parcels: pd.DataFrame | None = None, now: pd.Timestamp | None = None
) -> pd.DataFrame:
    """The scans the diagnosis sets aside for an impossible date, each with its ``reason``.

    ``parcels`` (parcel_id, shipped_at) gives the shipping times; the rules are those of
    ``scan_flags``. The events table itself keeps these scans.
    """
    now = utc_now(now)
    _check_events(events)
    table = None if parcels is None else _as_parcels(parcels)
    flags = scan_flags(events, table, now)
    rows = events[flags != 0].copy()
    rows["reason"] = pd.Series(
        _why_set_aside(
            flags[flags != 0],
            _ns(rows["time_utc"]),
            rows["milestone"].to_numpy(dtype=object),
            _shipped_ns(rows, table, now.value),
            now.value,
        ),
        index=rows.index,
        dtype="string",
    )
    return rows


def _features(events: pd.DataFrame, ids: pd.Index) -> dict[str, np.ndarray | pd.Index]:
    """Per-parcel first/last time of every milestone and of domestic-leg scans.

    Parcels are ``ids`` followed by any other parcel ids found in ``events``.
    """
    codes, uniques = pd.factorize(events["parcel_id"], use_na_sentinel=True)
    pos = ids.get_indexer(uniques)
    extra = pos < 0
    all_ids = ids.append(pd.Index(uniques[extra]))
    pos[extra] = len(ids) + np.arange(int(extra.sum()))
    pidx = pos[codes].astype(np.int64)
    n = len(all_ids)
    mcodes, muniq = pd.factorize(events["milestone"], use_na_sentinel=True)
    ms = np.array([_IX[u] for u in muniq], dtype=np.int64)[mcodes]
    lcodes, luniq = pd.factorize(events["leg"], use_na_sentinel=True)
    dom_code = [i for i, u in enumerate(luniq) if u == "domestic"]
    dom = lcodes == dom_code[0] if dom_code else np.zeros(len(lcodes), bool)
    t = _ns(events["time_utc"])
    first = np.full((n, NM), NEVER, np.int64)
    last = np.full((n, NM), NO_TIME, np.int64)
    if len(t):
        key = pidx * NM + ms
        agg = pd.Series(t).groupby(key, sort=False).agg(["min", "max"])
        k = agg.index.to_numpy()
        first[k // NM, k % NM] = agg["min"].to_numpy()
        last[k // NM, k % NM] = agg["max"].to_numpy()
    count = np.bincount(pidx, minlength=n)
    dom_first = np.full(n, NEVER, np.int64)
    dom_last = np.full(n, NO_TIME, np.int64)
    if dom.any():
        agg = pd.Series(t[dom]).groupby(pidx[dom], sort=False).agg(["min", "max"])
        k = agg.index.to_numpy()
        dom_first[k] = agg["min"].to_numpy()
        dom_last[k] = agg["max"].to_numpy()
    return {
        "ids": all_ids,
        "first": first,
        "last": last,
        "dom_first": dom_first,
        "dom_last": dom_last,
        "count": count.astype(np.int64),
    }


def _stage_times(f: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(first time in each stage [NO_TIME if never], current stage [-1], its entry time)."""
    first = f["first"]
    n = first.shape[0]
    sf = np.empty((n, len(STAGES)), np.int64)
    for k, cols in enumerate(_STAGE_COLS):
        sf[:, k] = first[:, cols].min(axis=1)
    sf[:, DOMESTIC_STAGE] = np.minimum(sf[:, DOMESTIC_STAGE], f["dom_first"])
    seen = sf != NEVER
    stage = np.where(seen.any(axis=1), len(STAGES) - 1 - np.argmax(seen[:, ::-1], axis=1), -1)
    entry = np.where(stage >= 0, sf[np.arange(n), np.maximum(stage, 0)], NO_TIME)
    sf[~seen] = NO_TIME
    return sf, stage, entry


def _maxcols(a: np.ndarray, cols) -> np.ndarray:
    return a[:, cols].max(axis=1)


def _mincols(a: np.ndarray, cols) -> np.ndarray:
    return a[:, cols].min(axis=1)


def _china_dates(ns: np.ndarray) -> np.ndarray:
    """ISO date strings (China calendar) of int64 ns times; '' for NO_TIME."""
    out = np.full(len(ns), "", dtype=object)
    ok = ns != NO_TIME
    if ok.any():
        day = (ns[ok] + 8 * 3600 * 10**9) // NS_PER_DAY
        uniq, inv = np.unique(day, return_inverse=True)
        text = pd.to_datetime(uniq * NS_PER_DAY).strftime("%Y-%m-%d").to_numpy(dtype=object)
        out[ok] = text[inv]
    return out


def _int_text(values: np.ndarray) -> np.ndarray:
    uniq, inv = np.unique(values, return_inverse=True)
    return np.array([str(int(u)) for u in uniq], dtype=object)[inv]


def _days_text(values: np.ndarray) -> np.ndarray:
    text = _int_text(values)
    return np.where(values == 1, text + " day", text + " days")


def _number_checks(values: pd.Series, mask: np.ndarray) -> pd.DataFrame:
    """toolkit.tracking.numbers checks of the numbers on the rows of mask (NA elsewhere and for blanks)."""
    values = values.reset_index(drop=True)
    mask = mask & values.notna().to_numpy(bool)
    out = pd.DataFrame(
        {
            "normalized": pd.Series(pd.NA, index=values.index, dtype="string"),
            "valid": pd.Series(pd.NA, index=values.index, dtype="boolean"),
            "carrier": pd.Series(pd.NA, index=values.index, dtype="string"),
            "problems": pd.Series(pd.NA, index=values.index, dtype="string"),
        }
    )
    if mask.any():
        parsed = numbers.parse_many(values[mask])
        for col in out.columns:
            out.loc[mask, col] = parsed[col].to_numpy()
    return out


def _core(
    events: pd.DataFrame,
    parcels: pd.DataFrame,
    now: pd.Timestamp,
    config: DiagnosisConfig,
    eta_model: EtaModel | None,
    check_numbers: str = "unscanned",
) -> pd.DataFrame:
    """Diagnose every parcel of ``parcels`` from ``events``: one row per parcel.

    Scans with impossible dates (``scan_flags``) are set aside: they count for nothing,
    and the evidence names them.
    """
    now_ns = now.value
    ids = pd.Index(parcels["parcel_id"])
    flags = scan_flags(events, parcels, now)
    aside_n, aside_text = _set_aside_summary(events, flags, parcels, ids, now_ns)
    f = _features(events[flags == 0] if flags.any() else events, ids)
    n = len(ids)
    sf, stage_all, entry_all = _stage_times(f)
    first, last = f["first"], f["last"]
    if eta_model is None:
        eta_model = _fit_from_features(f, sf, parcels, now_ns, config)
    # restrict to the parcels asked about
    first, last = first[:n], last[:n]
    dom_last, count = f["dom_last"][:n], f["count"][:n]
    stage, entry = stage_all[:n], entry_all[:n]
    th = config.lane_arrays(parcels)
    day = NS_PER_DAY

    has_events = count > 0
    check_all = check_numbers == "all"
    intl = _number_checks(parcels["international_number"], check_all | ~has_events)
    domn = _number_checks(parcels["domestic_number"], check_all | (dom_last == NO_TIME))
    valid = intl["valid"]

    last_any = last.max(axis=1)
    sig = last[:, _SIGNIFICANT]
    has_sig = sig.max(axis=1) != NO_TIME
    last_ms = np.where(
        has_sig,
        _SIGNIFICANT[len(_SIGNIFICANT) - 1 - np.argmax(sig[:, ::-1], axis=1)],
        np.where(has_events, _IX[M.UNKNOWN], -1),
    )
    deliv_last = last[:, _IX[M.DELIVERED]]
    ret_last = np.maximum(last[:, _IX[M.RETURNING]], last[:, _IX[M.RETURNED]])
    exc_last = last[:, _IX[M.EXCEPTION]]
    hold_last = last[:, _IX[M.CUSTOMS_HOLD]]
    returned = (ret_last != NO_TIME) & (ret_last >= deliv_last)
    delivered = (deliv_last != NO_TIME) & ~returned
    exc_active = (exc_last != NO_TIME) & (exc_last > _maxcols(last, _NORMAL))
    post_last = np.maximum(_maxcols(last, _POST_CUSTOMS), dom_last)
    hold_active = (hold_last != NO_TIME) & (hold_last > post_last)
    dom_seen = (dom_last != NO_TIME) | (stage >= DOMESTIC_STAGE)
    arrival_first = _mincols(first, _ARRIVAL)
    release_last = _maxcols(last, _RELEASE)
    released = release_last != NO_TIME
    waiting_stage = ~dom_seen & np.isin(stage, [STAGES.index("arrived"), STAGES.index("released")])
    ref_wait = np.where(released, release_last, arrival_first)
    window = np.where(released, th["handover_days"], th["clearance_days"] + th["handover_days"])
    deadline = np.where(waiting_stage, ref_wait + (window * day).astype(np.int64), NO_TIME)
    silence_ns = np.where(has_events, np.maximum(now_ns - last_any, 0), 0)
    silence_days = silence_ns / day
    limit = np.where(dom_seen, th["domestic_silence_days"], th["international_silence_days"])
    limit = np.where(waiting_stage, th[HANDOVER_LOSS_LIMIT], limit)
    invalid_number = ~has_events & valid.eq(False).fillna(False).to_numpy(bool)

    conditions = [
        invalid_number,
        ~has_events,
        delivered,
        returned | exc_active,
        hold_active,
        waiting_stage & (now_ns <= deadline),
        waiting_stage & (silence_days <= limit),
        silence_days > limit,
    ]
    choices = [
        _CAT_IX[C.NUMBER_INVALID],
        _CAT_IX[C.NUMBER_NOT_FOUND],
        _CAT_IX[C.DELIVERED],
        _CAT_IX[C.RETURNED_OR_EXCEPTION],
        _CAT_IX[C.CUSTOMS_HOLD],
        _CAT_IX[C.AWAITING_CLEARANCE],
        _CAT_IX[C.HANDOVER_NOT_SYNCED],
        _CAT_IX[C.SILENT_TOO_LONG],
    ]
    cat = np.select(conditions, choices, default=_CAT_IX[C.MOVING])
    is_cat = {c: cat == _CAT_IX[c] for c in C}

    # the deciding event's time and milestone, per category
    ret_ms = np.where(
        last[:, _IX[M.RETURNED]] >= last[:, _IX[M.RETURNING]], _IX[M.RETURNED], _IX[M.RETURNING]
    )
    wait_ms = np.where(
        released,
        _RELEASE[np.argmax(last[:, _RELEASE], axis=1)],
        _ARRIVAL[np.argmin(first[:, _ARRIVAL], axis=1)],
    )
    # the scan each category counts from: delivery, return, exception, hold, arrival/release
    counts_from = [
        is_cat[C.DELIVERED],
        is_cat[C.RETURNED_OR_EXCEPTION] & returned,
        is_cat[C.RETURNED_OR_EXCEPTION],
        is_cat[C.CUSTOMS_HOLD],
        is_cat[C.AWAITING_CLEARANCE] | is_cat[C.HANDOVER_NOT_SYNCED],
    ]
    ref_time = np.select(
        [*counts_from, has_events],
        [deliv_last, ret_last, exc_last, hold_last, ref_wait, last_any],
        default=NO_TIME,
    )
    ref_ms = np.select(
        counts_from,
        [_IX[M.DELIVERED], ret_ms, _IX[M.EXCEPTION], _IX[M.CUSTOMS_HOLD], wait_ms],
        default=last_ms,
    )
    since_ref = np.where(ref_time != NO_TIME, np.maximum(now_ns - ref_time, 0) // day, 0)

    # ETA for the categories where one makes sense
    eta = eta_model.predict(stage, entry, parcels[list(LANE_FIELDS)], now)
    no_eta = {  # categories without an estimate, and the reason code why
        C.DELIVERED: "delivered",
        C.NUMBER_INVALID: "check_number",
        C.NUMBER_NOT_FOUND: "no_scans",
        C.RETURNED_OR_EXCEPTION: "returned",
    }
    reason_code = eta["eta_reason_code"].astype(object).to_numpy().copy()
    has_eta = eta["eta_level"].to_numpy() >= 0
    for c, why in no_eta.items():
        reason_code[is_cat[c]] = why
        has_eta &= ~is_cat[c]
    reason_code = np.where(has_eta, None, reason_code)
    reason = reason_texts(reason_code, config)
    low = eta["eta_low"].where(has_eta)
    high = eta["eta_high"].where(has_eta)
    level = np.where(has_eta, eta["eta_level"].to_numpy(), -1)

    phrase = np.array([MILESTONE_PHRASE[m] for m in MILESTONES] + [""], dtype=object)
    ms_names = np.array([*MILESTONES, None], dtype=object)
    ref_date = _china_dates(ref_time)
    last_date = _china_dates(np.where(has_events, last_any, NO_TIME))
    evidence = _evidence_text(
        is_cat,
        returned,
        ref_phrase=phrase[ref_ms],
        ref_date=ref_date,
        last_phrase=phrase[last_ms],
        last_date=last_date,
        since=_days_text(since_ref),
        silence=_days_text((silence_ns // day).astype(np.int64)),
        window=_days_text(np.ceil(window).astype(np.int64)),
        limit=_limit_text(limit, dom_seen, waiting_stage),
        number=intl["normalized"].fillna("").to_numpy(dtype=object),
        scans=np.where(aside_n > 0, "scans with a possible date", "scans"),
    )
    basis = _basis_column(level, parcels, stage, eta)
    return pd.DataFrame(
        {
            "parcel_id": parcels["parcel_id"].to_numpy(),
            "category": pd.Categorical.from_codes(cat, categories=list(CATEGORIES)),
            "last_milestone": pd.Series(ms_names[last_ms], dtype="string"),
            "last_scan_utc": pd.to_datetime(
                np.where(has_events, last_any, NO_TIME).view("M8[ns]")
            ).tz_localize("UTC"),
            "days_since_last_scan": np.where(has_events, np.round(silence_days, 2), np.nan),
            "evidence": pd.Series(
                np.where(aside_n > 0, evidence + "; " + aside_text, evidence), dtype="string"
            ),
            "scans_set_aside": aside_n,
            "eta_low": low.to_numpy(),
            "eta_high": high.to_numpy(),
            "eta_basis": pd.Series(basis, dtype="string"),
            "eta_reason": pd.Series(reason, dtype="string"),
            "number_valid": intl["valid"].to_numpy(),
            "number_carrier": intl["carrier"].to_numpy(),
            "number_problems": intl["problems"].to_numpy(),
            "domestic_number_valid": domn["valid"].to_numpy(),
            "stage": pd.Series(np.array([*STAGES, None], dtype=object)[stage], dtype="string"),
            # internal columns used by diagnose(); dropped by diagnose_all
            "_evidence": evidence,
            "_set_aside": aside_text,
            "_ref_time": ref_time,
            "_ref_ms": ref_ms,
            "_since_ref": since_ref,
            "_deadline": deadline,
            "_limit": limit,
            "_dom_seen": dom_seen,
            "_waiting": waiting_stage,
            "_stage": stage,
            "_eta_level": level,
            "_eta_reason_zh": reason_texts(reason_code, config, "zh"),
            "_eta_n": eta["eta_n"].to_numpy(),
            "_eta_delivered": eta["eta_delivered"].to_numpy(),
        }
    )


def _set_aside_summary(
    events: pd.DataFrame, flags: np.ndarray, parcels: pd.DataFrame, ids: pd.Index, now_ns: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per parcel of ``ids``: how many scans were set aside, and a sentence naming the first."""
    n = len(ids)
    count = np.zeros(n, np.int64)
    text = np.full(n, "", dtype=object)
    rows = np.flatnonzero(flags)
    if not len(rows):
        return count, text
    pos = ids.get_indexer(events["parcel_id"].to_numpy()[rows])
    rows, pos = rows[pos >= 0], pos[pos >= 0]
    if not len(rows):
        return count, text
    count = np.bincount(pos, minlength=n).astype(np.int64)
    flagged = events.iloc[rows]
    t = _ns(flagged["time_utc"])
    order = np.lexsort((t, pos))  # each parcel's earliest set-aside scan first
    _, first = np.unique(pos[order], return_index=True)
    sel = order[first]
    reasons = _why_set_aside(
        flags[rows][sel],
        t[sel],
        flagged["milestone"].to_numpy(dtype=object)[sel],
        _shipped_ns(flagged.iloc[sel], parcels, now_ns),
        now_ns,
    )
    where = pos[sel]
    c = count[where]
    lead = np.where(
        c == 1,
        "1 scan set aside (not counted): ",
        _int_text(c) + " scans set aside (not counted), the first: ",
    )
    text[where] = lead + reasons
    return count, text


def _evidence_text(is_cat, returned, **cols) -> np.ndarray:
    """Short evidence sentence per parcel, each template filled only on its own rows."""
    out = np.full(len(returned), "", dtype=object)

    def put(mask: np.ndarray, *parts: str) -> None:
        """Join literal text and {column} parts on the rows of mask."""
        if not mask.any():
            return
        text = np.full(int(mask.sum()), "", dtype=object)
        for part in parts:
            text = text + (cols[part[1:-1]][mask] if part.startswith("{") else part)
        out[mask] = text

    exc = is_cat[C.RETURNED_OR_EXCEPTION]
    put(is_cat[C.DELIVERED], "delivered on ", "{ref_date}")
    put(
        is_cat[C.MOVING],
        "last scan ",
        "{silence}",
        " ago: ",
        "{last_phrase}",
        " on ",
        "{last_date}",
    )
    put(
        is_cat[C.AWAITING_CLEARANCE],
        "{ref_phrase}", " on ", "{ref_date}", ", ", "{since}", " ago; no domestic scan yet, ",
        "which is normal for up to ", "{window}",
    )  # fmt: skip
    put(
        is_cat[C.CUSTOMS_HOLD],
        "held by customs since ", "{ref_date}", " (", "{since}", "); no release or domestic scan since",
    )  # fmt: skip
    put(
        is_cat[C.HANDOVER_NOT_SYNCED],
        "no domestic scan for ", "{since}", " since ", "{ref_phrase}", " on ", "{ref_date}",
        " (normally within ", "{window}", ")",
    )  # fmt: skip
    put(
        is_cat[C.SILENT_TOO_LONG],
        "no scan for ", "{silence}", " since ", "{last_phrase}", " on ", "{last_date}", ", past ",
        "{limit}",
    )  # fmt: skip
    put(exc & returned, "{ref_phrase}", " on ", "{ref_date}")
    put(exc & ~returned, "exception reported on ", "{ref_date}", "; no normal scan since")
    put(is_cat[C.NUMBER_INVALID], "number ", "{number}", " fails its check; no ", "{scans}",
        " under it")  # fmt: skip
    put(is_cat[C.NUMBER_NOT_FOUND], "no ", "{scans}", " under number ", "{number}")
    return out


def _limit_text(limit: np.ndarray, dom_seen: np.ndarray, waiting: np.ndarray) -> np.ndarray:
    """Which silence limit applies to each parcel, in words ("the lane's 14-day loss limit
    for the international leg")."""
    uniq, inv = np.unique(limit, return_inverse=True)
    days = np.array([f"{v:g}-day" for v in uniq], dtype=object)[inv]
    what = np.where(
        waiting,
        " loss limit for a parcel with no domestic scan after arrival "
        "(too long for a handover not yet synced)",
        np.where(
            dom_seen, " loss limit for the domestic leg", " loss limit for the international leg"
        ),
    )
    return "the lane's " + days + what


def _basis_column(level: np.ndarray, parcels: pd.DataFrame, stage: np.ndarray, eta) -> np.ndarray:
    out = np.full(len(level), None, dtype=object)
    has = level >= 0
    if not has.any():
        return out
    lanes = parcels.loc[has, list(LANE_FIELDS)].astype("string").fillna("?")
    parts = [lanes[c].to_numpy(dtype=object) for c in LANE_FIELDS]
    lv = level[has]
    group = np.where(
        lv == 0,
        parts[0] + "/" + parts[1] + "/" + parts[2],
        np.where(lv == 1, parts[0] + "/" + parts[1], np.where(lv == 2, parts[0], "all lanes")),
    )
    stage_names = np.array(STAGES, dtype=object)[stage[has]]
    out[has] = group + " from " + stage_names + ", n=" + _int_text(eta["eta_n"].to_numpy()[has])
    return out


def _fit_from_features(
    f: dict, sf: np.ndarray, parcels: pd.DataFrame, now_ns: int, config: DiagnosisConfig
) -> EtaModel:
    """ETA model from per-parcel stage times; returned or excepted parcels leave at their last scan."""
    return EtaModel.from_history(_history_from_features(f, sf, parcels, now_ns), config)


def _history_from_features(
    f: dict, sf: np.ndarray, parcels: pd.DataFrame, now_ns: int
) -> EtaHistory:
    """The counted history (EtaHistory) of the parcels in ``f`` that have scans."""
    last = f["last"]
    deliv_first = f["first"][:, _IX[M.DELIVERED]]
    ret_last = np.maximum(last[:, _IX[M.RETURNING]], last[:, _IX[M.RETURNED]])
    returned = (ret_last != NO_TIME) & (ret_last >= last[:, _IX[M.DELIVERED]])
    delivered = np.where((deliv_first != NEVER) & ~returned, deliv_first, NO_TIME)
    end = np.where(returned, last.max(axis=1), now_ns)
    n_all = len(f["ids"])
    lanes = parcels[list(LANE_FIELDS)].reindex(range(n_all))
    has = f["count"] > 0
    return EtaHistory.of(sf[has], delivered[has], end[has], lanes[has])


# ---------------------------------------------------------------- public API


def fit_eta(
    events: pd.DataFrame,
    parcels: pd.DataFrame | None = None,
    now: pd.Timestamp | None = None,
    config: DiagnosisConfig = DEFAULT_CONFIG,
) -> EtaModel:
    """Fit the arrival-time model on a history of events (lanes from ``parcels`` when given)."""
    return EtaModel.from_history(eta_history(events, parcels, now), config)


def eta_history(
    events: pd.DataFrame, parcels: pd.DataFrame | None = None, now: pd.Timestamp | None = None
) -> EtaHistory:
    """What ``fit_eta`` learns from these events, counted (``eta.EtaHistory``).

    Histories of disjoint sets of parcels (each with all its scans) merge
    (``EtaHistory.merge``) into the history of all of them, and ``EtaModel.from_history``
    of that is the model ``fit_eta`` and ``diagnose_all`` fit on the whole at once: this is
    how the model of a dataset split in partitions is fitted (toolkit.scale).
    """
    now = utc_now(now)
    _check_events(events)
    if parcels is None:
        parcels = pd.DataFrame(
            {"parcel_id": pd.unique(events["parcel_id"]), "international_number": pd.NA}
        )
    parcels = _as_parcels(parcels)
    flags = scan_flags(events, parcels, now)
    counted = events[flags == 0] if flags.any() else events
    f = _features(counted, pd.Index(parcels["parcel_id"]))
    sf, _, _ = _stage_times(f)
    return _history_from_features(f, sf, parcels, now.value)


def same_history(a: pd.DataFrame, b: pd.DataFrame, parcel_id: object) -> bool:
    """True if two sets of one parcel's scans give a lane model (``fit_eta``) the same inputs:
    the time it entered each stage, its delivery and its return. Then a model fitted with
    either set is the same model."""

    def inputs(ev: pd.DataFrame) -> tuple:
        ev = ev[(ev["parcel_id"] == parcel_id).to_numpy(bool)]
        _check_events(ev)
        f = _features(ev, pd.Index([parcel_id]))
        sf, _, _ = _stage_times(f)
        last = f["last"][0]
        ret = max(last[_IX[M.RETURNING]], last[_IX[M.RETURNED]])
        returned = ret != NO_TIME and ret >= last[_IX[M.DELIVERED]]
        return (
            tuple(sf[0]),
            int(f["first"][0, _IX[M.DELIVERED]]),
            bool(returned),
            int(last.max()) if returned else None,
            int(f["count"][0]) > 0,
        )

    return inputs(a) == inputs(b)


def diagnose_all(
    events: pd.DataFrame,
    parcels: pd.DataFrame,
    now: pd.Timestamp | None = None,
    config: DiagnosisConfig = DEFAULT_CONFIG,
    eta_model: EtaModel | None = None,
    check_numbers: str = "unscanned",
) -> pd.DataFrame:
    """Diagnose every parcel in ``parcels`` (with or without events): one row per parcel.

    Events of parcels not in ``parcels`` serve only as history for the arrival estimates.
    ``check_numbers="unscanned"`` checks (toolkit.tracking.numbers) the numbers that show no scans,
    where a typo would explain the silence; numbers with scans are proven by them and
    left unchecked (NA) unless ``check_numbers="all"``.
    """
    if check_numbers not in ("unscanned", "all"):
        raise InputError(
            f"check_numbers must be 'unscanned' or 'all', got {check_numbers!r}", "diagnose_all"
        )
    now = utc_now(now)
    _check_events(events)
    parcels = _as_parcels(parcels)
    table = _core(events, parcels, now, config, eta_model, check_numbers)
    out = table[[c for c in table.columns if not c.startswith("_")]]
    out.attrs["sandbox"] = is_sandbox(events)  # figures built from it carry the sandbox note
    return out


@dataclass
class Diagnosis:
    """The diagnosis of one parcel: category, evidence, actions, ETA and explanation."""

    parcel_id: str
    category: Category
    evidence: pd.DataFrame
    evidence_text: list[str]
    actions: list[Action]
    eta: ETA | None
    eta_reason: str | None
    explanation: str
    now: pd.Timestamp
    last_milestone: str | None = None
    last_scan_utc: pd.Timestamp | None = None
    days_since_last_scan: float | None = None
    evidence_text_zh: list[str] = field(default_factory=list)  # evidence_text in Chinese
    # scans not counted for an impossible date, with their `reason` (also named in evidence_text)
    set_aside: pd.DataFrame = field(default_factory=pd.DataFrame)
    # the lane incident the parcel is caught in (a row of toolkit.incidents.detect), if any
    incident: Mapping | None = None
    _ref_date: dt.date | None = field(default=None, repr=False)

    def buyer_message(self, lang: str = "zh") -> str:
        """A short, polite message for the buyer in Chinese ("zh") or English ("en"); plain
        text. A parcel caught in a lane incident is told the delay is shared by its route."""
        low = self.eta.low if self.eta else None
        high = self.eta.high if self.eta else None
        shared = None
        if self.incident is not None:
            shared = (_day(self.incident.get("start")), _day(self.incident.get("expected_end")))
        return buyer_message(self.category, lang, self._ref_date, low, high, shared)

    def with_incident(self, incident: Mapping | None) -> Diagnosis:
        """This diagnosis for a parcel caught in a lane incident (a row of
        ``toolkit.incidents.detect``): its evidence names the incident, its buyer message
        says the delay is systemic. Parcels in no incident (None) are returned unchanged."""
        if incident is None:
            return self
        row = dict(incident)
        start = _day(row.get("start"))
        where = str(row.get("where", "")).strip()
        text = f"caught in a lane incident ({row.get('kind', 'backlog')}"
        text += f" at {where}" if where else ""
        text += f", since {start:%Y-%m-%d}" if start else ""
        text += f"): {row['evidence']}" if row.get("evidence") else ")"
        zh = "同线路异常（系统性延误"
        zh += f"，自{start:%Y-%m-%d}起" if start else ""
        zh += f"）：{where}" if where else "）"
        return dataclasses.replace(
            self,
            incident=row,
            evidence_text=[*self.evidence_text, text],
            evidence_text_zh=[*self.evidence_text_zh, zh],
        )

    def to_dict(self) -> dict:
        """The diagnosis as plain values (evidence rows as records, times as ISO text)."""
        ev = self.evidence.copy()
        for col in ev.columns:
            if isinstance(ev[col].dtype, pd.DatetimeTZDtype):
                ev[col] = ev[col].map(lambda t: None if pd.isna(t) else t.isoformat())
        ev = ev.astype(object).where(ev.notna(), None)
        aside = self.set_aside.copy()
        for col in aside.columns:
            if isinstance(aside[col].dtype, pd.DatetimeTZDtype):
                aside[col] = aside[col].map(lambda t: None if pd.isna(t) else t.isoformat())
        aside = aside.astype(object).where(aside.notna(), None)
        return {
            "parcel_id": self.parcel_id,
            "category": str(self.category),
            "evidence": ev.to_dict(orient="records"),
            "evidence_text": list(self.evidence_text),
            "evidence_text_zh": list(self.evidence_text_zh),
            "set_aside": aside.to_dict(orient="records"),
            "actions": [a.to_dict() for a in self.actions],
            "eta": self.eta.to_dict() if self.eta else None,
            "eta_reason": self.eta_reason,
            "explanation": self.explanation,
            "buyer_message": {"zh": self.buyer_message("zh"), "en": self.buyer_message("en")},
            "now": self.now.isoformat(),
            "last_milestone": self.last_milestone,
            "last_scan_utc": None if self.last_scan_utc is None else self.last_scan_utc.isoformat(),
            "days_since_last_scan": self.days_since_last_scan,
            "incident": None
            if self.incident is None
            else {
                k: (v.isoformat() if isinstance(v, pd.Timestamp) and pd.notna(v) else v)
                for k, v in self.incident.items()
                if k != "parcel_ids"
            },
        }

    def _repr_html_(self) -> str:
        from toolkit.views import diagnosis_html

        return diagnosis_html(self, actions=True, buyer_messages=True)


def _day(value: object) -> dt.date | None:
    """The destination-time date of a time value (None when missing or unreadable)."""
    if value is None:
        return None
    try:
        t = pd.Timestamp(value)
    except (TypeError, ValueError):
        return None
    if pd.isna(t):
        return None
    t = t.tz_localize("UTC") if t.tzinfo is None else t
    return t.tz_convert(DESTINATION_TZ).date()


def _parcel_from_events(events: pd.DataFrame) -> dict:
    """A parcels-table record inferred from one parcel's events."""
    ids = pd.unique(events["parcel_id"])
    if len(ids) != 1:
        raise InputError(
            f"the events hold {len(ids)} parcels ({', '.join(map(str, ids[:5]))}) and no parcel "
            "was given",
            "diagnose",
            "Pass parcel=<row of the parcels table>, or only one parcel's events",
        )
    rec: dict = {"parcel_id": ids[0]}
    ev = events.sort_values("time_utc", kind="stable")
    for leg in ("international", "domestic"):
        part = ev[ev["leg"] == leg]
        if "tracking_number" in ev and len(part):
            rec[f"{leg}_number"] = part["tracking_number"].iloc[0]
        if "carrier" in ev and len(part):
            rec[f"{leg}_carrier"] = part["carrier"].iloc[0]
    rec.setdefault(
        "international_number", ev["tracking_number"].iloc[0] if "tracking_number" in ev else pd.NA
    )
    return rec


def _linked(events: pd.DataFrame) -> tuple[str | None, str | None]:
    """Domestic number and carrier named by a handover scan, if the events carry one."""
    if "linked_number" not in events.columns:
        return None, None
    rows = events[events["linked_number"].notna()]
    if not len(rows):
        return None, None
    row = rows.sort_values("time_utc").iloc[-1]
    carrier = row["linked_carrier"] if "linked_carrier" in rows.columns else None
    return str(row["linked_number"]), (None if pd.isna(carrier) else str(carrier))


def _text(value: object) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    s = str(value).strip()
    return s or None


def _date_of(ns: int) -> dt.date | None:
    if ns in (NO_TIME, NEVER):
        return None
    return pd.Timestamp(ns, tz="UTC").tz_convert(DESTINATION_TZ).date()


def diagnose(
    events: pd.DataFrame,
    now: pd.Timestamp | None = None,
    parcel: Mapping | pd.Series | None = None,
    *,
    parcels: pd.DataFrame | None = None,
    config: DiagnosisConfig = DEFAULT_CONFIG,
    policy: CompensationPolicy = DEFAULT_POLICY,
    eta_model: EtaModel | None = None,
) -> Diagnosis:
    """Diagnose one parcel: category, evidence, next actions, ETA, explanation, buyer message.

    ``events`` may hold other parcels too: they are the history for the arrival estimate
    (their lanes come from ``parcels`` when given). Pass ``eta_model=fit_eta(...)`` to reuse
    one fitted history across many calls.
    """
    rec, own, now = _one_parcel(events, now, parcel)
    one = _record_table([rec])
    if eta_model is None:
        history_parcels = parcels if parcels is not None else one
        eta_model = fit_eta(events, history_parcels, now, config)
    row = _core(own, one, now, config, eta_model).iloc[0]
    return _build(row, own, rec, now, config, policy)


def diagnose_each(
    events: pd.DataFrame,
    parcels: pd.DataFrame,
    now: pd.Timestamp | None = None,
    *,
    config: DiagnosisConfig = DEFAULT_CONFIG,
    policy: CompensationPolicy = DEFAULT_POLICY,
    eta_model: EtaModel | None = None,
) -> list[Diagnosis]:
    """The full ``diagnose`` result for every row of ``parcels``, in their order.

    The same as calling ``diagnose(events, now, row, eta_model=...)`` per row, but the
    core runs once over all of them, so hundreds of parcels take a fraction of a second
    per hundred instead of about 10 ms each. ``eta_model`` defaults to one fitted on all
    of ``events`` and ``parcels``.
    """
    now = utc_now(now)
    _check_events(events)
    table = _as_parcels(parcels)
    if table.empty:
        return []
    if eta_model is None:
        eta_model = fit_eta(events, table, now, config)
    ids = table["parcel_id"]
    own_all = events[text_isin(events["parcel_id"], ids)]
    # one de-duplication and sort for all; each parcel's group keeps that order
    by_parcel = dict(tuple(_distinct_in_time_order(own_all).groupby("parcel_id", sort=False)))
    empty = events.iloc[:0]
    records = parcels.reset_index(drop=True).to_dict("records")
    for rec in records:
        _complete_record(rec, by_parcel.get(rec["parcel_id"], empty))
    core = _core(own_all, _record_table(records), now, config, eta_model)
    return [
        _build(row, by_parcel.get(rec["parcel_id"], empty), rec, now, config, policy, ordered=True)
        for rec, (_, row) in zip(records, core.iterrows(), strict=True)
    ]


def _complete_record(rec: dict, own: pd.DataFrame) -> None:
    """Fill the parcel's domestic number and carrier from its own scans when not given."""
    link_no, link_carrier = _linked(own)
    if _text(rec.get("domestic_number")) is None and link_no:
        rec["domestic_number"] = link_no
    if _text(rec.get("domestic_carrier")) is None:
        dom = own[own["leg"] == "domestic"]
        if link_carrier:
            rec["domestic_carrier"] = link_carrier
        elif "carrier" in own and len(dom):
            rec["domestic_carrier"] = dom.sort_values("time_utc")["carrier"].iloc[-1]


def _record_table(records: list[dict]) -> pd.DataFrame:
    """The parcels table ``_core`` reads, from parcel records."""
    keys = ("parcel_id", "international_number", *_OPTIONAL_PARCEL_COLUMNS)
    return _as_parcels(
        pd.DataFrame([{k: rec.get(k) for k in keys} for rec in records], columns=keys).assign(
            shipped_at=lambda d: pd.to_datetime(d["shipped_at"], utc=True)
        )
    )


def _distinct_in_time_order(ev: pd.DataFrame) -> pd.DataFrame:
    """The scans without repeats (the same scan from two sources), oldest first."""
    if not len(ev):
        return ev
    key = [
        c for c in (*EVENT_COLUMNS, "linked_number", "linked_carrier") if c in ev and c != "source"
    ]
    return ev.drop_duplicates(subset=key).sort_values(["time_utc"], kind="stable")


def _eta_of(row, rec: Mapping, config: DiagnosisConfig) -> ETA | None:
    """The delivery estimate in one parcel's core row (None where the core gives none)."""
    if int(row["_eta_level"]) < 0:
        return None
    stage = int(row["_stage"])
    return ETA(
        low=row["eta_low"].date(),
        high=None if pd.isna(row["eta_high"]) else row["eta_high"].date(),
        low_chance=config.eta_low_quantile,
        high_chance=config.eta_high_quantile,
        basis=basis_text(
            int(row["_eta_level"]), rec, stage, int(row["_eta_n"]), int(row["_eta_delivered"])
        ),
        n=int(row["_eta_n"]),
        delivered=int(row["_eta_delivered"]),
        stage=STAGES[stage],
    )


def _one_parcel(
    events: pd.DataFrame, now: pd.Timestamp | None, parcel: Mapping | pd.Series | None
) -> tuple[dict, pd.DataFrame, pd.Timestamp]:
    """(parcel record completed from its scans, its own scans, now) for one-parcel calls."""
    now = utc_now(now)
    _check_events(events)
    if parcel is None:
        rec = _parcel_from_events(events)
    else:
        rec = dict(parcel.items()) if isinstance(parcel, Mapping | pd.Series) else None
        if rec is None:
            raise InputError(
                f"parcel must be a dict or pandas Series, got {type(parcel).__name__}", "diagnose"
            )
        if _text(rec.get("parcel_id")) is None:
            rec["parcel_id"] = rec.get("international_number")
        if _text(rec.get("parcel_id")) is None:
            raise InputError(
                "the parcel has neither parcel_id nor international_number",
                "diagnose",
                "Give at least one of them",
            )
        rec.setdefault("international_number", pd.NA)
    pid = rec["parcel_id"]
    own = events[(events["parcel_id"] == pid).to_numpy(bool)]
    _complete_record(rec, own)
    return rec, own, now


def parcel_eta(
    parcel: Mapping | pd.Series | None,
    events: pd.DataFrame,
    now: pd.Timestamp | None,
    eta_model: EtaModel,
    *,
    config: DiagnosisConfig = DEFAULT_CONFIG,
) -> ETA | None:
    """A parcel's delivery estimate: the one place that decides it.

    The investigator's diagnosis, its timeline and the partner report all show this
    estimate (``Diagnosis.eta`` is built by the same code), so the same parcel, scans,
    ``now`` and lane model (``fit_eta`` over the same history) give the same dates
    everywhere. ``events`` may hold other parcels (only the parcel's own scans count).
    None where no estimate can be given: delivered, returned, no scans, or too little
    history (``diagnose(...).eta_reason`` says which).
    """
    if not isinstance(eta_model, EtaModel):
        raise InputError(
            f"eta_model must be a fitted lane model, got {type(eta_model).__name__}",
            "parcel_eta",
            "Fit one with toolkit.diagnosis.diagnose.fit_eta(events, parcels, now) over the history",
        )
    rec, own, now = _one_parcel(events, now, parcel)
    row = _core(own, _record_table([rec]), now, config, eta_model).iloc[0]
    return _eta_of(row, rec, config)


def _build(row, own, rec, now, config, policy, *, ordered: bool = False) -> Diagnosis:
    """The rich Diagnosis of one parcel from its core row (``ordered``: own is already distinct
    and in time order)."""
    category = str(row["category"])
    ref_time = int(row["_ref_time"])
    ev = own if ordered else _distinct_in_time_order(own)
    shipped = rec.get("shipped_at")
    shipped = None if shipped is None or pd.isna(shipped) else pd.Timestamp(shipped)
    counts, aside, aside_zh = _own_set_aside(ev, shipped, now)
    if len(aside):
        ev = ev[counts]
    t = _ns(ev["time_utc"]) if len(ev) else np.zeros(0, np.int64)
    ms = ev["milestone"].to_numpy(dtype=object) if len(ev) else np.zeros(0, object)
    if category in (C.AWAITING_CLEARANCE, C.HANDOVER_NOT_SYNCED):
        pick = np.isin(
            ms,
            [
                m.value
                for m in (
                    M.ARRIVED_DESTINATION,
                    M.CUSTOMS_CLEARANCE,
                    M.CUSTOMS_CLEARED,
                    M.HANDED_OVER,
                )
            ],
        )
    elif category == C.MOVING:
        pick = t >= (t.max() if len(t) else 0)
    elif category in (C.NUMBER_INVALID, C.NUMBER_NOT_FOUND):
        pick = np.zeros(len(ev), bool)
    else:
        pick = t == ref_time
    evidence = ev[pick].reset_index(drop=True)

    intl = numbers.parse(rec.get("international_number"))
    ref_date = _date_of(ref_time)
    deadline = _date_of(int(row["_deadline"]))
    last_scan = row["last_scan_utc"]
    silent_from = None
    if not pd.isna(last_scan):
        silent_from = (
            (last_scan + pd.Timedelta(days=float(row["_limit"]))).tz_convert(DESTINATION_TZ).date()
        )
    start = (
        shipped if shipped is not None else (None if pd.isna(last_scan) else ev["time_utc"].min())
    )
    days_late = None
    if start is not None:
        days_late = (now - start) / pd.Timedelta(days=1) - policy.promised_days
    eta = _eta_of(row, rec, config)
    facts = {
        "international_number": intl.normalized or _text(rec.get("international_number")),
        "international_carrier": _text(rec.get("international_carrier")) or intl.carrier,
        "domestic_number": _text(rec.get("domestic_number")),
        "domestic_carrier": _text(rec.get("domestic_carrier")),
        "phone_last4": phone_last4(rec.get("recipient_phone")),
        "suggestions": list(intl.suggestions),
        "problems": list(intl.problems),
        "candidates": list(intl.candidates),
        "ref_date": ref_date,
        "deadline_date": deadline,
        "silent_from": silent_from,
        "days_since_ref": int(row["_since_ref"]),
        "last_date": None if pd.isna(last_scan) else last_scan.tz_convert(DESTINATION_TZ).date(),
        "domestic_seen": bool(row["_dom_seen"]),
        "days_late": days_late,
        "eta_text": None
        if eta is None
        else ("on " if eta.high == eta.low else "between ") + eta.text().replace(" to ", " and "),
        "shipped_date": None
        if shipped is None
        else shipped.tz_convert(DESTINATION_TZ).date().isoformat(),
    }
    if shipped is not None and category == C.NUMBER_NOT_FOUND:
        grace_until = shipped + pd.Timedelta(days=config.for_lane(rec).first_scan_grace_days)
        facts["in_grace"] = now < grace_until
        facts["grace_until"] = grace_until.tz_convert(DESTINATION_TZ).date()
    evidence_text = [str(row["_evidence"])]
    if row["_set_aside"]:
        evidence_text.append(str(row["_set_aside"]))
    if category == C.NUMBER_INVALID:
        evidence_text += list(intl.problems)
        if intl.suggestions:
            evidence_text.append("corrections that pass the check: " + ", ".join(intl.suggestions))
    elif category == C.NUMBER_NOT_FOUND:
        if shipped is not None:
            evidence_text.append(f"shipped {int((now - shipped) / pd.Timedelta(days=1))} days ago")
        evidence_text += list(intl.problems)
    elif category == C.HANDOVER_NOT_SYNCED:
        if facts["domestic_number"]:
            evidence_text.append(
                f"domestic number {facts['domestic_number']} is known but shows no scans"
            )
        else:
            evidence_text.append("no domestic number is linked to the international one")
    if eta is None and row["eta_reason"] is not pd.NA:
        evidence_text.append(f"no delivery estimate: {row['eta_reason']}")
    evidence_text_zh = _evidence_zh(category, row, facts, intl, now, ref_time, shipped)
    if aside_zh:
        evidence_text_zh.insert(1, aside_zh)
    return Diagnosis(
        parcel_id=str(rec["parcel_id"]),
        category=Category(category),
        evidence=evidence,
        evidence_text=evidence_text,
        actions=build_actions(category, facts, policy),
        eta=eta,
        eta_reason=None if eta is not None else _text(row["eta_reason"]),
        explanation=explanation(category, facts),
        now=now,
        last_milestone=_text(row["last_milestone"]),
        last_scan_utc=None if pd.isna(last_scan) else last_scan,
        days_since_last_scan=None
        if pd.isna(row["days_since_last_scan"])
        else float(row["days_since_last_scan"]),
        evidence_text_zh=evidence_text_zh,
        set_aside=aside.reset_index(drop=True),
        _ref_date=ref_date,
    )


def _own_set_aside(
    ev: pd.DataFrame, shipped: pd.Timestamp | None, now: pd.Timestamp
) -> tuple[np.ndarray, pd.DataFrame, str]:
    """For one parcel's scans: which count (a mask), those set aside for an impossible date
    with their ``reason``, and a Chinese sentence naming the first ('' when none)."""
    if not len(ev):
        return np.ones(0, bool), ev.assign(reason=pd.Series(dtype="string")), ""
    now_ns = now.value
    t = _ns(ev["time_utc"])
    ship = NO_TIME if shipped is None else pd.Timestamp(shipped).tz_convert("UTC").value
    ships = _believable_shipped(np.full(len(ev), ship, np.int64), now_ns)
    milestone = ev["milestone"].to_numpy(dtype=object)
    flags = _flag_times(t, np.zeros(len(ev), np.int8), ships, milestone == M.INFO_RECEIVED, now_ns)
    aside = flags != 0
    if not aside.any():
        return ~aside, ev.iloc[:0].assign(reason=pd.Series(dtype="string")), ""
    reasons = _why_set_aside(flags[aside], t[aside], milestone[aside], ships[aside], now_ns)
    rows = ev[aside].assign(reason=pd.array(reasons, dtype="string"))
    first = int(np.argmin(t[aside]))
    code = int(flags[aside][first])
    date = _china_dates(t[aside][first : first + 1])[0]
    why = {
        AFTER_NOW: f"晚于当前时间（{_china_dates(np.array([now_ns]))[0]}）超过 "
        f"{SCAN_AFTER_NOW_DAYS:g} 天（时钟或时区误差的容许范围）",
        BEFORE_FLOOR: f"早于 {SCAN_TIME_FLOOR[:4]} 年：是占位日期，不是扫描",
        BEFORE_SHIPPED: f"早于发货日期（{_china_dates(ships[aside][first : first + 1])[0]}）"
        "超过容许天数",
        BEFORE_TRACE: f"比该包裹最近一次扫描早 {SCAN_TRACE_SPAN_DAYS:g} 天以上（同一单号下的旧包裹）",
    }[code]
    zh = f"{int(aside.sum())} 条扫描日期不可能，未计入诊断；第一条日期为 {date}，{why}"
    return ~aside, rows, zh


def _evidence_zh(category, row, facts, intl, now, ref_time, shipped) -> list[str]:
    """The evidence of _build in Chinese, from the same core row and facts."""
    ref_ms = int(row["_ref_ms"])
    deadline = int(row["_deadline"])
    window = None
    if deadline not in (NO_TIME, NEVER) and ref_time not in (NO_TIME, NEVER):
        window = int(np.ceil((deadline - ref_time) / NS_PER_DAY))
    last_scan = row["last_scan_utc"]
    out = [
        evidence_zh(
            category,
            ref_milestone=MILESTONES[ref_ms] if 0 <= ref_ms < NM else None,
            ref_date=_date_of(ref_time),
            since_days=int(row["_since_ref"]),
            last_milestone=_text(row["last_milestone"]),
            last_date=facts["last_date"],
            silent_days=0 if pd.isna(last_scan) else int((now - last_scan) // pd.Timedelta(days=1)),
            window_days=window,
            number=intl.normalized or _text(facts["international_number"]) or "",
            limit_days=float(row["_limit"]),
            limit_leg="handover"
            if bool(row["_waiting"])
            else ("domestic" if bool(row["_dom_seen"]) else "international"),
        )
    ]
    if category == C.NUMBER_INVALID and intl.suggestions:
        out.append("通过校验的更正：" + "、".join(intl.suggestions))
    elif category == C.NUMBER_NOT_FOUND and shipped is not None:
        out.append(f"已发货 {int((now - shipped) / pd.Timedelta(days=1))} 天")
    elif category == C.HANDOVER_NOT_SYNCED:
        dom = facts["domestic_number"]
        out.append(f"国内单号 {dom} 已知，但没有扫描" if dom else "国际单号没有关联任何国内单号")
    if int(row["_eta_level"]) < 0 and row["_eta_reason_zh"] is not None:
        out.append("暂无预计送达日期：" + row["_eta_reason_zh"])
    return out
