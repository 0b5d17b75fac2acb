"""Lane incidents: a place or a carrier that stopped, seen across many parcels at once.

When a customs office or a handover point stalls, dozens of parcels of one lane go dark in
the same days. ``detect(events, parcels, now)`` finds those places by comparing each one
with its own history in the same data, never with a fixed threshold.

What is compared. Each parcel's scans (up to ``now``) are cut into *stays*, each with the
time it began and the time it ended (the next step; still open when the parcel is there
at ``now``):

- **customs backlog**: the stay in customs (arrival in China to customs release or any
  later scan), at one port of entry for one international carrier (the scans' location,
  read in English with ``toolkit.tracking.gloss``, and the carrier that reports them);
- **handover backlog**: from customs release to the first domestic scan, at the same
  office and carrier;
- **hub stall**: a parcel's run of domestic scans at one place, to its next scan
  elsewhere or at a later stage (the domestic carrier and the scans' location; a scan
  without one takes the parcel's previous named location);
- **carrier not answering**: from any scan by a carrier to the next scan, for that
  carrier wherever the parcel is, per port of entry of the parcels for a domestic
  carrier's scans (an outage of its system stops the lanes it serves from a port, at every
  hub at once); its usual gap is taken per milestone.

The method, for each (kind, place), on the place's own history in the same data:

1. **Usual dwell.** From the stays that already ended there (the last weeks), the place's
   ``QUANTILE`` (75th percentile) dwell ``q`` (per milestone for a carrier, where it has
   ``MIN_HISTORY`` of them), and a Kaplan-Meier curve of its dwell
   (``toolkit.diagnosis.eta.GroupedKM``; stays still open count as censored). A place
   whose ended stays are fewer than ``MIN_HISTORY``, or whose history does not reach back
   half of ``HISTORY_DAYS``, is not judged: no history, no incident.
2. **Overdue test.** Every stay *crosses* at ``begin + q`` and is *overdue* if it had not
   ended by then (settled the moment it happens, so past days are as complete as today).
   For windows of one and of two days ending at ``now``, 12 hours before, ... up to
   ``LOOKBACK_DAYS`` back, the overdue count among the window's crossings is tested
   against the place's own overdue share in the ``HISTORY_DAYS`` before the window by a
   one-sided binomial test. That share is scaled by the change seen at the other places
   of the same kind over the same days, so a rise everywhere (a data-wide change) is no
   one place's incident.
3. **Release-deficit test**. For the same kind of windows, the
   number of parcels the place let through is compared with what its Kaplan-Meier curve
   says it would have let through of the parcels waiting there (each waiting parcel's
   chance to leave within the window given how long it had already waited; parcels
   already past 98 % of the usual stays are not expected out), scaled by the other
   places' pace in the same days against their own curves (up or down): a one-sided
   Poisson test of the shortfall. A stall shows here as soon as the place's usual
   releases fail to come, before any parcel is overdue. For a carrier a "release" is the
   next scan, and its stuck parcels are those silent since the start.
4. **Multiple testing.** Each place's smallest p-value is Bonferroni-adjusted over the
   windows tried and over its two tests; Benjamini-Hochberg then runs, at ``FDR``, over
   every place that could be reported at all: enough history, and in some window enough
   parcels due (or expected out) that ``MIN_PARCELS`` more than usual were possible (a
   place too small for that cannot be a false discovery, so it is not counted: Tarone's
   refinement for discrete tests). Its level is set so that incident-free generated
   worlds see far fewer than one false incident per 10,000 parcels (``bench/incidents.py``),
   the windows being strongly correlated (the Bonferroni factor is conservative): at 0.4
   they saw 0.11 per 10,000 over six such worlds, against 0.07 at 0.2, and incidents of
   25+ parcels on six worlds not looked at before were found within two days 92% of the
   time (90% at 0.2). A place is reported when it passes, at least ``MIN_PARCELS`` more
   parcels are overdue (or missing) than usual and the ratio to usual is at least
   ``MIN_RATIO`` (``DEFICIT_RATIO``).
5. **Start and parcels.** For an overdue alarm, a Bernoulli CUSUM over the place's
   crossings in time order (usual share against the window's) gives the change point; the
   incident's parcels are the overdue stays after it that are still open at ``now``; its
   start is the place's last release before the first stuck parcel was due, but no later
   than when half of those parcels had come (a city's hub that also delivers there keeps
   releasing some) and no earlier than the first one's arrival. For a deficit alarm, the
   parcels are those waiting there that were expected out and have by now waited longer
   than most of the place's stays take (``STUCK_SURVIVAL``: past its median; one that came
   in since is only waiting, as on any day), and the start is where the place's releases
   in the window fell furthest behind its usual pace (a change point on the releases). At
   a customs office or handover point, open stays that began more than ``q`` before the
   start are stragglers of their own (a busy office always has some), not the incident's.
   For a carrier, the start is the time by which 90 % of its stuck parcels had their last
   scan.
6. **One incident, one row.** The two tests of a place give one row (the smaller p-value,
   the parcels of both). A carrier alarm and the alarms of that carrier's places that share
   its parcels are one incident: the carrier's when it is silent beyond its port of
   entry's city as well (the release test on its parcels waiting elsewhere, Poisson p at
   most ``BEYOND_P``), or when the hubs holding its parcels still take in parcels after
   the carrier went silent and let them go at their usual pace, or take in none at all (a
   stalled hub keeps receiving parcels and lets none go); the places' otherwise when they
   hold at least half of its parcels (a stalled hub at the port makes its carrier's lane
   look silent too).

Columns: ``kind``, ``where`` (readable), ``carrier`` (code), ``lane`` (origin countries →
destination provinces of the stuck parcels, from ``parcels``), ``place`` (the place's
name; the carrier's name for a carrier), ``start`` (UTC), ``parcels``, ``parcel_ids``
(a tuple), ``expected`` and ``observed`` with their ``unit``: for the overdue test the
usual and the window's share of crossings that are overdue (fractions 0..1), for the
release test the parcels the place would usually have let through in the window and those
it did; ``usual_dwell_days`` (``q`` in days),
``due`` and ``overdue`` (the window's crossings and overdue ones, or expected and seen
releases), ``p_value`` (adjusted over windows and tests, before Benjamini-Hochberg),
``expected_end`` (``now`` plus the days the place needs at its usual release rate to let
the stuck parcels through, if it resumed now; NaT for a carrier or a place with no
releases on record) and ``evidence`` (one English sentence: place, counts, usual against
now, start, p-value).

An incident stays reported while its parcels are stuck and its window is within
``LOOKBACK_DAYS``; older stalls are left to the parcels' own diagnoses.

``diagnoses`` (``diagnose_all``'s output) is optional: when given, its ``category``
says which parcels are on a customs hold (left out of the customs counts: a hold is one
parcel's matter), instead of reading that again from the scans.

All steps are array operations over the scans (one sort, a few group-bys); the per-place
loop runs only over places, never over parcels.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from toolkit.diagnosis.diagnose import _check_events
from toolkit.diagnosis.eta import DOMESTIC_STAGE, MILESTONE_STAGE, NS_PER_DAY, STAGES, GroupedKM
from toolkit.model import CARRIERS, MILESTONES, Category, Milestone, require_columns
from toolkit.times import utc_now

__all__ = ["COLUMNS", "KINDS", "detect", "incident_of", "scope_incidents"]

KINDS = ("customs backlog", "handover backlog", "hub stall", "carrier not answering")
CUSTOMS, HANDOVER, HUB, CARRIER = range(4)
COLUMNS = (
    "kind",
    "where",
    "carrier",
    "lane",
    "place",
    "start",
    "parcels",
    "parcel_ids",
    "expected",
    "observed",
    "unit",
    "usual_dwell_days",
    "due",
    "overdue",
    "p_value",
    "expected_end",
    "evidence",
)

QUANTILE = 0.75  # the usual dwell a stay is overdue past
WINDOW_DAYS = 2.0  # a window of crossings: an incident shows within two days of its start
STEP_DAYS = 0.5  # windows tried end now, 12 hours ago, ... (ongoing incidents that began
LOOKBACK_DAYS = 5.0  # up to five days ago stay reported while their parcels are stuck)
HISTORY_DAYS = 14.0  # the place's own past: two weeks of crossings before each window
MIN_HISTORY = 30  # ended stays needed to know a place's usual dwell
MIN_BASELINE = 20  # baseline crossings needed to know a place's usual overdue share
FDR = 0.4  # Benjamini-Hochberg false discovery rate over the places tested
MIN_PARCELS = 5  # an incident is at least this many more overdue parcels than usual
MIN_RATIO = 1.5  # and an overdue share at least this many times the usual one
DEFICIT_WINDOW_DAYS = 2.0  # releases counted over two days
DEFICIT_RATIO = 2.0  # a place lets through at most half the parcels it usually would
LONG_QUANTILE = 0.98  # of a place's ended stays: longer waits are not the place's pace
STUCK_SURVIVAL = 0.5  # a waiting parcel is stuck once most usual stays had ended by now
BEYOND_P = 0.01  # a carrier silent past its port's city too (Poisson p) stopped answering
UNIT = (
    f"share of the window's parcels past the place's usual {QUANTILE * 100:.0f}th-percentile dwell"
)
UNIT_RELEASED = "parcels let through in the window (expected: at the place's usual pace)"

_M = Milestone
_IX = {m: i for i, m in enumerate(MILESTONES)}
_ARRIVED, _RELEASED = STAGES.index("arrived"), STAGES.index("released")
_LAST_MILE = STAGES.index("last_mile")
_END = 9  # a scan that ends every stay (delivered, returned, exception)
_SCAN_STAGE = np.full(len(MILESTONES), -1, np.int64)
for _m, _s in MILESTONE_STAGE.items():
    _SCAN_STAGE[_IX[_m]] = _s
for _m in (_M.DELIVERED, _M.RETURNING, _M.RETURNED, _M.EXCEPTION):
    _SCAN_STAGE[_IX[_m]] = _END
_NEVER = np.iinfo(np.int64).max
_NONE = np.iinfo(np.int64).min
_CJK = re.compile(r"[\u3400-\u9fff]")
_COUNTRY_TAIL = re.compile(r"(?:\s+|^)(?:china mainland|china|cn|prc)$")
_EVENT_COLUMNS = ("parcel_id", "time_utc", "milestone", "leg", "carrier", "location")


def _empty() -> pd.DataFrame:
    """The result with no incident: the columns, no rows."""
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    for col in ("start", "expected_end"):
        frame[col] = pd.Series(dtype="datetime64[ns, UTC]")
    for col in ("parcels", "due", "overdue"):
        frame[col] = pd.Series(dtype=np.int64)
    for col in ("expected", "observed", "usual_dwell_days", "p_value"):
        frame[col] = pd.Series(dtype=float)
    return frame


# ---------------------------------------------------------------- places


def place_name(text: object) -> str:
    """A scan location as a place: English (Chinese read with gloss), without the country
    ("上海", "SHANGHAI, CHINA" and "Shanghai - CHINA MAINLAND" are all "Shanghai");
    "" for a blank."""
    if not isinstance(text, str) or not text.strip():
        return ""
    s = text.strip()
    if _CJK.search(s):
        from toolkit.tracking.gloss import gloss

        s = gloss(s) or s
    s = re.split(r",|\s-\s|\(", s)[0].strip().casefold()
    s = _COUNTRY_TAIL.sub("", s).strip(" .-")
    return s.title() if s else ""


def _place_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Place code of each location (-1 for blank) and the place names."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    names = np.array([place_name(u) for u in uniques], dtype=object)
    pcodes, pnames = pd.factorize(pd.Series(names, dtype=object), use_na_sentinel=True)
    pnames = np.asarray(pnames, dtype=object)
    blank = [i for i, n in enumerate(pnames) if n == ""]
    lookup = np.append(pcodes, -1)
    if blank:
        lookup[np.isin(lookup, blank)] = -1
    return lookup[codes], pnames


# ---------------------------------------------------------------- stays


def _first_per_parcel(
    pcode: np.ndarray, mask: np.ndarray, n: int, values: np.ndarray, last: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Per parcel, the value at its first (or last) row of ``mask`` (rows sorted by parcel,
    then time; -1 where it has none) and whether it has one."""
    rows = np.flatnonzero(mask)
    out = np.full(n, -1, np.int64)
    if not len(rows):
        return out, np.zeros(n, bool)
    p = pcode[rows]
    keep = np.r_[p[1:] != p[:-1], True] if last else np.r_[True, p[1:] != p[:-1]]
    has = np.zeros(n, bool)
    out[p[keep]] = values[rows[keep]]
    has[p[keep]] = True
    return out, has


def _stays(ev: dict, n: int, hold: np.ndarray) -> list[dict]:
    """Stays of each kind: arrays ``group`` (place key), ``sub`` (usual-dwell key),
    ``begin``, ``end`` (_NEVER while open), ``parcel`` and ``open``."""
    t, pc, stage, carrier, place = ev["t"], ev["p"], ev["stage"], ev["carrier"], ev["place"]
    out = []
    rows_all = np.arange(len(t))
    nplaces = len(ev["place_names"]) + 1
    port = np.full(n, nplaces - 1, np.int64)  # each parcel's port of entry (last: unknown)
    # customs and handover: one stay per parcel, at the office and carrier of its scans there
    for kind, here, later in (
        (CUSTOMS, _ARRIVED, _RELEASED),
        (HANDOVER, _RELEASED, DOMESTIC_STAGE),
    ):
        begin, has = _first_per_parcel(pc, stage == here, n, t)
        after = (stage >= later) & (stage != -1)
        row_first_here, _ = _first_per_parcel(pc, stage == here, n, rows_all)
        # the first later scan after the stay began
        cand = after & has[pc] & (t >= begin[pc])
        end, ended = _first_per_parcel(pc, cand, n, t)
        end = np.where(ended, end, _NEVER)
        office_mask = ((stage == _ARRIVED) | (stage == here)) & (place >= 0)
        office, _ = _first_per_parcel(pc, office_mask, n, place, last=True)
        who = np.where(has, carrier[np.maximum(row_first_here, 0)], -1)
        ok = has & (office >= 0) & (who >= 0)
        if kind == CUSTOMS:
            ok &= ~(hold & (end == _NEVER))
            port = np.where(office >= 0, office, port)
        idx = np.flatnonzero(ok)
        out.append(
            {
                "kind": kind,
                "group": who[idx] * nplaces + office[idx],
                "sub": np.zeros(len(idx), np.int64),
                "begin": begin[idx],
                "end": end[idx],
                "parcel": idx,
            }
        )
    # scan to next scan: hubs (domestic stage, by place) and carriers (any moving stage)
    same_next = np.r_[pc[1:] == pc[:-1], False]
    nxt = np.where(same_next, np.r_[t[1:], 0], _NEVER)
    # a scan without a location takes the parcel's previous named one
    named = np.where(place >= 0, rows_all, -1)
    prev = np.maximum.accumulate(named)
    filled = np.where((prev >= 0) & (pc[np.maximum(prev, 0)] == pc), place[np.maximum(prev, 0)], -1)
    # hubs: a stay is the run of a parcel's domestic scans at one place, ended by its next
    # scan elsewhere or at a later stage
    hub = (stage == DOMESTIC_STAGE) & ev["domestic"] & (filled >= 0)
    hub_key = np.where(hub, carrier * nplaces + filled, -1)
    same_prev = np.r_[False, (pc[1:] == pc[:-1]) & (hub_key[1:] == hub_key[:-1])]
    run_start = hub & ~same_prev
    run_id = np.cumsum(run_start) - 1
    last_of_run = hub & ~np.r_[same_prev[1:], False]
    run_end = np.full(int(run_start.sum()), _NEVER, np.int64)
    run_end[run_id[last_of_run]] = nxt[last_of_run]
    starts = np.flatnonzero(run_start)
    out.append(
        {
            "kind": HUB,
            "group": hub_key[starts],
            "sub": np.zeros(len(starts), np.int64),
            "begin": t[starts],
            "end": run_end,
            "parcel": pc[starts],
        }
    )
    # carriers: a domestic carrier's scans per port of entry of the parcels (an outage of
    # its system shows on the lanes it serves from a port); other scans per carrier
    moving = (stage >= 1) & (stage <= _LAST_MILE) & (carrier >= 0)
    rows = np.flatnonzero(moving)
    lane = np.where(ev["domestic"][rows], port[pc[rows]], nplaces - 1)
    out.append(
        {
            "kind": CARRIER,
            "group": carrier[rows] * nplaces + lane,
            "sub": ev["ms"][rows],
            "begin": t[rows],
            "end": nxt[rows],
            "parcel": pc[rows],
            # waiting away from the port of entry (past its city's hubs)
            "away": (lane != nplaces - 1) & (filled[rows] != lane),
        }
    )
    return out


# ---------------------------------------------------------------- statistics


def _quantiles(
    keys: np.ndarray, values: np.ndarray, q: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per distinct key: the key, the q-quantile of its values (lower) and how many there are."""
    if not len(keys):
        return keys, values.astype(float), np.zeros(0, np.int64)
    order = np.lexsort((values, keys))
    k, v = keys[order], values[order]
    starts = np.r_[0, np.flatnonzero(k[1:] != k[:-1]) + 1]
    counts = np.diff(np.r_[starts, len(k)])
    pick = starts + np.floor(q * (counts - 1)).astype(np.int64)
    return k[starts], v[pick].astype(float), counts


def _binom_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed in log space."""
    if k <= 0:
        return 1.0
    if k > n or p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    j = np.arange(k, n + 1, dtype=float)
    head = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
    head += k * math.log(p) + (n - k) * math.log1p(-p)
    steps = np.log((n - j[:-1]) / (j[:-1] + 1)) + math.log(p) - math.log1p(-p)
    logs = head + np.r_[0.0, np.cumsum(steps)]
    top = logs.max()
    return float(min(1.0, math.exp(top) * np.exp(logs - top).sum()))


def _bh(p: np.ndarray, level: float, tested: int = 0) -> np.ndarray:
    """Benjamini-Hochberg: which hypotheses are rejected at false discovery rate ``level``;
    ``tested`` counts the hypotheses tested when only some p-values are given (the rest
    are taken as not rejected)."""
    n = len(p)
    if not n:
        return np.zeros(0, bool)
    m = max(n, tested)
    order = np.argsort(p, kind="stable")
    passed = p[order] <= level * np.arange(1, n + 1) / m
    out = np.zeros(n, bool)
    if passed.any():
        out[order[: np.flatnonzero(passed).max() + 1]] = True
    return out


def _cusum_from(overdue: np.ndarray, p0: float, p1: float) -> int:
    """Index where a Bernoulli CUSUM (share p0 before, p1 after) puts the change."""
    p0 = min(max(p0, 1e-4), 0.98)
    p1 = min(max(p1, p0 * 1.5, 1e-3), 0.99)
    up, down = math.log(p1 / p0), math.log((1 - p1) / (1 - p0))
    score = np.where(overdue, up, down)
    s = np.zeros(len(score) + 1)
    for i, x in enumerate(score):  # a place's crossings: hundreds at most
        s[i + 1] = max(0.0, s[i] + x)
    peak = int(np.argmax(s))
    zero = np.flatnonzero(s[: peak + 1] == 0)
    return int(zero.max()) if len(zero) else 0


# ---------------------------------------------------------------- the detector


def _read(events: pd.DataFrame, now_ns: int, hold_ids: pd.Series | None) -> dict | None:
    """The scans up to now, as sorted code arrays; None when there are none."""
    t = events["time_utc"].dt.as_unit("ns").array.asi8
    keep = t <= now_ns
    keep &= t >= now_ns - int((LOOKBACK_DAYS + WINDOW_DAYS + HISTORY_DAYS + 30) * NS_PER_DAY)
    if not keep.any():
        return None
    rows = np.flatnonzero(keep) if not keep.all() else None

    def col(name: str) -> pd.Series:
        s = events[name]
        return s.iloc[rows] if rows is not None else s

    t = t[rows] if rows is not None else t
    pcodes, pids = pd.factorize(col("parcel_id"))
    mcodes, muniq = pd.factorize(col("milestone"))
    ms = np.array([_IX[m] for m in muniq], np.int64)[mcodes]
    ccodes, cuniq = pd.factorize(col("carrier").astype("string").str.lower())
    lcodes, luniq = pd.factorize(col("leg"))
    dom_codes = [i for i, u in enumerate(luniq) if u == "domestic"]
    domestic = lcodes == dom_codes[0] if dom_codes else np.zeros(len(t), bool)
    place, place_names = _place_codes(col("location"))
    order = np.lexsort((t, pcodes))
    stage = _SCAN_STAGE[ms]
    stage = np.where(domestic & (stage >= 0) & (stage < DOMESTIC_STAGE), DOMESTIC_STAGE, stage)
    n = len(pids)
    hold = np.zeros(n, bool)
    if hold_ids is None:  # a hold no later release or domestic scan cleared
        hold_t = np.where(ms == _IX[_M.CUSTOMS_HOLD], t, _NONE)
        post = np.where((stage >= _RELEASED) & (stage != -1), t, _NONE)
        last_hold = np.full(n, _NONE)
        last_post = np.full(n, _NONE)
        np.maximum.at(last_hold, pcodes, hold_t)
        np.maximum.at(last_post, pcodes, post)
        hold = (last_hold != _NONE) & (last_hold > last_post)
    else:
        hold = pd.Index(pids).isin(hold_ids)
    return {
        "t": t[order],
        "p": pcodes[order],
        "ms": ms[order],
        "stage": stage[order],
        "carrier": ccodes[order].astype(np.int64),
        "domestic": domestic[order],
        "place": place[order],
        "place_names": place_names,
        "carriers": np.asarray(cuniq, dtype=object),
        "ids": np.asarray(pids, dtype=object),
        "hold": hold,
        "n": n,
    }


def _test_groups(stays: dict, now_ns: int, eligible: set | None = None) -> list[dict]:
    """The (kind, place) groups whose overdue share rose in some recent window: one dict
    per group tested (the best window's counts and its p-value, Bonferroni-adjusted over
    the windows tried)."""
    begin, end, group, sub = stays["begin"], stays["end"], stays["group"], stays["sub"]
    if not len(begin):
        return []
    day = NS_PER_DAY
    step = int(STEP_DAYS * day)
    nwin = round(WINDOW_DAYS / STEP_DAYS)  # bins in a window
    nbase = round(HISTORY_DAYS / STEP_DAYS)  # bins in a baseline
    nlook = round(LOOKBACK_DAYS / STEP_DAYS)  # window ends tried: now, now - 12 h, ...
    nbins = nlook + nwin + nbase
    t0 = now_ns - nbins * step
    dwell = end - begin
    done = (end != _NEVER) & (end <= now_ns) & (begin >= t0 - 30 * day)
    # the usual dwell: per place (and per milestone for carriers, where known)
    gk, gq, gn = _quantiles(group[done], dwell[done], QUANTILE)
    q = np.full(len(begin), np.nan)
    if len(gk):
        pos = np.minimum(np.searchsorted(gk, group), len(gk) - 1)
        enough = (gk[pos] == group) & (gn[pos] >= MIN_HISTORY)
        q[enough] = gq[pos[enough]]
        if stays["kind"] == CARRIER:
            sk_key = group * len(MILESTONES) + sub
            sk, sq, sn = _quantiles(sk_key[done], dwell[done], QUANTILE)
            if len(sk):
                spos = np.minimum(np.searchsorted(sk, sk_key), len(sk) - 1)
                sub_ok = enough & (sk[spos] == sk_key) & (sn[spos] >= MIN_HISTORY)
                q[sub_ok] = sq[spos[sub_ok]]
    judged = ~np.isnan(q)
    cross = np.where(judged, begin + np.nan_to_num(q).astype(np.int64), _NEVER)
    overdue = end > cross
    stuck = overdue & (end == _NEVER)
    inside = judged & (cross > t0) & (cross <= now_ns)
    if not inside.any():
        return []
    codes, inv = np.unique(group[inside], return_inverse=True)
    ng = len(codes)
    b = np.minimum((cross[inside] - t0 - 1) // step, nbins - 1)
    key = inv * nbins + b

    def per_bin(mask: np.ndarray) -> np.ndarray:
        counts = np.bincount(key[mask], minlength=ng * nbins).reshape(ng, nbins)
        return np.concatenate([np.zeros((ng, 1), np.int64), np.cumsum(counts, axis=1)], axis=1)

    all_c, over_c, stuck_c = (
        per_bin(np.ones(len(key), bool)),
        per_bin(overdue[inside]),
        per_bin(stuck[inside]),
    )
    # windows of one and of two days, ending now, 12 hours ago, ...; the baseline of each is
    # the nbase bins before it
    lengths = np.repeat([nwin // 2, nwin], nlook)
    ends = np.tile(nbins - np.arange(nlook), 2)
    starts = ends - lengths
    n_r = all_c[:, ends] - all_c[:, starts]
    x_r = over_c[:, ends] - over_c[:, starts]
    s_r = stuck_c[:, ends] - stuck_c[:, starts]
    n_b = all_c[:, starts] - all_c[:, starts - nbase]
    x_b = over_c[:, starts] - over_c[:, starts - nbase]
    # the same days at the other places of this kind: a rise everywhere is no place's incident
    others_r = (x_r.sum(axis=0) - x_r + 0.5) / (n_r.sum(axis=0) - n_r + 1.0)
    others_b = (x_b.sum(axis=0) - x_b + 0.5) / (n_b.sum(axis=0) - n_b + 1.0)
    trend = np.clip(others_r / others_b, 1.0, None)
    usual = np.minimum((x_b + 0.5) / (n_b + 1.0) * trend, 0.95)
    seen = x_r / np.maximum(n_r, 1)
    # a place's history must reach back at least half the baseline before the window
    first_bin = np.full(ng, nbins)
    np.minimum.at(first_bin, inv, b)
    worth = (n_b >= MIN_BASELINE) & (first_bin[:, None] <= (starts - nbase // 2)[None, :])
    if eligible is not None:  # could be reported at all, whatever its counts: see detect
        eligible.update(codes[(worth & (n_r * (1 - usual) >= MIN_PARCELS)).any(axis=1)].tolist())
    worth &= s_r >= MIN_PARCELS
    worth &= (x_r - n_r * usual >= MIN_PARCELS) & (seen >= MIN_RATIO * usual)
    alarms = []
    for g in np.flatnonzero(worth.any(axis=1)):
        best = None
        for k in np.flatnonzero(worth[g]):
            p = _binom_sf(int(x_r[g, k]), int(n_r[g, k]), float(usual[g, k]))
            if best is None or p < best[0]:
                best = (p, k)
        p, k = best
        w_end = now_ns - int(nbins - ends[k]) * step
        w_start = w_end - int(lengths[k]) * step
        rows = np.flatnonzero(inside)[inv == g]
        alarms.append(
            {
                "kind": stays["kind"],
                "group": int(codes[g]),
                "p": min(1.0, p * len(ends)),
                "p_raw": p,
                "due": int(n_r[g, k]),
                "overdue": int(x_r[g, k]),
                "usual": float(usual[g, k]),
                "seen": float(seen[g, k]),
                "window": (w_start, w_end),
                "rows": rows[cross[rows] > w_start - nbase * step],
                "cross": cross,
                "overdue_flags": overdue,
                "q": float(np.nanmedian(q[rows])),
            }
        )
    return alarms


def _poisson_cdf(k: int, mean: float) -> float:
    """P(X <= k) for X ~ Poisson(mean)."""
    if mean <= 0:
        return 1.0
    j = np.arange(0, k + 1, dtype=float)
    logs = -mean + j * math.log(mean) - np.array([math.lgamma(x + 1) for x in j])
    return float(min(1.0, np.exp(logs).sum()))


def _deficit_groups(stays: dict, now_ns: int, eligible: set | None = None) -> list[dict]:
    """The places that let through far fewer parcels than their own history says they
    should have in some recent day: one dict per place tested."""
    begin, end, group = stays["begin"], stays["end"], stays["group"]
    if not len(begin):
        return []
    day = NS_PER_DAY
    step = int(STEP_DAYS * day)
    width = int(DEFICIT_WINDOW_DAYS * day)
    nlook = round(LOOKBACK_DAYS / STEP_DAYS)
    cut = now_ns - (nlook - 1) * step - width  # history ends where the first window begins
    codes, gidx = np.unique(group, return_inverse=True)
    hist = (begin < cut) & (begin >= cut - int(HISTORY_DAYS * day))
    km = GroupedKM(
        gidx[hist],
        (np.minimum(end[hist], cut) - begin[hist]) / day,
        end[hist] <= cut,
        len(codes),
    )
    first = np.full(len(codes), _NEVER, np.int64)
    np.minimum.at(first, gidx[hist], begin[hist])
    known = (km.n >= MIN_HISTORY) & (first <= cut - int(HISTORY_DAYS / 2 * day))
    # the longest usual stay: the LONG_QUANTILE of the stays that ended (a parcel waiting
    # longer is lost or held on its own, and the curve's tail of open stays says little)
    over = hist & (end <= cut)
    long = np.full(len(codes), np.inf)
    lk, lq, _ = _quantiles(gidx[over], end[over] - begin[over], LONG_QUANTILE)
    long[lk] = lq
    # stays past the longest usual one at every window's start are expected in none
    live = (end > cut) & (begin < now_ns) & known[gidx] & (cut - begin <= long[gidx])
    rows = np.flatnonzero(live)
    if not len(rows):
        return []

    def release_chance(g: np.ndarray, b: np.ndarray, lo: int, hi: int):
        """Whether each stay begun at ``b`` is expected out at all in (lo, hi] (not past
        nearly all the usual stays by lo), and its chance to end there given it lasted to lo."""
        s0 = km.survival(g, (np.maximum(lo, b) - b) / day)
        s1 = km.survival(g, (hi - b) / day)
        usual = (s0 >= 0.02) & (lo - b <= long[g])
        return usual, np.where(usual, 1.0 - s1 / np.maximum(s0, 1e-9), 0.0)

    # by place, latest first: the curves are then searched in order (waits ascending)
    rows = rows[np.lexsort((-begin[rows], gidx[rows]))]
    g, b0, e0 = gidx[rows], begin[rows], end[rows]
    # windows of one and of two days, ending now, 12 hours ago, ...
    spans = [(now_ns - k * step, w) for w in (width // 2, width) for k in range(nlook)]
    expected = np.zeros((len(codes), len(spans)))
    observed = np.zeros((len(codes), len(spans)), np.int64)
    # a carrier's parcels scanned during the window start new gaps that end within it: only
    # those already waiting when the window began are counted (a place's arrivals are)
    cohort = stays["kind"] == CARRIER
    for k, (hi, w) in enumerate(spans):
        lo = hi - w
        here = (b0 < (lo if cohort else hi)) & (e0 > lo)
        usual, chance = release_chance(g[here], b0[here], lo, hi)
        expected[:, k] = np.bincount(g[here], weights=chance, minlength=len(codes))
        out = usual & (e0[here] <= hi)
        observed[:, k] = np.bincount(g[here][out], minlength=len(codes))
    # the same days at the other places of this kind: a slowdown everywhere (or a data-wide
    # change) is no place's incident, so the expectation follows the others' pace, in
    # either direction (when the others run faster than their past, so would this place)
    others = (observed.sum(axis=0) - observed + 1.0) / (expected.sum(axis=0) - expected + 1.0)
    expected = expected * others
    if eligible is not None:
        eligible.update(codes[(expected >= MIN_PARCELS).any(axis=1)].tolist())
    worth = (expected - observed >= MIN_PARCELS) & (observed * DEFICIT_RATIO <= expected)
    alarms = []
    for gi in np.flatnonzero(worth.any(axis=1)):
        best = min(
            (_poisson_cdf(int(observed[gi, k]), float(expected[gi, k])), k)
            for k in np.flatnonzero(worth[gi])
        )
        p, k = best
        hi, w = spans[k]
        lo = hi - w
        mine = np.flatnonzero(group == codes[gi])
        b1, e1 = begin[mine], end[mine]
        # start: where the place's releases fell furthest behind its usual pace in the
        # window (a change point on the releases: a busy place still lets some through)
        counted = (e1 != _NEVER) & (e1 > lo) & (e1 <= hi)
        if cohort:
            counted &= b1 < lo
        rel = np.sort(e1[counted])
        cands = np.r_[lo, rel]
        after = len(rel) - np.arange(len(cands))
        short = expected[gi, k] / (hi - lo) * (hi - cands) - after
        start = int(cands[int(np.argmax(short))])
        place = np.full(len(mine), gi)
        usual, chance = release_chance(place, b1, lo, hi)
        stuck = (e1 == _NEVER) & (b1 < hi) & usual
        # stuck: waited past the place's usual (median) stay by now; a parcel that came in
        # since is only waiting, as it would on any day
        stuck &= km.survival(place, (now_ns - b1) / day) <= STUCK_SURVIVAL
        beyond = 1.0
        if cohort:  # a carrier's stuck parcels: silent since the start
            stuck &= b1 <= start
            # and is it silent past the port's city too (else a hub there stalled)?
            waiting = (b1 < lo) & (e1 > lo) & usual & stays["away"][mine]
            beyond = _poisson_cdf(
                int((waiting & (e1 <= hi)).sum()), float(np.where(waiting, chance, 0.0).sum())
            )
        if stuck.sum() < max(MIN_PARCELS, 1):
            continue
        q90 = km.time_to_reach(np.array([gi]), np.array([1 - QUANTILE]))[0]
        alarms.append(
            {
                "kind": stays["kind"],
                "group": int(codes[gi]),
                "p": min(1.0, p * len(spans)),
                "test": "deficit",
                "due": round(expected[gi, k]),
                "overdue": int(observed[gi, k]),
                "usual": float(expected[gi, k]),
                "seen": float(observed[gi, k]),
                "window": (lo, hi),
                "stuck_rows": mine[stuck],
                "beyond": beyond,
                "start": max(start, int(b1[stuck].min())),
                "q": float(q90 * day) if not np.isnan(q90) else float("nan"),
                "released_per_day": float(
                    (
                        (end > cut - int(HISTORY_DAYS * day)) & (end <= cut) & (group == codes[gi])
                    ).sum()
                    / HISTORY_DAYS
                ),
            }
        )
    return alarms


def detect(
    events: pd.DataFrame,
    parcels: pd.DataFrame,
    now: object,
    diagnoses: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Lane incidents at ``now``: one row per place (or carrier) whose parcels stopped.

    ``events`` is the events table (``parcel_id``, ``time_utc``, ``milestone``, ``leg``,
    ``carrier`` and ``location`` are read; scans after ``now`` are not), ``parcels`` the
    parcels table (``parcel_id``; ``origin_country`` and ``destination_province`` name
    the lane when present), ``diagnoses`` optionally ``diagnose_all``'s output. The
    method and the columns are described in the module's docstring.
    """
    where = "incidents.detect"
    require_columns(events, _EVENT_COLUMNS, "events", where)
    require_columns(parcels, ("parcel_id",), "parcels", where)
    hold_ids = None
    if diagnoses is not None:
        require_columns(diagnoses, ("parcel_id", "category"), "diagnoses", where)
        cat = diagnoses["category"].astype(str)
        hold_ids = diagnoses.loc[(cat == Category.CUSTOMS_HOLD).to_numpy(bool), "parcel_id"]
    now = utc_now(now)
    if not len(events):
        return _empty()
    _check_events(events)
    ev = _read(events, now.value, hold_ids)
    if ev is None:
        return _empty()
    all_stays = _stays(ev, ev["n"], ev["hold"])
    alarms: list[tuple[dict, dict]] = []
    # places (and carriers) that could be reported at all: enough history, and enough
    # parcels due in some window that MIN_PARCELS more than usual were possible (a place
    # too small to pass that cannot be a false discovery, so it is not counted; Tarone)
    tested = 0
    for stays in all_stays:
        eligible: set[int] = set()
        found = _test_groups(stays, now.value, eligible)
        found += _deficit_groups(stays, now.value, eligible)
        tested += len(eligible)
        for alarm in found:
            alarm["p"] = min(1.0, alarm["p"] * 2)  # two tests of each place or carrier lane
            alarms.append((alarm, stays))
    if not alarms:
        return _empty()
    significant = _bh(np.array([a["p"] for a, _ in alarms]), FDR, tested)
    rows = []
    for (alarm, stays), ok in zip(alarms, significant, strict=True):
        if not ok:
            continue
        row = _incident(alarm, stays, ev, now, alarm["usual"], alarm["seen"])
        if row is not None:
            rows.append(row)
    rows = _one_per_incident(_best_per_place(rows), now.value)
    if not rows:
        return _empty()
    frame = pd.DataFrame([{c: r[c] for c in COLUMNS} for r in rows], columns=list(COLUMNS))
    frame = _with_lanes(frame, parcels)
    frame["start"] = pd.to_datetime(frame["start"], utc=True)
    frame["expected_end"] = pd.to_datetime(frame["expected_end"], utc=True)
    frame = frame.sort_values(["start", "kind"], kind="stable").reset_index(drop=True)
    return frame


def _incident(alarm: dict, stays: dict, ev: dict, now: pd.Timestamp, usual: float, seen: float):
    """The row of one alarm: its stuck parcels, start, where and evidence (None if too few)."""
    kind = alarm["kind"]
    deficit = alarm.get("test") == "deficit"
    if deficit:
        stuck_rows = alarm["stuck_rows"]
        start = alarm["start"]
    else:
        rows = alarm["rows"]
        cross = alarm["cross"][rows]
        order = np.argsort(cross, kind="stable")
        rows, cross = rows[order], cross[order]
        overdue = alarm["overdue_flags"][rows]
        cut = _cusum_from(overdue, usual, seen)
        end = stays["end"][rows]
        w_start, w_end = alarm["window"]
        near = cross > w_start - (w_end - w_start)  # no earlier than a window before the alarm's
        stuck = (np.arange(len(rows)) >= cut) & overdue & (end == _NEVER) & near
        stuck_rows = rows[stuck]
        if len(stuck_rows) < MIN_PARCELS:
            return None
        # the start is read from the parcels that made the alarm (crossed by its window's end)
        made = stuck & (cross <= w_end)
        if not made.any():
            return None
        begin = stays["begin"][rows[made]]
        first_cross = int(cross[made].min())
        if kind == CARRIER:
            start = int(np.quantile(begin, 0.9))
        else:
            group_rows = stays["group"] == alarm["group"]
            ends = stays["end"][group_rows]
            before = ends[(ends <= first_cross) & (ends != _NEVER)]
            start = int(before.max()) if len(before) else int(begin.min())
            # a place that still lets some parcels through (a city's hub also delivering
            # there) is not its start: no later than when half the stuck parcels had come
            start = min(start, int(np.median(begin)))
            start = max(start, int(begin.min()))
    if kind in (CUSTOMS, HANDOVER) and not np.isnan(alarm["q"]):
        # an office's stragglers that came a usual dwell or more before the start are their
        # own matter, not the incident's (a busy office always has some)
        stuck_rows = stuck_rows[stays["begin"][stuck_rows] >= start - int(alarm["q"])]
    parcel_idx = np.unique(stays["parcel"][stuck_rows])
    if len(parcel_idx) < MIN_PARCELS:
        return None
    day = NS_PER_DAY
    nplaces = len(ev["place_names"]) + 1
    group = alarm["group"]
    code = group // nplaces
    carrier_code = str(ev["carriers"][code]) if code >= 0 else ""
    carrier_name = CARRIERS[carrier_code].name if carrier_code in CARRIERS else carrier_code
    if kind == CARRIER:
        place = carrier_name
        port = group % nplaces
        if port == nplaces - 1:
            where = f"{carrier_name}, across its parcels in several places"
        else:
            where = f"{carrier_name}, its parcels from {ev['place_names'][port]}"
        what = "gap between scans"
    else:
        place = str(ev["place_names"][group % nplaces])
        where = {
            CUSTOMS: f"customs at {place} for {carrier_name}",
            HANDOVER: f"handover after clearance at {place} for {carrier_name}",
            HUB: f"{carrier_name} hub at {place}",
        }[kind]
        what = {CUSTOMS: "wait in customs", HANDOVER: "wait for the handover", HUB: "stay there"}[
            kind
        ]
    q_days = alarm["q"] / day
    expected_end = pd.NaT
    if kind != CARRIER:
        group_rows = stays["group"] == alarm["group"]
        ends = stays["end"][group_rows]
        w_start = alarm["window"][0]
        h0 = w_start - int(HISTORY_DAYS * day)
        released = int(((ends > h0) & (ends <= w_start)).sum())
        rate = released / HISTORY_DAYS
        if rate > 0:
            expected_end = now + pd.Timedelta(days=len(parcel_idx) / rate)
    start_ts = pd.Timestamp(start, tz="UTC")
    ids = tuple(str(i) for i in ev["ids"][parcel_idx])
    head = where[:1].upper() + where[1:]
    tail = (
        f"{len(ids)} parcels stuck since about {start_ts:%Y-%m-%d %H:%M} UTC (one-sided test "
        f"against its own {HISTORY_DAYS:g} days before, p = {alarm['p']:.1g})."
    )
    if deficit:
        evidence = (
            f"{head}: {alarm['overdue']} parcels let through "
            f"{_window_text(alarm['window'], now)} where its usual pace "
            f"would have let through about {alarm['usual']:.0f} of those waiting; {tail}"
        )
    else:
        evidence = (
            f"{head}: {alarm['overdue']} of the {alarm['due']} parcels due "
            f"{_window_text(alarm['window'], now)} went past the usual "
            f"{QUANTILE * 100:.0f}th-percentile {what} of {q_days:.1f} days (usually {usual:.0%} do, "
            f"here {seen:.0%}); {tail}"
        )
    return {
        "kind": KINDS[kind],
        "where": where,
        "carrier": carrier_code,
        "lane": "",
        "place": place,
        "start": start_ts,
        "parcels": len(ids),
        "parcel_ids": ids,
        "expected": round(usual, 4),
        "observed": round(seen, 4),
        "unit": UNIT_RELEASED if deficit else UNIT,
        "usual_dwell_days": round(q_days, 2),
        "due": alarm["due"],
        "overdue": alarm["overdue"],
        "p_value": alarm["p"],
        "expected_end": expected_end,
        "evidence": evidence,
        "_beyond": alarm.get("beyond", 1.0),
        "_hub": (stays, group) if kind == HUB else None,
    }


def _newcomers_flow(stays: dict, group: int, start: int, now_ns: int) -> bool | None:
    """Whether a place still takes in parcels and lets them through after ``start``, as a
    stalled hub does not: True when its arrivals since then stopped (fewer than
    1 / ``DEFICIT_RATIO`` of its usual daily arrivals) or the parcels that came since left
    at its usual pace (at least 1 / ``DEFICIT_RATIO`` of what its Kaplan-Meier curve of the
    ``HISTORY_DAYS`` before expects); False when they came and stayed; None when too few
    were expected either way (``MIN_PARCELS``) to tell."""
    day = NS_PER_DAY
    mine = stays["group"] == group
    begin, end = stays["begin"][mine], stays["end"][mine]
    h0 = start - int(HISTORY_DAYS * day)
    hist = (begin >= h0) & (begin < start)
    if hist.sum() < MIN_HISTORY:
        return None
    came = (begin >= start) & (begin < now_ns)
    usual_in = hist.sum() / HISTORY_DAYS * (now_ns - start) / day
    if usual_in >= MIN_PARCELS and came.sum() * DEFICIT_RATIO < usual_in:
        return True  # nothing comes in: the scans stopped, not the place
    km = GroupedKM(
        np.zeros(int(hist.sum()), np.int64),
        (np.minimum(end[hist], start) - begin[hist]) / day,
        end[hist] <= start,
        1,
    )
    b = begin[came]
    due = float((1.0 - km.survival(np.zeros(len(b), np.int64), (now_ns - b) / day)).sum())
    if due < MIN_PARCELS:
        return None
    left = int((end[came] <= now_ns).sum())
    return left * DEFICIT_RATIO >= due


def _window_text(window: tuple[int, int], now: pd.Timestamp) -> str:
    """A window in words ("in the last 2 days", "in the 2 days to 2026-11-18 04:00 UTC")."""
    days = (window[1] - window[0]) / NS_PER_DAY
    span = "day" if days == 1 else f"{days:g} days"
    if window[1] >= now.value:
        return f"in the last {span}"
    return f"in the {span} to {pd.Timestamp(window[1], tz='UTC'):%Y-%m-%d %H:%M} UTC"


def _best_per_place(rows: list[dict]) -> list[dict]:
    """One row per (kind, place): the one with the smallest p-value, naming the stuck
    parcels of both tests."""
    best: dict[tuple[str, str], dict] = {}
    for row in sorted(rows, key=lambda r: r["p_value"]):
        key = (row["kind"], row["where"])
        if key not in best:
            best[key] = row
            continue
        kept = best[key]
        ids = tuple(sorted(set(kept["parcel_ids"]) | set(row["parcel_ids"])))
        kept["parcel_ids"], kept["parcels"] = ids, len(ids)
        kept["_beyond"] = min(kept["_beyond"], row["_beyond"])  # a carrier's silence elsewhere
    return list(best.values())


def _one_per_incident(rows: list[dict], now_ns: int) -> list[dict]:
    """Merge a carrier alarm with the alarms of that carrier's places that share its stuck
    parcels. When the carrier is silent beyond its port of entry's city as well (its
    parcels waiting elsewhere let through far fewer scans than usual: Poisson p at most
    ``BEYOND_P``), or when the hubs holding its parcels still take in parcels that then
    leave at their usual pace, or take in none at all (``_newcomers_flow``: a stalled hub
    keeps receiving parcels and lets none go), it stopped answering: the place alarms
    sharing ``MIN_PARCELS`` of its parcels are not reported apart. Otherwise, when the
    places hold at least half of its parcels, the places stalled and the carrier alarm
    only echoes them."""
    carriers = [r for r in rows if r["kind"] == KINDS[CARRIER]]
    places = [r for r in rows if r["kind"] != KINDS[CARRIER]]
    drop: set[int] = set()
    for c in carriers:
        cids = set(c["parcel_ids"])
        mine = [p for p in places if p["carrier"] == c["carrier"] and cids & set(p["parcel_ids"])]
        if not mine:
            continue
        held = [p for p in mine if len(cids & set(p["parcel_ids"])) >= MIN_PARCELS]
        # a hub whose newcomers still come and leave (or whose arrivals stopped with the
        # carrier's scans) did not stall: the carrier's silence is the incident (asked
        # only when the silence beyond the port's city has not already said so)
        since = int(c["start"].value)
        silent = c["_beyond"] <= BEYOND_P or (
            bool(held)
            and all(
                p["_hub"] is not None and _newcomers_flow(*p["_hub"], since, now_ns) for p in held
            )
        )
        if silent:
            drop.update(id(p) for p in held)
        elif len(cids.difference(*(p["parcel_ids"] for p in mine))) <= 0.5 * len(cids):
            drop.add(id(c))
    return [r for r in rows if id(r) not in drop]


def _with_lanes(frame: pd.DataFrame, parcels: pd.DataFrame) -> pd.DataFrame:
    """The lane of each incident: origin countries → destination provinces of its parcels."""
    cols = [c for c in ("origin_country", "destination_province") if c in parcels.columns]
    table = parcels[["parcel_id", *cols]].copy()
    table["parcel_id"] = table["parcel_id"].astype(str)
    table = table.drop_duplicates("parcel_id").set_index("parcel_id")

    def names(values: pd.Series, what: str) -> str:
        counts = values.dropna().astype(str).str.strip().replace("", np.nan).dropna().value_counts()
        if counts.empty:
            return "?"
        top = list(counts.index[:2])
        more = len(counts) - len(top)
        return ", ".join(top) + (f" and {more} more {what}" if more else "")

    lanes = []
    for ids in frame["parcel_ids"]:
        sel = table.reindex(list(ids))
        origin = names(sel["origin_country"], "origins") if "origin_country" in sel else "?"
        dest = (
            names(sel["destination_province"], "provinces")
            if "destination_province" in sel
            else "?"
        )
        lanes.append(f"{origin} → {dest}")
    frame["lane"] = lanes
    return frame


def incident_of(incidents: pd.DataFrame | None, parcel_id: object) -> dict | None:
    """The incident (a row of ``detect``, as a dict) that lists this parcel, the one with the
    most parcels when several do; None when the parcel is in none."""
    if incidents is None or incidents.empty or "parcel_ids" not in incidents:
        return None
    pid = str(parcel_id)
    for _, row in incidents.sort_values("parcels", ascending=False, kind="stable").iterrows():
        if pid in {str(p) for p in row["parcel_ids"]}:
            return row.to_dict()
    return None


def scope_incidents(
    incidents: pd.DataFrame, parcels: pd.DataFrame, carrier: str | None = None
) -> pd.DataFrame:
    """The incidents a report on these parcels (and this carrier, when named) shows: those
    of the carrier, and those that hold any of the parcels."""
    if incidents.empty:
        return incidents
    ids = set(parcels["parcel_id"].astype(str))
    holds = incidents["parcel_ids"].map(lambda p: not ids.isdisjoint(map(str, p)))
    mine = incidents["carrier"].astype("string").str.lower().eq(str(carrier).lower())
    keep = holds | (mine.fillna(False) if carrier else False)
    return incidents[keep.to_numpy(bool)].reset_index(drop=True)
