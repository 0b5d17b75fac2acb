"""The data the sandbox serves: every scan every carrier holds, indexed by tracking number."""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from toolkit.errors import FileFormatError, InputError, MissingColumnsError
from toolkit.model import carrier_tz

EVENT_COLUMNS_NEEDED = (
    "tracking_number",
    "carrier",
    "leg",
    "time_local",
    "location",
    "description",
)
PARCEL_COLUMNS_NEEDED = ("parcel_id", "domestic_number", "recipient_phone")


@dataclass(frozen=True, slots=True)
class Scan:
    """One scan as a carrier holds it."""

    when: datetime  # aware, in the carrier's own offset
    time_local: str  # the carrier's text, as recorded
    has_offset: bool  # whether the carrier's text carried an offset
    carrier: str
    location: str
    description: str
    milestone: str
    raw_status: str


@dataclass(frozen=True, slots=True)
class Shipment:
    """Everything one carrier number stands for in the sandbox world."""

    number: str
    carrier: str
    leg: str
    parcel_id: str | None
    scans: tuple[Scan, ...]  # oldest first
    link_number: str | None = None  # last-mile number the international carrier reports
    link_carrier: str | None = None
    phone: str | None = None  # recipient phone (domestic carriers may ask for its last 4 digits)
    origin_country: str | None = None
    destination_province: str | None = None
    destination_city: str | None = None
    shipped_at: datetime | None = None

    @property
    def last(self) -> Scan | None:
        """The most recent scan, if any."""
        return self.scans[-1] if self.scans else None


_ScanIndex = dict[tuple[str, str], tuple[str, str | None, tuple[Scan, ...]]]


def _text(value: object) -> str | None:
    """A clean string, or None for blanks and missing values."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return None
    text = str(value).strip()
    return text or None


@functools.lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _parse_time(text: str | None) -> datetime | None:
    """An aware time from ISO text (UTC when no offset is given), or None."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _parse_local(text: str, carrier: str) -> tuple[datetime, bool]:
    """Read a carrier's local time text; assume the carrier's zone when no offset is given."""
    when = datetime.fromisoformat(text.strip())
    if when.tzinfo is not None:
        return when, True
    return when.replace(tzinfo=_zone(carrier_tz(carrier))), False


class World:
    """Shipments by tracking number and leg, built once from a parcels table and an events table.

    A postal parcel keeps its international number on the domestic leg (EMS delivers it
    under the same number); such a number has an international and a domestic shipment.
    """

    def __init__(
        self,
        parcels: pd.DataFrame,
        events: pd.DataFrame,
        now: datetime | None = None,
        where: str | None = None,
        exclude_sources: Collection[str] | None = None,
    ):
        _require(events, EVENT_COLUMNS_NEEDED, "events", where)
        _require(parcels, PARCEL_COLUMNS_NEEDED, "parcels", where)
        milestone_col = "true_milestone" if "true_milestone" in events.columns else "milestone"
        _require(events, (milestone_col,), "events", where)
        skip = _mirror_sources() if exclude_sources is None else set(exclude_sources)
        if skip and "source" in events.columns:
            events = events[~events["source"].isin(list(skip))]
        self._shipments: dict[tuple[str, str], Shipment] = {}
        scans = self._index_scans(events, milestone_col, where)
        self._index_parcels(parcels, scans)
        for (number, leg), (carrier, parcel_id, items) in scans.items():
            self._shipments.setdefault(
                (number, leg), Shipment(number, carrier, leg, parcel_id, items)
            )
        self.now: datetime = now or self._as_of(parcels)

    def _as_of(self, parcels: pd.DataFrame) -> datetime:
        """The moment the data describes: the parcels' as_of, else the latest scan."""
        if "as_of" in parcels.columns:
            as_of = pd.to_datetime(parcels["as_of"], utc=True, errors="coerce").max()
            if not pd.isna(as_of):
                return as_of.to_pydatetime()
        latest = [s.last.when for s in self._shipments.values() if s.last is not None]
        return max(latest).astimezone(UTC) if latest else datetime.now(UTC)

    @staticmethod
    def _index_scans(events: pd.DataFrame, milestone_col: str, where: str | None) -> _ScanIndex:
        frame = events.dropna(subset=["tracking_number", "time_local"])

        def column(name: str, default: str = "") -> list:
            if name not in frame.columns:
                return [default] * len(frame)
            return frame[name].astype("string").str.strip().fillna(default).tolist()

        numbers, times = column("tracking_number"), column("time_local")
        carriers = [c.lower() for c in column("carrier")]
        legs = column("leg")
        locations, descriptions = column("location"), column("description")
        milestones, raws = column(milestone_col, "unknown"), column("raw_status")
        parcel_ids = column("parcel_id")
        grouped: dict[tuple[str, str], list[Scan]] = {}
        first_parcel: dict[tuple[str, str], str | None] = {}
        for i, (number, text, carrier) in enumerate(zip(numbers, times, carriers, strict=True)):
            try:
                when, has_offset = _parse_local(text, carrier)
            except ValueError as exc:
                raise InputError(
                    f"time_local {text!r} of number {number} in events row {i + 1} cannot be read",
                    where,
                    "Use ISO 8601 such as 2026-03-01 14:05:00, with or without an offset",
                ) from exc
            scan = Scan(
                when=when,
                time_local=text,
                has_offset=has_offset,
                carrier=carrier,
                location=locations[i],
                description=descriptions[i],
                milestone=milestones[i] or "unknown",
                raw_status=raws[i],
            )
            key = (number, "domestic" if legs[i].lower() == "domestic" else "international")
            grouped.setdefault(key, []).append(scan)
            first_parcel.setdefault(key, parcel_ids[i] or None)
        out: _ScanIndex = {}
        for key, items in grouped.items():
            items.sort(key=lambda s: s.when)
            out[key] = (items[0].carrier, first_parcel[key], tuple(items))
        return out

    def _index_parcels(self, parcels: pd.DataFrame, scans: _ScanIndex) -> None:
        def col(name: str, fallback: str | None = None) -> list[str | None]:
            for each in (name, fallback):
                if each and each in parcels.columns:
                    values = parcels[each].astype("string").str.strip()
                    # A blank cell is no value, whether the table holds "" or a missing value.
                    values = values.where(values != "")
                    return values.astype(object).where(values.notna(), None).tolist()
            return [None] * len(parcels)

        rows = zip(
            col("parcel_id"),
            col("true_international_number", "international_number"),
            col("international_carrier"),
            col("true_domestic_number", "domestic_number"),
            col("domestic_carrier"),
            col("domestic_number"),
            col("recipient_phone"),
            col("origin_country"),
            col("destination_province"),
            col("destination_city"),
            col("shipped_at"),
            strict=True,
        )
        for parcel_id, intl, intl_carrier, dom, dom_carrier, linked, phone, *place in rows:
            origin, province, city, shipped = place
            common = {
                "parcel_id": parcel_id,
                "phone": phone,
                "origin_country": origin,
                "destination_province": province,
                "destination_city": city,
                "shipped_at": _parse_time(shipped),
            }
            dom_scans = scans.get((dom, "domestic"), (None, None, ())) if dom else (None, None, ())
            dom_code = dom_scans[0] or (dom_carrier or "").lower()
            if intl:
                own = scans.get((intl, "international"), (None, None, ()))
                items = own[2]
                if dom == intl:  # the destination post carries on under the same number
                    items = tuple(sorted(items + dom_scans[2], key=lambda s: s.when))
                is_linked = linked is not None and dom is not None and dom != intl
                self._shipments[(intl, "international")] = Shipment(
                    number=intl,
                    carrier=own[0] or (intl_carrier or "").lower(),
                    leg="international",
                    scans=items,
                    link_number=dom if is_linked else None,
                    link_carrier=dom_code if is_linked else None,
                    **common,
                )
            if dom:
                self._shipments[(dom, "domestic")] = Shipment(
                    number=dom, carrier=dom_code, leg="domestic", scans=dom_scans[2], **common
                )

    @classmethod
    def from_directory(cls, directory: str | Path) -> World:
        """Load parcels.csv and events.csv from a directory."""
        directory = Path(directory)
        frames = []
        for name in ("parcels.csv", "events.csv"):
            path = directory / name
            if not path.is_file():
                raise FileFormatError(
                    f"{name} is missing",
                    str(directory),
                    "Generate the demo data with `python -m toolkit.demo`, or point to a "
                    "directory holding parcels.csv and events.csv",
                )
            frames.append(pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""]))
        return cls(frames[0], frames[1], where=str(directory))

    @classmethod
    def demo(cls) -> World:
        """The world of the demo data set (generated if its files are missing), loaded once."""
        return _demo_world()

    def lookup(self, number: str, leg: str | None = None) -> Shipment | None:
        """The shipment behind a number on one leg (by default international, else domestic)."""
        number = number.strip()
        for each in (leg,) if leg else ("international", "domestic"):
            shipment = self._shipments.get((number, each))
            if shipment is not None:
                return shipment
        return None

    def numbers(self, leg: str | None = None) -> list[str]:
        """Every number the world knows, optionally only one leg's."""
        found = (n for (n, each) in self._shipments if leg is None or each == leg)
        return list(dict.fromkeys(found))

    def __len__(self) -> int:
        return len(self._shipments)

    def __repr__(self) -> str:
        intl, dom = len(self.numbers("international")), len(self.numbers("domestic"))
        return f"World({intl} international, {dom} domestic numbers)"


def _mirror_sources() -> set[str]:
    """Sources that only repeat scans already in the world (an aggregator's copy)."""
    try:
        from toolkit.world.demo import MIRROR_SOURCE
    except ImportError:
        return set()
    return {MIRROR_SOURCE}


def _require(df: pd.DataFrame, columns: tuple[str, ...], table: str, where: str | None) -> None:
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame of {table}, got {type(df).__name__}", where)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise MissingColumnsError(missing, table, where)


@functools.lru_cache(maxsize=1)
def _demo_world() -> World:
    """The demo set's world: from its files (generated on first use), else made in memory."""
    from toolkit.errors import ToolkitError
    from toolkit.world import demo

    try:
        directory = demo.ensure_demo()
    except ToolkitError:  # no folder to keep the files in: the same world, in memory only
        parcels, events = demo.generate(demo.DEMO_PARCELS, demo.DEMO_SEED)
        where = f"toolkit.world.demo.generate({demo.DEMO_PARCELS}, {demo.DEMO_SEED})"
        return World(parcels, events, where=where)
    return World.from_directory(directory)
