"""Answers that cannot belong to the parcel: why one tracking number's scans are implausible.

A carrier service asked about a mistyped, placeholder or recycled number sometimes answers
with real scans of other parcels: dozens of pick-ups and deliveries in many cities, or
scans from long before the parcel was shipped. ``reasons`` says, in plain words with the
numbers, why one number's events cannot be one parcel's trace; ``implausible`` does the
same for every number of an events table at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import pairwise
from typing import Any

import pandas as pd

from toolkit.policy import (
    PLACEHOLDER_MIN_DIGITS,
    PLAUSIBLE_DELIVERIES,
    PLAUSIBLE_DELIVERY_CITIES,
    PLAUSIBLE_EARLY_SCAN_DAYS,
    PLAUSIBLE_PICKUPS,
)
from toolkit.times import to_utc

__all__ = ["implausible", "is_placeholder", "placeholder_kind", "reasons"]

# Milestones of the last mile: where they happen is the parcel's destination.
LAST_MILE = ("out_for_delivery", "delivered", "available_for_pickup", "delivery_failed")
# Scans that can come before the parcel leaves (a label made in advance).
PRE_ADVICE = ("info_received",)
CITIES_SHOWN = 6  # cities named in a reason, before "…"

# Numbers published as test or example numbers: an answer under one of them is the
# example's trace, never the analyst's parcel.
KNOWN_TEST_NUMBERS: dict[str, str] = {
    # EasyPost test numbers, also accepted by UPS test systems
    # (https://github.com/jkeen/tracking_number/pull/20).
    **{f"EZ{d}00000000{d}": "an EasyPost test number" for d in range(1, 8)},
    # USPS test number (same source).
    "9499907123456123456781": "a USPS test number",
    # Shippo's test tracking numbers (https://github.com/goshippo/shippo-ruby-client/issues/79).
    "SHIPPO_PRE_TRANSIT": "a Shippo test number",
    "SHIPPO_TRANSIT": "a Shippo test number",
    "SHIPPO_DELIVERED": "a Shippo test number",
    "SHIPPO_RETURNED": "a Shippo test number",
    "SHIPPO_FAILURE": "a Shippo test number",
    "SHIPPO_UNKNOWN": "a Shippo test number",
    # Kuaidi100's official SDK examples
    # (github:kuaidi100-api/java-demo/src/test/java/BaseServiceTest.java).
    "YT9383342193097": "the Kuaidi100 SDK example number",
    "4311159956248": "the Kuaidi100 SDK example number",
    "773039762404825": "the Kuaidi100 SDK example number",
}

# ----------------------------------------------------------------- placeholders


def _repeats_block(digits: str) -> bool:
    """True if the digits are one short block (1-3 digits) written over and over."""
    for size in (1, 2, 3):
        if len(digits) >= 3 * size and digits == (digits[:size] * len(digits))[: len(digits)]:
            return True
    return False


def _consecutive(digits: str) -> bool:
    """True if every digit is one more (or one less) than the one before, 9 wrapping to 0."""
    steps = {(int(b) - int(a)) % 10 for a, b in pairwise(digits)}
    return steps in ({1}, {9})


def placeholder_kind(number: str) -> str | None:
    """What kind of placeholder a number is ('one digit repeated', …), or None."""
    text = re.sub(r"[\s\-]", "", str(number or "")).upper()
    if not text:
        return None
    if text in KNOWN_TEST_NUMBERS:
        return KNOWN_TEST_NUMBERS[text]
    digits = "".join(re.findall(r"\d", text))
    # The whole run, and the run without a trailing check digit (RR123456785CN).
    for run in (digits, digits[:-1]):
        if len(run) < PLACEHOLDER_MIN_DIGITS:
            continue
        if len(set(run)) == 1:
            return "one digit repeated"
        if _consecutive(run):
            return "a run of consecutive digits"
        if _repeats_block(run):
            return "a short block of digits repeated"
    return None


def is_placeholder(number: str) -> bool:
    """True for numbers that stand in for a real one: 1111111111, 1234567890, test numbers."""
    return placeholder_kind(number) is not None


# ----------------------------------------------------------------------- places

_MUNICIPALITY = "北京|天津|上海|重庆|香港|澳门"
_PROVINCE = (
    "黑龙江|内蒙古|河北|山西|辽宁|吉林|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|"
    "海南|四川|贵州|云南|陕西|甘肃|青海|台湾|广西|西藏|宁夏|新疆"
)
_PROVINCE_PREFIX = re.compile(
    rf"^(?:{_PROVINCE})(?:省|壮族自治区|回族自治区|维吾尔自治区|自治区)?[,，\s]*"
)
_MUNICIPALITY_PREFIX = re.compile(rf"^(?:中国)?({_MUNICIPALITY})")
_CITY_SUFFIX = re.compile(r"^([\u4e00-\u9fff]{2,4}?)(?:市|地区|自治州|盟)")
_HAN = re.compile(r"[\u4e00-\u9fff]")
# The place a Chinese scan text names first: "[广州市]…", "快件到达 【杭州总集散中心】",
# or a leading outlet name "重庆市渝北区四部公司 已收入".
_BRACKETED = re.compile(r"[\[【]([^\]】]{2,40})[\]】]")
_OUTLET = re.compile(
    r"^([\u4e00-\u9fff]{2,20}?(?:公司|中心|营业部|营业点|网点|分部|集散点|转运中心|分拨中心))"
)


# Words that start place names but are not cities (开发区投递站, 全国中心…, 中国邮政…).
_NOT_CITIES = frozenset(
    [
        "全国",
        "中国",
        "国际",
        "国内",
        "开发",
        "高新",
        "经济",
        "投递",
        "揽投",
        "邮政",
        "快件",
        "快递",
        "省内",
        "市内",
        "同城",
        "目的",
        "到达",
    ]
)
# Outlet and hub words: the characters before them name the city ("郑州新郑集散中心").
_OUTLET_WORD = re.compile(r"公司|中心|营业部|营业点|网点|分部|集散点")


def _place_of(location: str, description: str) -> tuple[str, bool]:
    """The place a scan names and whether it is a location field (else a text's first place)."""
    if location.strip():
        return location.strip(), True
    m = _BRACKETED.search(description)
    if m:
        return m.group(1).strip(), False
    m = _OUTLET.match(description.strip())
    return (m.group(1), False) if m else ("", False)


def _city(place: str, is_location: bool = True) -> tuple[str, str] | None:
    """(key, name) of the city a place is in; the key compares spellings of one city.

    A place taken from a scan's text counts only when it clearly names a city (a 市, a
    province or municipality in front, or an outlet or hub after it): texts also name
    countries, districts and depots, and a wrong city would be a false alarm.
    """
    place = place.strip().lstrip("[【(（").strip()
    if not place:
        return None
    if _HAN.search(place):
        m = _MUNICIPALITY_PREFIX.match(place)
        if m:
            return m.group(1), m.group(1)
        rest = _PROVINCE_PREFIX.sub("", place)
        with_province = rest != place
        m = _CITY_SUFFIX.match(rest)
        if m:
            name = m.group(1)
        elif is_location or with_province or _OUTLET_WORD.search(rest):
            name = "".join(_HAN.findall(rest))[:2]
        else:
            return None
        if len(name) < 2 or name[0] == "市" or name[:2] in _NOT_CITIES:
            return None
        # Outlets and hubs drop the 市 ("郑州新郑集散中心"): two characters tell cities apart.
        return name[:2], name
    if not is_location:
        return None
    first = re.split(r"[,，/(]", place)[0]
    words = re.findall(r"[A-Za-z][A-Za-z.'-]*", first)
    if len(words) > 1 and len(words[-1]) <= 3 and words[-1].isupper():
        words = words[:-1]  # a state or province code: "SYDNEY NSW", "NEW YORK NY"
    if not words:
        return None
    name = " ".join(words)
    return name.casefold(), name.title()


# ---------------------------------------------------------------------- checks


def _text_column(events: pd.DataFrame, column: str) -> pd.Series:
    if column not in events.columns:
        return pd.Series("", index=events.index, dtype=object)
    return events[column].astype("string").fillna("").astype(object)


def _utc(value: Any) -> pd.Timestamp | None:
    # a service's own times: read leniently (no zone is UTC, nonsense is no time)
    return to_utc(value, naive="utc", empty="none", unreadable="none")


def _names(cities: list[str]) -> str:
    shown = ", ".join(cities[:CITIES_SHOWN])
    return shown + (", …" if len(cities) > CITIES_SHOWN else "")


def implausible(
    events: pd.DataFrame, shipped_at: Mapping[str, Any] | None = None
) -> dict[tuple[str, str], list[str]]:
    """Reasons per (parcel_id, tracking_number) whose scans cannot be one parcel's trace.

    ``events`` is an events table (time_utc, milestone, location, description,
    parcel_id, tracking_number); ``shipped_at`` maps parcel_id to its shipping time.
    Numbers whose scans look plausible are left out of the result.
    """
    if events is None or events.empty:
        return {}
    shipped_at = shipped_at or {}
    keys = ["parcel_id", "tracking_number"]
    frame = pd.DataFrame(
        {
            "parcel_id": events["parcel_id"].astype("string").fillna("").to_numpy(object),
            "tracking_number": events["tracking_number"]
            .astype("string")
            .fillna("")
            .to_numpy(object),
            "time_utc": pd.to_datetime(events["time_utc"], utc=True).reset_index(drop=True),
            "milestone": _text_column(events, "milestone").to_numpy(object),
        }
    )
    cache: dict[tuple[str, str], tuple[str, str] | None] = {}
    cities = []
    for pair in zip(
        _text_column(events, "location"), _text_column(events, "description"), strict=True
    ):
        if pair not in cache:  # scan texts repeat: each distinct one is read once
            cache[pair] = _city(*_place_of(*pair))
        cities.append(cache[pair])
    frame["city_key"] = [c[0] if c else None for c in cities]
    frame["city_name"] = [c[1] if c else None for c in cities]
    frame = frame.sort_values([*keys, "time_utc"], kind="stable")
    # A last-mile scan without a place happened where the parcel last was.
    frame[["city_key", "city_name"]] = frame.groupby(keys, sort=False)[
        ["city_key", "city_name"]
    ].ffill()

    groups = frame.groupby(keys, sort=False)
    milestone = frame["milestone"]
    summary = pd.DataFrame(
        {
            "scans": groups.size(),
            "deliveries": (milestone == "delivered").groupby([frame[k] for k in keys]).sum(),
            "pickups": (milestone == "accepted").groupby([frame[k] for k in keys]).sum(),
        }
    )
    last_mile = frame[milestone.isin(LAST_MILE) & frame["city_key"].notna()]
    summary["cities"] = last_mile.groupby(keys)["city_key"].nunique()
    physical = frame[~milestone.isin(PRE_ADVICE) & frame["time_utc"].notna()]
    summary["first_scan"] = physical.groupby(keys)["time_utc"].min()
    summary["cities"] = summary["cities"].fillna(0).astype(int)
    parcel_ids = summary.index.get_level_values(0)
    numbers = summary.index.get_level_values(1)
    shipped = pd.to_datetime(
        pd.Series([_utc(shipped_at.get(p)) for p in parcel_ids], dtype=object), utc=True
    )
    summary["early_days"] = (
        (shipped.to_numpy() - summary["first_scan"].to_numpy()) / pd.Timedelta(days=1)
    ).astype(float)
    summary["shipped"] = shipped.to_numpy()
    kinds = {n: placeholder_kind(n) for n in pd.unique(numbers)}
    summary["placeholder"] = [kinds[n] for n in numbers]
    flagged = summary[
        summary["placeholder"].notna()
        | (summary["early_days"] > PLAUSIBLE_EARLY_SCAN_DAYS)
        | (summary["cities"] > PLAUSIBLE_DELIVERY_CITIES)
        | (summary["deliveries"] > PLAUSIBLE_DELIVERIES)
        | (summary["pickups"] > PLAUSIBLE_PICKUPS)
    ]
    out: dict[tuple[str, str], list[str]] = {}
    for (parcel_id, number), row in flagged.iterrows():  # only the flagged few
        said: list[str] = []
        if row["placeholder"] is not None and not pd.isna(row["placeholder"]):
            said.append(_placeholder_reason(number, row["placeholder"]))
        if row["early_days"] > PLAUSIBLE_EARLY_SCAN_DAYS:
            said.append(
                f"first scan {row['first_scan']:%Y-%m-%d}, {int(row['early_days'])} days "
                f"before the parcel was shipped on {row['shipped']:%Y-%m-%d}"
            )
        if row["cities"] > PLAUSIBLE_DELIVERY_CITIES:
            mine = last_mile[
                (last_mile["parcel_id"] == parcel_id) & (last_mile["tracking_number"] == number)
            ]
            names = mine.groupby("city_key", sort=False)["city_name"].first().tolist()
            said.append(
                f"{int(row['scans'])} scans in {int(row['cities'])} different delivery cities "
                f"({_names(names)}), though a parcel is delivered in one city"
            )
        if row["deliveries"] > PLAUSIBLE_DELIVERIES:
            said.append(
                f"{int(row['deliveries'])} delivery scans, though a parcel is delivered once "
                f"(up to {PLAUSIBLE_DELIVERIES} are normal)"
            )
        if row["pickups"] > PLAUSIBLE_PICKUPS:
            said.append(
                f"{int(row['pickups'])} pick-up scans, though a parcel is picked up once "
                f"(up to {PLAUSIBLE_PICKUPS} are normal)"
            )
        out[(str(parcel_id), str(number))] = said
    return out


def _placeholder_reason(number: str, kind: str) -> str:
    return (
        f"{number} is not a real parcel's number ({kind}): a placeholder gets the scans of "
        "whatever parcels the carrier files under it"
    )


def reasons(events: pd.DataFrame, *, number: str, shipped_at: Any = None) -> list[str]:
    """Why one tracking number's normalised events cannot be one parcel's trace ([] if they can).

    ``events`` holds the scans of this one number (time_utc, milestone, location,
    description, …); ``shipped_at`` is the parcel's shipping time, when known.
    """
    if events is None or events.empty:
        kind = placeholder_kind(number)
        return [_placeholder_reason(number, kind)] if kind else []
    one = events.assign(parcel_id="parcel", tracking_number=str(number))
    found = implausible(one, {"parcel": shipped_at})
    return found.get(("parcel", str(number)), [])
