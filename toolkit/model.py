"""The data contract: events and parcels tables, milestones, categories, carriers."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pandas as pd

from toolkit.errors import InputError, MissingColumnsError, SchemaError, ValueNotAllowedError


class Milestone(StrEnum):
    """Normalised milestone of one scan."""

    INFO_RECEIVED = "info_received"
    ACCEPTED = "accepted"
    IN_TRANSIT = "in_transit"
    DEPARTED_ORIGIN = "departed_origin"
    ARRIVED_DESTINATION = "arrived_destination"
    CUSTOMS_CLEARANCE = "customs_clearance"
    CUSTOMS_HOLD = "customs_hold"
    CUSTOMS_CLEARED = "customs_cleared"
    HANDED_OVER = "handed_over"
    DOMESTIC_IN_TRANSIT = "domestic_in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    AVAILABLE_FOR_PICKUP = "available_for_pickup"
    DELIVERY_FAILED = "delivery_failed"
    DELIVERED = "delivered"
    RETURNING = "returning"
    RETURNED = "returned"
    EXCEPTION = "exception"
    UNKNOWN = "unknown"


class Category(StrEnum):
    """Diagnosis category of a parcel."""

    DELIVERED = "delivered"
    MOVING = "moving"
    AWAITING_CLEARANCE = "awaiting_clearance"
    CUSTOMS_HOLD = "customs_hold"
    HANDOVER_NOT_SYNCED = "handover_not_synced"
    NUMBER_INVALID = "number_invalid"
    NUMBER_NOT_FOUND = "number_not_found"
    SILENT_TOO_LONG = "silent_too_long"
    RETURNED_OR_EXCEPTION = "returned_or_exception"


class Leg(StrEnum):
    INTERNATIONAL = "international"
    DOMESTIC = "domestic"


MILESTONES: tuple[str, ...] = tuple(m.value for m in Milestone)
CATEGORIES: tuple[str, ...] = tuple(c.value for c in Category)
LEGS: tuple[str, ...] = tuple(leg.value for leg in Leg)


@dataclass(frozen=True)
class Carrier:
    code: str
    name: str
    name_zh: str
    country: str  # ISO 3166 alpha-2 of the carrier's home
    tz: str  # IANA zone its local times are given in when no offset is shown
    leg: str  # the leg it usually serves: international or domestic
    kuaidi100: str | None = None  # Kuaidi100 company code, for China domestic carriers
    needs_phone: bool = False  # domestic query requires the recipient phone's last 4 digits


_C = Carrier
CARRIERS: dict[str, Carrier] = {
    c.code: c
    for c in [
        _C("usps", "USPS", "美国邮政", "US", "America/New_York", "international"),
        _C("royalmail", "Royal Mail", "英国皇家邮政", "GB", "Europe/London", "international"),
        _C("deutschepost", "Deutsche Post", "德国邮政", "DE", "Europe/Berlin", "international"),
        _C("japanpost", "Japan Post", "日本邮政", "JP", "Asia/Tokyo", "international"),
        _C("koreapost", "Korea Post", "韩国邮政", "KR", "Asia/Seoul", "international"),
        _C("auspost", "Australia Post", "澳大利亚邮政", "AU", "Australia/Sydney", "international"),
        _C("canadapost", "Canada Post", "加拿大邮政", "CA", "America/Toronto", "international"),
        _C("laposte", "La Poste", "法国邮政", "FR", "Europe/Paris", "international"),
        _C(
            "chinapost",
            "China Post",
            "中国邮政",
            "CN",
            "Asia/Shanghai",
            "domestic",
            "youzhengguonei",
        ),
        _C("ems", "EMS", "中国邮政EMS", "CN", "Asia/Shanghai", "domestic", "ems"),
        _C("ups", "UPS", "UPS", "US", "America/New_York", "international", "ups"),
        _C("fedex", "FedEx", "联邦快递", "US", "America/Chicago", "international", "fedex"),
        _C("dhl", "DHL Express", "DHL", "DE", "Europe/Berlin", "international", "dhl"),
        _C("yunexpress", "YunExpress", "云途物流", "CN", "Asia/Shanghai", "international"),
        _C("sf", "SF Express", "顺丰速运", "CN", "Asia/Shanghai", "domestic", "shunfeng", True),
        _C("yto", "YTO Express", "圆通速递", "CN", "Asia/Shanghai", "domestic", "yuantong"),
        _C("zto", "ZTO Express", "中通快递", "CN", "Asia/Shanghai", "domestic", "zhongtong"),
        _C("sto", "STO Express", "申通快递", "CN", "Asia/Shanghai", "domestic", "shentong"),
        _C("yunda", "Yunda Express", "韵达快递", "CN", "Asia/Shanghai", "domestic", "yunda"),
        _C("jd", "JD Logistics", "京东物流", "CN", "Asia/Shanghai", "domestic", "jd"),
        _C("jt", "J&T Express", "极兔速递", "CN", "Asia/Shanghai", "domestic", "jtexpress"),
        _C("best", "Best Express", "百世快递", "CN", "Asia/Shanghai", "domestic", "huitongkuaidi"),
    ]
}
DOMESTIC_CARRIERS: frozenset[str] = frozenset(
    code for code, c in CARRIERS.items() if c.leg == "domestic"
)
DEFAULT_TZ = "UTC"

# Names carriers go by in event texts, exports and the services' answers, beyond their code,
# English and Chinese names and Kuaidi100 code in CARRIERS. The one table of them: every
# reader of a carrier name goes through carrier_code.
CARRIER_ALIASES: dict[str, str] = {
    "顺丰": "sf", "顺丰快递": "sf", "sf express": "sf", "s.f. express": "sf",
    "圆通": "yto", "圆通快递": "yto",
    "中通": "zto",
    "申通": "sto",
    "韵达": "yunda", "韵达速递": "yunda",
    "京东": "jd", "京东快递": "jd", "jd express": "jd",
    "极兔": "jt", "百世": "best",
    "china ems": "ems", "china post ems": "ems", "邮政ems": "ems", "中国邮政速递": "ems",
    "中国邮政速递物流": "ems",
    "中国邮政": "chinapost", "邮政": "chinapost", "邮政包裹": "chinapost",
    "云途": "yunexpress", "yun express": "yunexpress",
    "united states postal service": "usps",
    "dhl paket": "deutschepost", "deutsche post dhl": "deutschepost",
    "korea post": "koreapost", "epost": "koreapost",
    "la poste colissimo": "laposte", "colissimo": "laposte",
}  # fmt: skip


def carrier_names() -> dict[str, str]:
    """Every name a carrier goes by (casefolded, as written) -> its code: codes, CARRIERS'
    English and Chinese names and Kuaidi100 codes, and CARRIER_ALIASES."""
    table: dict[str, str] = {}
    for code, c in CARRIERS.items():
        for name in (code, c.name, c.name_zh, c.kuaidi100):
            if name:
                table[name.casefold()] = code
    table.update(CARRIER_ALIASES)
    return table


def china_leg_names() -> tuple[str, ...]:
    """The names a carrier that takes a parcel over inside China goes by after 转
    ("transferred to": 转顺丰, 转 EMS), longest first: the Chinese names of the domestic
    carriers, China Post and EMS, "ems", and Deppon (德邦), which is not one of the toolkit's
    carriers but takes parcels over the same way."""
    leg = DOMESTIC_CARRIERS | {"ems", "chinapost"}
    names = {n for n, c in carrier_names().items() if c in leg and (not n.isascii() or n == "ems")}
    return tuple(sorted(names | {"德邦"}, key=lambda n: (-len(n), n)))


def china_leg_pattern() -> str:
    """china_leg_names as one regex group, longest name first: (?:中国邮政|顺丰|…|ems)."""
    return "(?:" + "|".join(re.escape(n) for n in china_leg_names()) + ")"


def _name_key(name: str) -> str:
    """A carrier name as looked up: casefolded, without spaces, dots, dashes or underscores
    ("S.F. Express", "sf-express" and "SF Express" are one name)."""
    return re.sub(r"[\s.\-_]+", "", name.casefold())


_CARRIER_KEYS = {_name_key(name): code for name, code in carrier_names().items()}


def carrier_code(name: object) -> str | None:
    """The carrier code of a code, Kuaidi100 code or carrier name in English or Chinese
    ("SF Express", "顺丰", "shunfeng", "sf"), else None."""
    if not isinstance(name, str):
        return None
    return _CARRIER_KEYS.get(_name_key(name)) or None


def carrier_tz(code: object) -> str:
    """Time zone a carrier's local times are in when it gives no offset (UTC if unknown)."""
    c = CARRIERS.get(str(code).lower()) if isinstance(code, str) else None
    return c.tz if c else DEFAULT_TZ


# Columns of the events table, in order, with their pandas dtypes.
EVENT_DTYPES: dict[str, str] = {
    "parcel_id": "string",
    "tracking_number": "string",
    "carrier": "string",
    "leg": "string",
    "time_utc": "datetime64[ns, UTC]",
    "time_local": "string",
    "tz_assumed": "bool",
    "location": "string",
    "description": "string",
    "raw_status": "string",
    "milestone": "string",
    "source": "string",
}
EVENT_COLUMNS: tuple[str, ...] = tuple(EVENT_DTYPES)

# Columns of the parcels table. Personal fields are masked in anything for partners.
PARCEL_DTYPES: dict[str, str] = {
    "parcel_id": "string",
    "order_id": "string",
    "international_number": "string",
    "international_carrier": "string",
    "domestic_number": "string",
    "domestic_carrier": "string",
    "origin_country": "string",
    "destination_province": "string",
    "destination_city": "string",
    "shipped_at": "datetime64[ns, UTC]",
    "recipient_name": "string",
    "recipient_phone": "string",
    "recipient_address": "string",
}
PARCEL_COLUMNS: tuple[str, ...] = tuple(PARCEL_DTYPES)
PERSONAL_COLUMNS: tuple[str, ...] = ("recipient_name", "recipient_phone", "recipient_address")
# Parcel columns that may be blank; the rest must be filled.
PARCEL_REQUIRED_VALUES: tuple[str, ...] = ("parcel_id", "international_number")


def is_sandbox(*tables: pd.DataFrame | None) -> bool:
    """True when any table is marked as sandbox data (attrs["sandbox"], or a sandbox/demo source)."""
    for table in tables:
        if table is None:
            continue
        if table.attrs.get("sandbox"):
            return True
        if "source" in table.columns:
            src = table["source"].astype("string").str.lower()
            if bool(src.str.contains("sandbox|demo", regex=True).fillna(False).any()):
                return True
    return False


def text_isin(values: pd.Series | pd.Index, wanted: Iterable[object]):
    """Which entries of a text column (ids, numbers, codes) are among ``wanted``, as a numpy
    bool array; missing entries are never among them. Both sides are compared as text by
    Arrow: pandas' own ``isin`` on Arrow-backed text turns the wanted values into Python
    objects one at a time (seconds for a hundred thousand parcel ids)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(wanted, (pd.Series, pd.Index)):
        keep = wanted.astype("string").dropna()
        choices = pa.array(keep, type=pa.large_string()) if len(keep) else None
    else:
        keys = [str(w) for w in wanted if isinstance(w, str) or not pd.isna(w)]
        choices = pa.array(keys, type=pa.large_string()) if keys else None
    if choices is None or not len(values):
        return np.zeros(len(values), dtype=bool)
    column = pa.array(pd.Series(values).astype("string"), type=pa.large_string())
    found = pc.is_in(column, value_set=choices, skip_nulls=True)
    return pc.fill_null(found, False).to_numpy(zero_copy_only=False)


def empty_events() -> pd.DataFrame:
    """An events table with no rows and the contract's columns and dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in EVENT_DTYPES.items()})


def empty_parcels() -> pd.DataFrame:
    """A parcels table with no rows and the contract's columns and dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in PARCEL_DTYPES.items()})


def _row_numbers(mask: pd.Series | Any) -> list[int]:
    """1-based positions of the True entries (what a person calls row 1, 2...)."""
    import numpy as np

    return [int(i) + 1 for i in np.flatnonzero(np.asarray(mask, dtype=bool))]


def missing_values_error(
    column: str, missing: pd.Series | Any, where: str | None, hint: str, *, word: str = "empty"
) -> SchemaError:
    """The error for a column without a value in some rows: it names the first ten rows
    (1-based) and keeps them all in ``rows``."""
    rows = _row_numbers(missing)
    return SchemaError(
        f"column {column!r} is {word} in row(s) {', '.join(map(str, rows[:10]))}",
        where,
        hint,
        columns=[column],
        rows=rows,
    )


def require_columns(
    df: object, required: Iterable[str], table: str, where: str | None = None
) -> pd.DataFrame:
    """The table itself, once it is a DataFrame with these columns; else an InputError that
    names the table and the missing columns."""
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame of {table}, got {type(df).__name__}", where)
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise MissingColumnsError(missing, table, where)
    return df


def _check_allowed(df: pd.DataFrame, column: str, allowed, where, allow_na=False) -> None:
    values = df[column]
    bad = ~values.isin(list(allowed))
    if allow_na:
        bad &= values.notna()
    if bad.any():
        raise ValueNotAllowedError(
            column, _row_numbers(bad), values[bad].astype(str).tolist(), allowed, where
        )


def _check_utc(df: pd.DataFrame, column: str, where, allow_na=False) -> None:
    s = df[column]
    if not isinstance(s.dtype, pd.DatetimeTZDtype) or str(s.dtype.tz) != "UTC":
        raise SchemaError(
            f"column {column!r} must hold tz-aware UTC timestamps, found dtype {s.dtype}",
            where,
            "Load the table with toolkit.io, or convert with pd.to_datetime(..., utc=True)",
            columns=[column],
        )
    if not allow_na and s.isna().any():
        raise missing_values_error(
            column, s.isna(), where, "Every event needs a time; fix or remove these rows"
        )


def validate_events(df: pd.DataFrame, where: str | None = None) -> pd.DataFrame:
    """Check an events table against the contract; return it unchanged or raise SchemaError.

    Extra columns are allowed. Row numbers in errors are 1-based positions.
    """
    require_columns(df, EVENT_COLUMNS, "events", where)
    _check_utc(df, "time_utc", where)
    _check_allowed(df, "milestone", MILESTONES, where)
    _check_allowed(df, "leg", LEGS, where)
    for col in ("parcel_id", "tracking_number", "carrier"):
        blank = df[col].isna() | (df[col].astype("string").str.strip() == "")
        if blank.any():
            raise missing_values_error(
                col, blank.fillna(True), where, "Fill it in or remove these rows", word="blank"
            )
    if df["tz_assumed"].dtype != bool:
        raise SchemaError(
            f"column 'tz_assumed' must be boolean, found dtype {df['tz_assumed'].dtype}",
            where,
            columns=["tz_assumed"],
        )
    return df


def validate_parcels(df: pd.DataFrame, where: str | None = None) -> pd.DataFrame:
    """Check a parcels table against the contract; return it unchanged or raise SchemaError."""
    require_columns(df, PARCEL_COLUMNS, "parcels", where)
    _check_utc(df, "shipped_at", where, allow_na=True)
    for col in PARCEL_REQUIRED_VALUES:
        blank = df[col].isna() | (df[col].astype("string").str.strip() == "")
        if blank.any():
            raise missing_values_error(
                col,
                blank.fillna(True),
                where,
                "Every parcel needs an id and its international tracking number",
                word="blank",
            )
    dup = df["parcel_id"].duplicated(keep=False)
    if dup.any():
        rows = _row_numbers(dup)
        raise SchemaError(
            f"parcel_id repeats in row(s) {', '.join(map(str, rows[:10]))} "
            f"(e.g. {df.loc[dup, 'parcel_id'].iloc[0]!r})",
            where,
            "Each parcel needs its own parcel_id; merge or rename the duplicates",
            columns=["parcel_id"],
            rows=rows,
        )
    return df
