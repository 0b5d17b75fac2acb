"""What the sandbox's services share: requests, answers, the log, and the numbers' rules."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qs

from toolkit.tracking.numbers import parse
from toolkit.world.sandbox.world import Shipment, World

SEVENTEENTRACK, KUAIDI100, AFTERSHIP = "17track", "kuaidi100", "aftership"
STALE_AFTER = timedelta(days=30)  # no news for this long: the services call a parcel expired
NUMBER_FORMAT = re.compile(r"^[A-Za-z0-9]{5,50}$")

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


def json_response(status: int, payload: object, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Response(
        status, {"content-type": "application/json; charset=utf-8", **(headers or {})}, body
    )


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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


def stale(shipment: Shipment, now: datetime, terminal: set[str]) -> bool:
    last = shipment.last
    return last is not None and last.milestone not in terminal and now - last.when > STALE_AFTER


TERMINAL = {"delivered", "returned"}

# ---------------------------------------------------------------- one service


class Service:
    """One carrier service's routes and answers; the app adds latency, faults and the log."""

    name: str

    def __init__(self, world: World, lock: threading.Lock):
        self.world = world
        self._lock = lock  # the app's lock: it guards every service's state

    def route(self, request: Request) -> Callable[[Request], Response] | None:
        """The handler of a request this service answers, None for another service's path."""
        raise NotImplementedError

    def numbers(self, request: Request) -> tuple[str, ...]:
        """The tracking numbers a request names, for the log (may raise on a garbled body)."""
        raise NotImplementedError

    def too_many(self, retry_after: float) -> tuple[dict, dict[str, str]]:
        """The body and the extra headers of this service's answer to too many requests."""
        raise NotImplementedError

    def server_error(self) -> Response:
        """This service's answer when it fails inside (HTTP 500)."""
        raise NotImplementedError
