"""Findings store: what analysts found and did about parcels, versioned, on SQLite or PostgreSQL.

A finding names its parcels, the diagnosis category, the root cause, actions taken, buyer
contact, compensation, notes and a follow-up date. Every change is a new version, and an
update based on a version that is no longer current is refused, so two analysts working on
one case never overwrite each other. The store is a SQLite file by default and any
SQLAlchemy URL (``postgresql+psycopg://...``) for a team.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import closing
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, NoSuchModuleError

from toolkit import paths
from toolkit.errors import InputError, ToolkitError
from toolkit.files import SQLITE_SIDECARS, private_dir, tighten_sqlite
from toolkit.findings.schema import (
    COMPENSATION_KINDS,
    DEFAULTS,
    EDITABLE,
    FIELDS,
    FREE_TEXT,
    ID_PATTERN,
    STATUSES,
    TABLES,
    Finding,
    check_choice,
    check_consistent,
    check_fields,
    check_label,
    check_labels,
    ensure_schema,
    finding_parcels,
    finding_versions,
    findings,
    foreign_tables_error,
    from_row,
    from_snapshot,
    make_engine,
    new_id,
    now_utc,
    to_frame,
    to_row,
    to_snapshot,
    write_options,
)
from toolkit.io import write_spreadsheet_csv
from toolkit.keys import redact, redact_url, url_secrets
from toolkit.model import CATEGORIES
from toolkit.privacy import combined_masker, mask_personal, recipient_maskers
from toolkit.times import to_utc

__all__ = [
    "COMPENSATION_KINDS",
    "ENV_URL",
    "FIELDS",
    "STATUSES",
    "Finding",
    "FindingNotFoundError",
    "FindingsStore",
    "StaleVersionError",
    "StoreError",
    "default_path",
]

ENV_URL = "TOOLKIT_FINDINGS_URL"
PARCEL_CHUNK = 5000  # parcel ids per statement when querying by a long list


class StaleVersionError(ToolkitError):
    """An update was based on a version of a finding that someone else has since changed."""

    def __init__(
        self,
        finding_id: str,
        expected_version: int,
        current_version: int,
        changed_by: str,
        changed_at: datetime,
    ):
        self.finding_id = finding_id
        self.expected_version = expected_version
        self.current_version = current_version
        self.changed_by = changed_by
        self.changed_at = changed_at
        super().__init__(
            f"your update was based on version {expected_version}, but {changed_by!r} changed "
            f"the finding to version {current_version} at "
            f"{changed_at:%Y-%m-%d %H:%M:%S} UTC; nothing was saved",
            f"finding {finding_id}",
            f"Reload it with store.get({finding_id!r}), check the other change, and apply "
            f"yours again with expected_version={current_version}",
        )


class FindingNotFoundError(InputError, LookupError):
    """No finding has the given id."""


class StoreError(ToolkitError):
    """The findings database could not be opened or written."""


def _label_list(name: str, value: Any, where: str) -> list[str] | None:
    if value is None:
        return None
    return list(check_labels(name, value, where, required=True))


def _choice_list(name: str, value: Any, allowed: Sequence[str], where: str) -> list[str] | None:
    if value is None:
        return None
    values = [value] if isinstance(value, str) else list(value)
    return [check_choice(name, v, allowed, where) for v in values]


def _since(value: Any, where: str) -> datetime | None:
    """A findings filter's start: a date (its midnight UTC) or a time; None for none."""
    ts = to_utc(
        value,
        "since",
        where,
        naive="utc",
        empty="none",
        hint="Use a date or ISO 8601 text, e.g. 2026-03-01",
    )
    return None if ts is None else ts.to_pydatetime()


# ---------------------------------------------------------------- where the store lives


def default_path() -> Path:
    """Where the default SQLite store lives: var/ in a checkout, else the user's data folder."""
    if paths.in_checkout():
        return paths.ROOT / "var" / "findings.sqlite"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "parcel-toolkit" / "findings.sqlite"


def _sqlite_file(url: sa.URL) -> Path | None:
    """The file of a SQLite store URL (None for memory, URI file names and other databases)."""
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:") or url.query.get("uri"):
        return None
    return Path(database).expanduser()


SQLITE_HEADER = b"SQLite format 3\x00"


def _check_store_file(path: Path, where: str) -> None:
    """Refuse a store file that is a folder, empty or not a SQLite database; never change it."""
    todo = (
        f"Restore {path} from a backup; to start a new store instead, remove or rename the "
        f"file, or point {ENV_URL} or the url argument elsewhere"
    )
    if path.is_dir():
        raise StoreError(
            "the store path is a folder, not a SQLite file",
            where,
            f"Point {ENV_URL} or the url argument at a file",
        )
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise StoreError(
            f"cannot read the store file ({exc.strerror})",
            where,
            "Check that the file is readable for you",
        ) from None
    if not head:
        wal = Path(f"{path}-wal")
        if wal.is_file() and wal.stat().st_size > 0:
            return  # the content may all be in the write-ahead log: SQLite reads it
        raise StoreError(
            "the store file is empty (0 bytes), so it holds no findings; the toolkit does not "
            "start a new store over it",
            where,
            todo,
        )
    if head != SQLITE_HEADER:
        raise StoreError(
            "the store file is not a SQLite database, so the toolkit does not touch it",
            where,
            todo,
        )
    # Read its tables without writing (the store's own connections switch a file to WAL).
    try:
        with closing(
            sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)
        ) as conn:
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
    except sqlite3.OperationalError:
        return  # locked or not readable now: the store's own connection says what is wrong
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"the store file is damaged ({exc})", where, f"Restore {path} from a backup"
        ) from None
    if tables and not tables & {t.name for t in TABLES}:
        raise foreign_tables_error(tables, where)


def _resolve_url(url: str | None) -> tuple[sa.URL, str]:
    """The store's URL and where it came from (argument, environment or default)."""
    if url is not None:
        raw, source = url, "url argument"
    elif os.environ.get(ENV_URL, "").strip():
        raw, source = os.environ[ENV_URL].strip(), ENV_URL
    else:
        path = default_path()
        return sa.URL.create("sqlite+pysqlite", database=str(path)), "default"
    if not isinstance(raw, str | sa.URL):
        raise InputError(
            f"the store URL must be text, got {type(raw).__name__}",
            source,
            "Pass a URL such as sqlite:///path/to/findings.sqlite",
        )
    try:
        parsed = sa.make_url(raw)
    except ArgumentError:
        raise InputError(
            "the store URL cannot be read",
            source,
            "Use sqlite:///path/to/findings.sqlite or "
            "postgresql+psycopg://user:password@host:5432/dbname",
        ) from None
    return parsed, source


# ---------------------------------------------------------------- the store


class FindingsStore:
    """Versioned findings in a SQLite file (default) or a team database (PostgreSQL)."""

    def __init__(self, url: str | None = None) -> None:
        self._url, source = _resolve_url(url)
        rendered = self._url.render_as_string(hide_password=False)
        self._secrets = url_secrets(rendered)
        self.url = redact_url(rendered)
        self._where = f"findings store {self.url}"
        path = _sqlite_file(self._url)
        if path is not None:
            self._url = self._url.set(database=str(path))
            self._open_file(path)
        try:
            self._engine = make_engine(self._url)
        except (NoSuchModuleError, ArgumentError, ImportError):
            raise InputError(
                f"the database kind {self._url.drivername!r} is not supported",
                f"{source}: {self.url}",
                "Use sqlite:///... or postgresql+psycopg://...",
            ) from None
        try:
            ensure_schema(self._engine, self._where)
        except DBAPIError as exc:
            self._engine.dispose()
            raise self._store_error(exc, "cannot open") from None
        except BaseException:
            self._engine.dispose()
            raise

    def _open_file(self, path: Path) -> None:
        """Check a SQLite store file before use; create a new store only where none exists.

        A new store is made under a temporary name and linked into place with its tables, so
        the path never shows an empty file; an existing file that is empty or not a SQLite
        database is refused and left untouched. Files are made (or narrowed to) 0600.
        """
        try:
            private_dir(path.parent)
        except OSError as exc:
            raise StoreError(
                f"cannot create the folder for the store file ({exc.strerror})",
                self._where,
                f"Pick a writable place with {ENV_URL} or the url argument",
            ) from None
        if not os.path.lexists(path):
            self._create_file(path)
        _check_store_file(path, self._where)
        tighten_sqlite(path)

    def _create_file(self, path: Path) -> None:
        try:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".new")
        except OSError as exc:
            raise StoreError(
                f"cannot create the store file ({exc.strerror})",
                self._where,
                f"Pick a writable place with {ENV_URL} or the url argument",
            ) from None
        os.close(fd)  # mkstemp makes it 0600; SQLite gives its -wal and -shm the same mode
        try:
            engine = make_engine(self._url.set(database=tmp))
            try:
                ensure_schema(engine, self._where)
            except DBAPIError as exc:
                raise self._store_error(exc, "cannot create") from None
            finally:
                engine.dispose()  # the last connection folds the WAL into the file
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another program made the store meanwhile: that one is used
            except OSError:  # a file system without hard links
                if not os.path.lexists(path):
                    os.replace(tmp, path)
        finally:
            for suffix in ("", *SQLITE_SIDECARS):
                Path(tmp + suffix).unlink(missing_ok=True)

    # -- plumbing

    def __repr__(self) -> str:
        return f"FindingsStore({self.url!r})"

    def __enter__(self) -> FindingsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    def _store_error(self, exc: DBAPIError, doing: str) -> StoreError:
        detail = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        secrets = [*self._secrets, self._url.password and str(self._url.password)]
        return StoreError(
            f"{doing} the findings database ({redact(detail, secrets)})",
            self._where,
            "Check that the server is running and the URL, user and password are right; "
            "for a SQLite file, that no other program holds it locked, and if it is damaged, "
            "restore it from a backup",
        )

    def _read(self) -> Connection:
        return self._engine.connect()

    def _write(self) -> Connection:
        return write_options(self._engine.connect())

    def _run(self, doing: str, fn: Callable[[Connection], Any], *, write: bool) -> Any:
        try:
            with self._write() if write else self._read() as conn, conn.begin():
                return fn(conn)
        except IntegrityError:
            raise
        except DBAPIError as exc:
            raise self._store_error(exc, doing) from None

    # -- adding

    def _prepare(self, values: Mapping[str, Any], analyst: Any, where: str) -> Finding:
        checked = check_fields(values, where)
        if checked.get("category") is None:
            raise InputError("category is missing", where, f"Use one of: {', '.join(CATEGORIES)}")
        if "parcel_ids" not in checked:
            raise InputError(
                "parcel_ids is missing", where, "Name at least one parcel the finding is about"
            )
        who = check_label("analyst", analyst, where, required=True)
        now = now_utc()
        merged = {**DEFAULTS, **checked}
        finding = Finding(id="", version=1, analyst=who, created_at=now, updated_at=now, **merged)
        return check_consistent(finding, checked, where)

    def _insert(self, conn: Connection, batch: Sequence[Finding]) -> None:
        conn.execute(findings.insert(), [to_row(f) for f in batch])
        conn.execute(
            finding_versions.insert(),
            [
                {
                    "finding_id": f.id,
                    "version": 1,
                    "changed_at": f.created_at,
                    "analyst": f.analyst,
                    "changed_fields": "[]",
                    "snapshot": to_snapshot(f),
                }
                for f in batch
            ],
        )
        conn.execute(
            finding_parcels.insert(),
            [{"finding_id": f.id, "parcel_id": p} for f in batch for p in f.parcel_ids],
        )

    def _store_new(self, batch: list[Finding]) -> list[Finding]:
        for _attempt in range(5):
            batch = [replace(f, id=new_id()) for f in batch]
            try:
                self._run("cannot write to", lambda c, b=batch: self._insert(c, b), write=True)
            except IntegrityError:
                continue  # an id was taken meanwhile (ids hold 50 random bits): draw new ones
            return batch
        raise StoreError(
            "could not find a free finding id after 5 attempts",
            self._where,
            "Check that nothing else writes into the findings tables",
        )

    def add(
        self,
        parcel_ids: Sequence[str] | str | None = None,
        *,
        category: str | None = None,
        analyst: str | None = None,
        notes: str = "",
        **fields: Any,
    ) -> Finding:
        """Record a new finding (version 1) and return it with its id."""
        where = "FindingsStore.add"
        values = {"parcel_ids": parcel_ids, "category": category, "notes": notes, **fields}
        if parcel_ids is None:
            values.pop("parcel_ids")
        return self._store_new([self._prepare(values, analyst, where)])[0]

    def add_many(self, items: Iterable[Mapping[str, Any]]) -> list[Finding]:
        """Record many new findings in one transaction; each item holds add()'s arguments."""
        batch = []
        for i, item in enumerate(items, start=1):
            if not isinstance(item, Mapping):
                raise InputError(
                    f"item {i} is a {type(item).__name__}, not a mapping",
                    "FindingsStore.add_many",
                    "Pass dicts with add()'s arguments",
                )
            values = dict(item)
            analyst = values.pop("analyst", None)
            batch.append(self._prepare(values, analyst, f"FindingsStore.add_many item {i}"))
        return self._store_new(batch) if batch else []

    # -- updating

    def update(
        self,
        finding_id: str,
        expected_version: int | None = None,
        *,
        analyst: str | None = None,
        **changes: Any,
    ) -> Finding:
        """Change a finding as a new version; refused if it moved past ``expected_version``."""
        fid = self._check_id(finding_id)
        where = f"FindingsStore.update({fid})"
        if isinstance(expected_version, bool) or not isinstance(expected_version, int):
            raise InputError(
                f"expected_version must be the version number you read, got {expected_version!r}",
                where,
                "Pass expected_version=finding.version from the finding you changed",
            )
        who = check_label("analyst", analyst, where, required=True)
        checked = check_fields(changes, where)
        if not checked:
            raise InputError(
                "no field to change was given", where, f"Pass any of: {', '.join(EDITABLE)}"
            )

        def run(conn: Connection) -> Finding:
            row = conn.execute(sa.select(findings).where(findings.c.id == fid)).mappings().first()
            if row is None:
                raise self._not_found(fid)
            current = from_row(row)
            if expected_version > current.version or expected_version < 1:
                raise InputError(
                    f"expected_version {expected_version} does not exist; the finding is at "
                    f"version {current.version}",
                    where,
                    "Pass the version of the finding you read",
                )
            if expected_version != current.version:
                raise StaleVersionError(
                    fid, expected_version, current.version, current.analyst, current.updated_at
                )
            now = max(now_utc(), current.updated_at)
            new = replace(
                current, **checked, analyst=who, updated_at=now, version=current.version + 1
            )
            new = check_consistent(new, checked, where)
            changed = [n for n in (*EDITABLE, "analyst") if getattr(new, n) != getattr(current, n)]
            if not changed:
                raise InputError(
                    "the update changes nothing: every value given equals the current one",
                    where,
                    "Give at least one new value",
                )
            values = to_row(new)
            del values["id"], values["created_at"]
            result = conn.execute(
                findings.update()
                .where(findings.c.id == fid, findings.c.version == expected_version)
                .values(**values)
            )
            if result.rowcount != 1:
                latest = conn.execute(
                    sa.select(findings.c.version, findings.c.analyst, findings.c.updated_at).where(
                        findings.c.id == fid
                    )
                ).one()
                raise StaleVersionError(fid, expected_version, *latest)
            conn.execute(
                finding_versions.insert().values(
                    finding_id=fid,
                    version=new.version,
                    changed_at=now,
                    analyst=who,
                    changed_fields=json.dumps(changed),
                    snapshot=to_snapshot(new),
                )
            )
            if "parcel_ids" in changed:
                conn.execute(finding_parcels.delete().where(finding_parcels.c.finding_id == fid))
                conn.execute(
                    finding_parcels.insert(),
                    [{"finding_id": fid, "parcel_id": p} for p in new.parcel_ids],
                )
            return new

        try:
            return self._run("cannot write to", run, write=True)
        except IntegrityError:
            # Another writer added this version between our read and our insert.
            latest = self.get(fid)
            raise StaleVersionError(
                fid, expected_version, latest.version, latest.analyst, latest.updated_at
            ) from None

    # -- reading

    def _check_id(self, finding_id: Any) -> str:
        if not isinstance(finding_id, str) or not finding_id.strip():
            raise InputError(
                f"finding id must be text such as 'F-0123456789', got {finding_id!r}",
                "FindingsStore",
                "Use the id of a Finding (finding.id) or the id column of query()",
            )
        return finding_id.strip().upper()

    def _not_found(self, fid: str) -> FindingNotFoundError:
        shape = "" if ID_PATTERN.fullmatch(fid) else " (finding ids look like F-0123456789)"
        return FindingNotFoundError(
            f"no finding has the id {fid!r}{shape}",
            self._where,
            "List the findings with store.query() and copy the id from there",
        )

    def get(self, finding_id: str) -> Finding:
        """The current version of one finding."""
        fid = self._check_id(finding_id)
        row = self._run(
            "cannot read",
            lambda c: c.execute(sa.select(findings).where(findings.c.id == fid)).mappings().first(),
            write=False,
        )
        if row is None:
            raise self._not_found(fid)
        return from_row(row)

    def history(self, finding_id: str) -> pd.DataFrame:
        """Every version of a finding, oldest first: who changed what, when, and all values."""
        fid = self._check_id(finding_id)
        rows = self._run(
            "cannot read",
            lambda c: (
                c.execute(
                    sa.select(finding_versions)
                    .where(finding_versions.c.finding_id == fid)
                    .order_by(finding_versions.c.version)
                )
                .mappings()
                .all()
            ),
            write=False,
        )
        if not rows:
            raise self._not_found(fid)
        values = to_frame([to_row(from_snapshot(r["snapshot"])) for r in rows])
        meta = pd.DataFrame(
            {
                "version": pd.array([r["version"] for r in rows], dtype="int64"),
                "changed_at": pd.to_datetime([r["changed_at"] for r in rows], utc=True).astype(
                    "datetime64[ns, UTC]"
                ),
                "analyst": pd.array([r["analyst"] for r in rows], dtype="string"),
                "changed": pd.array(
                    [", ".join(json.loads(r["changed_fields"])) or "created" for r in rows],
                    dtype="string",
                ),
            }
        )
        rest = values.drop(columns=["version", "analyst", "updated_at"])
        return pd.concat([meta, rest], axis=1)

    def query(
        self,
        parcel_id: str | Sequence[str] | None = None,
        status: str | Sequence[str] | None = None,
        category: str | Sequence[str] | None = None,
        analyst: str | Sequence[str] | None = None,
        since: datetime | date | str | None = None,
    ) -> pd.DataFrame:
        """Current findings matching every filter given (``since``: changed at or after)."""
        where = "FindingsStore.query"
        stmt = sa.select(findings)
        parcels = _label_list("parcel_id", parcel_id, where)
        statuses = _choice_list("status", status, STATUSES, where)
        if statuses is not None:
            stmt = stmt.where(findings.c.status.in_(statuses))
        categories = _choice_list("category", category, CATEGORIES, where)
        if categories is not None:
            stmt = stmt.where(findings.c.category.in_(categories))
        analysts = _label_list("analyst", analyst, where)
        if analysts is not None:
            stmt = stmt.where(findings.c.analyst.in_(analysts))
        start = _since(since, where)
        if start is not None:
            stmt = stmt.where(findings.c.updated_at >= start)

        def run(conn: Connection) -> list[Mapping[str, Any]]:
            if parcels is None:
                return list(conn.execute(stmt).mappings())
            # Long parcel lists go in chunks: databases cap the parameters of one statement.
            found: dict[str, Mapping[str, Any]] = {}
            for lo in range(0, len(parcels), PARCEL_CHUNK):
                linked = sa.select(finding_parcels.c.finding_id).where(
                    finding_parcels.c.parcel_id.in_(parcels[lo : lo + PARCEL_CHUNK])
                )
                for row in conn.execute(stmt.where(findings.c.id.in_(linked))).mappings():
                    found[row["id"]] = row
            return list(found.values())

        rows = self._run("cannot read", run, write=False)
        rows.sort(key=lambda r: (r["created_at"], r["id"]))
        return to_frame(rows)

    def __len__(self) -> int:
        return self._run(
            "cannot read",
            lambda c: c.execute(sa.select(sa.func.count()).select_from(findings)).scalar_one(),
            write=False,
        )

    # -- export

    def export_csv(
        self,
        path: str | os.PathLike[str],
        partner_safe: bool = True,
        *,
        parcels: pd.DataFrame | None = None,
        **filters: Any,
    ) -> Path:
        """Write the current findings (filtered as in query()) to a CSV file; return its path.

        ``partner_safe`` drops ``internal_notes`` and masks recipient personal data in free
        text: mobile numbers always, and the recipients' names, phones and addresses from
        ``parcels`` (a parcels table) wherever they appear.
        """
        table = self.export_table(partner_safe, parcels=parcels, **filters)
        # UTF-8 with BOM so that spreadsheet programs read Chinese text; formulas defused
        return write_spreadsheet_csv(table, path)

    def export_table(
        self, partner_safe: bool = True, *, parcels: pd.DataFrame | None = None, **filters: Any
    ) -> pd.DataFrame:
        """What export_csv writes, as a table of text cells (lists joined, times in ISO 8601
        UTC); the partner report reads its findings from here."""
        unknown = sorted(set(filters) - {"parcel_id", "status", "category", "analyst", "since"})
        if unknown:
            raise InputError(
                f"unknown filter(s) {', '.join(map(repr, unknown))}",
                "FindingsStore.export_csv",
                "Filter by parcel_id, status, category, analyst or since",
            )
        df = self.query(**filters)
        if partner_safe:
            df = df.drop(columns=["internal_notes"])
            df = mask_personal(df)
            maskers = _recipient_maskers(parcels, df)
            for name in FREE_TEXT:
                df[name] = [
                    _masked(value, combined_masker(maskers[p] for p in ids if p in maskers))
                    for value, ids in zip(df[name], df["parcel_ids"], strict=True)
                ]
        return _csv_frame(df)


# ---------------------------------------------------------------- export helpers


def _recipient_maskers(
    parcels: pd.DataFrame | None, df: pd.DataFrame
) -> dict[str, Callable[[object], str]]:
    """privacy.recipient_masker for each parcel the exported findings name, by parcel id."""
    if parcels is None:
        return {}
    if not isinstance(parcels, pd.DataFrame) or "parcel_id" not in parcels.columns:
        raise InputError(
            "parcels must be a parcels table with a parcel_id column",
            "FindingsStore.export_csv",
            "Load it with toolkit.io.read_parcels",
        )
    return recipient_maskers(parcels, {p for ids in df["parcel_ids"] for p in ids})


def _masked(value: Any, mask: Callable[[object], str]) -> Any:
    """Free text (or a tuple of texts) with the named parcels' recipient data and any mobile
    number or signer's name masked (mask from privacy.combined_masker)."""
    if isinstance(value, tuple):
        return tuple(_masked(v, mask) for v in value)
    return mask(value) if isinstance(value, str) else value


def _csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Findings as flat text cells: lists joined, times in ISO 8601 UTC."""
    out = df.copy()
    for name in ("parcel_ids", "tracking_numbers"):
        out[name] = out[name].map("; ".join)
    out["actions_taken"] = out["actions_taken"].map("\n".join)
    for name in ("created_at", "updated_at", "buyer_contacted_at"):
        out[name] = out[name].map(lambda t: "" if pd.isna(t) else t.isoformat())
    out["follow_up"] = out["follow_up"].map(lambda d: "" if d is None or pd.isna(d) else str(d))
    out["compensation_amount"] = out["compensation_amount"].map(
        lambda a: "" if a is None else str(a)
    )
    return out
