"""Partner scorecard: per carrier and lane, how often parcels go dark, for how long, how often late.

Definitions used by the scorecard and the group figures:

- **Gone dark** (``GONE_DARK``): the diagnosis is ``handover_not_synced`` or
  ``silent_too_long``, i.e. the tracking stopped while the parcel was in the
  partners' hands and stayed silent past the normal window. Delivered and moving
  parcels, parcels still within the clearance window, customs holds and returns
  all show a current status, so they are not dark. Number problems
  (``number_invalid``, ``number_not_found``) are counted on their own, as the
  number-problem rate, since a mistyped number is usually not the carrier's doing.
- **Journey points** (``JOURNEY_POINTS``): the first scan of each point of the
  journey in China; a parcel that lacks a point's scan has no time for it.
- **Arrival in China**: the earliest of the ``arrived_destination``,
  ``customs_clearance`` and ``customs_hold`` scans (as in the diagnosis).
- **On time**: delivered within ``promised_days`` of shipping (``shipped_at``,
  or the first scan when the parcels table has no shipping time). A parcel
  counts once its promise is decided: it was delivered, or the promised time
  has passed.

- **Unreadable scans**: of the scans the parcel's international carrier wrote (its
  ``carrier`` is the parcel's ``international_carrier``; without that column, the scans of
  the international leg), those with a text whose milestone reads ``unknown``: they say
  something nobody here can read, and count for no point of the journey. The rate is of
  those scans, not of parcels.

Quantiles use linear interpolation between the measured values (pandas' default).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from toolkit.errors import InputError, SchemaError
from toolkit.model import Category, Milestone, require_columns, validate_events
from toolkit.policy import DEFAULT_POLICY
from toolkit.times import utc_now

__all__ = [
    "ARRIVAL_MILESTONES",
    "DOMESTIC_MILESTONES",
    "GONE_DARK",
    "JOURNEY_POINTS",
    "NUMBER_PROBLEMS",
    "SCORE_BY",
    "gone_dark_rates",
    "journey_times",
    "lane_labels",
    "parcel_facts",
    "scorecard",
    "style_scorecard",
]

M = Milestone
GONE_DARK: frozenset[str] = frozenset({Category.HANDOVER_NOT_SYNCED, Category.SILENT_TOO_LONG})
NUMBER_PROBLEMS: frozenset[str] = frozenset({Category.NUMBER_INVALID, Category.NUMBER_NOT_FOUND})
SCORE_BY: tuple[str, ...] = ("international_carrier", "origin_country", "destination_province")
BLANK = "(blank)"  # group label of parcels whose carrier or lane field is empty
LANE_ARROW = " → "

# Scans on the domestic leg count as domestic too, whatever their milestone.
DOMESTIC_MILESTONES: tuple[str, ...] = (
    M.DOMESTIC_IN_TRANSIT,
    M.OUT_FOR_DELIVERY,
    M.AVAILABLE_FOR_PICKUP,
    M.DELIVERY_FAILED,
)
ARRIVAL_MILESTONES: tuple[str, ...] = (M.ARRIVED_DESTINATION, M.CUSTOMS_CLEARANCE, M.CUSTOMS_HOLD)
# Points of the journey in China, in the order they happen, and the milestones marking each.
JOURNEY_POINTS: dict[str, tuple[str, ...]] = {
    "arrival": (M.ARRIVED_DESTINATION,),
    "clearance_start": (M.CUSTOMS_CLEARANCE, M.CUSTOMS_HOLD),
    "cleared": (M.CUSTOMS_CLEARED,),
    "handover": (M.HANDED_OVER,),
    "first_domestic": DOMESTIC_MILESTONES,
    "delivered": (M.DELIVERED,),
}
_DAY = pd.Timedelta(days=1)


# ---------------------------------------------------------------- input checks


def _need(df: object, columns: Iterable[str], table: str) -> pd.DataFrame:
    return require_columns(df, columns, table, table)


def _by_columns(by: str | Iterable[str]) -> list[str]:
    cols = [by] if isinstance(by, str) else list(by)
    if len(set(cols)) != len(cols):
        raise InputError(f"by names a column twice: {cols}", "scorecard", "Name each column once")
    return cols


def _categories(parcels: pd.DataFrame, diagnoses: pd.DataFrame) -> pd.Series:
    """The diagnosed category of every parcel, aligned with ``parcels``' rows."""
    _need(diagnoses, ("parcel_id", "category"), "diagnoses")
    cat = diagnoses.drop_duplicates("parcel_id", keep="last").set_index("parcel_id")["category"]
    out = cat.reindex(parcels["parcel_id"].to_numpy()).astype("string")
    missing = out.isna().to_numpy()
    if missing.any():
        rows = [int(i) + 1 for i in np.flatnonzero(missing)]
        raise SchemaError(
            f"{int(missing.sum())} parcel(s) have no diagnosis, e.g. "
            f"{parcels['parcel_id'].iloc[rows[0] - 1]!r} (parcels row {rows[0]})",
            "diagnoses",
            "Diagnose the same parcels table: toolkit.diagnosis.diagnose.diagnose_all(events, parcels, now)",
            columns=["parcel_id"],
            rows=rows,
        )
    return pd.Series(out.to_numpy(), index=parcels.index, dtype="string")


def _keys(parcels: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Group key columns as text, blanks labelled so no parcel falls out of a group-by."""
    out = pd.DataFrame(index=parcels.index)
    for col in by:
        values = parcels[col].astype("string").str.strip()
        out[col] = values.mask(values.eq("").fillna(True), BLANK)
    return out


# ---------------------------------------------------------------- per-parcel facts


def lane_labels(parcels: pd.DataFrame) -> pd.Series:
    """Lane of each parcel as text, e.g. "US → 广东省" (origin country → destination province)."""
    _need(parcels, ("origin_country", "destination_province"), "parcels")
    keys = _keys(parcels, ["origin_country", "destination_province"])
    return (keys["origin_country"] + LANE_ARROW + keys["destination_province"]).rename("lane")


def journey_times(events: pd.DataFrame, parcel_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """First UTC time each parcel reached each journey point (NaT if never): one row per parcel.

    Rows are ``parcel_ids`` in that order when given, else every parcel in ``events``.
    """
    validate_events(events, "events")
    pid = events["parcel_id"].astype("string")
    ms = events["milestone"].astype("string")
    domestic_leg = events["leg"].astype("string").eq("domestic").to_numpy(bool)
    t = events["time_utc"]
    ids = pd.Index(pd.unique(pid) if parcel_ids is None else list(parcel_ids), dtype="string")
    out = pd.DataFrame(index=ids)
    out.index.name = "parcel_id"
    for point, milestones in JOURNEY_POINTS.items():
        mask = ms.isin(milestones).to_numpy(bool, copy=True)
        if point == "first_domestic":
            mask = mask | domestic_leg
        first = t[mask].groupby(pid[mask].to_numpy()).min()
        out[point] = pd.to_datetime(first.reindex(ids).array, utc=True)
    return out


def parcel_facts(
    events: pd.DataFrame,
    parcels: pd.DataFrame,
    diagnoses: pd.DataFrame | None = None,
    now: pd.Timestamp | None = None,
    promised_days: float | None = None,
) -> pd.DataFrame:
    """One row per parcel with what the scorecard counts: dark, number problem, timings, on time."""
    _need(parcels, ("parcel_id",), "parcels")
    now = utc_now(now)
    promised = DEFAULT_POLICY.promised_days if promised_days is None else promised_days
    if isinstance(promised, bool) or not isinstance(promised, int | float) or promised < 0:
        raise InputError(
            f"promised_days must be a number of days >= 0, got {promised_days!r}",
            "promised_days",
        )
    if diagnoses is None:
        from toolkit.diagnosis.diagnose import diagnose_all

        diagnoses = diagnose_all(events, parcels, now)
    parcels = parcels.reset_index(drop=True)
    category = _categories(parcels, diagnoses)
    ids = parcels["parcel_id"].astype("string")
    points = journey_times(events, ids)
    # clearance_start covers clearance and hold scans: together, the ARRIVAL_MILESTONES
    arrival = points[["arrival", "clearance_start"]].min(axis=1)
    domestic = points["first_domestic"]
    to_domestic = (domestic - arrival) / _DAY
    to_domestic = to_domestic.where(to_domestic >= 0)

    first_scan = events["time_utc"].groupby(events["parcel_id"].astype("string").to_numpy()).min()
    if "shipped_at" in parcels.columns and isinstance(
        parcels["shipped_at"].dtype, pd.DatetimeTZDtype
    ):
        shipped = parcels["shipped_at"].dt.tz_convert("UTC").set_axis(ids)
    else:
        shipped = pd.Series(pd.NaT, index=ids, dtype="datetime64[ns, UTC]")
    start = shipped.fillna(first_scan.reindex(ids))
    delivered = category.eq(Category.DELIVERED).to_numpy(bool)
    delivered_at = points["delivered"].where(delivered)
    due = start + pd.Timedelta(days=float(promised))
    decided = delivered | (due <= now).to_numpy(bool)
    on_time = pd.array((delivered & (delivered_at <= due).to_numpy(bool)), dtype="boolean")
    on_time[~decided] = pd.NA

    carrier_scans, unread_scans = _carrier_scans(events, parcels, ids)
    out = parcels.drop(columns=[c for c in parcels.columns if c in JOURNEY_POINTS])
    out = out.assign(
        category=category.to_numpy(),
        gone_dark=category.isin(GONE_DARK).to_numpy(bool),
        number_problem=category.isin(NUMBER_PROBLEMS).to_numpy(bool),
        arrival_in_china=arrival.array,
        first_domestic_scan=domestic.array,
        delivered_at=delivered_at.array,
        arrival_to_domestic_days=to_domestic.to_numpy(dtype=float),
        promise_start=start.array,
        promise_decided=decided,
        on_time=on_time,
        carrier_scans=carrier_scans,
        unread_scans=unread_scans,
    )
    return out


def _carrier_scans(
    events: pd.DataFrame, parcels: pd.DataFrame, ids: pd.Series
) -> tuple[np.ndarray, np.ndarray]:
    """Per parcel (in ``ids``' order): the scans its international carrier wrote, and how
    many of them have a text that reads ``unknown``. Text is compared once per distinct
    value (codes per scan), so that millions of scans cost little."""
    p_codes, p_values = pd.factorize(events["parcel_id"].astype("string"))
    p_values = pd.Index(p_values, dtype="string")
    if "international_carrier" in parcels.columns:
        c_codes, c_values = pd.factorize(events["carrier"].astype("string"))
        c_names = pd.Series(c_values, dtype="string").str.strip().str.lower().to_numpy(object)
        named = parcels["international_carrier"].astype("string").str.strip().str.lower()
        wanted = (
            pd.Series(named.to_numpy(), index=ids.to_numpy())
            .groupby(level=0)
            .first()
            .reindex(p_values)
            .to_numpy(object)
        )
        own = (c_codes >= 0) & (p_codes >= 0)
        own[own] = c_names[c_codes[own]] == wanted[p_codes[own]]
    else:
        own = events["leg"].astype("string").eq("international").fillna(False).to_numpy(bool)
        own &= p_codes >= 0
    unread = own & events["milestone"].astype("string").eq(M.UNKNOWN).fillna(False).to_numpy(bool)
    if unread.any():  # a blank text is no text to read
        text = events["description"].to_numpy(object)[unread]
        unread[unread] = [isinstance(t, str) and bool(t.strip()) for t in text]
    n = len(p_values)
    scans = np.bincount(p_codes[own], minlength=n) if n else np.zeros(0, int)
    unknown = np.bincount(p_codes[unread], minlength=n) if n else np.zeros(0, int)
    at = p_values.get_indexer(pd.Index(ids, dtype="string"))
    found = at >= 0
    out_scans = np.zeros(len(ids), int)
    out_unknown = np.zeros(len(ids), int)
    out_scans[found] = scans[at[found]]
    out_unknown[found] = unknown[at[found]]
    return out_scans, out_unknown


# ---------------------------------------------------------------- group tables


def gone_dark_rates(
    diagnoses: pd.DataFrame,
    parcels: pd.DataFrame,
    by: str | Iterable[str] = ("international_carrier", "lane"),
) -> pd.DataFrame:
    """Per group: parcels, gone_dark (count) and gone_dark_rate; ``lane`` is origin → province."""
    cols = _by_columns(by)
    _need(parcels, ["parcel_id", *(c for c in cols if c != "lane")], "parcels")
    parcels = parcels.reset_index(drop=True)
    if "lane" in cols and "lane" not in parcels.columns:
        parcels = parcels.assign(lane=lane_labels(parcels))
    dark = _categories(parcels, diagnoses).isin(GONE_DARK)
    keys = _keys(parcels, cols)
    table = (
        keys.assign(gone_dark=dark.to_numpy(int))
        .groupby(cols, sort=True)["gone_dark"]
        .agg(parcels="size", gone_dark="sum")
        .reset_index()
    )
    table["gone_dark_rate"] = table["gone_dark"] / table["parcels"]
    return table


def scorecard(
    events: pd.DataFrame,
    parcels: pd.DataFrame,
    diagnoses: pd.DataFrame | None = None,
    now: pd.Timestamp | None = None,
    by: str | Iterable[str] = SCORE_BY,
    promised_days: float | None = None,
) -> pd.DataFrame:
    """Per carrier and lane: parcels, gone-dark rate, arrival-to-domestic days, number-problem and on-time rates.

    Columns: the ``by`` columns, ``parcels``, ``gone_dark``, ``gone_dark_rate``,
    ``arrival_to_domestic_n`` (parcels with both scans), ``arrival_to_domestic_median_days``,
    ``arrival_to_domestic_p90_days``, ``number_problems``, ``number_problem_rate``,
    ``on_time_decided``, ``on_time``, ``on_time_rate``, ``carrier_scans``, ``unread_scans``,
    ``unread_rate``. Rates are fractions (0-1) of ``parcels``, except ``on_time_rate``, which
    is of ``on_time_decided``, and ``unread_rate``, of ``carrier_scans``. ``by=()``
    gives one row for all parcels. Sorted worst first: highest gone-dark rate, then most parcels.
    """
    cols = _by_columns(by)
    return score_table([score_parts(events, parcels, diagnoses, now, cols, promised_days)], cols)


_SUMS = (
    "parcels",
    "gone_dark",
    "number_problems",
    "on_time_decided",
    "on_time",
    "carrier_scans",
    "unread_scans",
)


def score_parts(
    events: pd.DataFrame,
    parcels: pd.DataFrame,
    diagnoses: pd.DataFrame | None = None,
    now: pd.Timestamp | None = None,
    by: str | Iterable[str] = SCORE_BY,
    promised_days: float | None = None,
) -> pd.DataFrame:
    """The scorecard's material for one share of the parcels: per group the counts (which
    add up across shares) and the arrival-to-domestic days (which are pooled), so that
    ``score_table`` of the parts of a split equals the scorecard of the whole."""
    cols = _by_columns(by)
    _need(parcels, ["parcel_id", *(c for c in cols if c != "lane")], "parcels")
    if "lane" in cols and "lane" not in parcels.columns:
        parcels = parcels.assign(lane=lane_labels(parcels))
    facts = parcel_facts(events, parcels, diagnoses, now, promised_days)
    keys = _keys(facts, cols) if cols else pd.DataFrame({"all": "all parcels"}, index=facts.index)
    group_cols = cols or ["all"]
    data = keys.assign(
        gone_dark=facts["gone_dark"].to_numpy(int),
        number_problems=facts["number_problem"].to_numpy(int),
        days=facts["arrival_to_domestic_days"].to_numpy(float),
        on_time_decided=facts["promise_decided"].to_numpy(int),
        on_time=facts["on_time"].fillna(False).to_numpy(int),
        carrier_scans=facts["carrier_scans"].to_numpy(int),
        unread_scans=facts["unread_scans"].to_numpy(int),
    )
    grouped = data.groupby(group_cols, sort=True)
    part = grouped.agg(
        parcels=("gone_dark", "size"),
        gone_dark=("gone_dark", "sum"),
        number_problems=("number_problems", "sum"),
        on_time_decided=("on_time_decided", "sum"),
        on_time=("on_time", "sum"),
        carrier_scans=("carrier_scans", "sum"),
        unread_scans=("unread_scans", "sum"),
    )
    days = data["days"].to_numpy()
    positions = grouped.indices  # group key -> row positions, in the groups' order
    part["days"] = [days[positions[k]][~np.isnan(days[positions[k]])] for k in part.index]
    return part.reset_index()


def score_table(parts: Iterable[pd.DataFrame], by: str | Iterable[str] = SCORE_BY) -> pd.DataFrame:
    """The scorecard (see ``scorecard``) from the ``score_parts`` of the shares of a set
    of parcels: counts added, days pooled, then the rates, medians and 90th percentiles."""
    cols = _by_columns(by)
    group_cols = cols or ["all"]
    pooled = pd.concat(list(parts), ignore_index=True)
    grouped = pooled.groupby(group_cols, sort=True)
    table = grouped[list(_SUMS)].sum()
    days = grouped["days"].agg(lambda arrays: np.concatenate([np.empty(0), *arrays]))
    table["arrival_to_domestic_n"] = days.map(len).astype(int)
    table["arrival_to_domestic_median_days"] = days.map(
        lambda a: float(np.median(a)) if len(a) else np.nan
    )
    table["arrival_to_domestic_p90_days"] = days.map(
        lambda a: float(np.quantile(a, 0.9)) if len(a) else np.nan
    )
    table = table.reset_index()
    table["gone_dark_rate"] = table["gone_dark"] / table["parcels"]
    table["number_problem_rate"] = table["number_problems"] / table["parcels"]
    table["on_time_rate"] = (table["on_time"] / table["on_time_decided"]).where(
        table["on_time_decided"] > 0
    )
    table["unread_rate"] = (table["unread_scans"] / table["carrier_scans"]).where(
        table["carrier_scans"] > 0
    )
    order = [
        *group_cols,
        "parcels",
        "gone_dark",
        "gone_dark_rate",
        "arrival_to_domestic_n",
        "arrival_to_domestic_median_days",
        "arrival_to_domestic_p90_days",
        "number_problems",
        "number_problem_rate",
        "on_time_decided",
        "on_time",
        "on_time_rate",
        "carrier_scans",
        "unread_scans",
        "unread_rate",
    ]
    table = table[order].sort_values(
        ["gone_dark_rate", "parcels", *group_cols],
        ascending=[False, False, *([True] * len(group_cols))],
        kind="stable",
    )
    return table.reset_index(drop=True)


HEADERS: dict[str, str] = {
    "international_carrier": "carrier",
    "origin_country": "from",
    "destination_province": "to province",
    "parcels": "parcels",
    "gone_dark": "gone dark",
    "gone_dark_rate": "gone dark %",
    "arrival_to_domestic_n": "arrival → domestic measured",
    "arrival_to_domestic_median_days": "arrival → domestic median (days)",
    "arrival_to_domestic_p90_days": "arrival → domestic p90 (days)",
    "number_problems": "number problems",
    "number_problem_rate": "number problem %",
    "on_time_decided": "promise decided",
    "on_time": "on time",
    "on_time_rate": "on time %",
    "carrier_scans": "carrier's scans",
    "unread_scans": "unreadable scans",
    "unread_rate": "unreadable scans %",
}


def style_scorecard(table: pd.DataFrame, caption: str | None = None):
    """The scorecard as a pandas Styler: short headers, rates as percentages, days to one decimal."""
    fmt = {}
    for col in table.columns:
        if col.endswith("_rate"):
            fmt[col] = "{:.1%}"
        elif col.endswith("_days"):
            fmt[col] = "{:.1f}"
        elif pd.api.types.is_integer_dtype(table[col]):
            fmt[col] = "{:,}"
    styler = table.style.format(fmt, na_rep="–").hide(axis="index")
    styler = styler.relabel_index([HEADERS.get(c, c) for c in table.columns], axis="columns")
    styler = styler.set_table_styles(
        [{"selector": "th", "props": "white-space: normal; max-width: 8em; vertical-align: bottom"}]
    )
    rates = [
        c for c in ("gone_dark_rate", "number_problem_rate", "unread_rate") if c in table.columns
    ]
    if rates and len(table):
        styler = styler.bar(subset=rates, color="#f4a3a8", vmin=0)
    if caption:
        styler = styler.set_caption(caption)
    return styler
