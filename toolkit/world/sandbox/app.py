"""The sandbox app: routes requests by path and answers as 17TRACK, Kuaidi100 and AfterShip do.

Each service's wire format lives in its own module (``seventeentrack``, ``kuaidi100``,
``aftership``, like ``toolkit.tracking.carriers``); this app adds latency, faults and the request log.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

import pandas as pd

from toolkit.world.sandbox.aftership import AFTERSHIP_PATH, AfterShipService
from toolkit.world.sandbox.base import (
    AFTERSHIP,
    KUAIDI100,
    NUMBER_FORMAT,
    SEVENTEENTRACK,
    STALE_AFTER,
    LogEntry,
    Request,
    Response,
    Service,
    check_digit_fails,
    detect_carrier,
    json_response,
)
from toolkit.world.sandbox.faults import (
    MALFORMED,
    SERVER_ERROR,
    TIMEOUT,
    TOO_MANY,
    FaultDraw,
    Faults,
    truncate,
)
from toolkit.world.sandbox.kuaidi100 import KUAIDI100_AUTONUMBER_PATH, Kuaidi100Service
from toolkit.world.sandbox.seventeentrack import MAX_17TRACK_NUMBERS, SeventeenTrackService
from toolkit.world.sandbox.world import World

__all__ = [
    "AFTERSHIP",
    "AFTERSHIP_PATH",
    "KUAIDI100",
    "KUAIDI100_AUTONUMBER_PATH",
    "MAX_17TRACK_NUMBERS",
    "NUMBER_FORMAT",
    "SEVENTEENTRACK",
    "STALE_AFTER",
    "LogEntry",
    "Request",
    "Response",
    "SandboxApp",
    "check_digit_fails",
    "detect_carrier",
]


class SandboxApp:
    """Answers 17TRACK, Kuaidi100 and AfterShip requests from a World, with injected faults."""

    def __init__(self, world: World | None = None, faults: Faults | None = None):
        self.world = world if world is not None else World.demo()
        self.faults = faults if faults is not None else Faults()
        self.stopping = threading.Event()  # set to cut sleeps short when a server stops
        self._draw = FaultDraw(self.faults)
        self._lock = threading.Lock()
        self._log: list[LogEntry] = []
        self._services: dict[str, Service] = {
            service.name: service
            for service in (
                SeventeenTrackService(self.world, self._lock),
                Kuaidi100Service(self.world, self._lock),
                AfterShipService(self.world, self._lock),
            )
        }

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
        for name, service in self._services.items():
            handler = service.route(request)
            if handler is not None:
                return name, handler
        return None, lambda r: json_response(404, {"error": f"no sandbox service answers {r.path}"})

    def _numbers(self, service: str | None, request: Request) -> tuple[str, ...]:
        try:
            if service in self._services:
                return self._services[service].numbers(request)
        except (ValueError, TypeError, AttributeError):
            pass
        return ()

    # -- faults

    def _service(self, service: str | None) -> Service:
        """The service whose error shapes an answer takes: 17TRACK's for unknown paths."""
        return self._services.get(service or "", self._services[SEVENTEENTRACK])

    def _too_many(self, service: str | None) -> Response:
        body, extra = self._service(service).too_many(self.faults.retry_after)
        headers = {"retry-after": self.faults.retry_after_header, **extra}
        return json_response(429, body, headers)

    def _server_error(self, service: str | None, status: int) -> Response:
        if status != 500:
            text = {502: "502 Bad Gateway", 503: "503 Service Temporarily Unavailable"}[status]
            page = f"<html><head><title>{text}</title></head><body><h1>{text}</h1></body></html>"
            return Response(status, {"content-type": "text/html"}, page.encode())
        return self._service(service).server_error()
