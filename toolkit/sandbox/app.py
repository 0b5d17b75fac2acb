"""The sandbox app: routes requests by path and answers as 17TRACK, Kuaidi100 and AfterShip do."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pandas as pd

from toolkit.model import CARRIERS
from toolkit.numbers import parse
from toolkit.sandbox.faults import (
    MALFORMED,
    SERVER_ERROR,
    TIMEOUT,
    TOO_MANY,
    FaultDraw,
    Faults,
    truncate,
)
from toolkit.sandbox.world import Scan, Shipment, World

SEVENTEENTRACK, KUAIDI100, AFTERSHIP = "17track", "kuaidi100", "aftership"
MAX_17TRACK_NUMBERS = 40
STALE_AFTER = timedelta(days=30)  # no news for this long: the services call a parcel expired
NUMBER_FORMAT = re.compile(r"^[A-Za-z0-9]{5,50}$")
AFTERSHIP_PATH = re.compile(r"^/tracking/(\d{4}-\d{2})/(trackings|couriers/detect)(?:/([^/]+))?/?$")


# ---------------------------------------------------------------- requests, answers, log


@dataclass(frozen=True)
class Request:
    """What the app needs of one HTTP request."""

    method: str
    path: str
    query: Mapping[str, list[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""

    @classmethod
    def make(cls, method: str, path: str, query: str, headers, body: bytes) -> Request:
        """Build from raw parts: a query string and any header mapping."""
        return cls(
            method=method.upper(),
            path=path,
            query=parse_qs(query, keep_blank_values=True),
            headers={str(k).lower(): str(v) for k, v in headers.items()},
            body=body,
        )


@dataclass(frozen=True)
class Response:
    """The app's answer. ``stall`` > 0 means: no answer, the connection hangs that long."""

    status: int
    headers: dict[str, str]
    body: bytes
    stall: float = 0.0


@dataclass(frozen=True)
class LogEntry:
    """One request as the sandbox saw it. Keys and other credentials are never recorded."""

    received: float  # time.monotonic() when the request arrived
    answered: float  # time.monotonic() when the answer left (or the request was dropped)
    wall_time: float  # time.time() when the request arrived
    service: str | None
    method: str
    path: str
    numbers: tuple[str, ...]  # tracking numbers named in the request
    body_digest: str  # SHA-256 of the body, to recognise a request sent again
    status: int | None  # None: no answer (timeout)
    fault: str  # ok, 429, 5xx, timeout or malformed
    retry_after: float | None  # seconds announced in Retry-After, if any


def _json(status: int, payload: object, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Response(
        status, {"content-type": "application/json; charset=utf-8", **(headers or {})}, body
    )


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _iso_z(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hash32(*parts: object) -> int:
    """A stable signed 32-bit hash, the way the services report content hashes."""
    value = zlib.crc32("|".join(map(str, parts)).encode("utf-8"))
    return value - (1 << 32) if value >= 1 << 31 else value


# Formats whose carrier the services detect from the number alone.
DETECTED_FORMATS = frozenset({"s10", "ups_1z", "yunexpress"})


def detect_carrier(number: str) -> str | None:
    """The carrier a number's format points to, for numbers the world does not know."""
    tn = parse(number)
    return tn.carrier if tn.format in DETECTED_FORMATS else None


def check_digit_fails(number: str) -> bool:
    """True when a UPU S10 number's check digit is wrong."""
    tn = parse(number)
    return tn.format == "s10" and tn.valid is False


def _stale(shipment: Shipment, now: datetime, terminal: set[str]) -> bool:
    last = shipment.last
    return last is not None and last.milestone not in terminal and now - last.when > STALE_AFTER


TERMINAL = {"delivered", "returned"}


# ---------------------------------------------------------------- 17TRACK API v2.2

# 17TRACK carrier keys and provider details of the carriers the demo world uses.
TRACK17_PROVIDERS: dict[str, dict] = {
    "usps": {"key": 21051, "name": "USPS", "alias": "USPS", "tel": "+1 800-275-8777", "homepage": "https://www.usps.com", "country": "US"},
    "royalmail": {"key": 11031, "name": "Royal Mail", "alias": "Royal Mail", "tel": "+44 3457 740 740", "homepage": "https://www.royalmail.com", "country": "GB"},
    "deutschepost": {"key": 7041, "name": "Deutsche Post", "alias": "DHL Paket", "tel": "+49 228 4333112", "homepage": "https://www.deutschepost.de", "country": "DE"},
    "japanpost": {"key": 10021, "name": "Japan Post", "alias": "日本郵便", "tel": None, "homepage": "http://www.post.japanpost.jp", "country": "JP"},
    "koreapost": {"key": 11051, "name": "Korea Post", "alias": "우체국", "tel": None, "homepage": "http://www.epost.go.kr", "country": "KR"},
    "auspost": {"key": 1151, "name": "Australia Post", "alias": "Australia Post", "tel": None, "homepage": "http://auspost.com.au", "country": "AU"},
    "canadapost": {"key": 3041, "name": "Canada Post", "alias": "Canada Post", "tel": None, "homepage": "http://www.canadapost.ca", "country": "CA"},
    "laposte": {"key": 6051, "name": "La Poste", "alias": "La Poste", "tel": None, "homepage": "http://www.laposte.fr", "country": "FR"},
    "chinapost": {"key": 3011, "name": "China Post", "alias": "中国邮政", "tel": "11183", "homepage": "http://www.chinapost.com.cn", "country": "CN"},
    "ems": {"key": 3013, "name": "China EMS", "alias": "中国邮政EMS", "tel": "11183", "homepage": "http://www.11183.com.cn", "country": "CN"},
    "dhl": {"key": 100001, "name": "DHL", "alias": "DHL Express", "tel": None, "homepage": "http://www.dhl.com", "country": "DE"},
    "ups": {"key": 100002, "name": "UPS", "alias": "UPS", "tel": None, "homepage": "https://www.ups.com", "country": "US"},
    "fedex": {"key": 100003, "name": "FedEx", "alias": "FedEx", "tel": None, "homepage": "https://www.fedex.com", "country": "US"},
    "yunexpress": {"key": 190008, "name": "YunExpress", "alias": "云途物流", "tel": None, "homepage": "https://www.yunexpress.com", "country": "CN"},
}  # fmt: skip
TRACK17_CODE_BY_KEY = {p["key"]: code for code, p in TRACK17_PROVIDERS.items()}

# Normalised milestone -> (17TRACK sub-status, key stage or None).
TRACK17_SUB_STATUS: dict[str, tuple[str, str | None]] = {
    "info_received": ("InfoReceived", "InfoReceived"),
    "accepted": ("InTransit_PickedUp", "PickedUp"),
    "in_transit": ("InTransit_Other", None),
    "departed_origin": ("InTransit_Departure", "Departure"),
    "arrived_destination": ("InTransit_Arrival", "Arrival"),
    "customs_clearance": ("InTransit_CustomsProcessing", None),
    "customs_hold": ("InTransit_CustomsRequiringInformation", None),
    "customs_cleared": ("InTransit_CustomsReleased", None),
    "handed_over": ("InTransit_Other", None),
    "domestic_in_transit": ("InTransit_Other", None),
    "out_for_delivery": ("OutForDelivery_Other", "OutForDelivery"),
    "available_for_pickup": ("AvailableForPickup_Other", "AvailableForPickup"),
    "delivery_failed": ("DeliveryFailure_Other", None),
    "delivered": ("Delivered_Other", "Delivered"),
    "returning": ("Exception_Returning", "Returning"),
    "returned": ("Exception_Returned", "Returned"),
    "exception": ("Exception_Other", None),
    "unknown": ("InTransit_Other", None),
}
TRACK17_STAGES = ("InfoReceived", "PickedUp", "Departure", "Arrival", "AvailableForPickup",
                  "OutForDelivery", "Delivered")  # fmt: skip


def _t17_error(code: int, message: str, status: int = 200) -> Response:
    return _json(status, {"code": code, "data": {"errors": [{"code": code, "message": message}]}})


def _t17_provider(carrier: str) -> dict:
    if carrier in TRACK17_PROVIDERS:
        return dict(TRACK17_PROVIDERS[carrier])
    known = CARRIERS.get(carrier)
    return {
        "key": 0,
        "name": known.name if known else carrier,
        "alias": known.name_zh if known else None,
        "tel": None,
        "homepage": None,
        "country": known.country if known else None,
    }


def _address(country: str | None = None, state: str | None = None, city: str | None = None) -> dict:
    return {
        "country": country,
        "state": state,
        "city": city,
        "street": None,
        "postal_code": None,
        "coordinates": {"longitude": None, "latitude": None},
    }


def _t17_time(when: datetime | None, has_offset: bool = True) -> dict:
    if when is None:
        return {
            "time_iso": None,
            "time_utc": None,
            "time_raw": {"date": None, "time": None, "timezone": None},
        }
    offset = when.strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}"
    return {
        "time_iso": when.isoformat(timespec="seconds"),
        "time_utc": _iso_z(when),
        "time_raw": {
            "date": when.strftime("%Y-%m-%d"),
            "time": when.strftime("%H:%M:%S"),
            "timezone": offset if has_offset else None,
        },
    }


def _t17_event(scan: Scan) -> dict:
    sub_status, stage = TRACK17_SUB_STATUS.get(scan.milestone, ("InTransit_Other", None))
    carrier = CARRIERS.get(scan.carrier)
    return {
        **_t17_time(scan.when, scan.has_offset),
        "description": scan.description,
        "description_translation": None,
        "location": scan.location,
        "stage": stage,
        "sub_status": sub_status,
        "address": _address(carrier.country if carrier else None, None, scan.location or None),
    }


def _t17_not_found(number: str, key: int, sub_status: str, now: datetime) -> dict:
    carrier = TRACK17_CODE_BY_KEY.get(key, "")
    provider = {**_t17_provider(carrier), "key": key} if carrier else _t17_provider("")
    return {
        "number": number,
        "carrier": key,
        "param": None,
        "tag": None,
        "track_info": {
            "shipping_info": {"shipper_address": _address(), "recipient_address": _address()},
            "latest_status": {
                "status": "NotFound",
                "sub_status": sub_status,
                "sub_status_descr": None,
            },
            "latest_event": None,
            "time_metrics": {
                "days_after_order": 0,
                "days_of_transit": 0,
                "days_of_transit_done": 0,
                "days_after_last_update": 0,
                "estimated_delivery_date": {"source": None, "from": None, "to": None},
            },
            "milestone": [],
            "misc_info": _t17_misc(None, None),
            "tracking": {
                "providers_hash": 0,
                "providers": [
                    {
                        "provider": provider,
                        "service_type": None,
                        "latest_sync_status": "Success",
                        "latest_sync_time": _iso_z(now),
                        "events_hash": 0,
                        "events": [],
                    }
                ],
            },
        },
    }


def _t17_misc(local_number: str | None, local_carrier: str | None) -> dict:
    known = CARRIERS.get(local_carrier or "")
    return {
        "risk_factor": 0,
        "service_type": None,
        "weight_raw": None,
        "weight_kg": None,
        "pieces": None,
        "dimensions": None,
        "customer_number": None,
        "reference_number": None,
        "local_number": local_number,
        "local_provider": (known.name if known else local_carrier) if local_number else None,
        "local_key": None,
    }


def _t17_track_info(shipment: Shipment, key: int, now: datetime) -> dict:
    scans = shipment.scans
    if not scans:
        return _t17_not_found(shipment.number, key, "NotFound_Other", now)
    last = scans[-1]
    sub_status = TRACK17_SUB_STATUS.get(last.milestone, ("InTransit_Other", None))[0]
    if _stale(shipment, now, TERMINAL) and sub_status.split("_")[0] in (
        "InTransit",
        "InfoReceived",
    ):
        sub_status = "Expired_Other"
    reached: dict[str, Scan] = {}
    for scan in scans:
        stage = TRACK17_SUB_STATUS.get(scan.milestone, ("", None))[1]
        if stage and stage not in reached:
            reached[stage] = scan
    stages = list(TRACK17_STAGES) + [s for s in ("Returning", "Returned") if s in reached]
    milestone = []
    for stage in stages:
        scan = reached.get(stage)
        milestone.append(
            {
                "key_stage": stage,
                **_t17_time(scan.when if scan else None, scan.has_offset if scan else True),
            }
        )
    by_carrier: dict[str, list[Scan]] = {}
    for scan in scans:
        by_carrier.setdefault(scan.carrier, []).append(scan)
    providers = []
    for carrier, own in sorted(by_carrier.items(), key=lambda kv: kv[1][-1].when, reverse=True):
        providers.append(
            {
                "provider": _t17_provider(carrier),
                "service_type": None,
                "latest_sync_status": "Success",
                "latest_sync_time": _iso_z(now),
                "events_hash": _hash32(carrier, *(s.when.isoformat() for s in own)),
                "events": [_t17_event(s) for s in reversed(own)],
            }
        )
    first = scans[0].when
    done = last.when if last.milestone in TERMINAL else now
    ordered = shipment.shipped_at or first
    origin = CARRIERS.get(shipment.carrier)
    return {
        "number": shipment.number,
        "carrier": key,
        "param": None,
        "tag": None,
        "track_info": {
            "shipping_info": {
                "shipper_address": _address(
                    shipment.origin_country or (origin.country if origin else None)
                ),
                "recipient_address": _address(
                    "CN", shipment.destination_province, shipment.destination_city
                ),
            },
            "latest_status": {
                "status": sub_status.split("_")[0],
                "sub_status": sub_status,
                "sub_status_descr": None,
            },
            "latest_event": _t17_event(last),
            "time_metrics": {
                "days_after_order": max(0, (now - ordered).days),
                "days_of_transit": max(0, (done - first).days),
                "days_of_transit_done": max(0, (done - first).days),
                "days_after_last_update": max(0, (now - last.when).days),
                "estimated_delivery_date": {"source": None, "from": None, "to": None},
            },
            "milestone": milestone,
            "misc_info": _t17_misc(shipment.link_number, shipment.link_carrier),
            "tracking": {
                "providers_hash": _hash32(*(p["events_hash"] for p in providers)),
                "providers": providers,
            },
        },
    }


# ---------------------------------------------------------------- Kuaidi100 poll/query.do

# Normalised milestone -> (Kuaidi100 state code, its name as given per event with resultv2).
KUAIDI100_STATE: dict[str, tuple[str, str]] = {
    "info_received": ("1", "揽收"),
    "accepted": ("1", "揽收"),
    "in_transit": ("0", "在途"),
    "departed_origin": ("0", "在途"),
    "arrived_destination": ("0", "在途"),
    "customs_clearance": ("11", "清关中"),
    "customs_hold": ("13", "清关异常"),
    "customs_cleared": ("12", "已清关"),
    "handed_over": ("0", "在途"),
    "domestic_in_transit": ("0", "在途"),
    "out_for_delivery": ("5", "派件"),
    "available_for_pickup": ("5", "派件"),
    "delivery_failed": ("2", "疑难"),
    "delivered": ("3", "签收"),
    "returning": ("6", "退回"),
    "returned": ("4", "退签"),
    "exception": ("2", "疑难"),
    "unknown": ("0", "在途"),
}
# Company codes Kuaidi100 knows beyond the carriers of the demo world.
KUAIDI100_OTHER_CODES = frozenset(
    {
        "youzhengguoji",
        "youzhengbk",
        "huitongkuaidi",
        "debangwuliu",
        "jtexpress",
        "tiantian",
        "zhaijisong",
        "baishiwuliu",
        "danniao",
        "fengwang",
        "suer",
        "kuayue",
    }
)
KUAIDI100_CARRIER = {c.kuaidi100: code for code, c in CARRIERS.items() if c.kuaidi100}
SIGN_FORMAT = re.compile(r"^[0-9A-F]{32}$")


def _k100_error(code: str, message: str) -> Response:
    return _json(
        200,
        {"result": False, "returnCode": code, "message": message},
        {"content-type": "application/json;charset=UTF-8"},
    )


def _k100_time(scan: Scan) -> str:
    return scan.when.strftime("%Y-%m-%d %H:%M:%S")


# Intelligent number recognition (智能单号识别): `num` and `key` as form fields or in the query
# string; the answer is a list of companies, most likely first, [] for a number nobody knows
# (api.kuaidi100.com/document/5f1106542977d50a94e10241; the SDK's AutoNumResp has lengthPre,
# comCode, noPre, noCount). Errors are returnCode 701 (key missing) and 201 (not a number).
KUAIDI100_AUTONUMBER_PATH = "/autonumber/auto"


def _k100_field(request: Request, form: Mapping[str, list[str]], name: str) -> str:
    """A field of an autonumber request: from the form body, else from the query string."""
    return (form.get(name) or request.query.get(name) or [""])[0].strip()


def _k100_company(code: str, number: str) -> dict:
    carrier = CARRIERS[code]
    return {
        "lengthPre": len(number),
        "comCode": carrier.kuaidi100,
        "name": carrier.name_zh,
        "noPre": number[:4],
        "noCount": 1,
    }


# ---------------------------------------------------------------- AfterShip Tracking API

AFTERSHIP_COURIERS: dict[str, dict] = {
    "usps": {"slug": "usps", "name": "USPS", "other_name": "United States Postal Service", "web_url": "https://www.usps.com", "phone": "+1 800-275-8777"},
    "royalmail": {"slug": "royal-mail", "name": "Royal Mail", "other_name": None, "web_url": "https://www.royalmail.com", "phone": None},
    "deutschepost": {"slug": "deutsch-post", "name": "Deutsche Post", "other_name": None, "web_url": "https://www.deutschepost.de", "phone": None},
    "japanpost": {"slug": "japan-post", "name": "Japan Post", "other_name": "日本郵便", "web_url": "https://www.post.japanpost.jp", "phone": None},
    "koreapost": {"slug": "kpost", "name": "Korea Post", "other_name": "우체국", "web_url": "https://www.epost.go.kr", "phone": None},
    "auspost": {"slug": "australia-post", "name": "Australia Post", "other_name": None, "web_url": "https://auspost.com.au", "phone": None},
    "canadapost": {"slug": "canada-post", "name": "Canada Post", "other_name": None, "web_url": "https://www.canadapost.ca", "phone": None},
    "laposte": {"slug": "la-poste-colissimo", "name": "La Poste", "other_name": "Colissimo", "web_url": "https://www.laposte.fr", "phone": None},
    "chinapost": {"slug": "china-post", "name": "China Post", "other_name": "中国邮政", "web_url": "http://www.chinapost.com.cn", "phone": "11183"},
    "ems": {"slug": "china-ems", "name": "China EMS", "other_name": "中国邮政EMS", "web_url": "http://www.ems.com.cn", "phone": "11183"},
    "ups": {"slug": "ups", "name": "UPS", "other_name": None, "web_url": "https://www.ups.com", "phone": None},
    "fedex": {"slug": "fedex", "name": "FedEx", "other_name": None, "web_url": "https://www.fedex.com", "phone": None},
    "dhl": {"slug": "dhl", "name": "DHL Express", "other_name": None, "web_url": "https://www.dhl.com", "phone": None},
    "yunexpress": {"slug": "yunexpress", "name": "YunExpress", "other_name": "云途物流", "web_url": "https://www.yunexpress.com", "phone": None},
    "sf": {"slug": "sf-express", "name": "SF Express", "other_name": "顺丰速运", "web_url": "https://www.sf-express.com", "phone": "95338"},
    "yto": {"slug": "yto", "name": "YTO Express", "other_name": "圆通速递", "web_url": "https://www.yto.net.cn", "phone": "95554"},
    "zto": {"slug": "zto-express", "name": "ZTO Express", "other_name": "中通快递", "web_url": "https://www.zto.com", "phone": "95311"},
    "sto": {"slug": "sto", "name": "STO Express", "other_name": "申通快递", "web_url": "https://www.sto.cn", "phone": "95543"},
    "yunda": {"slug": "yunda", "name": "Yunda Express", "other_name": "韵达快递", "web_url": "https://www.yundaex.com", "phone": "95546"},
    "jd": {"slug": "jd", "name": "JD Logistics", "other_name": "京东物流", "web_url": "https://www.jdl.com", "phone": "950616"},
}  # fmt: skip
AFTERSHIP_CODE_BY_SLUG = {c["slug"]: code for code, c in AFTERSHIP_COURIERS.items()}
ISO3 = {"US": "USA", "GB": "GBR", "DE": "DEU", "JP": "JPN", "KR": "KOR", "AU": "AUS", "CA": "CAN",
        "FR": "FRA", "CN": "CHN"}  # fmt: skip
COUNTRY_NAMES = {"USA": "United States", "GBR": "United Kingdom", "DEU": "Germany", "JPN": "Japan",
                 "KOR": "South Korea", "AUS": "Australia", "CAN": "Canada", "FRA": "France",
                 "CHN": "China"}  # fmt: skip

# Normalised milestone -> (AfterShip tag, subtag, subtag message).
AFTERSHIP_TAG: dict[str, tuple[str, str, str]] = {
    "info_received": ("InfoReceived", "InfoReceived_001", "Info Received"),
    "accepted": ("InTransit", "InTransit_002", "Acceptance scan"),
    "in_transit": ("InTransit", "InTransit_001", "In Transit"),
    "departed_origin": ("InTransit", "InTransit_007", "Departure Scan"),
    "arrived_destination": ("InTransit", "InTransit_004", "Arrived at destination country"),
    "customs_clearance": ("InTransit", "InTransit_006", "Customs clearance started"),
    "customs_hold": ("Exception", "Exception_004", "Delayed (Customs clearance)"),
    "customs_cleared": ("InTransit", "InTransit_005", "Customs clearance completed"),
    "handed_over": ("InTransit", "InTransit_001", "In Transit"),
    "domestic_in_transit": ("InTransit", "InTransit_001", "In Transit"),
    "out_for_delivery": ("OutForDelivery", "OutForDelivery_001", "Out for Delivery"),
    "available_for_pickup": (
        "AvailableForPickup",
        "AvailableForPickup_001",
        "Available for pickup",
    ),
    "delivery_failed": ("AttemptFail", "AttemptFail_001", "Failed Attempt"),
    "delivered": ("Delivered", "Delivered_001", "Delivered"),
    "returning": ("Exception", "Exception_010", "Returning to sender"),
    "returned": ("Exception", "Exception_011", "Returned to sender"),
    "exception": ("Exception", "Exception_001", "Exception"),
    "unknown": ("InTransit", "InTransit_001", "In Transit"),
}


def _as_error(
    status: int, code: int, message: str, kind: str, data: dict | None = None
) -> Response:
    return _json(
        status, {"meta": {"code": code, "message": message, "type": kind}, "data": data or {}}
    )


def _as_ok(payload: dict, status: int = 200) -> Response:
    meta = (
        {
            "code": 201,
            "type": "Created",
            "message": "The request has been fulfilled and resulted in a new resource being created.",
        }
        if status == 201
        else {"code": 200, "message": "OK", "type": "OK"}
    )
    return _json(status, {"meta": meta, "data": payload})


def _as_id(number: str) -> str:
    return hashlib.md5(f"tracking:{number}".encode(), usedforsecurity=False).hexdigest()


def _as_courier(code: str) -> dict:
    c = AFTERSHIP_COURIERS[code]
    carrier = CARRIERS.get(code)
    return {
        **c,
        "required_fields": [],
        "optional_fields": [],
        "default_language": "en",
        "support_languages": ["en"],
        "service_from_country_regions": [ISO3.get(carrier.country, carrier.country)]
        if carrier
        else [],
    }


def _as_checkpoint(scan: Scan, slug: str, now: datetime) -> dict:
    tag, subtag, message = AFTERSHIP_TAG.get(scan.milestone, AFTERSHIP_TAG["unknown"])
    carrier = CARRIERS.get(scan.carrier)
    region = ISO3.get(carrier.country) if carrier else None
    when = scan.when if scan.has_offset else scan.when.replace(tzinfo=None)
    return {
        "created_at": now.isoformat(timespec="seconds"),
        "slug": slug,
        "checkpoint_time": when.isoformat(timespec="seconds"),
        "location": scan.location or None,
        "city": scan.location or None,
        "state": None,
        "zip": None,
        "coordinate": {"latitude": None, "longitude": None},
        "country_region": region,
        "country_region_name": COUNTRY_NAMES.get(region or ""),
        "message": scan.description,
        "tag": tag,
        "subtag": subtag,
        "subtag_message": message,
        "raw_tag": scan.raw_status or None,
        "events": None,
        "source": None,
    }


# ---------------------------------------------------------------- the app


class SandboxApp:
    """Answers 17TRACK, Kuaidi100 and AfterShip requests from a World, with injected faults."""

    def __init__(self, world: World | None = None, faults: Faults | None = None):
        self.world = world if world is not None else World.demo()
        self.faults = faults if faults is not None else Faults()
        self.stopping = threading.Event()  # set to cut sleeps short when a server stops
        self._draw = FaultDraw(self.faults)
        self._lock = threading.Lock()
        self._log: list[LogEntry] = []
        self._registered: dict[str, dict[str, int]] = {}  # key digest -> number -> 17TRACK key
        self._created: dict[str, dict[str, str]] = {}  # key digest -> number -> AfterShip slug
        self._ids: dict[str, str] = {}  # AfterShip tracking id -> number

    # -- public

    @property
    def log(self) -> list[LogEntry]:
        """The requests seen so far, oldest first."""
        with self._lock:
            return list(self._log)

    def log_frame(self) -> pd.DataFrame:
        """The request log as a table, one row per request."""
        columns = list(LogEntry.__dataclass_fields__)
        return pd.DataFrame([e.__dict__ for e in self.log], columns=columns)

    def set_faults(self, faults: Faults) -> None:
        """Misbehave differently from the next request on (the draws restart from its seed)."""
        with self._lock:
            self.faults = faults
            self._draw = FaultDraw(faults)

    def clear_log(self) -> None:
        """Forget the requests seen so far."""
        with self._lock:
            self._log.clear()

    def handle(self, request: Request) -> Response:
        """Answer one request: route it, apply latency and faults, and log it."""
        received, wall = time.monotonic(), time.time()
        service, handler = self._route(request)
        numbers = self._numbers(service, request)
        if self.faults.latency:
            self.stopping.wait(self.faults.latency)
        fault, status = self._draw.next()
        retry_after = None
        if fault == TOO_MANY:
            retry_after = float(self.faults.retry_after_header)
            response = self._too_many(service)
        elif fault == SERVER_ERROR:
            response = self._server_error(service, status)
        else:
            response = handler(request)
            if fault == TIMEOUT:
                response = Response(0, {}, b"", stall=self.faults.timeout_seconds)
            elif fault == MALFORMED:
                response = Response(response.status, response.headers, truncate(response.body))
        entry = LogEntry(
            received=received,
            answered=time.monotonic(),
            wall_time=wall,
            service=service,
            method=request.method,
            path=request.path,
            numbers=numbers,
            body_digest=hashlib.sha256(request.body).hexdigest(),
            status=None if response.stall else response.status,
            fault=fault,
            retry_after=retry_after,
        )
        with self._lock:
            self._log.append(entry)
        return response

    # -- routing

    def _route(self, request: Request) -> tuple[str | None, Callable[[Request], Response]]:
        path, method = request.path, request.method
        if path.startswith("/track/"):
            handlers = {
                "/track/v2.2/register": self._t17_register,
                "/track/v2.2/gettrackinfo": self._t17_gettrackinfo,
            }
            handler = handlers.get(path.rstrip("/"))
            if handler and method == "POST":
                return SEVENTEENTRACK, handler
            return SEVENTEENTRACK, lambda r: _json(
                404,
                {
                    "code": 404,
                    "data": {
                        "errors": [
                            {"code": 404, "message": f"The requested URL {r.path} is not found."}
                        ]
                    },
                },
            )
        if path.rstrip("/") == "/poll/query.do":
            return KUAIDI100, self._k100_query
        if path.rstrip("/") == KUAIDI100_AUTONUMBER_PATH:
            return KUAIDI100, self._k100_autonumber
        if path.startswith("/tracking/"):
            return AFTERSHIP, self._as_dispatch
        return None, lambda r: _json(404, {"error": f"no sandbox service answers {r.path}"})

    def _numbers(self, service: str | None, request: Request) -> tuple[str, ...]:
        try:
            if service == SEVENTEENTRACK:
                items = json.loads(request.body or b"[]")
                return tuple(str(i.get("number", "")) for i in items if isinstance(i, dict))
            if service == KUAIDI100:
                form = parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
                if request.path.rstrip("/") == KUAIDI100_AUTONUMBER_PATH:
                    return (_k100_field(request, form, "num"),)
                return (str(json.loads(form.get("param", ["{}"])[0]).get("num", "")),)
            if service == AFTERSHIP:
                if request.method == "GET":
                    match = AFTERSHIP_PATH.match(request.path)
                    if match and match.group(3):
                        return (self._ids.get(match.group(3), ""),)
                    raw = ",".join(request.query.get("tracking_numbers", []))
                    return tuple(n.strip() for n in raw.split(",") if n.strip())
                body = json.loads(request.body or b"{}")
                body = body.get("tracking", body) if isinstance(body, dict) else {}
                return (str(body.get("tracking_number", "")),)
        except (ValueError, TypeError, AttributeError):
            pass
        return ()

    # -- faults

    def _too_many(self, service: str | None) -> Response:
        headers = {"retry-after": self.faults.retry_after_header}
        if service == AFTERSHIP:
            headers.update(
                {
                    "x-ratelimit-limit": "10",
                    "x-ratelimit-remaining": "0",
                    "x-ratelimit-reset": str(int(time.time() + self.faults.retry_after) + 1),
                }
            )
            body = {
                "meta": {
                    "code": 429,
                    "type": "TooManyRequests",
                    "message": "You have exceeded the API call rate limit.",
                },
                "data": {},
            }
        elif service == KUAIDI100:  # no documented 429 body: the service's error shape is kept
            body = {"result": False, "returnCode": "429", "message": "请求过于频繁，请稍后再试"}
        else:
            body = {
                "code": 429,
                "data": {"errors": [{"code": 429, "message": "Too many requests."}]},
            }
        return _json(429, body, headers)

    @staticmethod
    def _server_error(service: str | None, status: int) -> Response:
        if status != 500:
            text = {502: "502 Bad Gateway", 503: "503 Service Temporarily Unavailable"}[status]
            page = f"<html><head><title>{text}</title></head><body><h1>{text}</h1></body></html>"
            return Response(status, {"content-type": "text/html"}, page.encode())
        if service == AFTERSHIP:
            return _as_error(500, 500, "Something went wrong on AfterShip's end.", "InternalError")
        if service == KUAIDI100:
            return _json(500, {"result": False, "returnCode": "501", "message": "服务器错误"})
        return _t17_error(-18010003, "Internal service error, please try again later.", 500)

    # -- 17TRACK

    def _t17_begin(self, request: Request) -> tuple[str, list] | Response:
        token = request.headers.get("17token", "").strip()
        if not token:
            return _t17_error(-18010002, "Invalid access key.", 401)
        try:
            items = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return _t17_error(-18010013, "The submitted data is invalid.")
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            return _t17_error(-18010013, "The submitted data is invalid.")
        if len(items) > MAX_17TRACK_NUMBERS:
            return _t17_error(
                -18010014, f"The tracking numbers exceed the {MAX_17TRACK_NUMBERS} limit."
            )
        return _digest(token), items

    @staticmethod
    def _t17_number(item: dict) -> tuple[str, dict | None]:
        number = str(item.get("number") or "").strip()
        if not number:
            return number, {"code": -18010010, "message": "Please provide the data 'number'."}
        if not NUMBER_FORMAT.match(number):
            return number, {"code": -18010012, "message": f"The format of '{number}' is invalid."}
        return number, None

    def _t17_register(self, request: Request) -> Response:
        begun = self._t17_begin(request)
        if isinstance(begun, Response):
            return begun
        account, items = begun
        accepted, rejected = [], []
        with self._lock:
            registered = self._registered.setdefault(account, {})
            for item in items:
                number, error = self._t17_number(item)
                if error is None and number in registered:
                    error = {
                        "code": -18019901,
                        "message": f"The tracking number '{number}' has "
                        "been registered, don't need to repeat registration.",
                    }
                key = self._t17_key(number, item.get("carrier"))
                if error is None and key is None:
                    error = {"code": -18019903, "message": "Carrier cannot be detected."}
                if error is not None:
                    rejected.append({"number": number, "error": error})
                    continue
                registered[number] = key
                accepted.append({"origin": 1, "number": number, "carrier": key})
        return _json(200, {"code": 0, "data": {"accepted": accepted, "rejected": rejected}})

    def _t17_key(self, number: str, asked: object) -> int | None:
        if isinstance(asked, int) and asked > 0:
            return asked
        shipment = self.world.lookup(number, "international")
        if shipment is None:  # a domestic number: 17TRACK places it if it has a key for it
            domestic = self.world.lookup(number, "domestic")
            key = _t17_provider(domestic.carrier)["key"] if domestic else 0
            if key:
                return key
        carrier = shipment.carrier if shipment else detect_carrier(number)
        if carrier is None:
            return None
        return _t17_provider(carrier)["key"]

    def _t17_gettrackinfo(self, request: Request) -> Response:
        begun = self._t17_begin(request)
        if isinstance(begun, Response):
            return begun
        account, items = begun
        with self._lock:
            registered = dict(self._registered.get(account, {}))
        accepted, rejected = [], []
        now = self.world.now
        for item in items:
            number, error = self._t17_number(item)
            if error is None and number not in registered:
                error = {
                    "code": -18019902,
                    "message": f"The tracking number '{number}' does not "
                    "register, please register first.",
                }
            if error is not None:
                rejected.append({"number": number, "error": error})
                continue
            key = registered[number]
            shipment = self.world.lookup(number, "international")
            if shipment is not None and _t17_provider(shipment.carrier)["key"] == key:
                accepted.append(_t17_track_info(shipment, key, now))
            else:
                reason = "NotFound_InvalidCode" if check_digit_fails(number) else "NotFound_Other"
                accepted.append(_t17_not_found(number, key, reason, now))
        return _json(200, {"code": 0, "data": {"accepted": accepted, "rejected": rejected}})

    # -- Kuaidi100

    def _k100_query(self, request: Request) -> Response:
        if request.method != "POST":
            return _k100_error("400", "提交的数据不完整，或者贵公司没授权")
        try:
            form = parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            return _k100_error("400", "提交的数据不完整，或者贵公司没授权")
        customer = form.get("customer", [""])[0].strip()
        sign = form.get("sign", [""])[0].strip()
        if not customer or not SIGN_FORMAT.match(sign):
            return _k100_error("503", "验证签名失败")
        try:
            param = json.loads(form.get("param", [""])[0])
        except ValueError:
            param = None
        if not isinstance(param, dict) or not str(param.get("num") or "").strip():
            return _k100_error("400", "提交的数据不完整，或者贵公司没授权")
        com = str(param.get("com") or "").strip().lower()
        number = str(param["num"]).strip()
        if com not in KUAIDI100_CARRIER and com not in KUAIDI100_OTHER_CODES:
            return _k100_error("400", "找不到对应公司")
        carrier = KUAIDI100_CARRIER.get(com)
        scans, phone = [], None
        for leg in ("domestic", "international"):  # a company answers for its own scans only
            shipment = self.world.lookup(number, leg)
            scans = [s for s in shipment.scans if s.carrier == carrier] if shipment else []
            if scans:
                phone = shipment.phone
                break
        if not scans:
            return _k100_error("500", "查询无结果，请隔段时间再查")
        if CARRIERS[carrier].needs_phone:
            given = "".join(ch for ch in str(param.get("phone") or "") if ch.isdigit())
            wanted = "".join(ch for ch in str(phone or "") if ch.isdigit())
            if len(given) < 4 or not wanted or given[-4:] != wanted[-4:]:
                return _k100_error("408", "快递公司参数异常：验证码错误")
        return self._k100_answer(number, com, scans, param)

    def _k100_autonumber(self, request: Request) -> Response:
        try:
            form = parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            form = {}
        if not _k100_field(request, form, "key"):
            return _k100_error("701", "key缺失")
        number = _k100_field(request, form, "num")
        if not NUMBER_FORMAT.match(number):
            return _k100_error("201", "不是有效的快递单号")
        carriers = []
        for leg in ("domestic", "international"):  # the world knows each number's carrier
            shipment = self.world.lookup(number, leg)
            if shipment is not None and shipment.carrier:
                carriers.append(shipment.carrier)
        known = [c for c in dict.fromkeys(carriers) if c in CARRIERS and CARRIERS[c].kuaidi100]
        payload = [_k100_company(c, number) for c in known]
        return _json(200, payload, {"content-type": "application/json;charset=UTF-8"})

    @staticmethod
    def _k100_answer(number: str, com: str, scans: list[Scan], param: dict) -> Response:
        detailed = str(param.get("resultv2") or "0").strip() not in ("", "0")
        rows = []
        for scan in scans:
            row = {"time": _k100_time(scan), "context": scan.description, "ftime": _k100_time(scan)}
            if detailed:
                row.update(
                    {
                        "status": KUAIDI100_STATE.get(scan.milestone, ("0", "在途"))[1],
                        "areaCode": None,
                        "areaName": scan.location or None,
                    }
                )
            rows.append(row)
        if str(param.get("order") or "desc").lower() != "asc":
            rows.reverse()
        state = KUAIDI100_STATE.get(scans[-1].milestone, ("0", "在途"))[0]
        payload = {
            "message": "ok",
            "nu": number,
            "ischeck": "1" if state in ("3", "4") else "0",
            "condition": "F00" if state == "3" else "00",
            "com": com,
            "status": "200",
            "state": state,
            "data": rows,
        }
        return _json(200, payload, {"content-type": "application/json;charset=UTF-8"})

    # -- AfterShip

    def _as_dispatch(self, request: Request) -> Response:
        match = AFTERSHIP_PATH.match(request.path)
        if not match:
            return _as_error(
                404,
                404,
                "The URI requested is invalid or the resource requested does not exist.",
                "NotFound",
            )
        key = request.headers.get("as-api-key", "").strip()
        if not key:
            return _as_error(401, 401, "The API key is invalid.", "Unauthorized")
        version, resource, ident = match.groups()
        account = _digest(key)
        headers = {"as-api-version": version}
        if resource == "couriers/detect" and request.method == "POST" and not ident:
            response = self._as_detect(request)
        elif resource == "trackings" and request.method == "POST" and not ident:
            response = self._as_create(account, request)
        elif resource == "trackings" and request.method == "GET" and ident:
            response = self._as_get(account, ident)
        elif resource == "trackings" and request.method == "GET":
            response = self._as_list(account, request)
        else:
            response = _as_error(405, 405, "The request method is not allowed.", "MethodNotAllowed")
        return Response(response.status, {**response.headers, **headers}, response.body)

    @staticmethod
    def _as_body(request: Request) -> dict | Response:
        try:
            body = json.loads(request.body.decode("utf-8") or "{}")
        except (UnicodeDecodeError, ValueError):
            return _as_error(400, 4001, "Invalid JSON data.", "BadRequest")
        if not isinstance(body, dict):
            return _as_error(400, 4001, "Invalid JSON data.", "BadRequest")
        inner = body.get("tracking", body)
        return inner if isinstance(inner, dict) else {}

    def _as_carrier(self, number: str) -> str | None:
        shipment = self.world.lookup(number, "international")
        carrier = shipment.carrier if shipment else detect_carrier(number)
        return carrier if carrier in AFTERSHIP_COURIERS else None

    def _as_detect(self, request: Request) -> Response:
        body = self._as_body(request)
        if isinstance(body, Response):
            return body
        number = str(body.get("tracking_number") or "").strip()
        if not NUMBER_FORMAT.match(number):
            return _as_error(400, 4005, "The value of `tracking_number` is invalid.", "BadRequest")
        carrier = self._as_carrier(number)
        if carrier is None:
            shipment = self.world.lookup(number)
            carrier = (
                shipment.carrier if shipment and shipment.carrier in AFTERSHIP_COURIERS else None
            )
        couriers = [_as_courier(carrier)] if carrier else []
        return _as_ok({"total": len(couriers), "couriers": couriers})

    def _as_create(self, account: str, request: Request) -> Response:
        body = self._as_body(request)
        if isinstance(body, Response):
            return body
        number = str(body.get("tracking_number") or "").strip()
        if not NUMBER_FORMAT.match(number):
            return _as_error(400, 4005, "The value of `tracking_number` is invalid.", "BadRequest")
        asked = str(body.get("slug") or "").strip().lower()
        carrier = self._as_carrier(number)
        slug = asked or (AFTERSHIP_COURIERS[carrier]["slug"] if carrier else "")
        if not slug:
            return _as_error(
                400,
                4012,
                "Unable to import shipment as we don't recognize the "
                "carrier from this tracking number.",
                "BadRequest",
            )
        with self._lock:
            created = self._created.setdefault(account, {})
            if number in created:
                existing = {
                    "id": _as_id(number),
                    "slug": created[number],
                    "tracking_number": number,
                }
                return _as_error(
                    400, 4003, "Tracking already exists.", "BadRequest", {"tracking": existing}
                )
            created[number] = slug
            self._ids[_as_id(number)] = number
        return _as_ok(self._as_tracking(number, slug, fresh=True), 201)

    def _as_get(self, account: str, ident: str) -> Response:
        with self._lock:
            number = self._ids.get(ident)
            slug = self._created.get(account, {}).get(number or "")
        if number is None or slug is None:
            return _as_error(404, 4004, "Tracking does not exist.", "NotFound")
        return _as_ok(self._as_tracking(number, slug))

    def _as_list(self, account: str, request: Request) -> Response:
        raw = ",".join(request.query.get("tracking_numbers", []))
        wanted = [n.strip() for n in raw.split(",") if n.strip()]
        slugs = {s.strip() for s in ",".join(request.query.get("slug", [])).split(",") if s.strip()}
        with self._lock:
            created = dict(self._created.get(account, {}))
        numbers = wanted or list(created)
        found = [(n, created[n]) for n in numbers if n in created]
        trackings = [self._as_tracking(n, s) for n, s in found if not slugs or s in slugs]
        return _as_ok(
            {
                "pagination": {
                    "total": len(trackings),
                    "next_cursor": None,
                    "has_next_page": False,
                },
                "trackings": trackings,
            }
        )

    def _as_tracking(self, number: str, slug: str, fresh: bool = False) -> dict:
        now = self.world.now
        shipment = self.world.lookup(number, "international")
        carrier = AFTERSHIP_CODE_BY_SLUG.get(slug)
        if shipment is not None and (carrier != shipment.carrier or not shipment.scans):
            shipment = None
        base = {
            "id": _as_id(number),
            "legacy_id": _as_id(number)[:24],
            "created_at": now.isoformat(timespec="seconds"),
            "updated_at": now.isoformat(timespec="seconds"),
            "tracking_number": number,
            "slug": slug,
            "title": number,
            "source": "api",
            "custom_fields": None,
            "note": None,
            "order_id": None,
            "signed_by": None,
            "language": None,
            "courier_tracking_link": None,
            "courier_redirect_link": None,
            "first_attempted_at": None,
            "on_time_status": None,
            "aftership_estimated_delivery_date": None,
            "unique_token": "deprecated",
            "last_mile_tracking_supported": True,
        }
        if fresh or shipment is None:
            return {
                **base,
                "active": True,
                "origin_country_region": None,
                "destination_country_region": None,
                "courier_destination_country_region": None,
                "shipment_type": None,
                "transit_time": None,
                "return_to_sender": False,
                "tag": "Pending",
                "subtag": "Pending_001",
                "subtag_message": "Pending",
                "tracked_count": 0 if fresh else 1,
                "checkpoints": [],
                "first_mile": None,
                "last_mile": None,
            }
        last = shipment.scans[-1]
        tag, subtag, message = AFTERSHIP_TAG.get(last.milestone, AFTERSHIP_TAG["unknown"])
        if _stale(shipment, now, TERMINAL) and tag in ("InTransit", "InfoReceived"):
            tag, subtag, message = "Expired", "Expired_001", "Expired"
        origin = shipment.origin_country or (
            CARRIERS[shipment.carrier].country if shipment.carrier in CARRIERS else None
        )
        last_mile = None
        if shipment.link_number:
            link = AFTERSHIP_COURIERS.get(shipment.link_carrier or "")
            last_mile = {
                "tracking_number": shipment.link_number,
                "slug": link["slug"] if link else shipment.link_carrier,
                "transit_time": None,
                "courier_tracking_link": None,
                "courier_redirect_link": None,
                "source": "Courier",
            }
        delivered = last.milestone == "delivered"
        return {
            **base,
            "active": tag not in ("Delivered", "Expired"),
            "origin_country_region": ISO3.get(origin or "", origin),
            "destination_country_region": "CHN",
            "courier_destination_country_region": "CHN",
            "shipment_type": None,
            "transit_time": (last.when - shipment.scans[0].when).days if delivered else None,
            "return_to_sender": last.milestone in ("returning", "returned"),
            "tag": tag,
            "subtag": subtag,
            "subtag_message": message,
            "tracked_count": 1,
            "checkpoints": [_as_checkpoint(s, slug, now) for s in shipment.scans],
            "first_mile": {
                "tracking_number": number,
                "slug": slug,
                "transit_time": None,
                "courier_tracking_link": None,
                "courier_redirect_link": None,
            },
            "last_mile": last_mile,
        }
