"""What a finding is and how it is stored: fields, value rules, tables, schema version."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from toolkit.errors import InputError, ToolkitError
from toolkit.model import CATEGORIES
from toolkit.times import to_utc

STATUSES: tuple[str, ...] = ("open", "waiting", "resolved")
COMPENSATION_KINDS: tuple[str, ...] = (
    "coupon",
    "shipping_refund",
    "partial_refund",
    "full_refund",
    "replacement",
    "other",
)
MAX_ID_LENGTH = 200  # parcel ids, tracking numbers and analyst names
_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
ID_PATTERN = re.compile(r"F-[0-9A-Z]{10}")
_CURRENCY = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True)
class Finding:
    """One finding as stored at one version.

    ``analyst`` is who recorded this version, and so who holds the case now: handing a case
    over is an update by the analyst taking it. ``notes`` may go to partners (masked);
    ``internal_notes`` never leave the team. Times are tz-aware UTC; ``version`` starts at 1
    and grows by one with every update.
    """

    id: str
    version: int
    parcel_ids: tuple[str, ...]
    tracking_numbers: tuple[str, ...]
    category: str
    status: str
    root_cause: str
    actions_taken: tuple[str, ...]
    buyer_contacted: bool
    buyer_contacted_at: datetime | None
    compensation_kind: str | None
    compensation_amount: Decimal | None
    compensation_currency: str | None
    notes: str
    internal_notes: str
    analyst: str
    follow_up: date | None
    created_at: datetime
    updated_at: datetime


FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Finding))
# Fields only the store sets.
STORE_FIELDS: tuple[str, ...] = ("id", "version", "created_at", "updated_at")
# Fields add() and update() accept, with their values when not given at add().
DEFAULTS: dict[str, Any] = {
    "parcel_ids": (),
    "tracking_numbers": (),
    "category": None,
    "status": "open",
    "root_cause": "",
    "actions_taken": (),
    "buyer_contacted": False,
    "buyer_contacted_at": None,
    "compensation_kind": None,
    "compensation_amount": None,
    "compensation_currency": None,
    "notes": "",
    "internal_notes": "",
    "follow_up": None,
}
EDITABLE: tuple[str, ...] = tuple(DEFAULTS)
# Free text that may quote recipients; masked in partner-safe exports.
FREE_TEXT: tuple[str, ...] = ("root_cause", "actions_taken", "notes")


# ---------------------------------------------------------------- validation of single fields


def now_utc() -> datetime:
    return datetime.now(UTC)


def _check_text(name: str, value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError(
            f"{name} must be text, got {type(value).__name__} {value!r}",
            where,
            f"Pass {name} as a string",
        )
    if "\x00" in value:
        raise InputError(f"{name} contains a NUL character", where, f"Remove it from {name}")
    # half of a broken character pair (pasted from a damaged text) cannot be stored: it is
    # kept visible as U+FFFD instead of losing the whole finding
    return _LONE_SURROGATE.sub("\ufffd", value)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def check_label(name: str, value: Any, where: str, *, required: bool) -> str:
    """A short one-line label (analyst name, parcel id): stripped, not blank, not too long."""
    if not isinstance(value, str):
        raise InputError(
            f"{name} must be text, got {type(value).__name__} {value!r}",
            where,
            f"Pass {name} as a non-empty string",
        )
    text = value.strip()
    if not text and required:
        raise InputError(f"{name} is empty", where, f"Give a non-empty {name}")
    if len(text) > MAX_ID_LENGTH or any(ch in text for ch in "\r\n\t\x00"):
        raise InputError(
            f"{name} {text[:40]!r}... is not a one-line value of at most {MAX_ID_LENGTH} "
            "characters",
            where,
            f"Shorten {name} to one line",
        )
    return text


def _as_list(name: str, value: Any, where: str, example: str) -> list[Any]:
    """One text or None as a list; InputError (with an example list) for anything else."""
    if isinstance(value, str):
        return [value]
    if value is None:
        return []
    if not isinstance(value, Iterable) or isinstance(value, Mapping | bytes):
        raise InputError(
            f"{name} must be a list of strings, got {type(value).__name__}",
            where,
            f"Pass {name} as a list such as {example}",
        )
    return list(value)


def check_labels(name: str, value: Any, where: str, *, required: bool) -> tuple[str, ...]:
    value = _as_list(name, value, where, "['P123', 'P124']")
    items = [check_label(f"{name}[{i}]", v, where, required=True) for i, v in enumerate(value)]
    if required and not items:
        raise InputError(f"{name} is empty", where, "Name at least one parcel the finding is about")
    return tuple(dict.fromkeys(items))


def _check_texts(name: str, value: Any, where: str) -> tuple[str, ...]:
    value = _as_list(name, value, where, "['asked EMS for the domestic number']")
    out = []
    for i, v in enumerate(value):
        text = _check_text(f"{name}[{i}]", v, where).strip()
        if not text:
            raise InputError(f"{name}[{i}] is empty", where, f"Remove the blank entry from {name}")
        out.append(text)
    return tuple(out)


def check_choice(name: str, value: Any, allowed: Sequence[str], where: str) -> str:
    if not isinstance(value, str) or value.strip().lower() not in allowed:
        raise InputError(
            f"{name} {value!r} is not one of the known values",
            where,
            f"Use one of: {', '.join(allowed)}",
        )
    return value.strip().lower()


def _check_time(name: str, value: Any, where: str) -> datetime | None:
    ts = to_utc(
        value,
        name,
        where,
        empty="none",
        hint="Use a datetime or ISO 8601 text such as 2026-03-01T14:05:00+08:00",
    )
    if ts is None:
        return None
    moment = ts.to_pydatetime()
    if moment > now_utc() + timedelta(minutes=5):
        raise InputError(f"{name} {value!r} is in the future", where, "Give the time it happened")
    return moment


def _check_date(name: str, value: Any, where: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.date()
    elif isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise InputError(
                f"{name} {value!r} is not a date", where, "Use YYYY-MM-DD, e.g. 2026-03-15"
            ) from None
    if not isinstance(value, date):
        raise InputError(
            f"{name} must be a date, got {type(value).__name__} {value!r}",
            where,
            "Use a datetime.date or YYYY-MM-DD text",
        )
    # Lenient across time zones: the earlier of the local and the UTC calendar day is 'today'.
    today = min(date.today(), now_utc().date())
    if value < today:
        raise InputError(
            f"{name} {value.isoformat()} is in the past",
            where,
            f"Pick today ({today.isoformat()}) or a later day",
        )
    return value


def _check_amount(name: str, value: Any, where: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise InputError(
            f"{name} must be a number, got {value!r}", where, "Give an amount such as 12.50"
        )
    try:
        amount = Decimal(str(value).strip()) if isinstance(value, str | float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise InputError(
            f"{name} {value!r} is not a number", where, "Give an amount such as 12.50"
        ) from None
    if not amount.is_finite():
        raise InputError(
            f"{name} {value!r} is not a finite number", where, "Give an amount such as 12.50"
        )
    if amount < 0:
        raise InputError(
            f"{name} {value!r} is negative", where, "Give the amount offered, 0 or more"
        )
    if abs(amount.as_tuple().exponent) > 6 or amount >= Decimal("1e12"):
        raise InputError(
            f"{name} {value!r} is out of range",
            where,
            "Give an amount below 10^12 with at most 6 decimals",
        )
    return amount


def _check_currency(name: str, value: Any, where: str) -> str | None:
    if value is None:
        return None
    code = value.strip().upper() if isinstance(value, str) else value
    if not isinstance(code, str) or not _CURRENCY.fullmatch(code):
        raise InputError(
            f"{name} {value!r} is not an ISO 4217 currency code",
            where,
            "Use three letters such as CNY, USD, EUR",
        )
    return code


def _check_bool(name: str, value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(
            f"{name} must be True or False, got {value!r}", where, f"Pass {name}=True or False"
        )
    return value


_CHECKS: dict[str, Callable[[str, Any, str], Any]] = {
    "parcel_ids": lambda n, v, w: check_labels(n, v, w, required=True),
    "tracking_numbers": lambda n, v, w: check_labels(n, v, w, required=False),
    "category": lambda n, v, w: check_choice(n, v, CATEGORIES, w),
    "status": lambda n, v, w: check_choice(n, v, STATUSES, w),
    "root_cause": _check_text,
    "actions_taken": _check_texts,
    "buyer_contacted": _check_bool,
    "buyer_contacted_at": _check_time,
    "compensation_kind": lambda n, v, w: (
        None if v is None else check_choice(n, v, COMPENSATION_KINDS, w)
    ),
    "compensation_amount": _check_amount,
    "compensation_currency": _check_currency,
    "notes": _check_text,
    "internal_notes": _check_text,
    "follow_up": _check_date,
}


def check_fields(values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Validate the given editable fields; refuse unknown or store-managed names."""
    managed = sorted(k for k in values if k in STORE_FIELDS)
    if managed:
        raise InputError(
            f"field(s) {', '.join(managed)} cannot be set: the store manages them",
            where,
            "Leave them out",
        )
    unknown = sorted(k for k in values if k not in _CHECKS and k != "analyst")
    if unknown:
        raise InputError(
            f"unknown field(s) {', '.join(repr(k) for k in unknown)}",
            where,
            f"Findings have the fields: {', '.join(EDITABLE)}",
        )
    return {k: _CHECKS[k](k, v, where) for k, v in values.items() if k != "analyst"}


def check_consistent(f: Finding, given: Mapping[str, Any], where: str) -> Finding:
    """Cross-field rules on a complete finding; fills buyer_contacted_at when first contacted."""
    if f.buyer_contacted and f.buyer_contacted_at is None:
        f = replace(f, buyer_contacted_at=f.updated_at)
    if not f.buyer_contacted and f.buyer_contacted_at is not None:
        if "buyer_contacted" in given and "buyer_contacted_at" not in given:
            f = replace(f, buyer_contacted_at=None)
        else:
            raise InputError(
                "buyer_contacted_at is set but buyer_contacted is False",
                where,
                "Set buyer_contacted=True too, or leave buyer_contacted_at out",
            )
    if f.compensation_amount is not None:
        if f.compensation_currency is None:
            raise InputError(
                "compensation_amount is given without compensation_currency",
                where,
                "Add compensation_currency, e.g. 'CNY'",
            )
        if f.compensation_kind is None:
            raise InputError(
                "compensation_amount is given without compensation_kind",
                where,
                f"Add compensation_kind, one of: {', '.join(COMPENSATION_KINDS)}",
            )
    return f


# ---------------------------------------------------------------- conversions


def new_id() -> str:
    n = secrets.randbits(50)
    return "F-" + "".join(_ID_ALPHABET[(n >> (5 * i)) & 31] for i in range(9, -1, -1))


def _json_list(values: Sequence[str]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


def to_row(f: Finding) -> dict[str, Any]:
    """A finding as a row of the findings table."""
    row = {name: getattr(f, name) for name in FIELDS}
    for name in ("parcel_ids", "tracking_numbers", "actions_taken"):
        row[name] = _json_list(row[name])
    if f.compensation_amount is not None:
        row["compensation_amount"] = str(f.compensation_amount)
    return row


def from_row(row: Mapping[str, Any]) -> Finding:
    """A finding from a row of the findings table."""
    values = {name: row[name] for name in FIELDS}
    for name in ("parcel_ids", "tracking_numbers", "actions_taken"):
        values[name] = tuple(json.loads(values[name]))
    if values["compensation_amount"] is not None:
        values["compensation_amount"] = Decimal(values["compensation_amount"])
    values["buyer_contacted"] = bool(values["buyer_contacted"])
    return Finding(**values)


def to_snapshot(f: Finding) -> str:
    """A finding as JSON text, for the version history."""
    out: dict[str, Any] = {}
    for name in FIELDS:
        value = getattr(f, name)
        if isinstance(value, datetime | date):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[name] = value
    return json.dumps(out, ensure_ascii=False)


def from_snapshot(text: str) -> Finding:
    data = json.loads(text)
    for name in ("created_at", "updated_at", "buyer_contacted_at"):
        if data[name] is not None:
            data[name] = datetime.fromisoformat(data[name])
    if data["follow_up"] is not None:
        data["follow_up"] = date.fromisoformat(data["follow_up"])
    if data["compensation_amount"] is not None:
        data["compensation_amount"] = Decimal(data["compensation_amount"])
    for name in ("parcel_ids", "tracking_numbers", "actions_taken"):
        data[name] = tuple(data[name])
    return Finding(**{name: data[name] for name in FIELDS})


def to_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Findings table rows as a DataFrame with one column per Finding field."""
    df = pd.DataFrame([dict(r) for r in rows], columns=list(FIELDS))
    for name in ("parcel_ids", "tracking_numbers", "actions_taken"):
        df[name] = df[name].map(lambda s: tuple(json.loads(s)))
    df["compensation_amount"] = df["compensation_amount"].map(
        lambda s: None if s is None else Decimal(s)
    )
    for name in ("created_at", "updated_at", "buyer_contacted_at"):
        df[name] = pd.to_datetime(df[name], utc=True).astype("datetime64[ns, UTC]")
    for name in (
        "id",
        "category",
        "status",
        "root_cause",
        "compensation_kind",
        "compensation_currency",
        "notes",
        "internal_notes",
        "analyst",
    ):
        df[name] = df[name].astype("string")
    df["version"] = df["version"].astype("int64")
    df["buyer_contacted"] = df["buyer_contacted"].astype(bool)
    return df


# ---------------------------------------------------------------- tables and engine

SCHEMA_VERSION = 1
SCHEMA_NAME = "findings"
SQLITE_BUSY_SECONDS = 30.0


class UTCDateTime(sa.TypeDecorator):
    """A timestamp stored in UTC and always read back as a tz-aware UTC datetime."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = value.astimezone(UTC)
        # SQLite has no time zones: keep naive UTC there so text comparisons order correctly.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData()

schema_info = sa.Table(
    "schema_info",
    metadata,
    sa.Column("component", sa.String(32), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

findings = sa.Table(
    "findings",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("parcel_ids", sa.Text, nullable=False),  # JSON list
    sa.Column("tracking_numbers", sa.Text, nullable=False),  # JSON list
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("root_cause", sa.Text, nullable=False),
    sa.Column("actions_taken", sa.Text, nullable=False),  # JSON list
    sa.Column("buyer_contacted", sa.Boolean, nullable=False),
    sa.Column("buyer_contacted_at", UTCDateTime),
    sa.Column("compensation_kind", sa.String(32)),
    sa.Column("compensation_amount", sa.String(32)),  # exact decimal as text
    sa.Column("compensation_currency", sa.String(3)),
    sa.Column("notes", sa.Text, nullable=False),
    sa.Column("internal_notes", sa.Text, nullable=False),
    sa.Column("analyst", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("follow_up", sa.Date),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_findings_status", "status"),
    sa.Index("ix_findings_category", "category"),
    sa.Index("ix_findings_analyst", "analyst"),
    sa.Index("ix_findings_updated_at", "updated_at"),
)

finding_versions = sa.Table(
    "finding_versions",
    metadata,
    sa.Column("finding_id", sa.String(16), sa.ForeignKey("findings.id"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("changed_at", UTCDateTime, nullable=False),
    sa.Column("analyst", sa.String(200), nullable=False),
    sa.Column("changed_fields", sa.Text, nullable=False),  # JSON list of field names
    sa.Column("snapshot", sa.Text, nullable=False),  # JSON of the whole finding at this version
)

finding_parcels = sa.Table(
    "finding_parcels",
    metadata,
    sa.Column("finding_id", sa.String(16), sa.ForeignKey("findings.id"), primary_key=True),
    sa.Column("parcel_id", sa.String(200), primary_key=True),
    sa.Index("ix_finding_parcels_parcel_id", "parcel_id"),
)

TABLES: tuple[sa.Table, ...] = (schema_info, findings, finding_versions, finding_parcels)

# Migrations from one schema version to the next: {from_version: function(connection)}.
MIGRATIONS: dict[int, object] = {}


def make_engine(url: sa.URL) -> Engine:
    """An engine for the store: SQLite in WAL mode with a busy timeout, or a pooled server."""
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS})
        _tune_sqlite(engine)
        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def _tune_sqlite(engine: Engine) -> None:
    """WAL, busy timeout, and explicit BEGIN so that writers can take the lock up front."""

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Hand transaction control to the 'begin' hook below instead of the driver.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_SECONDS * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection):
        # Writers ask for the write lock at BEGIN so they queue behind each other (busy
        # timeout) instead of failing when a read lock cannot be upgraded mid-transaction.
        mode = conn.get_execution_options().get("toolkit_write")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if mode else "BEGIN")


def write_options(conn: Connection) -> Connection:
    """Mark a connection as about to write (BEGIN IMMEDIATE on SQLite; nothing elsewhere)."""
    return conn.execution_options(toolkit_write=True)


def foreign_tables_error(tables: Iterable[str], where: str) -> ToolkitError:
    """The error for a SQLite file that holds other tables and none of the store's.

    A SQLite file is the store's own: one holding other tables was not made by the toolkit
    (or lost its findings tables), and is never turned into a new store.
    """
    names = sorted(tables)
    shown = ", ".join(names[:5]) + (f" (and {len(names) - 5} more)" if names[5:] else "")
    return ToolkitError(
        f"this SQLite file holds other tables ({shown}) and none of the findings store's, so "
        "it is not a findings store and the toolkit does not change it",
        where,
        "Restore the store file from a backup, or point the store at another file (a path "
        "that does not exist yet starts a new store)",
    )


def ensure_schema(engine: Engine, where: str) -> None:
    """Create the tables on first use, or check (and migrate) the schema version of a store."""
    with write_options(engine.connect()) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            # Serialise first-use creation between processes sharing one server.
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(8201505)"))
        inspector = sa.inspect(conn)
        present = {t.name for t in TABLES if inspector.has_table(t.name)}
        others = sorted(inspector.get_table_names()) if conn.dialect.name == "sqlite" else []
        if not present and others:
            raise foreign_tables_error(others, where)
        if not present:
            metadata.create_all(conn)
            conn.execute(
                schema_info.insert().values(
                    component=SCHEMA_NAME, version=SCHEMA_VERSION, updated_at=datetime.now(UTC)
                )
            )
            return
        if "schema_info" not in present:
            raise ToolkitError(
                "this database holds tables named like the findings store's but no schema "
                "version, so it was not made by the toolkit",
                where,
                "Point the store at an empty database or another SQLite file",
            )
        found = conn.execute(
            sa.select(schema_info.c.version).where(schema_info.c.component == SCHEMA_NAME)
        ).scalar()
        if found is None:
            raise ToolkitError(
                "the schema_info table has no entry for the findings store",
                where,
                "Point the store at an empty database or one the toolkit created",
            )
        if found > SCHEMA_VERSION:
            raise ToolkitError(
                f"the store has schema version {found}, newer than this toolkit's {SCHEMA_VERSION}",
                where,
                "Upgrade the toolkit (pip install -U parcel-toolkit) before opening this store",
            )
        while found < SCHEMA_VERSION:
            MIGRATIONS[found](conn)  # type: ignore[operator]
            found += 1
            conn.execute(
                schema_info.update()
                .where(schema_info.c.component == SCHEMA_NAME)
                .values(version=found, updated_at=datetime.now(UTC))
            )
        missing = sorted({t.name for t in TABLES} - present)
        if missing:
            raise ToolkitError(
                f"the store lacks the table(s) {', '.join(missing)} although its schema "
                "version says they exist",
                where,
                "Restore the database from a backup; the toolkit will not recreate them empty",
            )
