"""Demo data: a seeded world of parcels shipped into China and every scan each carrier holds.

``generate`` models what happens to each parcel (lanes, transit times, customs,
handover, last mile, losses, returns) and writes down the scans carriers would
hold, in each carrier's own words and time format. Each parcel keeps the cause
of its fate (``true_category``, ``scenario``) and each scan the milestone it
stands for (``true_milestone``), so that diagnosis can be scored against them.
``observable_events`` keeps what an analyst can actually see from the parcels
table. Run ``python -m toolkit.demo --help`` for the command line.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import string
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from toolkit import paths
from toolkit.errors import InputError, ToolkitError
from toolkit.model import CARRIERS, PARCEL_COLUMNS
from toolkit.policy import DEFAULT_CONFIG, HANDOVER_LOSS_LIMIT
from toolkit.times import to_utc
from toolkit.tracking.numbers import S10_OPERATORS, s10_check_digit
from toolkit.world.demo_text import (
    _GATEWAY_EN,
    BLANK_LOCATION_SHARE,
    BOOK,
    CARRIER_CODES,
    CARRIER_ID,
    CITY_COUNT,
    COUNTRIES,
    COURIER_NAMES,
    COURIERS,
    DEST_GATEWAY,
    DEST_WEIGHTS,
    DESTINATIONS,
    DISTRICT_COUNT,
    ESTATES,
    FIELDS,
    FIRST_CITY,
    GATEWAY_DEST,
    GATEWAYS,
    GIVEN_NAMES,
    KEY_DOCS,
    KEY_ID,
    KEY_LINKED,
    KEY_PICKUP,
    KEY_ZH,
    KEYS,
    LOCATION_TEMPLATE,
    ORIGIN_CITIES,
    POSTAL_CARRIERS,
    RAW_SHARE,
    STREETS,
    SURNAMES,
    TEXT_ZONE,
    TIME_STYLE_ID,
    TRANSIT_HUB,
    ZH_SHARE,
    ZONE_ID,
    ZONES,
    render,
)

# The demo set's folder when the toolkit was imported (data/demo/ in a checkout); see demo_dir.
DEMO_DIR = paths.demo_dir()
DEMO_PARCELS, DEMO_SEED = 2000, 7  # the demo data set: data/demo/ holds exactly this
DEFAULT_AS_OF = "2026-11-20T04:00:00Z"
SOURCE = "demo"
MIRROR_SOURCE = "demo-17track"  # the same scan seen again through an aggregator
CHUNK_PARCELS = 50_000  # parcels generated at once (each chunk has its own random stream)
MAX_PARCELS = 9_999_999  # parcel ids have 7 digits
FORMATS = ("csv", "parquet")
# Hours an unlinked handover may stay silent before diagnosis calls it a suspected loss.
_HANDOVER_LOSS_HOURS = float(getattr(DEFAULT_CONFIG, HANDOVER_LOSS_LIMIT)) * 24.0

EXTRA_PARCEL_COLUMNS = (
    "true_category",
    "scenario",
    "route",
    "true_international_number",
    "true_domestic_number",
    "as_of",
)
PARCEL_FILE_COLUMNS = (*PARCEL_COLUMNS, *EXTRA_PARCEL_COLUMNS)
EVENT_FILE_COLUMNS = (
    "parcel_id",
    "tracking_number",
    "carrier",
    "leg",
    "time_local",
    "location",
    "description",
    "raw_status",
    "source",
    "true_milestone",
)

# ---------------------------------------------------------------------------------------------
# Scenarios: what happens to a parcel, with the category it belongs to and its share.

_SCENARIOS: tuple[tuple[str, str, float], ...] = (
    ("delivered", "delivered", 0.22),
    ("delivered_pickup", "delivered", 0.08),
    ("delivered_after_retry", "delivered", 0.03),
    ("delivered_after_inspection", "delivered", 0.02),
    ("moving_international", "moving", 0.09),
    ("moving_domestic", "moving", 0.11),
    ("clearance_in_progress", "awaiting_clearance", 0.08),
    ("handover_in_progress", "awaiting_clearance", 0.02),
    ("handover_unlinked", "handover_not_synced", 0.10),
    ("mistyped_digit", "number_invalid", 0.035),
    ("mistyped_transposition", "number_invalid", 0.025),
    ("unknown_number", "number_not_found", 0.04),
    ("customs_inspection", "customs_hold", 0.035),
    ("customs_documents", "customs_hold", 0.025),
    ("lost_international", "silent_too_long", 0.02),
    ("lost_domestic", "silent_too_long", 0.03),
    ("returned_refused", "returned_or_exception", 0.015),
    ("returned_customs", "returned_or_exception", 0.01),
    ("exception_damaged", "returned_or_exception", 0.008),
    ("exception_address", "returned_or_exception", 0.007),
)
SCENARIOS: tuple[str, ...] = tuple(s[0] for s in _SCENARIOS)
SCENARIO_CATEGORY: dict[str, str] = {s[0]: s[1] for s in _SCENARIOS}
_SC = {name: i for i, name in enumerate(SCENARIOS)}
_SC_WEIGHTS = np.array([s[2] for s in _SCENARIOS])

# ---------------------------------------------------------------------------------------------
# Journey slots, in the order they happen. A parcel's scans are a subset of these.

_INTL, _DOM = "international", "domestic"
_SLOTS: tuple[tuple[str, str], ...] = (
    ("info", "info_received"),
    ("accept", "accepted"),
    ("origin", "in_transit"),
    ("export", "in_transit"),
    ("depart", "departed_origin"),
    ("transit", "in_transit"),
    ("arrive", "arrived_destination"),
    ("customs", "customs_clearance"),
    ("hold", "customs_hold"),
    ("hold2", "customs_hold"),
    ("cleared", "customs_cleared"),
    ("handover", "handed_over"),
    ("d_accept", "accepted"),
    ("d_hub_in", "domestic_in_transit"),
    ("d_hub_out", "domestic_in_transit"),
    ("d_dest_in", "domestic_in_transit"),
    ("d_station", "domestic_in_transit"),
    ("d_ofd1", "out_for_delivery"),
    ("d_failed", "delivery_failed"),
    ("d_ofd", "out_for_delivery"),
    ("d_pickup", "available_for_pickup"),
    ("d_delivered", "delivered"),
    ("x_exception", "exception"),
    ("x_returning", "returning"),
    ("x_returned", "returned"),
)
_S = {name: i for i, (name, _) in enumerate(_SLOTS)}
NSLOT = len(_SLOTS)
INFO, ACCEPT, ORIGIN, EXPORT, DEPART, TRANSIT = range(6)
ARRIVE, CUSTOMS, HOLD, HOLD2, CLEARED, HANDOVER = range(6, 12)
D_ACCEPT, D_HUB_IN, D_HUB_OUT, D_DEST_IN, D_STATION = range(12, 17)
D_OFD1, D_FAILED, D_OFD, D_PICKUP, D_DELIVERED = range(17, 22)
X_EXC, X_RETURNING, X_RETURNED = range(22, 25)
_SLOT_MILESTONE = np.array([m for _, m in _SLOTS])
# How often a normal journey has each scan (the rest are set per scenario).
_BASE_PRESENCE = np.array(
    [
        {
            "info": 0.85,
            "accept": 1.0,
            "origin": 0.7,
            "export": 0.85,
            "depart": 1.0,
            "transit": 0.4,
            "arrive": 1.0,
            "customs": 0.75,
            "cleared": 0.95,
            "handover": 0.85,
            "d_accept": 1.0,
            "d_hub_in": 0.8,
            "d_hub_out": 0.9,
            "d_dest_in": 0.95,
            "d_station": 0.9,
            "d_ofd": 0.92,
            "d_delivered": 1.0,
        }.get(name, 0.0)
        for name, _ in _SLOTS
    ]
)
# Working hours (local) of each slot's scans; "info" is created online at any hour.
_HUB_HOURS, _DOOR_HOURS, _OFFICE_HOURS = (6.5, 23.0), (8.0, 20.5), (8.5, 20.0)
_WINDOW = np.array(
    [
        (0.0, 24.0)
        if name == "info"
        else _DOOR_HOURS
        if name in ("accept", "d_accept")
        or name.startswith(("d_ofd", "d_failed", "d_pick", "d_deliv"))
        else _OFFICE_HOURS
        if name.startswith("x_")
        else _HUB_HOURS
        for name, _ in _SLOTS
    ]
)

_COUNTRY_W = np.array([0.28, 0.12, 0.12, 0.14, 0.12, 0.10, 0.06, 0.06])
_POST_OF = S10_OPERATORS  # the postal operator of each origin country
_POSTAL_SHARE = np.array([0.5, 0.6, 0.55, 0.6, 0.6, 0.6, 0.6, 0.55])
# Median days from leaving the origin country to arrival in China, by route.
_TRANSIT_DAYS_POSTAL = np.array([7.0, 6.0, 6.0, 3.0, 2.5, 6.5, 8.0, 6.5])
_TRANSIT_DAYS_EXPRESS = np.array([2.5, 2.2, 2.0, 1.2, 1.0, 2.5, 2.8, 2.2])
_EXPRESS = ("ups", "fedex", "dhl", "yunexpress")
_EXPRESS_W = np.array([0.3, 0.25, 0.3, 0.15])
_COURIERS_W = np.array([0.3, 0.15, 0.2, 0.1, 0.1, 0.15])

# ---------------------------------------------------------------------------------------------
# Tracking numbers.

_UPS_VALUE = np.array([(c - 48) if 48 <= c <= 57 else (c - 63) % 10 for c in range(128)])
_S10_PREFIX = {
    "usps": ("LZ", "EZ", "RR", "CP"),
    "royalmail": ("RR", "LX", "CP"),
    "deutschepost": ("RR", "LX", "CX"),
    "japanpost": ("EJ", "RR", "CP", "LX"),
    "koreapost": ("EE", "RR", "CP"),
    "auspost": ("RR", "LX", "CX"),
    "canadapost": ("RR", "CP", "LX"),
    "laposte": ("LA", "RR", "CP"),
}


def _mix(index: np.ndarray, digits: int, salt: int) -> np.ndarray:
    """Distinct scattered serials of `digits` digits for distinct indexes (a bijection)."""
    modulus = 10**digits
    a = int(modulus * 0.6180339887) + 2 * salt + 1
    while a % 2 == 0 or a % 5 == 0:  # odd and not a multiple of 5: invertible modulo 10**digits
        a += 1
    b = (salt * 7_919_113) % modulus
    if digits > 12:  # keep products exact
        mixed = (index.astype(object) * a + b) % modulus
        return mixed.astype(np.int64)
    mixed = (index.astype(np.uint64) * np.uint64(a) + np.uint64(b)) % np.uint64(modulus)
    return mixed.astype(np.int64)


def _digit_matrix(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits (as ASCII codes) of non-negative integers."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values[:, None] // powers) % 10 + 48).astype(np.uint8)


def _join(*parts: np.ndarray | str, n: int) -> np.ndarray:
    """Concatenate ASCII code matrices and constant strings into an array of str."""
    cols = []
    for p in parts:
        if isinstance(p, str):
            cols.append(np.tile(np.frombuffer(p.encode(), dtype=np.uint8), (n, 1)))
        else:
            cols.append(p.astype(np.uint8))
    m = np.ascontiguousarray(np.hstack(cols)) if cols else np.zeros((n, 0), np.uint8)
    return m.view(f"S{m.shape[1]}").ravel().astype(str)


def _s10(prefix: np.ndarray, serial: np.ndarray, country: np.ndarray) -> np.ndarray:
    """UPU S10 numbers: 2 letters, 8-digit serial, check digit, country code."""
    serials = [f"{s:08d}" for s in serial.tolist()]
    return np.array(
        [f"{p}{s}{s10_check_digit(s)}{c}" for p, s, c in zip(prefix, serials, country, strict=True)]
    )


def _ups(rng: np.random.Generator, serial: np.ndarray) -> np.ndarray:
    """UPS 1Z numbers with a valid check digit."""
    n = len(serial)
    alnum = np.frombuffer((string.digits + string.ascii_uppercase).encode(), dtype=np.uint8)
    account = alnum[rng.integers(0, len(alnum), (n, 6))]
    service = np.frombuffer(b"66011165", dtype=np.uint8).reshape(4, 2)[rng.integers(0, 4, n)]
    body = np.hstack([account, service, _digit_matrix(serial, 7)])
    check = _ups_check(body)
    return _join("1Z", body, (check + 48)[:, None], n=n)


def _ups_check(body: np.ndarray) -> np.ndarray:
    """UPS check digit for the 15 characters after 1Z (ASCII code matrix)."""
    weights = np.where(np.arange(body.shape[1]) % 2 == 1, 2, 1)
    total = (_UPS_VALUE[body] * weights).sum(axis=1)
    return (10 - total % 10) % 10


def _fedex12(serial: np.ndarray) -> np.ndarray:
    """FedEx Express 12-digit numbers (7 and a 10-digit serial) with a valid check digit."""
    body = _digit_matrix(7 * 10**10 + serial, 11).astype(np.int64) - 48
    weights = np.resize(np.array([3, 1, 7]), 11)
    check = (body * weights).sum(axis=1) % 11 % 10
    return _join(body + 48, (check + 48)[:, None], n=len(serial))


def _dhl10(lead: np.ndarray, serial: np.ndarray) -> np.ndarray:
    """DHL Express 10-digit waybills: a lead digit, 8-digit serial, then the first 9 mod 7."""
    first = lead * 100_000_000 + serial
    return _join(_digit_matrix(first, 9), _digit_matrix(first % 7, 1), n=len(serial))


def _prefixed(prefixes: tuple[str, ...], rng, serial: np.ndarray, width: int) -> np.ndarray:
    """Numbers made of a prefix drawn from `prefixes` and a zero-padded serial."""
    choice = np.array(prefixes)[rng.integers(0, len(prefixes), len(serial))]
    digits = _join(_digit_matrix(serial.astype(np.int64), width), n=len(serial))
    return np.char.add(choice, digits)


# ---------------------------------------------------------------------------------------------
# Generation.


def _quota(rng: np.random.Generator, n: int) -> np.ndarray:
    """Scenario per parcel: counts in proportion to the shares, shuffled."""
    raw = _SC_WEIGHTS / _SC_WEIGHTS.sum() * n
    counts = np.floor(raw).astype(int)
    rest = n - counts.sum()
    if rest:
        counts[np.argsort(-(raw - counts), kind="stable")[:rest]] += 1
    return rng.permutation(np.repeat(np.arange(len(SCENARIOS)), counts))


def _pick(rng, present: np.ndarray, rows: np.ndarray, slots: list[int]) -> np.ndarray:
    """For each row, one of `slots` that is present (uniformly), or the first slot."""
    cand = present[np.ix_(rows, slots)]
    score = rng.random(cand.shape) + cand * 2.0
    return np.array(slots)[np.argmax(score, axis=1)]


def _local_offset(t: np.ndarray, zone: np.ndarray) -> np.ndarray:
    """UTC offset in seconds of each instant (epoch seconds) in its zone id."""
    out = np.zeros(len(t), dtype=np.int64)
    for z in np.unique(zone):
        sel = zone == z
        utc = pd.DatetimeIndex(t[sel] * 1_000_000_000, tz="UTC")
        local = utc.tz_convert(ZONES[int(z)]).tz_localize(None)
        out[sel] = (local.asi8 - utc.tz_localize(None).asi8) // 1_000_000_000
    return out


def _group_floor_increasing(t: np.ndarray, group: np.ndarray, step: int) -> np.ndarray:
    """Make times strictly increasing by at least `step` within each group (rows sorted)."""
    if len(t) == 0:
        return t
    starts = np.r_[0, np.flatnonzero(np.diff(group)) + 1]
    pos = np.arange(len(t)) - np.repeat(starts, np.diff(np.r_[starts, len(t)]))
    shifted = t - pos * step
    span = np.int64(1) << 40
    key = group.astype(np.int64) * span + (shifted - shifted.min())
    run = np.maximum.accumulate(key) - group.astype(np.int64) * span + shifted.min()
    return run + pos * step


def _as_of_seconds(as_of: object) -> tuple[int, str]:
    """Validate as_of; return epoch seconds and its ISO text."""
    ts = to_utc(
        as_of,
        "as_of",
        "toolkit.world.demo",
        hint="Give an ISO 8601 time with an offset, e.g. 2026-11-20T04:00:00Z",
    )
    ts = ts.tz_convert("UTC").floor("s")
    return int(ts.value // 1_000_000_000), ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_args(parcels: object, seed: object) -> tuple[int, int]:
    if (
        isinstance(parcels, bool)
        or not isinstance(parcels, int | np.integer)
        or not 0 <= parcels <= MAX_PARCELS
    ):
        raise InputError(
            f"parcels must be a whole number from 0 to {MAX_PARCELS:,}, got {parcels!r}",
            "toolkit.world.demo",
            "Pass e.g. parcels=2000",
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(
            f"seed must be a non-negative whole number, got {seed!r}",
            "toolkit.world.demo",
            "Pass e.g. seed=7",
        )
    return int(parcels), int(seed)


# One chunk of the world, step by step (see _chunk for the order).


@dataclass(frozen=True, eq=False)
class _Cast:
    """Who, where and how of each parcel in a chunk (every array has one entry per parcel)."""

    gidx: np.ndarray  # the parcel's index in the whole world
    sc: np.ndarray  # scenario id: what the parcel's record shows
    is_: dict[str, np.ndarray]  # scenario name -> parcels whose record shows it
    w_: dict[str, np.ndarray]  # scenario name -> parcels whose journey goes that way
    mistyped: np.ndarray  # the record carries a mistyped international number
    country: np.ndarray
    org: np.ndarray  # origin city
    org_zone: np.ndarray  # the origin city's time zone id
    postal: np.ndarray  # postal route (else commercial)
    intl: np.ndarray  # international carrier id
    dom: np.ndarray  # domestic carrier id
    dest: np.ndarray  # destination city
    dist: np.ndarray  # destination district
    gw: np.ndarray  # gateway into China
    same_city: np.ndarray  # the gateway is in the destination city
    who: np.ndarray  # the courier's name
    zh: np.ndarray  # the international carrier writes its China-side scans in Chinese
    same_number: np.ndarray  # the domestic carrier keeps the international number

    @property
    def n(self) -> int:
        return len(self.gidx)


class _Exits(NamedTuple):
    """Exceptions and returns: the scans after a parcel's stopping point."""

    reason: np.ndarray  # 0 refused, 1 customs, 2 damaged, 3 address; -1: none
    has_x: np.ndarray
    leg_intl: np.ndarray  # the return goes back abroad on the international leg
    last: np.ndarray  # the last exception or return slot of each parcel


class _Scans(NamedTuple):
    """The scans that exist and are visible by as_of, one entry per scan (parcel order)."""

    row: np.ndarray  # parcel (row in the chunk)
    col: np.ndarray  # journey slot
    t: np.ndarray  # epoch seconds
    intl: np.ndarray  # scanned by the international carrier
    carrier: np.ndarray
    zone: np.ndarray  # time zone id where the scan happens


class _Numbers(NamedTuple):
    """Each parcel's tracking numbers: true ones and the one its record shows."""

    intl_code: np.ndarray
    true_intl: np.ndarray
    dom_code: np.ndarray
    true_dom: np.ndarray
    recorded_intl: np.ndarray


class _Link(NamedTuple):
    """What shows the link from the international number to the domestic one."""

    text: np.ndarray  # the handover scan names the domestic number
    domestic_number: np.ndarray  # as the parcels table records it ("" when not)
    domestic_carrier: np.ndarray
    true_dom_out: np.ndarray  # the true domestic number once the parcel reached handover


class _Texts(NamedTuple):
    """Per scan: the carrier's words, local time text and the milestone it stands for."""

    description: pa.Array
    location: pa.Array
    raw_status: pa.Array
    time_local: pa.Array
    milestone: np.ndarray


def _chunk(
    seed: int,
    first: int,
    n: int,
    as_of_s: int,
    as_of_text: str,
    plan: tuple[tuple[str, int], ...] = (),
    truth: list[dict] | None = None,
) -> tuple[pa.Table, pa.Table]:
    """Parcels first..first+n-1 and their scans, as Arrow tables of strings.

    ``plan`` (kind, size) pairs are lane incidents to inject (see ``_inject``); their truth
    is appended to ``truth``. Without a plan nothing differs from a world without incidents.
    """
    # Every step draws from one random stream, so the steps run in exactly this order.
    rng = np.random.default_rng(np.random.SeedSequence([seed, first]))
    cast = _cast(rng, np.arange(first, first + n, dtype=np.int64))
    present, t = _journey(rng, cast)
    k = _stops(rng, cast, present, t)
    t_k, age = _ages(rng, cast, present, t, k)
    exits = _exits(rng, cast, present, t, t_k, age)  # adds to present, t and age in place
    keep, t_last = _kept(cast, present, t, k, t_k, age, exits)
    abs_t, zone = _clock_times(rng, cast, keep, t, as_of_s - _hours_to_s(t_last + age), exits)
    scans = _scan_rows(cast, keep, abs_t, zone, exits, as_of_s)
    salt = 1 + seed % 97
    numbers = _numbers(rng, cast, salt)
    link = _link(rng, cast, k, exits, keep, scans, numbers)
    texts = _texts(rng, cast, present, exits, scans, numbers, link)
    drop = None
    if plan:  # its own random stream: the world's stream above and below is untouched
        irng = np.random.default_rng(np.random.SeedSequence([seed, first, _INCIDENT_STREAM]))
        drop, found, unlinked = _inject(irng, cast, scans, link, plan, as_of_s)
        if truth is not None:
            truth.extend(found)
        link = link._replace(
            domestic_number=np.where(unlinked, "", link.domestic_number),
            domestic_carrier=np.where(unlinked, "", link.domestic_carrier),
        )
    events = _events_table(rng, cast, scans, numbers, texts, drop)
    parcels = _parcels_table(rng, cast, scans, numbers, link, salt, as_of_s, as_of_text)
    return parcels, events


def _hours_to_s(hours: np.ndarray) -> np.ndarray:
    """Hours as whole seconds."""
    return np.round(hours * 3600).astype(np.int64)


def _cast(rng: np.random.Generator, gidx: np.ndarray) -> _Cast:
    """Who, where, how: each parcel's scenario, journey, origin, carriers and destination."""
    n = len(gidx)
    u = rng.random
    sc = _quota(rng, n)
    is_ = {name: sc == i for name, i in _SC.items()}
    mistyped = is_["mistyped_digit"] | is_["mistyped_transposition"]
    # the journey a parcel makes (a mistyped parcel still travels; only its record is wrong)
    world = sc.copy()
    draw = u(n)
    for name, lo, hi in (
        ("delivered", 0.0, 0.55),
        ("moving_international", 0.55, 0.7),
        ("moving_domestic", 0.7, 1.0),
    ):
        world[mistyped & (draw >= lo) & (draw < hi)] = _SC[name]
    w_ = {name: world == i for name, i in _SC.items()}

    country = rng.choice(len(COUNTRIES), n, p=_COUNTRY_W)
    org = FIRST_CITY[country] + (u(n) * CITY_COUNT[country]).astype(int)
    postal = u(n) < _POSTAL_SHARE[country]
    express = np.array([CARRIER_ID[c] for c in _EXPRESS])[rng.choice(4, n, p=_EXPRESS_W)]
    # a check digit is what makes a typo detectable: mistyped numbers are S10 or UPS numbers
    express[mistyped] = CARRIER_ID["ups"]
    intl = np.where(
        postal, np.array([CARRIER_ID[_POST_OF[k]] for k in COUNTRIES])[country], express
    )
    courier = np.array([CARRIER_ID[c] for c in COURIERS])[rng.choice(6, n, p=_COURIERS_W)]
    dom = np.where(
        postal, np.where(u(n) < 0.7, CARRIER_ID["ems"], CARRIER_ID["chinapost"]), courier
    )
    dest = rng.choice(len(DESTINATIONS), n, p=DEST_WEIGHTS)
    dist = (u(n) * DISTRICT_COUNT[dest]).astype(int)
    gw = np.where(u(n) < 0.8, DEST_GATEWAY[dest], rng.integers(0, len(GATEWAYS), n))
    who = (dest * 5 + dist * 3 + rng.integers(0, 3, n)) % len(COURIER_NAMES)
    zh = u(n) < np.array([ZH_SHARE.get(c, 0.0) for c in CARRIER_CODES])[intl]
    # postal routes often keep the S10 number in China; an unlinked handover never does
    same_number = postal & (u(n) < 0.5) & ~is_["handover_unlinked"]
    return _Cast(
        gidx=gidx,
        sc=sc,
        is_=is_,
        w_=w_,
        mistyped=mistyped,
        country=country,
        org=org,
        org_zone=np.array([ZONE_ID[z] for *_, z in ORIGIN_CITIES])[org],
        postal=postal,
        intl=intl,
        dom=dom,
        dest=dest,
        dist=dist,
        gw=gw,
        same_city=GATEWAY_DEST[gw] == dest,
        who=who,
        zh=zh,
        same_number=same_number,
    )


def _journey(rng: np.random.Generator, c: _Cast) -> tuple[np.ndarray, np.ndarray]:
    """Which scans each journey has (present) and when, in hours after acceptance (t)."""
    n, u, w_ = c.n, rng.random, c.w_
    postal, same_city = c.postal, c.same_city
    present = u((n, NSLOT)) < _BASE_PRESENCE
    present[:, D_DEST_IN] &= ~same_city
    g = np.zeros((n, NSLOT))
    g[:, ORIGIN] = rng.uniform(3, 30, n)
    g[:, EXPORT] = np.where(postal, rng.uniform(12, 60, n), rng.uniform(3, 14, n))
    g[:, DEPART] = np.where(postal, rng.uniform(6, 48, n), rng.uniform(2, 12, n))
    median = np.where(postal, _TRANSIT_DAYS_POSTAL[c.country], _TRANSIT_DAYS_EXPRESS[c.country])
    transit = rng.lognormal(np.log(median * 24), 0.35)
    frac = rng.uniform(0.3, 0.7, n)
    g[:, TRANSIT], g[:, ARRIVE] = transit * frac, transit * (1 - frac)
    g[:, CUSTOMS] = rng.uniform(1, 16, n)
    clearance = np.clip(rng.lognormal(np.log(36), 0.45, n), 8, None)
    tail = u(n) < 0.07
    clearance[tail] *= rng.uniform(2.5, 4, tail.sum())
    clearance[w_["clearance_in_progress"]] = np.minimum(clearance[w_["clearance_in_progress"]], 90)
    g[:, CLEARED] = clearance
    g[:, HANDOVER] = rng.uniform(1, 40, n)
    g[:, D_ACCEPT] = rng.uniform(2, 30, n)
    g[:, D_HUB_IN] = rng.uniform(0.5, 6, n)
    g[:, D_HUB_OUT] = rng.uniform(1, 10, n)
    g[:, D_DEST_IN] = np.where(same_city, 0, rng.uniform(12, 40, n))
    g[:, D_STATION] = rng.uniform(3, 16, n) + same_city * rng.uniform(2, 8, n)
    g[:, D_OFD] = rng.uniform(1, 12, n)
    g[:, D_DELIVERED] = rng.uniform(0.5, 5, n)

    # scenario shapes
    pickup = w_["delivered_pickup"] | (w_["moving_domestic"] & (u(n) < 0.3))
    present[pickup, D_PICKUP] = True
    present[pickup, D_OFD] &= u(pickup.sum()) < 0.5
    g[pickup, D_PICKUP] = rng.uniform(1, 5, pickup.sum())
    g[pickup, D_DELIVERED] = rng.uniform(3, 60, pickup.sum())
    retry = w_["delivered_after_retry"]
    present[retry, D_OFD1] = present[retry, D_FAILED] = present[retry, D_OFD] = True
    g[retry, D_OFD1] = rng.uniform(1, 8, retry.sum())
    g[retry, D_FAILED] = rng.uniform(2, 8, retry.sum())
    g[retry, D_OFD] = rng.uniform(14, 28, retry.sum())
    held = w_["delivered_after_inspection"] | w_["customs_inspection"] | w_["customs_documents"]
    held |= w_["returned_customs"] & (u(n) < 0.6)
    present[held, HOLD] = True
    g[held, HOLD] = rng.uniform(4, 30, held.sum())
    second = (w_["customs_documents"] & (u(n) < 0.7)) | (w_["customs_inspection"] & (u(n) < 0.3))
    present[second, HOLD2] = True
    g[second, HOLD2] = rng.uniform(24, 120, second.sum())
    g[w_["delivered_after_inspection"], CLEARED] += rng.uniform(
        24, 96, w_["delivered_after_inspection"].sum()
    )
    present[w_["handover_in_progress"], HANDOVER] = True
    present[w_["handover_unlinked"], CLEARED] = True  # the international leg says it is done
    for name in ("returned_refused", "exception_address"):
        present[w_[name], D_OFD] = True
    present[w_["clearance_in_progress"] & (u(n) < 0.5), CUSTOMS] = True

    t = np.cumsum(g, axis=1)
    t[:, INFO] = -rng.uniform(2, 40, n)
    return present, t


def _stops(rng: np.random.Generator, c: _Cast, present: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The slot where each parcel's story stops (-1: an unknown number, no scans at all)."""
    w_ = c.w_
    k = np.full(c.n, D_DELIVERED)
    moving_intl = [ACCEPT, ORIGIN, EXPORT, DEPART, TRANSIT]
    moving_dom = [D_ACCEPT, D_HUB_IN, D_HUB_OUT, D_DEST_IN, D_STATION, D_OFD, D_PICKUP]
    picks = {
        "moving_international": moving_intl,
        "moving_domestic": moving_dom,
        "clearance_in_progress": [ARRIVE, CUSTOMS],
        "lost_international": [EXPORT, DEPART, TRANSIT],
        "lost_domestic": [D_ACCEPT, D_HUB_IN, D_HUB_OUT, D_DEST_IN, D_STATION],
        "returned_customs": [CUSTOMS, HOLD],
        "exception_damaged": [D_HUB_IN, D_HUB_OUT, D_DEST_IN],
        "exception_address": [D_STATION, D_OFD],
    }
    for name, slots in picks.items():
        sel = np.flatnonzero(w_[name])
        k[sel] = _pick(rng, present, sel, slots)
    for name in ("customs_inspection", "customs_documents"):
        sel = w_[name]
        k[sel] = np.where(present[sel, HOLD2], HOLD2, HOLD)
    k[w_["handover_in_progress"]] = HANDOVER
    sel = w_["handover_unlinked"]
    k[sel] = np.where(present[sel, HANDOVER], HANDOVER, CLEARED)
    k[w_["returned_refused"]] = D_OFD
    k[w_["unknown_number"]] = -1
    return k


def _draw_age(
    rng: np.random.Generator, age: np.ndarray, mask: np.ndarray, lo: float, hi: float | np.ndarray
) -> None:
    """Set age[mask] to uniform draws between lo and hi (a number or one bound per parcel)."""
    top = np.broadcast_to(hi, mask.shape)[mask]
    age[mask] = lo + rng.random(mask.sum()) * (top - lo)


def _ages(
    rng: np.random.Generator, c: _Cast, present: np.ndarray, t: np.ndarray, k: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The time of each stopping scan (t_k) and the hours from it to as_of (age)."""
    w_ = c.w_
    col = np.arange(NSLOT)
    later = present & (col[None, :] > k[:, None]) & (col[None, :] < X_EXC)
    t_next = np.where(later, t, np.inf).min(axis=1)
    t_k = t[np.arange(c.n), np.clip(k, 0, NSLOT - 1)]
    gap_next = np.where(np.isfinite(t_next), t_next - t_k, 24.0)
    age = np.zeros(c.n)

    delivered = w_["delivered"] | w_["delivered_pickup"] | w_["delivered_after_retry"]
    delivered |= w_["delivered_after_inspection"]
    _draw_age(rng, age, delivered, 2.0, np.maximum(4.0, 58 * 24 - t[:, D_DELIVERED]))
    # moving: seen part-way to the next scan, and never long after the last one
    for name, cap in (("moving_international", 36.0), ("moving_domestic", 20.0)):
        m = w_[name]
        age[m] = rng.uniform(0.05, 0.9, m.sum()) * np.minimum(gap_next[m], cap)
    m = w_["clearance_in_progress"]
    age[m] = rng.uniform(0.05, 0.9, m.sum()) * (t[m, CLEARED] - t_k[m])
    m = w_["handover_in_progress"]
    age[m] = rng.uniform(0.05, 0.9, m.sum()) * (t[m, D_ACCEPT] - t_k[m])
    # an unlinked handover is not a loss: it stays within the handover diagnosis's upper bound
    # (past that silence limit a parcel is a suspected loss, see policy.HANDOVER_LOSS_LIMIT)
    _draw_age(rng, age, w_["handover_unlinked"], 60.0, _HANDOVER_LOSS_HOURS)
    _draw_age(rng, age, w_["customs_inspection"] | w_["customs_documents"], 12.0, 10 * 24.0)
    _draw_age(rng, age, w_["lost_international"], 14 * 24.0, 30 * 24.0)
    _draw_age(rng, age, w_["lost_domestic"], 6 * 24.0, 25 * 24.0)
    return t_k, age


def _exits(
    rng: np.random.Generator,
    c: _Cast,
    present: np.ndarray,
    t: np.ndarray,
    t_k: np.ndarray,
    age: np.ndarray,
) -> _Exits:
    """Exceptions and returns: up to three scans after the stopping point.

    Adds them to present and t, and sets the age of the parcels that have them.
    """
    n, u, w_ = c.n, rng.random, c.w_
    x_leg_intl = w_["returned_customs"]
    x_reason = np.full(n, -1)
    for i, name in enumerate(
        ("returned_refused", "returned_customs", "exception_damaged", "exception_address")
    ):
        x_reason[w_[name]] = i
    has_x = x_reason >= 0
    present[has_x, X_EXC] = True
    returning = (
        w_["returned_refused"]
        | w_["returned_customs"]
        | ((w_["exception_address"] | w_["exception_damaged"]) & (u(n) < 0.3))
    )
    present[returning, X_RETURNING] = True
    present[returning & (u(n) < 0.45), X_RETURNED] = True
    t[:, X_EXC] = t_k + rng.uniform(1, 20, n)
    t[:, X_RETURNING] = t[:, X_EXC] + rng.uniform(2, 40, n)
    t[:, X_RETURNED] = t[:, X_RETURNING] + np.where(
        x_leg_intl, rng.uniform(6, 16, n) * 24, rng.uniform(1.5, 5, n) * 24
    )
    last_x = np.where(
        present[:, X_RETURNED], X_RETURNED, np.where(present[:, X_RETURNING], X_RETURNING, X_EXC)
    )
    _draw_age(rng, age, has_x, 2.0, 8 * 24.0)
    return _Exits(reason=x_reason, has_x=has_x, leg_intl=x_leg_intl, last=last_x)


def _kept(
    c: _Cast,
    present: np.ndarray,
    t: np.ndarray,
    k: np.ndarray,
    t_k: np.ndarray,
    age: np.ndarray,
    exits: _Exits,
) -> tuple[np.ndarray, np.ndarray]:
    """The scans that happen by as_of (keep) and each parcel's last scan time in hours (t_last)."""
    col = np.arange(NSLOT)
    has_x = exits.has_x
    keep = present & (col[None, :] <= k[:, None])
    keep[:, X_EXC:] = present[:, X_EXC:] & has_x[:, None]
    t_last = np.where(has_x, t[np.arange(c.n), exits.last], t_k)
    # the domestic carrier of an unlinked handover scans on regardless of what anyone sees
    unlinked = c.w_["handover_unlinked"]
    on_time = (col[None, :] >= D_ACCEPT) & (col[None, :] < X_EXC)
    horizon = (t_last + age)[:, None]
    keep |= unlinked[:, None] & present & on_time & (t <= horizon)
    keep[unlinked, D_ACCEPT] = True  # it has scans: nobody asks under their number
    keep[c.w_["unknown_number"]] = False
    return keep, t_last


def _clock_times(
    rng: np.random.Generator,
    c: _Cast,
    keep: np.ndarray,
    t: np.ndarray,
    origin_s: np.ndarray,
    exits: _Exits,
) -> tuple[np.ndarray, np.ndarray]:
    """Absolute scan times (epoch seconds), in working hours of where each scan happens, and its zone."""
    n = c.n
    col = np.arange(NSLOT)
    abs_t = origin_s[:, None] + _hours_to_s(t)
    abs_t += rng.integers(0, 60, (n, NSLOT))  # scans land on seconds
    x_abroad = exits.leg_intl[:, None] & (col[None, :] == X_RETURNED)
    zone = np.where(
        (col[None, :] < ARRIVE) | x_abroad, c.org_zone[:, None], ZONE_ID["Asia/Shanghai"]
    )
    carry = np.zeros(n, dtype=np.int64)  # a scan pushed to the morning delays the later ones
    for s in range(NSLOT):
        abs_t[:, s] += carry
        lo, hi = _WINDOW[s]
        sel = np.flatnonzero(keep[:, s])
        if hi - lo >= 24 or not len(sel):
            continue
        ts = abs_t[sel, s]
        hour = ((ts + _local_offset(ts, zone[sel, s])) % 86400) / 3600
        push = np.where(hour < lo, lo - hour, np.where(hour > hi, 24 - hour + lo, 0.0))
        push = np.round((push + (push > 0) * rng.uniform(0, 1.5, len(sel))) * 3600).astype(np.int64)
        abs_t[sel, s] += push
        carry[sel] += push
    return abs_t, zone


def _scan_rows(
    c: _Cast,
    keep: np.ndarray,
    abs_t: np.ndarray,
    zone: np.ndarray,
    exits: _Exits,
    as_of_s: int,
) -> _Scans:
    """One row per kept scan, a minute apart at least, moved back whole days to end before as_of."""
    n = c.n
    unlinked = c.w_["handover_unlinked"]
    ev_row, ev_col = np.nonzero(keep)
    ev_t = _group_floor_increasing(abs_t[ev_row, ev_col], ev_row, 60)
    ev_zone = zone[ev_row, ev_col]
    ev_intl = (ev_col < D_ACCEPT) | ((ev_col >= X_EXC) & exits.leg_intl[ev_row])
    ev_carrier = np.where(ev_intl, c.intl[ev_row], c.dom[ev_row])
    # whole-day shifts keep the time of day: move a story back if a pushed scan passed as_of
    # (an unlinked handover: handed over 2+ days ago, first domestic scan 12+ hours ago)
    by_index = ~(unlinked[ev_row] & (ev_col >= D_ACCEPT))
    latest = np.full(n, np.iinfo(np.int64).min)
    np.maximum.at(latest, ev_row[by_index], ev_t[by_index])
    excess = latest - np.where(unlinked, as_of_s - 2 * 86400, as_of_s - 300)
    first_dom = np.full(n, np.iinfo(np.int64).min)
    np.maximum.at(first_dom, ev_row[ev_col == D_ACCEPT], ev_t[ev_col == D_ACCEPT])
    excess = np.where(unlinked, np.maximum(excess, first_dom - (as_of_s - 12 * 3600)), excess)
    shift = np.where(excess > 0, -(-excess // 86400) * 86400, 0)
    ev_t = ev_t - shift[ev_row]
    visible_yet = ev_t <= as_of_s - 60
    return _Scans(
        row=ev_row[visible_yet],
        col=ev_col[visible_yet],
        t=ev_t[visible_yet],
        intl=ev_intl[visible_yet],
        carrier=ev_carrier[visible_yet],
        zone=ev_zone[visible_yet],
    )


def _numbers(rng: np.random.Generator, c: _Cast, salt: int) -> _Numbers:
    """Tracking numbers: the true international and domestic ones, and the recorded (maybe mistyped) one."""
    gidx = c.gidx
    intl_code = np.array(CARRIER_CODES)[c.intl]
    true_intl = np.empty(c.n, dtype=object)
    for code in sorted(set(intl_code.tolist())):
        m = intl_code == code
        mk = int(m.sum())
        if code in POSTAL_CARRIERS:
            prefixes = np.array(_S10_PREFIX[code])[rng.integers(0, len(_S10_PREFIX[code]), mk)]
            serial = _mix(gidx[m], 8, salt + CARRIER_ID[code])
            true_intl[m] = _s10(prefixes, serial, np.full(mk, CARRIERS[code].country))
        elif code == "ups":
            true_intl[m] = _ups(rng, _mix(gidx[m], 7, salt + 21))
        elif code == "fedex":
            true_intl[m] = _fedex12(_mix(gidx[m], 10, salt + 22))
        elif code == "dhl":
            true_intl[m] = _dhl10(rng.integers(1, 10, mk), _mix(gidx[m], 8, salt + 23))
        else:
            true_intl[m] = _prefixed(("YT",), rng, _mix(gidx[m], 16, salt + 24), 16)
    dom_code = np.array(CARRIER_CODES)[c.dom]
    true_dom = np.empty(c.n, dtype=object)
    for code, (prefixes, width) in _DOM_NUMBER_SPECS.items():
        m = dom_code == code
        if m.any():
            true_dom[m] = _prefixed(
                prefixes, rng, _mix(gidx[m], width, salt + 50 + CARRIER_ID[code]), width
            )
    true_dom[c.same_number] = true_intl[c.same_number]
    recorded_intl = true_intl.copy()
    mistyped = c.mistyped
    recorded_intl[mistyped] = _mistype(
        rng, true_intl[mistyped], c.is_["mistyped_transposition"][mistyped]
    )
    return _Numbers(intl_code, true_intl, dom_code, true_dom, recorded_intl)


# The domestic carriers' number prefixes and serial widths.
_DOM_NUMBER_SPECS = {
    "ems": (("10", "11", "12"), 11),
    "chinapost": (("96", "97", "98", "99"), 11),
    "sf": (("SF1", "SF0"), 12),
    "yto": (("YT",), 13),
    "zto": (("73", "75", "78"), 12),
    "sto": (("77",), 12),
    "yunda": (("43", "46"), 11),
    "jd": (("JD00",), 11),
}


def _link(
    rng: np.random.Generator,
    c: _Cast,
    k: np.ndarray,
    exits: _Exits,
    keep: np.ndarray,
    scans: _Scans,
    numbers: _Numbers,
) -> _Link:
    """The visible link between the two numbers: in the handover scan's text, the record, or both."""
    w_, same_number = c.w_, c.same_number
    unlinked = w_["handover_unlinked"]
    reached_handover = (
        (k >= HANDOVER) & ~exits.has_x | w_["returned_refused"] | w_["exception_damaged"]
    )
    reached_handover |= w_["exception_address"] | unlinked
    has_dom_scans = np.zeros(c.n, dtype=bool)
    has_dom_scans[scans.row[~scans.intl]] = True
    reached_handover |= has_dom_scans
    handover_scan = keep[:, HANDOVER]
    mode = rng.random(c.n)
    link_text = handover_scan & ~same_number & (mode < 0.65)
    link_record = reached_handover & ~same_number & ((mode >= 0.35) | ~handover_scan)
    link_record |= reached_handover & same_number & (mode < 0.5)
    # a mistyped record carries no domestic number either (nothing of the parcel is visible)
    link_record &= ~c.mistyped & ~unlinked
    link_text &= ~unlinked
    return _Link(
        text=link_text,
        domestic_number=np.where(link_record, numbers.true_dom, ""),
        domestic_carrier=np.where(link_record, numbers.dom_code, ""),
        true_dom_out=np.where(reached_handover, numbers.true_dom, ""),
    )


def _texts(
    rng: np.random.Generator,
    c: _Cast,
    present: np.ndarray,
    exits: _Exits,
    scans: _Scans,
    numbers: _Numbers,
    link: _Link,
) -> _Texts:
    """Each scan in its carrier's words: description, location, raw status and local time."""
    u = rng.random
    ev_row, ev_col, ev_intl, ev_carrier = scans.row, scans.col, scans.intl, scans.carrier
    m_ev = len(ev_row)
    key = _SLOT_KEY[ev_col].copy()
    china_side = (ev_col >= ARRIVE) & (ev_col <= HANDOVER)
    docs = (c.w_["customs_documents"])[ev_row] & ((ev_col == HOLD) | (ev_col == HOLD2))
    key[docs] = KEY_DOCS[key[docs]]
    linked_ev = (ev_col == HANDOVER) & link.text[ev_row]
    key[linked_ev] = KEY_LINKED[key[linked_ev]]
    pick_ev = (ev_col == D_DELIVERED) & present[ev_row, D_PICKUP]
    key[pick_ev] = KEY_PICKUP[key[pick_ev]]
    x_names = np.array([KEY_ID[k] for k in ("x_refused", "x_customs", "x_damaged", "x_address")])
    x_ev = ev_col == X_EXC
    key[x_ev] = x_names[exits.reason[ev_row[x_ev]]]
    ret_intl = (ev_col > X_EXC) & ev_intl
    key[ret_intl & (ev_col == X_RETURNING)] = KEY_ID["x_returning_intl"]
    key[ret_intl & (ev_col == X_RETURNED)] = KEY_ID["x_returned_intl"]
    zh_ev = (china_side | ret_intl | (x_ev & ev_intl)) & c.zh[ev_row]
    key[zh_ev] = KEY_ZH[key[zh_ev]]
    start = BOOK.start[ev_carrier, key]
    count = BOOK.count[ev_carrier, key]
    if (start < 0).any():
        bad = np.flatnonzero(start < 0)[0]
        raise ToolkitError(
            f"no phrase for carrier {CARRIER_CODES[ev_carrier[bad]]} and key {KEYS[key[bad]]}",
            "toolkit.world.demo",
        )
    tpl = start + (u(m_ev) * count).astype(np.int32)

    loc_name = np.full(m_ev, LOCATION_TEMPLATE[""], dtype=np.int32)
    loc_name[(ev_col == ACCEPT) | (ev_col == ORIGIN)] = LOCATION_TEMPLATE["{org}"]
    loc_name[(ev_col == EXPORT) | (ev_col == DEPART)] = LOCATION_TEMPLATE["{exp}"]
    loc_name[ev_col == TRANSIT] = np.where(
        np.isin(ev_carrier[ev_col == TRANSIT], [CARRIER_ID[code] for code in TRANSIT_HUB]),
        LOCATION_TEMPLATE["{trn}"],
        LOCATION_TEMPLATE[""],
    )
    side = china_side | ((ev_col >= X_EXC) & ev_intl & (ev_col < X_RETURNED))
    loc_name[side] = np.where(
        zh_ev[side], LOCATION_TEMPLATE["{gw_zh}"], LOCATION_TEMPLATE["{gw_loc}"]
    )
    loc_name[(ev_col == X_RETURNED) & ev_intl] = LOCATION_TEMPLATE["{org}"]
    dom_ev = ~ev_intl
    loc_name[dom_ev & (ev_col <= D_HUB_OUT)] = LOCATION_TEMPLATE["{gcity}"]
    loc_name[dom_ev & (ev_col > D_HUB_OUT)] = LOCATION_TEMPLATE["{dcity}"]
    blank_share = np.array([BLANK_LOCATION_SHARE[code] for code in CARRIER_CODES])[ev_carrier]
    loc_name[u(m_ev) < blank_share] = LOCATION_TEMPLATE[""]

    fields = np.stack(
        [c.org[ev_row], c.gw[ev_row], c.dest[ev_row], c.dist[ev_row], c.who[ev_row], c.dom[ev_row]],
        axis=1,
    ).astype(np.int64)
    desc_prefix, desc_suffix = _fill(tpl, ev_carrier, fields)
    location, _ = _fill(loc_name, ev_carrier, fields)
    dom_numbers = pa.array(numbers.true_dom.tolist(), type=pa.string())
    num = pc.if_else(pa.array(linked_ev), dom_numbers.take(pa.array(ev_row)), "")
    description = pc.binary_join_element_wise(desc_prefix, num, desc_suffix, "")

    raw_id = BOOK.raw[ev_carrier, key]
    raw_share = np.array([RAW_SHARE.get(code, 0.0) for code in CARRIER_CODES])[ev_carrier]
    raw_id = np.where(u(m_ev) < raw_share, raw_id, -1)
    raw_status = _take_vocab(("", *BOOK.raw_vocab), raw_id + 1)

    milestone = _SLOT_MILESTONE[ev_col]
    milestone[key == KEY_ID["x_refused"]] = "delivery_failed"  # refusal at the door

    # time text
    style = TIME_STYLE_ID[ev_carrier]
    text_zone = np.where(style == 0, scans.zone, TEXT_ZONE[ev_carrier])
    text_off = _local_offset(scans.t, text_zone)
    time_local = _time_text(scans.t, text_off, style)
    return _Texts(description, location, raw_status, time_local, milestone)


def _events_table(
    rng: np.random.Generator,
    c: _Cast,
    scans: _Scans,
    numbers: _Numbers,
    texts: _Texts,
    drop: np.ndarray | None = None,
) -> pa.Table:
    """The events table, with some scans seen twice (the copy with a different fill-in);
    ``drop`` (one flag per scan) leaves out the scans an incident stopped."""
    u = rng.random
    m_ev = len(scans.row)
    dup = u(m_ev) < 0.025
    order = np.sort(np.r_[np.arange(m_ev), np.flatnonzero(dup)], kind="stable")
    is_copy = np.r_[False, order[1:] == order[:-1]]
    idx = pa.array(order)
    location = texts.location.take(idx)
    has_location = pc.not_equal(location, "").to_numpy(zero_copy_only=False)
    blank_copy = is_copy & has_location & (u(len(order)) < 0.5)
    location = pc.if_else(pa.array(blank_copy), pa.scalar("", pa.string()), location)
    source = np.where(is_copy & ~blank_copy, MIRROR_SOURCE, SOURCE)

    intl_numbers = pa.array(numbers.true_intl.tolist(), type=pa.string())
    dom_numbers = pa.array(numbers.true_dom.tolist(), type=pa.string())
    rows_ev = pa.array(scans.row)
    events = pa.table(
        {
            "parcel_id": _parcel_ids(c.gidx).take(pa.array(scans.row[order])),
            "tracking_number": pc.if_else(
                pa.array(scans.intl), intl_numbers.take(rows_ev), dom_numbers.take(rows_ev)
            ).take(idx),
            "carrier": _take_vocab(CARRIER_CODES, scans.carrier[order]),
            "leg": _take_vocab((_DOM, _INTL), scans.intl[order].astype(int)),
            "time_local": texts.time_local.take(idx),
            "location": location,
            "description": texts.description.take(idx),
            "raw_status": texts.raw_status.take(idx),
            "source": pa.array(source),
            "true_milestone": pa.array(texts.milestone[order]),
        }
    )
    if drop is not None:
        events = events.filter(pa.array(~drop[order]))
    return _blank_to_null(events)


def _parcels_table(
    rng: np.random.Generator,
    c: _Cast,
    scans: _Scans,
    numbers: _Numbers,
    link: _Link,
    salt: int,
    as_of_s: int,
    as_of_text: str,
) -> pa.Table:
    """The parcels table: each parcel's record, recipient and true fate."""
    n = c.n
    accepted = scans.col == ACCEPT
    first_scan = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first_scan, scans.row[accepted], scans.t[accepted])
    shipped = np.where(
        first_scan < np.iinfo(np.int64).max,
        first_scan - rng.integers(1800, 6 * 3600, n),
        as_of_s - rng.integers(3 * 86400, 45 * 86400, n),
    )
    shipped_off = _local_offset(shipped, c.org_zone)
    parcels = pa.table(
        {
            "parcel_id": _parcel_ids(c.gidx),
            "order_id": pa.array(
                np.char.add("SO", _join(_digit_matrix(_mix(c.gidx, 10, salt + 3), 10), n=n))
            ),
            "international_number": pa.array(numbers.recorded_intl.astype(str)),
            "international_carrier": pa.array(numbers.intl_code),
            "domestic_number": pa.array(link.domestic_number.astype(str)),
            "domestic_carrier": pa.array(link.domestic_carrier.astype(str)),
            "origin_country": pa.array(np.array(COUNTRIES)[c.country]),
            "destination_province": pa.array(np.array([d[0] for d in DESTINATIONS])[c.dest]),
            "destination_city": pa.array(np.array([d[1] for d in DESTINATIONS])[c.dest]),
            "shipped_at": _time_text(shipped, shipped_off, np.zeros(n, dtype=int)),
            # drawn in this order: names, phones, addresses
            "recipient_name": pa.array(_names(rng, n)),
            "recipient_phone": pa.array(_phones(rng, n)),
            "recipient_address": pa.array(_addresses(rng, c.dest, c.dist)),
            "true_category": pa.array(np.array([SCENARIO_CATEGORY[s] for s in SCENARIOS])[c.sc]),
            "scenario": pa.array(np.array(SCENARIOS)[c.sc]),
            "route": pa.array(np.where(c.postal, "postal", "commercial")),
            "true_international_number": pa.array(numbers.true_intl.astype(str)),
            "true_domestic_number": pa.array(link.true_dom_out.astype(str)),
            "as_of": pa.array(np.full(n, as_of_text)),
        }
    )
    return _blank_to_null(parcels)


# the text key of each slot (a door-step retry reads like any delivery round; exceptions get theirs
# per parcel)
_SLOT_KEY = np.array(
    [KEY_ID[{"d_ofd1": "d_ofd", "x_exception": "x_refused"}.get(name, name)] for name, _ in _SLOTS]
)


def _check_passes(number: str) -> bool:
    """Whether an S10 or UPS number's check digit is right."""
    if number.startswith("1Z"):
        body = np.frombuffer(number[2:17].encode(), dtype=np.uint8)[None, :]
        return int(_ups_check(body)[0]) == int(number[17])
    return s10_check_digit(number[2:10]) == int(number[10])


def _mistype(rng: np.random.Generator, numbers: np.ndarray, transpose: np.ndarray) -> np.ndarray:
    """Numbers one edit away (a changed digit or two swapped neighbours) that fail their check."""
    out = numbers.copy()
    for i, number in enumerate(numbers.tolist()):
        first = 10 if number.startswith("1Z") else 2  # UPS: the package id and check digit
        digits = [j for j, ch in enumerate(number) if ch.isdigit() and j >= first]
        pairs = [j for j in digits if j + 1 in digits and number[j] != number[j + 1]]
        for attempt in range(400):
            chars = list(number)
            if transpose[i] and pairs and attempt < 200:
                j = pairs[int(rng.integers(0, len(pairs)))]
                chars[j], chars[j + 1] = chars[j + 1], chars[j]
            else:
                j = digits[int(rng.integers(0, len(digits)))]
                chars[j] = str((int(chars[j]) + int(rng.integers(1, 10))) % 10)
            candidate = "".join(chars)
            if not _check_passes(candidate):
                out[i] = candidate
                break
    return out


def _fill(tpl: np.ndarray, carrier: np.ndarray, fields: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """Render templates per scan; return the text before and after {num}."""
    needs = BOOK.needs[tpl]
    used = np.where(needs, fields, 0)
    radix = np.array([32, 8, 32, 8, 32, 32], dtype=np.int64)
    key = tpl.astype(np.int64) * 32 + carrier
    for f in range(len(FIELDS)):
        key = key * radix[f] + used[:, f]
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    before, after = [], []
    for i in first.tolist():
        text = render(BOOK.templates[tpl[i]], CARRIER_CODES[carrier[i]], *(int(v) for v in used[i]))
        head, _, tail = text.partition("{num}")
        before.append(head)
        after.append(tail)
    idx = pa.array(inverse.astype(np.int64))
    return pa.array(before).take(idx), pa.array(after).take(idx)


def _take_vocab(vocab: tuple[str, ...], ids: np.ndarray) -> pa.Array:
    return pa.array(list(vocab), type=pa.string()).take(pa.array(np.asarray(ids, dtype=np.int64)))


def _time_text(t: np.ndarray, offset: np.ndarray, style: np.ndarray) -> pa.Array:
    """Local time text: ISO with offset (style 0), 'YYYY-MM-DD HH:MM:SS' (1) or '... HH:MM' (2)."""
    text = np.datetime_as_string((t + offset).astype("datetime64[s]"), unit="s")
    chars = text.view(np.uint32).reshape(len(text), -1)
    chars[:, 10] = np.where(np.asarray(style) == 0, ord("T"), ord(" "))
    minutes = np.abs(offset) // 60
    codes, inverse = np.unique(np.where(offset < 0, -minutes, minutes), return_inverse=True)
    offsets = pa.array(
        [f"{'-' if m < 0 else '+'}{abs(m) // 60:02d}:{abs(m) % 60:02d}" for m in codes]
    )
    base = pa.array(text)
    iso = pc.binary_join_element_wise(base, offsets.take(pa.array(inverse)), "")
    short = pc.utf8_slice_codeunits(base, 0, 16)
    style = pa.array(np.asarray(style))
    return pc.if_else(pc.equal(style, 0), iso, pc.if_else(pc.equal(style, 1), base, short))


def _parcel_ids(gidx: np.ndarray) -> pa.Array:
    return pa.array(np.char.add("P", _join(_digit_matrix(gidx + 1, 7), n=len(gidx))))


def _names(rng: np.random.Generator, n: int) -> np.ndarray:
    s = np.array(list(SURNAMES))[rng.integers(0, len(SURNAMES), n)]
    g1 = np.array(list(GIVEN_NAMES))[rng.integers(0, len(GIVEN_NAMES), n)]
    g2 = np.array(list(GIVEN_NAMES))[rng.integers(0, len(GIVEN_NAMES), n)]
    return np.where(rng.random(n) < 0.35, np.char.add(s, g1), np.char.add(np.char.add(s, g1), g2))


def _phones(rng: np.random.Generator, n: int) -> np.ndarray:
    second = rng.integers(3, 10, (n, 1)) + 48
    rest = rng.integers(0, 10, (n, 9)) + 48
    return _join("1", second, rest, n=n)


def _addresses(rng: np.random.Generator, dest: np.ndarray, dist: np.ndarray) -> list[str]:
    street = rng.integers(0, len(STREETS), len(dest))
    number = rng.integers(1, 999, len(dest))
    estate = rng.integers(0, len(ESTATES), len(dest))
    building = rng.integers(1, 30, len(dest))
    room = rng.integers(1, 33, len(dest)) * 100 + rng.integers(1, 9, len(dest))
    out = []
    for d, di, s, no, e, b, r in zip(
        dest.tolist(),
        dist.tolist(),
        street.tolist(),
        number.tolist(),
        estate.tolist(),
        building.tolist(),
        room.tolist(),
        strict=True,
    ):
        province, city, _, _, districts, *_ = DESTINATIONS[d]
        head = city if province == city else province + city
        out.append(f"{head}{districts[di]}{STREETS[s]}{no}号{ESTATES[e]}{b}栋{r}室")
    return out


def _blank_to_null(table: pa.Table) -> pa.Table:
    """Empty strings become nulls (written as empty CSV fields)."""
    cols = [pc.if_else(pc.equal(c, ""), pa.scalar(None, pa.string()), c) for c in table.columns]
    return pa.table(cols, names=table.column_names)


def _tables(
    parcels: int,
    seed: int,
    as_of: object,
    plan: tuple[tuple[str, int], ...] = (),
    truth: list[dict] | None = None,
) -> Iterator[tuple[pa.Table, pa.Table]]:
    """Generate in chunks of parcels: (parcels, events) Arrow tables.

    Incidents of ``plan`` are injected among the first chunk's parcels (the first
    CHUNK_PARCELS); their truth is appended to ``truth`` once that chunk is made.
    """
    n, seed = _check_args(parcels, seed)
    as_of_s, as_of_text = _as_of_seconds(as_of)
    if plan and n == 0:
        raise InputError("incidents need parcels to stop", "toolkit.world.demo", "Pass parcels>0")
    for first in range(0, n, CHUNK_PARCELS):
        extra = (plan, truth) if first == 0 and plan else ()
        yield _chunk(seed, first, min(CHUNK_PARCELS, n - first), as_of_s, as_of_text, *extra)


def _to_frame(table: pa.Table) -> pd.DataFrame:
    df = table.to_pandas()
    return df.fillna("").astype(str)


# ---------------------------------------------------------------------------------------------
# Lane incidents: many parcels of one place stop at once (the truth for toolkit.incidents).

INCIDENT_KINDS = ("customs backlog", "handover backlog", "hub stall", "carrier not answering")
INCIDENT_SIZES = (10, 25, 50)  # the sizes a number of incidents cycles through
INCIDENT_COLUMNS = ("kind", "where", "place", "carrier", "start", "parcels", "parcel_ids")
_INCIDENT_STREAM = 0x1C1DE  # salt of the incidents' own random stream
_KIND_WORDS = {"customs": 0, "handover": 1, "hub": 2, "carrier": 3}
# Carriers that name no port of entry in their China-side scans cannot show an office backlog.
_NO_OFFICE = ("japanpost", "koreapost")
_NEVER_S = np.iinfo(np.int64).max
_FEED_DAYS = 2.0  # a backlog's place brings its size within two days at its own pace
_FEED_SLACK = 1.25  # or, where no place can, within a quarter more than the quickest one
_OUTAGE_SLACK = 1.2  # an outage's parcels: the size asked for and up to a fifth more


def incident_plan(incidents: object) -> tuple[tuple[str, int], ...]:
    """(kind, size) of each incident to inject, from what ``generate(incidents=...)`` and
    ``--incidents`` accept: a count (kinds and sizes 10, 25, 50 taken in turn), text such as
    ``"customs:25,hub:10"`` or ``"4"``, or a list of (kind, size) pairs or mappings."""
    if incidents is None or incidents is False:
        return ()
    bad = InputError(
        f"incidents must be a count, 'kind:size,...' text or (kind, size) pairs, got {incidents!r}",
        "toolkit.world.demo",
        "Pass e.g. incidents=4 or incidents=[('customs backlog', 25), ('hub stall', 10)]; "
        f"kinds: {', '.join(INCIDENT_KINDS)}",
    )
    if isinstance(incidents, str):
        text = incidents.strip()
        if text.isdigit():
            return incident_plan(int(text))
        pairs = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            kind, _, size = part.partition(":")
            if not size.strip().isdigit():
                raise bad
            pairs.append((kind.strip(), int(size)))
        incidents = pairs
    if isinstance(incidents, int | np.integer) and not isinstance(incidents, bool):
        if not 0 <= incidents <= 40:
            raise InputError(
                f"incidents must be from 0 to 40, got {incidents}", "toolkit.world.demo"
            )
        return tuple(
            (INCIDENT_KINDS[i % len(INCIDENT_KINDS)], INCIDENT_SIZES[i % len(INCIDENT_SIZES)])
            for i in range(int(incidents))
        )
    try:
        items = list(incidents)  # type: ignore[call-overload]
    except TypeError:
        raise bad from None
    plan = []
    for item in items:
        kind, size = (item.get("kind"), item.get("size")) if isinstance(item, dict) else item
        word = str(kind).strip().lower()
        k = next((i for w, i in _KIND_WORDS.items() if word.startswith(w)), None)
        if k is None or isinstance(size, bool) or not isinstance(size, int | np.integer):
            raise bad
        if not 3 <= int(size) <= 500:
            raise InputError(f"an incident has 3 to 500 parcels, got {size}", "toolkit.world.demo")
        plan.append((INCIDENT_KINDS[k], int(size)))
    return tuple(plan)


def _slot_times(c: _Cast, scans: _Scans) -> np.ndarray:
    """Each parcel's time of each slot (epoch seconds; _NEVER_S where it has no such scan)."""
    t = np.full((c.n, NSLOT), _NEVER_S, np.int64)
    t[scans.row, scans.col] = scans.t
    return t


def _inject(
    rng: np.random.Generator,
    c: _Cast,
    scans: _Scans,
    link: _Link,
    plan: tuple[tuple[str, int], ...],
    as_of_s: int,
) -> tuple[np.ndarray, list[dict], np.ndarray]:
    """Stop the parcels of each planned incident: (scans to drop, truth rows, parcels whose
    record loses its domestic number because they stopped before the handover).

    An incident is fed by its place's own traffic, as a real one is. A backlog at a place
    (customs at a port of entry for one international carrier, the handover after
    clearance there, a domestic carrier's hub in a city) starts at a time when that place's
    arrival rate over the week before (parcels a day) brings the incident's size within
    ``_FEED_DAYS`` (2) days (where no place's pace can, as for a large hub stall in a small
    world, the places that bring it quickest, within ``_FEED_SLACK`` of the quickest), and
    when fewer parcels than that size are waiting there: every parcel waiting at the start
    and the parcels that then arrive (within those days), in order, until the incident has
    its size, stop there (no scan past that place). Parcels that their own story keeps at
    the place anyway (lost there, or held by customs on their own) are not the incident's:
    they are neither counted nor stopped, so its size is the parcels it stopped. A carrier
    that stops answering stops publishing, from the start, every scan of all its parcels
    under way in the domestic stage on one lane (its parcels from one port of entry), as
    an outage does: a lane and start are chosen where those parcels are at least the size
    asked for and at most ``_OUTAGE_SLACK`` (a fifth) more, and the truth lists all of them
    (its ``parcels`` may exceed the size asked for by that much).
    Starts are 3 to 12 days before as_of, every 6 hours; places, lanes and starts are drawn
    from their own random stream; no parcel is in two incidents, no place or lane in two of
    one kind.
    """
    n = c.n
    t = _slot_times(c, scans)
    seen = ~c.mistyped & ~c.w_["unknown_number"]  # an analyst sees these parcels' scans
    dom_seen = seen & ~c.w_["handover_unlinked"]
    dom_seen &= (link.domestic_number != "") | link.text | c.same_number
    drop = np.zeros(len(scans.row), bool)
    taken = np.zeros(n, bool)
    unlinked = np.zeros(n, bool)
    truth: list[dict] = []
    used: set[tuple[int, int]] = set()  # (kind, place or lane) of the incidents so far
    day = 86400
    starts = as_of_s - np.arange(12 * day, 3 * day - 1, -6 * 3600)
    office_ok = ~np.isin(np.array(CARRIER_CODES)[c.intl], _NO_OFFICE)
    stages = {  # kind -> (first slot in the place, first slot past it, who, who may stall)
        0: (ARRIVE, CLEARED, c.intl, seen & office_ok),
        1: (CLEARED, D_ACCEPT, c.intl, seen & office_ok),
        2: (D_ACCEPT, D_DEST_IN, c.dom, dom_seen),
    }
    held = (t[:, HOLD] != _NEVER_S) | (t[:, HOLD2] != _NEVER_S)
    for kind_name, size in plan:
        kind = INCIDENT_KINDS.index(kind_name)
        options: list[tuple[int, int, np.ndarray]] = []
        if kind < 3:
            lo, hi, who, ok = stages[kind]
            enter = t[:, lo:hi].min(axis=1)
            leave = t[:, hi:].min(axis=1)
            # a parcel its own story keeps at the place (never leaving it: lost there; or,
            # at customs, held on its own) is not stopped by the incident: it is not counted
            ordinary = leave != _NEVER_S
            if kind == 0:
                ordinary &= ~held
            at = ok & ~taken & (enter != _NEVER_S) & ordinary
            place = who.astype(np.int64) * 16 + c.gw
            fill: list[float] = []  # days each option's place needs to bring `size`
            for key in np.unique(place[at]):
                if (kind, int(key)) in used:  # one incident at a time at a place
                    continue
                rows = np.flatnonzero(at & (place == key))
                e = np.sort(enter[rows])
                for s in starts:
                    # the place's own pace in the week before
                    week = np.searchsorted(e, s, "right") - np.searchsorted(e, s - 7 * day, "right")
                    if not week:
                        continue
                    days = size / (week / 7)
                    queue = rows[(enter[rows] <= s) & (leave[rows] > s)]
                    later = rows[(enter[rows] > s) & (enter[rows] <= s + days * day)]
                    if not (len(queue) < size <= len(queue) + len(later)):
                        continue
                    later = later[np.argsort(enter[later], kind="stable")]
                    fill.append(days)
                    options.append((int(key), int(s), np.r_[queue, later[: size - len(queue)]]))
            # places fed within two days; where none is, the quickest fed ones
            if options:
                limit = max(_FEED_DAYS, _FEED_SLACK * min(fill))
                options = [o for o, d in zip(options, fill, strict=True) if d <= limit]
        else:
            first_dom = t[:, D_ACCEPT:X_EXC].min(axis=1)
            dom_t = np.where(t[:, D_ACCEPT:X_EXC] == _NEVER_S, -1, t[:, D_ACCEPT:X_EXC])
            last_dom = dom_t.max(axis=1)
            lane = c.dom.astype(np.int64) * 16 + c.gw
            for key in np.unique(lane[dom_seen]):
                if (kind, int(key)) in used:
                    continue
                # all the lane's parcels under way (seen by an analyst or not) stop publishing
                rows = np.flatnonzero(lane == key)
                for s in starts:
                    active = rows[(first_dom[rows] <= s) & (last_dom[rows] > s)]
                    if not size <= len(active) <= _OUTAGE_SLACK * size:
                        continue
                    if taken[active].any():
                        continue
                    options.append((int(key), int(s), active))
        if not options:
            raise InputError(
                f"no place in this world can hold a {kind_name} of {size} parcels",
                "toolkit.world.demo",
                "Generate more parcels, or ask for smaller or fewer incidents",
            )
        key, s, rows = options[int(rng.integers(0, len(options)))]
        used.add((kind, key))
        taken[rows] = True
        stalled = np.zeros(n, bool)
        stalled[rows] = True
        if kind < 3:
            cut = stages[kind][1]
            drop |= stalled[scans.row] & (scans.col >= cut)
            if kind < 2:
                unlinked |= stalled
            who_code = CARRIER_CODES[key // 16]
            gw = key % 16
            city = _GATEWAY_EN[gw].title()
            carrier_name = CARRIERS[who_code].name
            where, place = {
                0: (f"customs at {city} for {carrier_name}", city),
                1: (f"handover after clearance at {city} for {carrier_name}", city),
                2: (f"{carrier_name} hub in {city}", city),
            }[kind]
        else:
            who_code = CARRIER_CODES[key // 16]
            drop |= stalled[scans.row] & (scans.t > s)
            city = _GATEWAY_EN[key % 16].title()
            where = f"{CARRIERS[who_code].name} (stopped publishing scans, parcels from {city})"
            place = ""
        ids = _parcel_ids(c.gidx[np.sort(rows)]).to_pylist()
        truth.append(
            {
                "kind": kind_name,
                "where": where,
                "place": place,
                "carrier": who_code,
                "start": pd.Timestamp(s, unit="s", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ"),
                "parcels": len(ids),
                "parcel_ids": " ".join(ids),
            }
        )
    return drop, truth, unlinked


def incidents_frame(rows: list[dict]) -> pd.DataFrame:
    """The truth of injected incidents as a table of strings (``parcel_ids`` space-separated)."""
    return pd.DataFrame(rows, columns=list(INCIDENT_COLUMNS)).astype(str)


# ---------------------------------------------------------------------------------------------
# Public API.


def generate(
    parcels: int = 2000,
    seed: int = 7,
    as_of: str | pd.Timestamp = DEFAULT_AS_OF,
    *,
    incidents: object = None,
) -> tuple[pd.DataFrame, pd.DataFrame] | tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Make the demo world: (parcels, events) string tables, exactly as `write` stores them.

    With ``incidents`` (a count, ``"customs:25,hub:10"`` or (kind, size) pairs: see
    ``incident_plan``) lane incidents are injected and a third table is returned, their
    truth: kind, where, place, carrier, start (UTC), parcels and the space-separated
    parcel_ids. The incidents draw from their own random stream; without them the world
    is exactly the one generated before incidents existed.
    """
    plan = incident_plan(incidents)
    truth: list[dict] = []
    chunks = list(_tables(parcels, seed, as_of, plan, truth))
    if not chunks:
        out = (
            pd.DataFrame({c: pd.Series(dtype=str) for c in PARCEL_FILE_COLUMNS}),
            pd.DataFrame({c: pd.Series(dtype=str) for c in EVENT_FILE_COLUMNS}),
        )
    else:
        parcel_table = pa.concat_tables([p for p, _ in chunks])
        event_table = pa.concat_tables([e for _, e in chunks])
        out = _to_frame(parcel_table), _to_frame(event_table)
    if incidents is None:
        return out
    return (*out, incidents_frame(truth))


class _Writer:
    """Writes parcels and events chunk by chunk to CSV or Parquet files."""

    def __init__(self, out_dir: str | Path, fmt: str = "csv"):
        if fmt not in FORMATS:
            raise InputError(
                f"unknown format {fmt!r}", "toolkit.world.demo", f"Use one of: {', '.join(FORMATS)}"
            )
        self.dir = Path(out_dir)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(
                f"cannot create the output directory ({exc.strerror})",
                str(self.dir),
                "Choose a directory you can write to",
            ) from exc
        self.fmt = fmt
        self.paths = (self.dir / f"parcels.{fmt}", self.dir / f"events.{fmt}")
        self._parquet: list[pq.ParquetWriter | None] = [None, None]
        self._started = False
        self.rows = [0, 0]

    def add(self, parcels: pa.Table, events: pa.Table) -> None:
        """Append one chunk of both tables."""
        for i, table in enumerate((parcels, events)):
            self.rows[i] += table.num_rows
            if self.fmt == "parquet":
                if self._parquet[i] is None:
                    self._parquet[i] = pq.ParquetWriter(self.paths[i], table.schema)
                self._parquet[i].write_table(table)
            else:
                _to_frame(table).to_csv(
                    self.paths[i],
                    mode="a" if self._started else "w",
                    header=not self._started,
                    index=False,
                    lineterminator="\n",
                    encoding="utf-8",
                )
        self._started = True

    def close(self) -> None:
        """Finish the files."""
        for writer in self._parquet:
            if writer is not None:
                writer.close()


class _PartitionedWriter(_Writer):
    """Writes parcels and events as co-partitioned Parquet datasets: out/parcels/ and
    out/events/, files part-00000.parquet … of ``partitions`` numbers, a parcel's row and
    scans in files of the same number (toolkit.io.partition_of)."""

    def __init__(self, out_dir: str | Path, partitions: int):
        from toolkit.io import PARTITION_FILE

        if partitions < 1:
            raise InputError(
                f"--partitions must be 1 or more, got {partitions}", "toolkit.world.demo"
            )
        super().__init__(out_dir, "parquet")
        self.paths = (self.dir / "parcels", self.dir / "events")
        for folder in self.paths:
            folder.mkdir(exist_ok=True)
            for old in folder.glob("part-*.parquet"):
                old.unlink()
        self.partitions = partitions
        self._files = [
            [f / PARTITION_FILE.format(i) for i in range(partitions)] for f in self.paths
        ]
        self._writers: list[dict[int, pq.ParquetWriter]] = [{}, {}]
        self._schemas: list[pa.Schema | None] = [None, None]

    def add(self, parcels: pa.Table, events: pa.Table) -> None:
        """Append one chunk of both tables, each row to its parcel's partition."""
        from toolkit.io import partition_of

        for i, table in enumerate((parcels, events)):
            self.rows[i] += table.num_rows
            self._schemas[i] = table.schema
            ids = table.column("parcel_id").to_numpy(zero_copy_only=False)
            part = partition_of(ids, self.partitions)
            order = np.argsort(part, kind="stable")
            bounds = np.searchsorted(part[order], np.arange(self.partitions + 1))
            for k in range(self.partitions):
                if bounds[k] == bounds[k + 1]:
                    continue
                rows = table.take(pa.array(order[bounds[k] : bounds[k + 1]]))
                if k not in self._writers[i]:
                    self._writers[i][k] = pq.ParquetWriter(self._files[i][k], table.schema)
                self._writers[i][k].write_table(rows)

    def close(self) -> None:
        """Finish the files; a partition without rows gets an empty file, so both datasets
        always hold the same numbers."""
        for i, writers in enumerate(self._writers):
            for writer in writers.values():
                writer.close()
            schema = self._schemas[i] or pa.schema(
                [(c, pa.string()) for c in (PARCEL_FILE_COLUMNS, EVENT_FILE_COLUMNS)[i]]
            )
            for k in range(self.partitions):
                if k not in writers:
                    pq.write_table(schema.empty_table(), self._files[i][k])


def _as_table(df: pd.DataFrame, columns: tuple[str, ...], table: str) -> pa.Table:
    from toolkit.errors import MissingColumnsError

    if not isinstance(df, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame of {table}, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise MissingColumnsError(missing, table, "toolkit.world.demo.write")
    frame = df.loc[:, list(columns)].astype(object).where(df.loc[:, list(columns)].notna(), "")
    return _blank_to_null(pa.table({c: pa.array(frame[c].astype(str).tolist()) for c in columns}))


def write(
    parcels_df: pd.DataFrame, events_df: pd.DataFrame, out_dir: str | Path, format: str = "csv"
) -> tuple[Path, Path]:
    """Write the parcels and events tables to out_dir (parcels.csv and events.csv, or .parquet)."""
    writer = _Writer(out_dir, format)
    writer.add(
        _as_table(parcels_df, PARCEL_FILE_COLUMNS, "parcels"),
        _as_table(events_df, EVENT_FILE_COLUMNS, "events"),
    )
    writer.close()
    return writer.paths


_LINK_TEXT = re.compile(
    r"(?:运单号|单号|tracking number|domestic number)\s*[:：]?\s*([A-Z]{0,4}\d{8,18})", re.I
)


def _linked_numbers(events: pd.DataFrame) -> pd.Series:
    """Numbers that scans name as the parcel's next number (e.g. in a handover text)."""
    found = events["description"].astype("string").str.extract(_LINK_TEXT, expand=False)
    if "linked_number" in events.columns:
        given = events["linked_number"].astype("string").str.strip()
        found = given.where(given.notna() & (given != ""), found)
    return found


def observable_events(parcels: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """The scans an analyst can see: under a number the parcels table records, or one a visible scan names."""
    from toolkit.errors import MissingColumnsError

    for df, cols, table in (
        (parcels, ("parcel_id", "international_number", "domestic_number"), "parcels"),
        (events, ("parcel_id", "tracking_number", "description"), "events"),
    ):
        if not isinstance(df, pd.DataFrame):
            raise InputError(f"expected a pandas DataFrame of {table}, got {type(df).__name__}")
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise MissingColumnsError(missing, table, "toolkit.world.demo.observable_events")

    def keys(pid: pd.Series, number: pd.Series) -> pd.Series:
        number = number.astype("string").str.strip().str.upper()
        return (pid.astype("string") + "\x1f" + number).where(number.notna() & (number != ""))

    known = set(
        pd.concat(
            [
                keys(parcels["parcel_id"], parcels["international_number"]),
                keys(parcels["parcel_id"], parcels["domestic_number"]),
            ]
        ).dropna()
    )
    event_keys = keys(events["parcel_id"], events["tracking_number"])
    visible = event_keys.isin(known).to_numpy(dtype=bool)
    while True:
        seen = events.loc[visible]
        named = set(keys(seen["parcel_id"], _linked_numbers(seen)).dropna()) - known
        if not named:
            break
        known |= named
        visible = event_keys.isin(known).to_numpy(dtype=bool)
    return events.loc[visible].reset_index(drop=True)


def demo_dir() -> Path:
    """The demo set's folder: data/demo/ in a checkout, else the user's data folder
    ($TOOLKIT_DATA_DIR/demo or ~/.local/share/parcel-toolkit/demo); see toolkit.paths."""
    return paths.demo_dir()


def ensure_demo(directory: str | Path | None = None) -> Path:
    """The folder holding the demo set's parcels.csv and events.csv, generated there if missing.

    Generating takes well under a second and always writes the same bytes, so an installed
    toolkit makes its demo set on first use. The files are written under temporary names and
    renamed into place, so a reader never sees half a file.
    """
    target = Path(directory) if directory is not None else demo_dir()
    files = (target / "parcels.csv", target / "events.csv")
    if all(path.is_file() for path in files):
        return target
    try:
        target.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".demo-", dir=target))
    except OSError as exc:
        raise ToolkitError(
            f"the demo data set is missing and cannot be written there ({exc.strerror})",
            str(target),
            f"Set {paths.DATA_DIR_ENV} to a folder you can write to, or generate it with "
            "`python -m toolkit.demo --out FOLDER`",
        ) from exc
    try:
        writer = _Writer(staging)
        for parcel_table, event_table in _tables(DEMO_PARCELS, DEMO_SEED, DEFAULT_AS_OF):
            writer.add(parcel_table, event_table)
        writer.close()
        # events first: a reader that finds parcels.csv finds both
        for made, final in zip(reversed(writer.paths), reversed(files), strict=True):
            os.replace(made, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def load_demo(observable: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The demo set: (parcels, events in the contract); by default only visible scans.

    Outside a checkout the set is generated into the user's data folder on first use.
    """
    from toolkit.io import read_events, read_parcels

    directory = ensure_demo()
    parcels = read_parcels(directory / "parcels.csv")
    events = read_events(directory / "events.csv")
    if observable:
        events = observable_events(parcels, events)
    return parcels, events


# ---------------------------------------------------------------------------------------------
# Command line.


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m toolkit.demo",
        description="Generate the demo world: parcels shipped into China and every carrier scan.",
    )
    parser.add_argument("--parcels", type=int, default=2000, help="number of parcels (2000)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (7)")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"output directory ({demo_dir()}: data/demo in a checkout, else the user's "
        f"data folder, or ${paths.DATA_DIR_ENV}/demo)",
    )
    parser.add_argument(
        "--as-of", default=DEFAULT_AS_OF, help=f"the moment the world is seen ({DEFAULT_AS_OF})"
    )
    parser.add_argument("--format", choices=FORMATS, default="csv", help="file format (csv)")
    parser.add_argument(
        "--incidents",
        default=None,
        help="inject lane incidents and write their truth to incidents.csv: a count "
        "(kinds and sizes 10, 25, 50 in turn) or e.g. 'customs:25,handover:10,hub:50,carrier:25'",
    )
    parser.add_argument(
        "--partitions",
        type=int,
        default=None,
        help="write Parquet datasets out/parcels/ and out/events/ in this many files, "
        "co-partitioned by parcel_id (for `python -m toolkit diagnose`)",
    )
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the generator from the command line; return the exit code."""
    args = _parser().parse_args(argv)
    began = time.perf_counter()
    try:
        plan = incident_plan(args.incidents)
        truth: list[dict] = []
        out = demo_dir() if args.out is None else args.out
        if args.partitions is not None and args.format != "parquet":
            raise InputError("--partitions writes Parquet datasets", hint="Add --format parquet")
        if args.partitions is None:
            writer = _Writer(out, args.format)
        else:
            writer = _PartitionedWriter(out, args.partitions)
        for parcel_table, event_table in _tables(args.parcels, args.seed, args.as_of, plan, truth):
            writer.add(parcel_table, event_table)
        writer.close()
        if args.incidents is not None:
            incidents_frame(truth).to_csv(
                writer.dir / "incidents.csv", index=False, lineterminator="\n", encoding="utf-8"
            )
    except ToolkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.quiet:
        took = time.perf_counter() - began
        print(
            f"wrote {writer.rows[0]:,} parcels and {writer.rows[1]:,} events"
            + (f" with {len(truth)} incidents" if args.incidents is not None else "")
            + f" to {writer.paths[0].parent} in {took:.1f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
