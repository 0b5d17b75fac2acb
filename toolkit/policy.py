"""Diagnosis thresholds (with per-lane overrides) and the compensation policy table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from toolkit.errors import InputError

LANE_FIELDS: tuple[str, ...] = ("origin_country", "international_carrier", "destination_province")

# Thresholds a lane override may change (all in days).
LANE_SETTINGS: tuple[str, ...] = (
    "clearance_days",
    "handover_days",
    "domestic_silence_days",
    "international_silence_days",
    "first_scan_grace_days",
)


@dataclass(frozen=True)
class LaneOverride:
    """Thresholds that apply to one lane; a field left as None matches any value."""

    origin_country: str | None = None
    international_carrier: str | None = None
    destination_province: str | None = None
    settings: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.settings) - set(LANE_SETTINGS))
        if unknown:
            raise InputError(
                f"lane override has unknown setting(s) {', '.join(map(repr, unknown))}",
                "LaneOverride",
                f"Use any of: {', '.join(LANE_SETTINGS)}",
            )
        for name, value in self.settings.items():
            if not isinstance(value, int | float) or value < 0:
                raise InputError(
                    f"lane override setting {name!r} must be a number of days >= 0, got {value!r}",
                    "LaneOverride",
                )
        object.__setattr__(self, "settings", dict(self.settings))

    def matches(self, lane: Mapping[str, object]) -> bool:
        """True if this override applies to a lane given as a mapping of the lane fields."""
        for name in LANE_FIELDS:
            want = getattr(self, name)
            if want is not None and _norm(lane.get(name)) != _norm(want):
                return False
        return True


def _norm(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return str(value).strip().lower()


@dataclass(frozen=True)
class DiagnosisConfig:
    """Every threshold the diagnosis uses, in days unless said otherwise.

    Defaults are typical values for parcels entering China:

    - ``clearance_days``: customs clearance normally finishes within this many days
      after the parcel arrives in the destination country (usually 1-5).
    - ``handover_days``: after the last customs-release or handover scan the domestic
      carrier's first scan normally shows within this many days (usually 2-3).
    - ``domestic_silence_days``: a parcel with the domestic carrier that has not been
      scanned for longer than this is suspected lost (domestic parcels are scanned at
      least daily, and marketplaces flag stalled domestic tracking after 2-3 days).
    - ``international_silence_days``: the same for the international leg, where
      flights and sea legs leave longer gaps between scans.
    - ``first_scan_grace_days``: a new number may show nothing for this long after
      shipping before "not found" becomes worrying.
    - ``eta_min_parcels`` / ``eta_min_delivered``: a lane's history is used for an
      arrival estimate only with at least this many parcels / deliveries; otherwise
      the estimate falls back to a coarser group.
    - ``eta_low_quantile`` / ``eta_high_quantile``: the estimate's range (chance of
      delivery by the first date / by the second date).
    - ``overrides``: per-lane thresholds (origin country, international carrier,
      destination province); later overrides win over earlier ones.
    """

    clearance_days: float = 5.0
    handover_days: float = 3.0
    domestic_silence_days: float = 5.0
    international_silence_days: float = 14.0
    first_scan_grace_days: float = 3.0
    eta_min_parcels: int = 30
    eta_min_delivered: int = 10
    eta_low_quantile: float = 0.5
    eta_high_quantile: float = 0.9
    overrides: tuple[LaneOverride, ...] = ()

    def __post_init__(self) -> None:
        for name in LANE_SETTINGS:
            value = getattr(self, name)
            if not isinstance(value, int | float) or value < 0:
                raise InputError(
                    f"{name} must be a number of days >= 0, got {value!r}", "DiagnosisConfig"
                )
        if not 0 < self.eta_low_quantile < self.eta_high_quantile < 1:
            raise InputError(
                "ETA quantiles must satisfy 0 < eta_low_quantile < eta_high_quantile < 1, got "
                f"{self.eta_low_quantile} and {self.eta_high_quantile}",
                "DiagnosisConfig",
            )
        if self.eta_min_parcels < 1 or self.eta_min_delivered < 1:
            raise InputError(
                "eta_min_parcels and eta_min_delivered must be at least 1", "DiagnosisConfig"
            )
        object.__setattr__(self, "overrides", tuple(self.overrides))

    def with_override(
        self,
        *,
        origin_country: str | None = None,
        international_carrier: str | None = None,
        destination_province: str | None = None,
        **settings: float,
    ) -> DiagnosisConfig:
        """A copy with one more lane override, e.g. ``with_override(origin_country="AU", clearance_days=8)``."""
        override = LaneOverride(
            origin_country, international_carrier, destination_province, settings
        )
        return replace(self, overrides=(*self.overrides, override))

    def for_lane(self, lane: Mapping[str, object] | None) -> DiagnosisConfig:
        """The thresholds that apply to one lane (overrides resolved, none left)."""
        changes: dict[str, float] = {}
        for override in self.overrides:
            if lane is not None and override.matches(lane):
                changes.update(override.settings)
        return replace(self, overrides=(), **changes)

    def lane_arrays(self, lanes: pd.DataFrame) -> dict[str, np.ndarray]:
        """Per-row threshold arrays (days) for a table with the lane columns."""
        n = len(lanes)
        out = {name: np.full(n, float(getattr(self, name))) for name in LANE_SETTINGS}
        if not self.overrides:
            return out
        normed = {
            name: lanes[name].astype("string").str.strip().str.lower()
            if name in lanes
            else pd.Series(pd.NA, index=lanes.index, dtype="string")
            for name in LANE_FIELDS
        }
        for override in self.overrides:
            mask = np.ones(n, dtype=bool)
            for name in LANE_FIELDS:
                want = getattr(override, name)
                if want is not None:
                    mask &= (normed[name] == _norm(want)).fillna(False).to_numpy(bool)
            for name, value in override.settings.items():
                out[name][mask] = float(value)
        return out


DEFAULT_CONFIG = DiagnosisConfig()

# Upper bound of the handover diagnosis: the lane setting whose limit ends it. A parcel that
# arrived (or was released by customs) and shows no domestic scan is "handover not synced"
# once the clearance and handover window has passed: the domestic carrier most likely has it
# under a number nobody linked, so the next step is to ask the international provider for
# that number. Nobody has seen the parcel since the international carrier's last scan,
# though, so the silence that marks a loss on the international leg applies as well: past
# the lane's international_silence_days the parcel is a suspected loss (silent_too_long:
# open a trace, compensate the buyer), not a link still worth waiting for. Domestic
# carriers scan at least daily and deliver within days, so a handover really made that long
# ago would have shown scans under any number the provider gives.
HANDOVER_LOSS_LIMIT = "international_silence_days"


@dataclass(frozen=True)
class CompensationTier:
    """From ``days_late`` days past the promised delivery time on, offer ``gesture``."""

    days_late: float
    gesture: str


@dataclass(frozen=True)
class CompensationPolicy:
    """When compensation is due: days past the promised delivery time -> suggested gesture.

    ``promised_days`` is the delivery time promised to buyers, counted from shipping.
    Replace the table with your own, e.g. ``CompensationPolicy(20, [(5, "..."), ...])``.
    """

    promised_days: float = 20.0
    tiers: tuple[CompensationTier, ...] = (
        CompensationTier(1, "apologise and offer a small coupon for the next order"),
        CompensationTier(7, "refund the shipping cost"),
        CompensationTier(15, "offer a partial refund (20%) or a free replacement"),
        CompensationTier(30, "offer a full refund or a free replacement"),
    )

    def __post_init__(self) -> None:
        tiers = []
        for tier in self.tiers:
            if not isinstance(tier, CompensationTier):
                try:
                    days, gesture = tier
                except (TypeError, ValueError):
                    raise InputError(
                        f"compensation tier {tier!r} is not a (days_late, gesture) pair",
                        "CompensationPolicy",
                    ) from None
                tier = CompensationTier(float(days), str(gesture))
            tiers.append(tier)
        object.__setattr__(self, "tiers", tuple(sorted(tiers, key=lambda t: t.days_late)))
        if self.promised_days < 0:
            raise InputError(
                f"promised_days must be >= 0, got {self.promised_days!r}", "CompensationPolicy"
            )

    def gesture(self, days_late: float) -> str | None:
        """The suggested gesture for a parcel this many days late (None when none is due)."""
        due = [t for t in self.tiers if days_late >= t.days_late]
        return due[-1].gesture if due else None

    def table(self) -> pd.DataFrame:
        """The policy as a table: days_late, gesture."""
        return pd.DataFrame(
            {
                "days_late": [t.days_late for t in self.tiers],
                "gesture": [t.gesture for t in self.tiers],
            }
        )


DEFAULT_POLICY = CompensationPolicy()


# ------------------------------------------------- plausibility of a carrier answer
# Thresholds of toolkit.tracking.plausibility: when an answer for one tracking number is set aside as
# scans that cannot belong to the parcel. A false alarm hides a real parcel's scans, so
# each value leaves room for the oddities of real traces.

# Days a scan may come before the parcel's recorded shipping time. Sellers often record
# "shipped" a day or more after the carrier's pick-up, and time zones move a date by a
# day; a week earlier is no longer a clerical slip but another (older) parcel under the
# same number. Pre-advice (info_received) scans are not counted: labels are often made
# days before the parcel leaves.
PLAUSIBLE_EARLY_SCAN_DAYS = 7.0

# Distinct cities a number's last-mile scans (out for delivery, delivered, ready for
# pick-up, delivery failed) may name. A real trace has one destination city; one more
# covers a parcel sent on to a neighbouring city after a mis-sort or an address change,
# and one more the same city written two ways (上海 / Shanghai).
PLAUSIBLE_DELIVERY_CITIES = 3

# Delivery scans one number may have. A parcel is delivered once; carriers repeat the
# scan (parcel locker, then signature) and 17TRACK reports both posts' delivery scans.
PLAUSIBLE_DELIVERIES = 3

# Pick-up (accepted) scans one number may have. Chinese carriers write several at the
# origin outlet (已收件, 已揽收, 已收取快件 twice) and an international answer repeats the
# origin post's acceptance.
PLAUSIBLE_PICKUPS = 4

# Shortest run of digits checked for placeholder patterns (1111111111, 1234567890):
# shorter runs of equal or consecutive digits occur by chance in real numbers.
PLACEHOLDER_MIN_DIGITS = 8


# ------------------------------------------------------------- limits of the file loaders
# toolkit.io refuses files past these limits while reading them, before they fill the
# machine's memory, with an error that names the file, the limit and the value found. Each
# can be raised for one call (read_events(path, max_rows=...)) or for a whole session
# through its environment variable (TOOLKIT_MAX_ROWS=20000000).

# Columns in a table's header. Real exports are far narrower: a carrier's or a
# marketplace's shipment export has 20-100 columns, a Shopify order export about 80; 2,000
# leaves twenty times that, while a file with tens of thousands of "columns" is not a
# parcels table (or is a spreadsheet pasted sideways).
MAX_COLUMNS = 2_000

# Data rows in a table (the header not counted). A large seller ships a few hundred
# thousand parcels a month, with about ten scans each; 5 million rows is a year of a large
# seller's parcels or months of its scans, and takes a few GB of memory once loaded. Split
# larger exports by month or by carrier.
MAX_ROWS = 5_000_000

# Bytes of a table's content: a plain file's size, a gzip file's size once unpacked. 5
# million rows of about 400 bytes (a parcels row with an address) are 2 GB; a table loaded
# in pandas takes several times its text in memory, so more does not fit this size of
# machine (24 GB). A gzip file is unpacked in chunks and refused as soon as it passes this,
# so a small file that unpacks to a huge one (a "zip bomb") costs no memory.
MAX_BYTES = 2 * 1024**3

# Environment variables that change these limits for every load.
LIMIT_ENVIRONMENT: dict[str, str] = {
    "max_columns": "TOOLKIT_MAX_COLUMNS",
    "max_rows": "TOOLKIT_MAX_ROWS",
    "max_bytes": "TOOLKIT_MAX_BYTES",
}

_SIZE_UNITS = {
    "": 1,
    "k": 1024,
    "kb": 1024,
    "m": 1024**2,
    "mb": 1024**2,
    "g": 1024**3,
    "gb": 1024**3,
}


@dataclass(frozen=True)
class LoaderLimits:
    """The largest table the file loaders read: columns, data rows and bytes of content."""

    max_columns: int = MAX_COLUMNS
    max_rows: int = MAX_ROWS
    max_bytes: int = MAX_BYTES

    def __post_init__(self) -> None:
        for name in LIMIT_ENVIRONMENT:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(
                    f"{name} must be a whole number of at least 1, got {value!r}",
                    "loader limits",
                )

    @classmethod
    def resolve(
        cls,
        max_columns: int | None = None,
        max_rows: int | None = None,
        max_bytes: int | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> LoaderLimits:
        """The limits in force: each argument given, else its environment variable, else the default."""
        import os

        env = os.environ if environ is None else environ
        given = {"max_columns": max_columns, "max_rows": max_rows, "max_bytes": max_bytes}
        values: dict[str, int] = {}
        for name, variable in LIMIT_ENVIRONMENT.items():
            if given[name] is not None:
                values[name] = given[name]
            elif env.get(variable, "").strip():
                values[name] = _limit_from_text(env[variable], variable, name == "max_bytes")
        return cls(**values)


def _limit_from_text(text: str, variable: str, size: bool) -> int:
    """A limit written in an environment variable: '5000000', '5_000_000', '4GB' (sizes)."""
    cleaned = text.strip().replace("_", "").replace(",", "").lower()
    number, unit = cleaned, ""
    if size:
        digits = cleaned.rstrip("kmgb")
        number, unit = digits.strip(), cleaned[len(digits) :]
    if number.isdigit() and unit in _SIZE_UNITS and int(number) > 0:
        return int(number) * _SIZE_UNITS[unit]
    example = "4GB or 4294967296" if size else "10000000"
    raise InputError(
        f"{variable}={text!r} is not a limit",
        "environment",
        f"Give a whole number above 0, e.g. {variable}={example}, or unset it for the default",
    )


# ------------------------------------------------- scans with impossible dates
# A scan dated after `now`, or long before the parcel left, cannot say where the parcel is
# (a carrier's clock or time-zone fault, a placeholder date, an older parcel under a
# recycled number). The diagnosis sets such a scan aside: it stays in the events table and
# on the timeline, but does not count for the last scan, the silence, delivery or the
# arrival estimate, and the evidence names it and says why.

# Days a scan may lie after `now`. A carrier's local time read in an assumed zone is off by
# the difference of two UTC offsets: 13 hours between China and the US east coast, 16 to
# the west coast, at most 26 in theory. A day covers every real pair of zones the toolkit
# meets; a scan two days ahead is a clock fault (or a year typed wrong: 2099).
SCAN_AFTER_NOW_DAYS = 1.0

# Days an ordinary scan may come before the parcel's shipped_at. The same allowance as
# PLAUSIBLE_EARLY_SCAN_DAYS above, so one scan and a whole answer are judged alike: sellers
# record "shipped" a day or more after the pick-up and zones move a date by a day, while a
# scan a week earlier belongs to another (older) parcel under the same number.
SCAN_BEFORE_SHIPPED_DAYS = PLAUSIBLE_EARLY_SCAN_DAYS

# Days a pre-advice (info_received: "label created", 电子信息已收到) scan may come before
# shipped_at. Labels are made when the order is packed, and the parcel can wait for stock
# or for the next pick-up: in the demo world pre-advice precedes the recorded shipping by
# up to 2.1 days, and real labels are made days, sometimes a few weeks, ahead. A label
# older than a month is not this shipment's.
PRE_ADVICE_BEFORE_SHIPPED_DAYS = 30.0

# Scans before this date are placeholders, not scans: the Unix epoch (1970-01-01), a
# spreadsheet's day zero (1899-12-30, 1900-01-01) and .NET's 0001-01-01 are what an empty
# date becomes in some systems, and no parcel tracked through today's services was scanned
# before 2000. Applies with or without a ship date.
SCAN_TIME_FLOOR = "2000-01-01"

# Days a scan may come before the parcel's latest (plausible) scan. Without a ship date,
# this is what tells a recycled number's old scans from the parcel's own: a trace from
# label to delivery, or to a return to the sender, spans weeks (a month in the demo world,
# a few months by sea and back); a scan a year before the rest is an older parcel's.
# Measured from the parcel's own scans rather than from `now`, so a history a year old
# keeps its dates when it is diagnosed today.
SCAN_TRACE_SPAN_DAYS = 365.0
