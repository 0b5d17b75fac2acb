"""Timestamps from carrier exports: many text forms in, tz-aware UTC out."""

from __future__ import annotations

import zoneinfo

import numpy as np
import pandas as pd

from toolkit.errors import InputError

UTC_DTYPE = "datetime64[ns, UTC]"

# Offsets of time-zone abbreviations that name one zone only ("CST" and "IST" do not).
ZONE_ABBREVIATIONS: dict[str, int] = {
    "Z": 0,
    "UT": 0,
    "UTC": 0,
    "GMT": 0,
    "EST": -300,
    "EDT": -240,
    "CDT": -300,
    "MST": -420,
    "MDT": -360,
    "PST": -480,
    "PDT": -420,
    "CET": 60,
    "CEST": 120,
    "JST": 540,
    "KST": 540,
    "HKT": 480,
    "SGT": 480,
    "AEST": 600,
    "AEDT": 660,
}

MONTHS: dict[str, int] = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}

_MONTH_NAMES = (
    "january february march april may june july august september october november december"
)
MONTH_WORDS: frozenset[str] = frozenset([*MONTHS, "sept", *_MONTH_NAMES.split()])

_TIME = (
    r"(?:(?P<cn_ampm>上午|早上|凌晨|中午|下午|晚上)\s*)?"
    r"(?P<hour>\d{1,2})\s*(?:[:：]|时|點|点)\s*(?P<minute>\d{1,2})\s*分?"
    r"(?:(?:\s*[:：]\s*|(?<=分))(?P<second>\d{1,2})(?:[.,](?P<fraction>\d{1,9}))?\s*秒?)?"
    r"(?:\s*(?P<ampm>[AaPp]\.?\s?[Mm]\.?))?"
)
_OFFSET = (
    r"(?:\s*\(?(?P<offset>Z|[+-]\d{2}(?::?\d{2})?"
    r"|(?:UTC|GMT)\s*[+-]\d{1,2}(?::?\d{2})?|[A-Za-z]{1,5})\)?)?"
)
# 2026-03-01 14:05:00+08:00, 2026/3/1 9:05, 2026年03月01日 14时05分, 2026-03-01T14:05Z ...
_NUMERIC = (
    r"^(?P<year>\d{4})\s*(?:[-/.]|年)\s*(?P<month>\d{1,2})\s*(?:[-/.]|月)\s*(?P<day>\d{1,2})\s*日?"
    r"(?:(?:\s*T\s*|\s+|,\s*|(?<=日))" + _TIME + r")?" + _OFFSET + r"$"
)
# Mar 1, 2026 2:05 pm / 01 Mar 2026 14:05 / Sun, 01 Mar 2026 14:05:00 +0000 / 01-Mar-2026
_MONTH_NAME = (
    r"^(?:[A-Za-z]{3,9}\.?,?\s+)??"
    r"(?:(?P<day1>\d{1,2})(?:st|nd|rd|th)?[\s-]+(?P<mon1>[A-Za-z]{3,9})\.?,?[\s-]+(?P<year1>\d{4})"
    r"|(?P<mon2>[A-Za-z]{3,9})\.?\s+(?P<day2>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year2>\d{4}))"
    r"(?:,?\s+(?:at\s+)?" + _TIME + r")?" + _OFFSET + r"$"
)
# Common exact forms, read straight with pd.to_datetime: (pattern, format, carries an offset).
FAST_FORMS: tuple[tuple[str, str, bool], ...] = (
    (
        r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})",
        "ISO8601",
        True,
    ),
    (r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?", "ISO8601", False),
    (r"\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}:\d{2}", "%Y-%m-%d %H:%M:%S", False),
    (r"\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}", "%Y-%m-%d %H:%M", False),
    (r"\d{4}/\d{1,2}/\d{1,2} \d{1,2}:\d{2}:\d{2}", "%Y/%m/%d %H:%M:%S", False),
    (r"\d{4}/\d{1,2}/\d{1,2} \d{1,2}:\d{2}", "%Y/%m/%d %H:%M", False),
    (r"[A-Za-z]{3} \d{1,2}, \d{4} \d{1,2}:\d{2} [AaPp][Mm]", "%b %d, %Y %I:%M %p", False),
    (r"\d{1,2} [A-Za-z]{3} \d{4} \d{2}:\d{2}", "%d %b %Y %H:%M", False),
)
_EPOCH_SECONDS = r"^\d{10}(?:\.\d+)?$"
_EPOCH_MILLISECONDS = r"^\d{13}(?:\.0+)?$"
_COMPACT = r"^\d{14}$"  # 20260301140500


def _zone_names(tz: str | pd.Series | None, n: int) -> np.ndarray:
    """One IANA zone name per row; blank entries mean UTC."""
    if tz is None or isinstance(tz, str):
        zones = np.full(n, tz or "UTC", dtype=object)
    else:
        zones = np.asarray(pd.Series(tz).astype("object"), dtype=object)
        if len(zones) != n:
            raise InputError(
                f"got {len(zones)} time zones for {n} times",
                hint="Pass one zone name, or a Series with one zone per time",
            )
        zones = np.where(pd.isna(zones) | (zones == ""), "UTC", zones)
    for zone in pd.unique(zones):
        _check_zone(zone)
    return zones


def _check_zone(zone: object) -> None:
    try:
        zoneinfo.ZoneInfo(str(zone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(
            f"unknown time zone {zone!r}",
            hint="Use an IANA zone name such as Asia/Shanghai, Europe/London or UTC",
        ) from exc


def _offset_minutes(offset: pd.Series) -> pd.Series:
    """Minutes east of UTC for offset texts (NaN where none, -1e9 where not understood)."""
    text = offset.astype("string").str.strip().str.upper()
    minutes = pd.Series(np.nan, index=offset.index)
    given = text.notna()
    named = text.map(ZONE_ABBREVIATIONS, na_action="ignore").astype("float64")
    minutes[given] = named[given]
    parts = text.str.extract(r"^(?:UTC|GMT)?\s*(?P<sign>[+-])(?P<h>\d{1,2}):?(?P<m>\d{2})?$")
    numeric = parts["sign"].notna()
    hours = pd.to_numeric(parts["h"], errors="coerce")
    mins = pd.to_numeric(parts["m"], errors="coerce").fillna(0)
    value = (hours * 60 + mins) * np.where((parts["sign"] == "-").fillna(False), -1, 1)
    ok = numeric & (hours <= 14).fillna(False) & (mins < 60)
    minutes[numeric] = np.where(ok[numeric], value[numeric], -1e9)
    minutes[given & minutes.isna()] = -1e9  # a marker nobody can place
    return minutes


def _hours(parts: pd.DataFrame) -> pd.Series:
    """24-hour clock hours, honouring am/pm markers (NaN where impossible)."""
    hour = pd.to_numeric(parts["hour"], errors="coerce").fillna(0)
    latin = parts["ampm"].astype("string").str.lower().str.replace(r"[.\s]", "", regex=True)
    chinese = parts["cn_ampm"].astype("string")
    pm = (latin == "pm").fillna(False) | chinese.isin(["下午", "晚上"]).fillna(False)
    am = (latin == "am").fillna(False) | chinese.isin(["上午", "早上", "凌晨"]).fillna(False)
    noon = (chinese == "中午").fillna(False)
    twelve = (am | pm) & ((hour < 1) | (hour > 12))
    hour = hour.where(~(pm & (hour < 12)), hour + 12)
    hour = hour.where(~(am & (hour == 12)), 0)
    hour = hour.where(~(noon & (hour < 11)), hour + 12)
    return hour.where(~twelve, np.nan)


def _assemble(year: pd.Series, month: pd.Series, day: pd.Series, parts: pd.DataFrame) -> tuple:
    """Naive datetimes and offsets (minutes, NaN if none) from extracted date and time parts."""
    hour = _hours(parts)
    minute = pd.to_numeric(parts["minute"], errors="coerce").fillna(0)
    second = pd.to_numeric(parts["second"], errors="coerce").fillna(0)
    pieces = [year, month, day, hour, minute, second]
    bad = pd.concat([p.isna() for p in pieces], axis=1).any(axis=1)
    as_text = [p.fillna(0).astype("int64").astype("string") for p in pieces]
    canonical = (
        as_text[0] + "-" + as_text[1] + "-" + as_text[2] + " "
        + as_text[3] + ":" + as_text[4] + ":" + as_text[5]
    )  # fmt: skip
    naive = pd.to_datetime(canonical.where(~bad), format="%Y-%m-%d %H:%M:%S", errors="coerce")
    naive = _within_ns(naive)
    fraction = parts["fraction"].astype("string").str.ljust(9, "0")
    nanos = pd.to_numeric(fraction, errors="coerce").fillna(0).astype("int64")
    naive = naive + pd.to_timedelta(nanos, unit="ns")
    return naive, _offset_minutes(parts["offset"])


def _parse_numeric(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    parts = text.str.extract(_NUMERIC)
    year = pd.to_numeric(parts["year"], errors="coerce")
    month = pd.to_numeric(parts["month"], errors="coerce")
    day = pd.to_numeric(parts["day"], errors="coerce")
    return _assemble(year, month, day, parts)


def _parse_month_name(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    parts = text.str.extract(_MONTH_NAME)
    mon = parts["mon1"].fillna(parts["mon2"]).astype("string").str.lower()
    month = mon.str.slice(0, 3).map(MONTHS, na_action="ignore").astype("float64")
    known = mon.isin(MONTH_WORDS)  # "Mar", "March", "Sept"; not any word that starts alike
    month = month.where(known.fillna(False))
    year = pd.to_numeric(parts["year1"].fillna(parts["year2"]), errors="coerce")
    day = pd.to_numeric(parts["day1"].fillna(parts["day2"]), errors="coerce")
    return _assemble(year, month, day, parts)


def _parse_epoch(text: pd.Series, unit: str) -> pd.Series:
    number = pd.to_numeric(text, errors="coerce")
    limit = 9.2e9 if unit == "s" else 9.2e12  # the year 2261, end of nanosecond time
    number = number.where(number < limit)
    return pd.to_datetime(number, unit=unit, utc=True, errors="coerce").astype(UTC_DTYPE)


def _within_ns(times: pd.Series) -> pd.Series:
    """Datetimes at nanosecond resolution; NaT where that range (1678-2261) is exceeded."""
    lo, hi = pd.Timestamp("1678-01-01"), pd.Timestamp("2261-12-31")
    if isinstance(times.dtype, pd.DatetimeTZDtype):
        lo, hi = lo.tz_localize("UTC"), hi.tz_localize("UTC")
        target = UTC_DTYPE
    else:
        target = "datetime64[ns]"
    return times.where((times >= lo) & (times <= hi)).astype(target)


def _localize(naive: pd.Series, zones: np.ndarray) -> pd.Series:
    """Naive local datetimes placed in per-row zones, as UTC.

    A local time that a clock change skips moves forward to the first real
    instant; one that happens twice (clocks going back) takes the earlier instant.
    """
    out = pd.Series(pd.NaT, index=naive.index, dtype=UTC_DTYPE)
    for zone in pd.unique(zones):
        rows = zones == zone
        part = naive[rows]
        local = part.dt.tz_localize(
            str(zone), ambiguous=np.ones(len(part), dtype=bool), nonexistent="shift_forward"
        )
        out[rows] = local.dt.tz_convert("UTC").astype(UTC_DTYPE)
    return out


def parse_times(
    values: pd.Series, tz: str | pd.Series | None = "UTC"
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse timestamps in any accepted form to UTC; return (times, tz_assumed, unparseable).

    Times without an offset are read as local times in ``tz`` (one IANA zone, or
    one per row) and flagged in ``tz_assumed``. Blank and unreadable values are
    NaT and flagged in ``unparseable``.
    """
    values = pd.Series(values)
    index = values.index
    zones = _zone_names(tz, len(values))

    if isinstance(values.dtype, pd.DatetimeTZDtype):
        times = _within_ns(values.dt.tz_convert("UTC"))
        return times, pd.Series(False, index=index), times.isna()
    if pd.api.types.is_datetime64_dtype(values.dtype):
        times = _localize(_within_ns(values), zones)
        return times, times.notna(), times.isna()

    values = values.reset_index(drop=True)  # positions, whatever the caller's index
    assumed = pd.Series(False, index=values.index)
    text = values.astype("str").str.strip()
    chinese = text.str.contains("年", regex=False).fillna(False).astype(bool)
    if chinese.any():  # 2026年03月01日 14:05 -> 2026-03-01 14:05
        zh = text[chinese].str.replace("年", "-", regex=False).str.replace("月", "-", regex=False)
        zh = zh.str.replace("日 ", " ", regex=False).str.replace("日", " ", regex=False)
        text[chinese] = zh.str.strip()
    times = pd.Series(pd.NaT, index=text.index, dtype=UTC_DTYPE)
    naive = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    pending = (text.notna() & (text != "")).astype(bool)

    for pattern, fmt, with_offset in FAST_FORMS:
        rows = pending & text.str.fullmatch(pattern).fillna(False).astype(bool)
        if not rows.any():
            continue
        got = _within_ns(pd.to_datetime(text[rows], format=fmt, utc=with_offset, errors="coerce"))
        ok = got.notna()
        ok_rows = ok[ok].index
        (times if with_offset else naive)[ok_rows] = got[ok]
        pending[ok_rows] = False

    for pattern, unit in ((_EPOCH_SECONDS, "s"), (_EPOCH_MILLISECONDS, "ms")):
        rows = pending & text.str.fullmatch(pattern).fillna(False)
        if rows.any():
            times[rows] = _parse_epoch(text[rows], unit)
            pending &= ~rows

    offset = pd.Series(np.nan, index=text.index)
    rows = pending & text.str.fullmatch(_COMPACT).fillna(False)
    if rows.any():
        compact = pd.to_datetime(text[rows], format="%Y%m%d%H%M%S", errors="coerce")
        naive[rows] = _within_ns(compact)
        pending &= ~rows
    for parser in (_parse_numeric, _parse_month_name):
        if not pending.any():
            break
        got_naive, got_offset = parser(text[pending])
        found = got_naive.notna()
        naive[found[found].index] = got_naive[found]
        offset[found[found].index] = got_offset[found]
        pending[found[found].index] = False

    unknown_zone = offset < -1e8  # a zone marker nobody can place: unreadable
    naive = naive.where(~unknown_zone)
    offset = offset.where(~unknown_zone)
    with_offset = naive.notna() & offset.notna()
    if with_offset.any():
        shifted = naive[with_offset] - pd.to_timedelta(offset[with_offset], unit="min")
        times[with_offset] = shifted.dt.tz_localize("UTC").astype(UTC_DTYPE)
    local = naive.notna() & offset.isna()
    if local.any():
        times[local] = _localize(naive[local], zones[local.to_numpy()])
        assumed[local] = True
    times.index, assumed.index = index, index
    return times, assumed, times.isna()


def format_local(times: pd.Series, tz: str | pd.Series | None) -> pd.Series:
    """Render UTC times as local-time text with offset, e.g. '2026-03-01 14:05:00+08:00'."""
    zones = _zone_names(tz, len(times))
    out = pd.Series(pd.NA, index=times.index, dtype="string")
    present = times.notna().to_numpy()
    for zone in pd.unique(zones):
        rows = (zones == zone) & present
        if not rows.any():
            continue
        utc = times[rows].dt.tz_convert("UTC")
        local = utc.dt.tz_convert(str(zone)).dt.tz_localize(None)
        minutes = (local - utc.dt.tz_localize(None)) // pd.Timedelta(minutes=1)
        offsets = minutes.map({m: _offset_text(m) for m in pd.unique(minutes)})
        out[rows] = (local.astype("str") + offsets).astype("string")
    return out


def _offset_text(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(int(minutes)), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


_ZONE_HINT = 'Pass a tz-aware time, e.g. pd.Timestamp("2026-11-20 12:00", tz="UTC")'


def to_utc(
    value: object,
    name: str = "time",
    where: str | None = None,
    *,
    naive: str = "refuse",
    empty: str = "refuse",
    unreadable: str = "refuse",
    hint: str | None = None,
) -> pd.Timestamp | None:
    """One time given by a person or a program, as a UTC pandas Timestamp.

    The one reader of single times in the toolkit; each caller says what it means by:
    ``naive`` "refuse" (InputError asking for a time zone) or "utc" (a time without a zone,
    or a date, is taken as UTC; a date is its midnight); ``empty`` (None, NaN, NaT, blank
    text) "refuse" or "none" (gives None); ``unreadable`` "refuse" (InputError) or "none".
    Errors name the value and ``name``/``where``, and end with ``hint``.
    """
    where = where or name
    if value is None or (isinstance(value, str) and not value.strip()):
        ts = pd.NaT
    else:
        try:
            ts = pd.Timestamp(value)
        except (TypeError, ValueError, OverflowError):
            if unreadable == "none":
                return None
            raise InputError(
                f"cannot read the {name} {value!r} as a time",
                where,
                hint or "Give a date such as 2026-11-01, or a time such as 2026-11-01T08:00+08:00",
            ) from None
    if ts is pd.NaT or pd.isna(ts):
        if empty == "none":
            return None
        raise InputError(f"the {name} is empty", where, hint or _ZONE_HINT)
    if ts.tzinfo is None:
        if naive != "utc":
            raise InputError(
                f"the {name} {value!r} has no time zone",
                where,
                hint or "Give the offset (e.g. +08:00) or a tz-aware time: " + _ZONE_HINT,
            )
        return ts.tz_localize("UTC")
    return ts.tz_convert("UTC")


def utc_now(now: object) -> pd.Timestamp:
    """`now` as a UTC timestamp (the current time when None); refuses naive or unreadable times."""
    if now is None:
        return pd.Timestamp.now(tz="UTC")
    return to_utc(now, "now", hint=_ZONE_HINT)
