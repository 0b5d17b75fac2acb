"""The sandbox's 17TRACK: API v2.2 register and gettrackinfo, answered from the World."""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Callable
from datetime import UTC, datetime

from toolkit.model import CARRIERS
from toolkit.world.sandbox.base import (
    NUMBER_FORMAT,
    SEVENTEENTRACK,
    TERMINAL,
    Request,
    Response,
    Service,
    check_digit_fails,
    detect_carrier,
    digest,
    json_response,
    stale,
)
from toolkit.world.sandbox.world import Scan, Shipment, World

MAX_17TRACK_NUMBERS = 40


def _iso_z(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hash32(*parts: object) -> int:
    """A stable signed 32-bit hash, the way the services report content hashes."""
    value = zlib.crc32("|".join(map(str, parts)).encode("utf-8"))
    return value - (1 << 32) if value >= 1 << 31 else value


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
    return json_response(
        status, {"code": code, "data": {"errors": [{"code": code, "message": message}]}}
    )


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
    if stale(shipment, now, TERMINAL) and sub_status.split("_")[0] in (
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


class SeventeenTrackService(Service):
    """17TRACK: numbers are registered per key, then their track info is asked for."""

    name = SEVENTEENTRACK

    def __init__(self, world: World, lock: threading.Lock):
        super().__init__(world, lock)
        self._registered: dict[str, dict[str, int]] = {}  # key digest -> number -> 17TRACK key

    def route(self, request: Request) -> Callable[[Request], Response] | None:
        path, method = request.path, request.method
        if path.startswith("/track/"):
            handlers = {
                "/track/v2.2/register": self._t17_register,
                "/track/v2.2/gettrackinfo": self._t17_gettrackinfo,
            }
            handler = handlers.get(path.rstrip("/"))
            if handler and method == "POST":
                return handler
            return lambda r: json_response(
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
        return None

    def numbers(self, request: Request) -> tuple[str, ...]:
        items = json.loads(request.body or b"[]")
        return tuple(str(i.get("number", "")) for i in items if isinstance(i, dict))

    def too_many(self, retry_after: float) -> tuple[dict, dict[str, str]]:
        return {
            "code": 429,
            "data": {"errors": [{"code": 429, "message": "Too many requests."}]},
        }, {}

    def server_error(self) -> Response:
        return _t17_error(-18010003, "Internal service error, please try again later.", 500)

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
        return digest(token), items

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
        return json_response(200, {"code": 0, "data": {"accepted": accepted, "rejected": rejected}})

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
        return json_response(200, {"code": 0, "data": {"accepted": accepted, "rejected": rejected}})
