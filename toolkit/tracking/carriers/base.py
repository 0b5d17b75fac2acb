"""Shared plumbing of the carrier clients: HTTP, retries, rate limit, batching, cache.

Answers are cached per service and tracking number in SQLite instead of through an HTTP
cache such as hishel: these services take POST requests carrying up to 40 numbers, so a
cached HTTP response would only serve the very same batch again, while one entry per
number serves any later batch that contains it.
"""

from __future__ import annotations

import contextlib
import email.utils
import errno
import json
import logging
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx
import tenacity

from toolkit.errors import InputError, ToolkitError
from toolkit.files import private_dir, private_file, tighten_sqlite
from toolkit.keys import MASK, MIN_REDACT, Secret, redact, redact_url
from toolkit.model import CARRIERS, carrier_code
from toolkit.safetext import scrub as safe_text
from toolkit.safetext import scrub_json as safe_json
from toolkit.tracking.phrases import status_milestone

log = logging.getLogger(__name__)

# Kinds of per-number errors.
NOT_FOUND = "not_found"
INVALID_NUMBER = "invalid_number"
CARRIER_UNKNOWN = "carrier_unknown"
NEEDS_PHONE = "needs_phone"
RATE_LIMITED = "rate_limited"
SERVER_ERROR = "server_error"
TIMEOUT = "timeout"
CONNECTION = "connection_error"
MALFORMED = "malformed_response"
AUTH = "auth"
QUOTA = "quota"
IMPLAUSIBLE = (
    "implausible_answer"  # scans that cannot belong to the parcel (toolkit.tracking.plausibility)
)
# A warning, not a failure: the number WAS tracked with the carrier the analyst named, but
# its format points to another carrier. The row says which, so the analyst can check.
CARRIER_MISMATCH = "carrier_mismatch"
# A warning, not a failure: the answer for the number held characters no text can keep
# (lone surrogates, NUL and other control characters); each was replaced with U+FFFD and
# every scan was kept. The row says how many.
TEXT_REPLACED = "text_replaced"
ERROR_KINDS: tuple[str, ...] = (
    NOT_FOUND,
    INVALID_NUMBER,
    CARRIER_UNKNOWN,
    NEEDS_PHONE,
    RATE_LIMITED,
    SERVER_ERROR,
    TIMEOUT,
    CONNECTION,
    MALFORMED,
    AUTH,
    QUOTA,
    IMPLAUSIBLE,
    CARRIER_MISMATCH,
    TEXT_REPLACED,
)
# Kinds in the errors table that are warnings about a number that was tracked.
WARNING_KINDS: tuple[str, ...] = (CARRIER_MISMATCH, TEXT_REPLACED)

SANDBOX_KEY = "sandbox"
DEFAULT_TTL = 6 * 3600.0  # seconds an answer with scans stays fresh
DEFAULT_NEGATIVE_TTL = 15 * 60.0  # seconds a "no scans yet" answer stays fresh
CACHE_DIR_VARIABLE = "TOOLKIT_CACHE_DIR"
CACHE_BUSY_SECONDS = 10.0  # how long the cache waits for another writer's lock


def default_cache_dir() -> Path:
    """Where answers are cached: $TOOLKIT_CACHE_DIR or ~/.cache/parcel-toolkit."""
    env = os.environ.get(CACHE_DIR_VARIABLE, "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "parcel-toolkit"


@dataclass(frozen=True)
class Query:
    """One number to track, with what the analyst knows about it."""

    number: str
    parcel_id: str | None = None
    carrier: str | None = None  # toolkit carrier code, if known
    phone: str | None = None  # recipient phone (only its last 4 digits are ever sent)
    leg: str = "international"

    @property
    def parcel(self) -> str:
        return self.parcel_id or self.number


@dataclass(frozen=True)
class NumberError:
    """Why one number could not be tracked, in words an analyst can act on."""

    tracking_number: str
    parcel_id: str | None
    service: str
    error: str
    message: str


@dataclass(frozen=True)
class Link:
    """A last-mile number a service reported for a parcel."""

    parcel_id: str
    from_number: str
    number: str
    carrier: str | None


@dataclass
class Parsed:
    """What one service answer says about one number."""

    events: list[dict] = field(default_factory=list)
    error: NumberError | None = None
    links: list[Link] = field(default_factory=list)
    warnings: list[NumberError] = field(default_factory=list)  # the number was tracked


@dataclass
class Result:
    """Raw event rows, per-number errors and last-mile links from one or more calls."""

    events: list[dict] = field(default_factory=list)
    errors: list[NumberError] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    requests: int = 0
    from_cache: int = 0

    def add(self, parsed: Parsed) -> None:
        self.events.extend(parsed.events)
        self.links.extend(parsed.links)
        if parsed.error is not None:
            self.errors.append(parsed.error)
        self.errors.extend(parsed.warnings)

    def extend(self, other: Result) -> None:
        self.events.extend(other.events)
        self.errors.extend(other.errors)
        self.links.extend(other.links)
        self.requests += other.requests
        self.from_cache += other.from_cache


class RequestFailed(Exception):
    """A request that failed for every number it carried."""

    def __init__(self, kind: str, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after = retry_after


class Retryable(RequestFailed):
    """A failure worth another attempt (timeouts, 5xx, 429, broken bodies)."""


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


class RateLimiter:
    """Thread-safe token bucket: at most `rate` requests a second, bursts up to `burst`."""

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not rate or rate <= 0:
            raise InputError(
                f"rate_limit must be a positive number of requests a second, got {rate!r}",
                "rate_limit",
            )
        self.rate = float(rate)
        self.interval = 1.0 / self.rate
        self.tolerance = max(0.0, float(burst) - 1.0) * self.interval
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tat = clock()  # theoretical arrival time of the next request

    def acquire(self) -> float:
        """Block until a request may go out; return the seconds waited."""
        with self._lock:
            now = self._clock()
            tat = max(self._tat, now)
            start = max(now, tat - self.tolerance)
            self._tat = tat + self.interval
        wait = start - now
        if wait > 0:
            self._sleep(wait)
        return max(0.0, wait)

    def pause(self, seconds: float) -> None:
        """Hold every later request back for `seconds` (after a 429 with Retry-After)."""
        with self._lock:
            self._tat = max(self._tat, self._clock() + seconds)


class ResponseCache:
    """Per-service, per-number answers in an SQLite file, fresh for a limited time.

    A cache that cannot be used (a corrupted file, a folder that cannot be written, a file
    where the folder should be, a full disk, a lock held too long) is reported once with a
    warning that names the file and what to do, and is bypassed from then on: tracking goes
    on uncached. The folder is made 0700 and the file 0600, whatever the umask.
    """

    def __init__(
        self,
        directory: str | Path,
        ttl: float = DEFAULT_TTL,
        negative_ttl: float = DEFAULT_NEGATIVE_TTL,
        clock: Callable[[], float] = time.time,
    ):
        self.path = Path(directory).expanduser() / "responses.sqlite3"
        self.ttl = float(ttl)
        self.negative_ttl = float(negative_ttl)
        self._clock = clock
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self.problem: str | None = None  # why the cache is bypassed, once it is

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            private_dir(self.path.parent)
            if self.path.is_dir():
                raise IsADirectoryError(errno.EISDIR, "a folder is in the way", str(self.path))
            if self.path.exists():
                tighten_sqlite(self.path)
            else:
                private_file(self.path)  # SQLite gives its -journal file the same mode
            conn = sqlite3.connect(self.path, timeout=CACHE_BUSY_SECONDS, check_same_thread=False)
            try:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS answers (namespace TEXT, key TEXT, "
                    "stored_at REAL, has_events INTEGER, payload TEXT, "
                    "PRIMARY KEY (namespace, key))"
                )
                conn.commit()
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _give_up(self, exc: Exception) -> None:
        """Warn once that the cache cannot be used, and bypass it from now on."""
        self.problem = cache_problem(self.path, exc)
        log.warning("%s", self.problem)
        log.debug("the response cache failed", exc_info=True)
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def get_many(self, namespace: str, keys: Sequence[str]) -> dict[str, Any]:
        """Fresh cached payloads for these keys (missing or stale keys are left out)."""
        out: dict[str, Any] = {}
        now = self._clock()
        with self._lock:
            if self.problem is not None:
                return out
            try:
                db = self._db()
                for i in range(0, len(keys), 500):
                    chunk = list(keys[i : i + 500])
                    marks = ",".join("?" * len(chunk))
                    rows = db.execute(
                        f"SELECT key, stored_at, has_events, payload FROM answers "
                        f"WHERE namespace = ? AND key IN ({marks})",
                        [namespace, *chunk],
                    ).fetchall()
                    for key, stored_at, has_events, payload in rows:
                        ttl = self.ttl if has_events else min(self.ttl, self.negative_ttl)
                        if now - stored_at < ttl:
                            try:
                                out[key] = json.loads(payload)
                            except (TypeError, ValueError):
                                continue  # an unreadable entry is a miss: asked again
            except (sqlite3.Error, OSError) as exc:
                self._give_up(exc)
        return out

    def put_many(self, namespace: str, items: Iterable[tuple[str, Any, bool]]) -> None:
        """Store (key, payload, has_events) triples."""
        now = self._clock()
        rows = [(namespace, k, now, int(h), _json_text(p)) for k, p, h in items]
        if not rows:
            return
        with self._lock:
            if self.problem is not None:
                return
            try:
                db = self._db()
                db.executemany("INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?)", rows)
                db.commit()
            except (sqlite3.Error, OSError) as exc:
                self._give_up(exc)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
                self._conn = None


def cache_problem(path: Path, exc: BaseException) -> str:
    """The warning for a response cache that cannot be used: what failed and what to do."""
    folder = path.parent
    if isinstance(exc, OSError):
        detail = exc.strerror or type(exc).__name__
        if exc.filename:
            detail += f": {exc.filename}"
    else:
        detail = str(exc) or type(exc).__name__
    lowered = detail.lower()
    elsewhere = f"or set {CACHE_DIR_VARIABLE} to another folder"
    if isinstance(exc, NotADirectoryError | FileExistsError):
        todo = (
            f"{exc.filename or folder} is a file where a folder of the cache should be: move it "
            f"away, {elsewhere}"
        )
    elif isinstance(exc, IsADirectoryError):
        todo = f"Move the folder {path} away, {elsewhere}"
    elif "locked" in lowered or "busy" in lowered:
        todo = f"Another program holds the cache locked: close it and run again, {elsewhere}"
    elif "full" in lowered or getattr(exc, "errno", None) == errno.ENOSPC:
        todo = f"Free disk space, {elsewhere} on another disk"
    elif isinstance(exc, PermissionError) or "readonly" in lowered or "unable to open" in lowered:
        todo = f"Make {folder} writable for you, {elsewhere} you can write to"
    else:  # not a database, malformed: the file is damaged
        todo = f"Delete {path} (the toolkit makes a new one), {elsewhere}"
    return ToolkitError(
        f"it cannot be used ({detail}), so tracking goes on without it: every number is asked "
        "again and spends quota",
        f"response cache {path}",
        f"{todo} (cache_dir=False turns the cache off)",
    ).message


def _json_text(payload: Any) -> str:
    """A payload as JSON text SQLite can store: UTF-8, or ASCII escapes where the payload
    holds text UTF-8 cannot encode (a lone surrogate), so the answer is kept as it came."""
    out = json.dumps(payload, ensure_ascii=False)
    try:
        out.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(payload)
    return out


def credentials(
    given: tuple[Secret | None, ...], sandbox: bool, service: str, variables: str
) -> tuple[Secret, ...]:
    """The keys a client sends: the given ones, or placeholders for the sandbox."""
    if any(k is None for k in given) and not sandbox:
        raise InputError(
            f"{service} needs {variables} unless sandbox=True",
            "key",
            f"Set {variables}, or use sandbox=True",
        )
    return tuple(k if k is not None else Secret(SANDBOX_KEY) for k in given)


def provider_milestone(provider: str, specific: Any, general: Any) -> str:
    """Milestone a provider's status codes imply (toolkit/tracking/data/status_codes.csv),
    or '' when they are too generic: the specific code first, the general one when it says
    nothing."""
    return status_milestone(provider, text(specific)) or status_milestone(provider, text(general))


class ServiceClient:
    """Base of the carrier clients: one httpx.Client, retries, rate limit, batching, cache.

    Subclasses declare `name`, `default_host`, `default_rate`, `batch_size`, and implement
    `fetch` (one batch of queries -> per-number payload or NumberError) and `parse`
    (one payload -> raw event rows, error, links).
    """

    name: ClassVar[str] = "service"
    title: ClassVar[str] = "the service"
    default_host: ClassVar[str] = ""
    default_rate: ClassVar[float] = 1.0
    batch_size: ClassVar[int] = 1
    key_hint: ClassVar[str] = ""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        sandbox: bool = False,
        timeout: float = 20.0,
        rate_limit: float | None = None,
        max_attempts: int = 4,
        concurrency: int = 4,
        cache_dir: str | Path | bool | None = None,
        cache_ttl: float = DEFAULT_TTL,
        refresh: bool = False,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_retry_after: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
        seed: int | None = None,
    ):
        if int(max_attempts) < 1:
            raise InputError(
                f"max_attempts must be 1 or more, got {max_attempts!r}", "max_attempts"
            )
        if int(concurrency) < 1:
            raise InputError(f"concurrency must be 1 or more, got {concurrency!r}", "concurrency")
        self.base_url = (base_url or self.default_host).rstrip("/")
        self.sandbox = bool(sandbox)
        self.timeout = float(timeout)
        self.max_attempts = int(max_attempts)
        self.concurrency = int(concurrency)
        self.refresh = bool(refresh)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.max_retry_after = float(max_retry_after)
        self._sleep = sleep
        self._rng = random.Random(seed)
        self.limiter = RateLimiter(rate_limit or self.default_rate, clock=clock, sleep=sleep)
        if cache_dir is False:
            self.cache: ResponseCache | None = None
        else:
            directory = default_cache_dir() if cache_dir in (None, True) else Path(cache_dir)
            self.cache = ResponseCache(directory, ttl=cache_ttl, clock=wall_clock)
        self._http = httpx.Client(
            base_url=self.base_url,
            transport=transport,
            timeout=httpx.Timeout(self.timeout),
            headers={"user-agent": "parcel-toolkit"},
        )
        self._count_lock = threading.Lock()
        self.requests_sent = 0

    # ----------------------------------------------------------------- naming
    @property
    def source(self) -> str:
        """The `source` written on events: the service name, marked when it is the sandbox."""
        return f"{self.name}·sandbox" if self.sandbox else self.name

    @property
    def namespace(self) -> str:
        """Cache namespace: service plus where it was asked, so sandbox and real never mix."""
        where = redact_url(self.base_url)  # no password of the URL in the cache file
        return f"{self.name}|{'sandbox' if self.sandbox else 'live'}|{where}"

    _credentials: tuple[Secret, ...] = ()

    def _hold_keys(
        self, given: tuple[Secret | None, ...], options: dict[str, Any], variables: str
    ) -> tuple[Secret, ...]:
        """Keep the keys this client sends (see credentials()) and return them."""
        self._credentials = credentials(given, bool(options.get("sandbox")), self.title, variables)
        return self._credentials

    def secrets(self) -> list[Secret]:
        """The keys this client holds (to scrub them from any text it produces)."""
        return [] if self.sandbox else list(self._credentials)

    def __repr__(self) -> str:
        mode = "sandbox" if self.sandbox else "live"
        return f"{type(self).__name__}(base_url={redact_url(self.base_url)!r}, mode={mode!r})"

    def close(self) -> None:
        self._http.close()
        if self.cache is not None:
            self.cache.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def scrub(self, payload: Any) -> Any:
        """A service answer with any key or customer id it echoes replaced by ****, as it is
        parsed and cached."""
        values = [s.reveal() for s in self.secrets()]
        values = [v for v in values if len(v) >= MIN_REDACT]
        return _scrubbed(payload, values) if values else payload

    # ------------------------------------------------------------- subclasses
    def cache_key(self, query: Query) -> str:
        return query.number

    def fetch(self, batch: list[Query]) -> dict[str, Any]:
        """Ask the service about a batch: number -> payload (cacheable) or NumberError."""
        raise NotImplementedError

    def parse(self, query: Query, payload: Any) -> Parsed:
        """Turn one number's payload into raw event rows, an error or links."""
        raise NotImplementedError

    def ask_detection(self, number: str) -> Any:
        """Ask the service which carrier a number belongs to: its answer (cacheable JSON).

        Raises RequestFailed when the service cannot be asked (network, key, quota).
        """
        raise NotImplementedError(f"{self.title} has no carrier detection")

    def read_detection(self, payload: Any) -> list[str]:
        """Toolkit carrier codes in a detection answer, most likely first."""
        raise NotImplementedError(f"{self.title} has no carrier detection")

    # -------------------------------------------------------------- detection
    def detect(self, number: str) -> list[str]:
        """Toolkit carrier codes the service names for a number, most likely first.

        [] when the service does not recognise the number. Answers are cached like tracking
        answers (an empty one only briefly). Raises RequestFailed when the service cannot be
        asked (network, key, quota); the message never holds a key.
        """
        from toolkit.tracking.numbers import clean

        key = clean(text(number))
        if not key:
            raise InputError("no tracking number was given", "detect", "Give the number as text")
        namespace = f"{self.namespace}|detect"
        if self.cache is not None and not self.refresh:
            cached = self.cache.get_many(namespace, [key])
            if key in cached:
                return self._read_detection_safely(safe_json(cached[key])[0])
        payload = self.scrub(self.ask_detection(key))
        codes = self._read_detection_safely(safe_json(payload)[0])
        if self.cache is not None:
            self.cache.put_many(namespace, [(key, payload, bool(codes))])
        return codes

    def _read_detection_safely(self, payload: Any) -> list[str]:
        try:
            codes = self.read_detection(payload)
        except (AttributeError, KeyError, TypeError, ValueError):
            log.debug("%s: could not read a detection answer", self.name, exc_info=True)
            raise RequestFailed(
                MALFORMED, f"{self.title} sent a carrier detection answer the toolkit cannot read"
            ) from None
        return list(dict.fromkeys(c for c in codes if c in CARRIERS))

    # ---------------------------------------------------------------- helpers
    def error(self, query: Query, kind: str, message: str) -> NumberError:
        """A per-number error, with any key scrubbed from the message."""
        return NumberError(
            tracking_number=query.number,
            parcel_id=query.parcel,
            service=self.source,
            error=kind,
            message=safe_text(redact(message, self.secrets()))[0],
        )

    def row(self, query: Query, **fields: Any) -> dict:
        """A raw event row for normalize(), with the query's parcel, number, leg and source."""
        row = {
            "parcel_id": query.parcel,
            "tracking_number": query.number,
            "leg": query.leg,
            "source": self.source,
            "time_utc": None,
            "time_local": None,
            "location": "",
            "description": "",
            "raw_status": "",
            "milestone": "",
        }
        for k, v in fields.items():
            row[k] = "" if v is None and k not in ("time_utc", "time_local") else v
        return row

    # ------------------------------------------------------------------- HTTP
    def request(
        self,
        method: str,
        path: str,
        *,
        check: Callable[[int, Any], None] | None = None,
        **kwargs: Any,
    ) -> tuple[int, Any]:
        """Send a request with rate limit and retries; return (HTTP status, JSON body).

        `check` may raise Retryable or RequestFailed for errors carried in the body.
        Raises RequestFailed once the attempts are spent.
        """
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(Retryable),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(self._attempt, method, path, check, kwargs)
        except Retryable as exc:
            raise RequestFailed(exc.kind, self._spent(exc)) from None

    def _spent(self, exc: Retryable) -> str:
        tries = "once" if self.max_attempts == 1 else f"{self.max_attempts} times"
        return f"{exc.message} (tried {tries}). Run again later; cached numbers are not re-sent"

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return float(retry_after)
        ceiling = min(self.max_backoff, self.backoff * 2 ** (state.attempt_number - 1))
        return self._rng.uniform(ceiling / 2, ceiling)

    def _attempt(self, method: str, path: str, check, kwargs: dict) -> tuple[int, Any]:
        self.limiter.acquire()
        with self._count_lock:
            self.requests_sent += 1
        try:
            resp = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise Retryable(
                TIMEOUT, f"{self.title} did not answer within {self.timeout:g} s"
            ) from None
        except httpx.TransportError as exc:
            detail = redact(f"{type(exc).__name__}: {exc}", self.secrets())
            raise Retryable(CONNECTION, f"could not reach {self.title} ({detail})") from None
        status = resp.status_code
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(resp.headers.get("retry-after"))
            if retry_after is not None and retry_after > self.max_retry_after:
                raise RequestFailed(
                    RATE_LIMITED if status == 429 else SERVER_ERROR,
                    f"{self.title} asks to wait {retry_after:.0f} s before trying again "
                    f"(HTTP {status}); run again later",
                )
            if retry_after is not None:
                self.limiter.pause(retry_after)
            if status == 429:
                raise Retryable(
                    RATE_LIMITED, f"{self.title} said too many requests (HTTP 429)", retry_after
                )
            raise Retryable(SERVER_ERROR, f"{self.title} answered HTTP {status}", retry_after)
        if status in (401, 403):
            raise RequestFailed(
                AUTH,
                f"{self.title} refused the API key (HTTP {status}). {self.key_hint}".strip(),
            )
        try:
            body = resp.json()
        except ValueError:
            raise Retryable(
                MALFORMED, f"{self.title} sent a body that is not valid JSON (HTTP {status})"
            ) from None
        if check is not None:
            check(status, body)
        return status, body

    # ------------------------------------------------------------------ track
    def track(self, queries: Iterable[Query], progress: bool = False) -> Result:
        """Track these numbers: every one comes back with events or with its own error."""
        from tqdm.auto import tqdm

        by_key: dict[str, list[Query]] = {}
        for q in queries:
            by_key.setdefault(self.cache_key(q), []).append(q)
        result = Result()
        sent_before = self.requests_sent
        cached: dict[str, Any] = {}
        if self.cache is not None and not self.refresh and by_key:
            cached = self.cache.get_many(self.namespace, list(by_key))
        for key, payload in cached.items():
            payload, replaced = safe_json(payload)
            for q in by_key[key]:
                result.add(self._parse_safely(q, payload, replaced))
        result.from_cache = sum(len(by_key[k]) for k in cached)
        todo = [qs[0] for k, qs in by_key.items() if k not in cached]
        batches = [todo[i : i + self.batch_size] for i in range(0, len(todo), self.batch_size)]
        bar = tqdm(
            total=len(by_key),
            initial=len(cached),
            desc=self.source,
            unit="number",
            disable=not progress,
            leave=False,
        )
        try:
            if self.concurrency == 1 or len(batches) <= 1:
                for batch in batches:
                    self._merge(result, by_key, batch, self._run_batch(batch))
                    bar.update(len(batch))
            else:
                workers = min(self.concurrency, len(batches))
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    futures = {pool.submit(self._run_batch, b): b for b in batches}
                    for fut in as_completed(futures):
                        batch = futures[fut]
                        self._merge(result, by_key, batch, fut.result())
                        bar.update(len(batch))
        finally:
            bar.close()
        result.requests = self.requests_sent - sent_before
        return result

    def _run_batch(self, batch: list[Query]) -> dict[str, Any]:
        try:
            answers = self.fetch(batch)
        except RequestFailed as exc:
            return {q.number: self.error(q, exc.kind, exc.message) for q in batch}
        except Exception as exc:  # a payload nobody expected must not sink the batch
            log.debug("%s: unexpected failure on a batch", self.name, exc_info=True)
            msg = f"{self.title} sent an answer the toolkit could not read ({type(exc).__name__})"
            return {q.number: self.error(q, MALFORMED, msg) for q in batch}
        for q in batch:
            if q.number not in answers:
                answers[q.number] = self.error(
                    q, MALFORMED, f"{self.title}'s answer did not mention this number"
                )
        return answers

    def _merge(self, result: Result, by_key: dict, batch: list[Query], answers: dict) -> None:
        to_cache = []
        for q in batch:
            key = self.cache_key(q)
            answer = answers[q.number]
            if not isinstance(answer, NumberError):
                answer = self.scrub(answer)
            if isinstance(answer, NumberError):
                for other in by_key[key]:
                    result.errors.append(
                        answer
                        if other is q
                        else NumberError(
                            other.number, other.parcel, answer.service, answer.error, answer.message
                        )
                    )
                continue
            clean, replaced = safe_json(answer)  # the cache keeps the answer as it came
            parsed_all = [self._parse_safely(other, clean, replaced) for other in by_key[key]]
            for parsed in parsed_all:
                result.add(parsed)
            first = parsed_all[0]
            if first.error is None or first.error.error in (NOT_FOUND, CARRIER_UNKNOWN):
                to_cache.append((key, answer, bool(first.events)))
        if self.cache is not None and to_cache:
            self.cache.put_many(self.namespace, to_cache)

    def _parse_safely(self, query: Query, payload: Any, replaced: int = 0) -> Parsed:
        """parse() that never raises: an answer it cannot read is this number's error alone.

        `replaced` is how many characters of the answer were replaced (toolkit.safetext);
        a number tracked from such an answer gets a text_replaced warning saying so.
        """
        try:
            parsed = self.parse(query, payload)
        except Exception as exc:
            log.debug("%s: could not parse the answer for one number", self.name, exc_info=True)
            return Parsed(error=self.unreadable(query, exc))
        if replaced and parsed.events:
            parsed.warnings.append(self.replaced_warning(query, replaced))
        return parsed

    def unreadable(self, query: Query, exc: BaseException) -> NumberError:
        """The error of a number whose answer the toolkit could not read."""
        return self.error(
            query,
            MALFORMED,
            f"{self.title} sent an answer for this number that the toolkit cannot read "
            f"({type(exc).__name__} while reading it); the other numbers were tracked. "
            f"Run it again later; if the answer stays the same, look the number up on "
            f"{self.title}'s website",
        )

    def replaced_warning(self, query: Query, replaced: int) -> NumberError:
        """The text_replaced warning of a number whose answer held unreadable characters."""
        chars = "character" if replaced == 1 else "characters"
        return self.error(
            query,
            TEXT_REPLACED,
            f"Warning: {self.title}'s answer for {query.number} held {replaced} {chars} that "
            "no text can keep (broken Unicode such as a lone surrogate, or control "
            "characters such as NUL). Each was replaced with U+FFFD (shown as �) and all "
            "its scans were kept",
        )


def _scrubbed(value: Any, secrets: list[str]) -> Any:
    """JSON-like data with every occurrence of these values in its texts replaced by ****."""
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, MASK)
        return value
    if isinstance(value, dict):
        return {_scrubbed(k, secrets): _scrubbed(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrubbed(v, secrets) for v in value]
    return value


def text(value: Any) -> str:
    """A field as clean text ('' for None), whitespace collapsed."""
    if value is None:
        return ""
    return " ".join(str(value).split())


def carrier_from_name(name: Any) -> str | None:
    """Toolkit carrier code for a carrier name as a service writes it (None if unknown)."""
    return carrier_code(text(name))


def guess_carrier(number: str) -> str | None:
    """Most likely carrier code for a number, from its format (None if unknown)."""
    try:
        from toolkit.tracking.numbers import parse
    except ImportError:  # pragma: no cover - numbers module always ships with the toolkit
        return None
    candidates = getattr(parse(number), "candidates", ()) or ()
    return candidates[0] if candidates else None
