"""Fault injection for the sandbox: latency, 429 with Retry-After, 5xx, timeouts, broken bodies."""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass

from toolkit.errors import InputError

OK, TOO_MANY, SERVER_ERROR, TIMEOUT, MALFORMED = "ok", "429", "5xx", "timeout", "malformed"
SERVER_ERROR_STATUSES = (500, 502, 503)


@dataclass(frozen=True)
class Faults:
    """How the sandbox misbehaves: each rate is the chance that one request meets that fault."""

    latency: float = 0.0  # seconds added to every request
    rate_429: float = 0.0
    retry_after: float = 1.0  # seconds announced in Retry-After (sent as whole seconds)
    rate_5xx: float = 0.0
    rate_timeout: float = 0.0
    timeout_seconds: float = 30.0  # how long a timed-out request hangs on a real socket
    rate_malformed: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        rates = {
            "rate_429": self.rate_429,
            "rate_5xx": self.rate_5xx,
            "rate_timeout": self.rate_timeout,
            "rate_malformed": self.rate_malformed,
        }
        for name, value in rates.items():
            if not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise InputError(
                    f"{name} must be a fraction between 0 and 1, got {value!r}",
                    "Faults",
                    "Give e.g. 0.1 for one request in ten",
                )
        if sum(rates.values()) > 1.0 + 1e-9:
            raise InputError(
                f"the fault rates add up to {sum(rates.values()):.3g}, more than 1",
                "Faults",
                "Lower rate_429, rate_5xx, rate_timeout or rate_malformed so they sum to 1 or less",
            )
        for name in ("latency", "retry_after", "timeout_seconds"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or value < 0 or math.isnan(value):
                raise InputError(
                    f"{name} must be a number of seconds, 0 or more, got {value!r}",
                    "Faults",
                )

    @property
    def retry_after_header(self) -> str:
        """The Retry-After value sent: whole seconds, rounded up, as HTTP requires."""
        return str(math.ceil(self.retry_after))


class FaultDraw:
    """A seeded source of per-request outcomes at the configured rates (thread-safe)."""

    def __init__(self, faults: Faults):
        self.faults = faults
        self._rng = random.Random(faults.seed)
        self._lock = threading.Lock()

    def next(self) -> tuple[str, int]:
        """The outcome for the next request, and the HTTP status it gets (200 unless a fault)."""
        f = self.faults
        with self._lock:
            roll = self._rng.random()
            pick = self._rng.choice(SERVER_ERROR_STATUSES)
        for outcome, rate, status in (
            (TOO_MANY, f.rate_429, 429),
            (SERVER_ERROR, f.rate_5xx, pick),
            (TIMEOUT, f.rate_timeout, 0),
            (MALFORMED, f.rate_malformed, 200),
        ):
            if roll < rate:
                return outcome, status
            roll -= rate
        return OK, 200


def truncate(body: bytes) -> bytes:
    """Cut a JSON body short so that it no longer parses."""
    if len(body) < 2:
        return b"{"
    return body[: max(1, len(body) // 2)]
