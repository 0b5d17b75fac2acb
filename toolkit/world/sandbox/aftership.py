"""The sandbox's AfterShip: Tracking API trackings and couriers/detect, answered from the World."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from datetime import datetime

from toolkit.model import CARRIERS
from toolkit.world.sandbox.base import (
    AFTERSHIP,
    NUMBER_FORMAT,
    TERMINAL,
    Request,
    Response,
    Service,
    detect_carrier,
    digest,
    json_response,
    stale,
)
from toolkit.world.sandbox.world import Scan, World

AFTERSHIP_PATH = re.compile(r"^/tracking/(\d{4}-\d{2})/(trackings|couriers/detect)(?:/([^/]+))?/?$")

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
    return json_response(
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
    return json_response(status, {"meta": meta, "data": payload})


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


class AfterShipService(Service):
    """AfterShip: trackings are created per key, then read back by id or listed."""

    name = AFTERSHIP

    def __init__(self, world: World, lock: threading.Lock):
        super().__init__(world, lock)
        self._created: dict[str, dict[str, str]] = {}  # key digest -> number -> AfterShip slug
        self._ids: dict[str, str] = {}  # AfterShip tracking id -> number

    def route(self, request: Request) -> Callable[[Request], Response] | None:
        if request.path.startswith("/tracking/"):
            return self._as_dispatch
        return None

    def numbers(self, request: Request) -> tuple[str, ...]:
        if request.method == "GET":
            match = AFTERSHIP_PATH.match(request.path)
            if match and match.group(3):
                return (self._ids.get(match.group(3), ""),)
            raw = ",".join(request.query.get("tracking_numbers", []))
            return tuple(n.strip() for n in raw.split(",") if n.strip())
        body = json.loads(request.body or b"{}")
        body = body.get("tracking", body) if isinstance(body, dict) else {}
        return (str(body.get("tracking_number", "")),)

    def too_many(self, retry_after: float) -> tuple[dict, dict[str, str]]:
        headers = {
            "x-ratelimit-limit": "10",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(int(time.time() + retry_after) + 1),
        }
        body = {
            "meta": {
                "code": 429,
                "type": "TooManyRequests",
                "message": "You have exceeded the API call rate limit.",
            },
            "data": {},
        }
        return body, headers

    def server_error(self) -> Response:
        return _as_error(500, 500, "Something went wrong on AfterShip's end.", "InternalError")

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
        account = digest(key)
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
        if stale(shipment, now, TERMINAL) and tag in ("InTransit", "InfoReceived"):
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
