"""toolkit.track: fetch every carrier's events for tracking numbers, as one events table."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from toolkit.errors import CarrierError, InputError, MissingColumnsError, SchemaError
from toolkit.keys import Keys, load_keys, redact
from toolkit.model import CARRIERS, DOMESTIC_CARRIERS, EVENT_COLUMNS, carrier_code, empty_events
from toolkit.safetext import scrub
from toolkit.tracking.carriers.aftership import AfterShipClient
from toolkit.tracking.carriers.base import (
    CARRIER_MISMATCH,
    CARRIER_UNKNOWN,
    DEFAULT_TTL,
    IMPLAUSIBLE,
    INVALID_NUMBER,
    MALFORMED,
    NOT_FOUND,
    Link,
    NumberError,
    Query,
    RequestFailed,
    Result,
    ServiceClient,
)
from toolkit.tracking.carriers.kuaidi100 import Kuaidi100Client
from toolkit.tracking.carriers.seventeentrack import SeventeenTrackClient
from toolkit.tracking.numbers import carrier_label, parse
from toolkit.tracking.plausibility import implausible

log = logging.getLogger(__name__)

INTERNATIONAL_SERVICES = ("17track", "aftership")
_SERVICE_TITLES = {"17track": "17TRACK", "aftership": "AfterShip", "kuaidi100": "Kuaidi100"}
ERROR_COLUMNS = ("tracking_number", "parcel_id", "service", "error", "message")
MAX_HOPS = 2  # last-mile links followed from a followed number, at most
PROGRESS_FROM = 10  # numbers from which a progress bar is shown by default
# Points every service at one host, e.g. a localhost sandbox: http://127.0.0.1:8765
BASE_URL_VARIABLE = "TOOLKIT_CARRIER_BASE_URL"
SANDBOX_RATE = 200.0  # requests a second to the sandbox, which spends no quota


class _SharedTransport(httpx.BaseTransport):
    """Hands requests to a transport that several clients share; closing it is a no-op."""

    def __init__(self, inner: httpx.BaseTransport):
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._inner.handle_request(request)


@functools.lru_cache(maxsize=1)
def _sandbox_transport() -> httpx.BaseTransport:
    from toolkit.world.sandbox import SandboxTransport

    return SandboxTransport()


def track(
    numbers: str | Iterable[str] | pd.DataFrame,
    *,
    services: str = "17track",
    refresh: bool = False,
    cache_dir: str | Path | bool | None = None,
    cache_ttl: float = DEFAULT_TTL,
    base_url: str | Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
    progress: bool | None = None,
    phones: Mapping[str, str] | None = None,
    timeout: float = 20.0,
    concurrency: int = 4,
    rate_limit: float | Mapping[str, float] | None = None,
    max_attempts: int = 4,
    follow: bool = True,
    sandbox: bool | None = None,
    keys: Keys | None = None,
    carrier: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Events of these numbers from the carrier services (or the sandbox), and the failures.

    `numbers` is one number, several, or a parcels table (parcel_id, international_number,
    domestic_number, domestic_carrier, recipient_phone are used). International numbers go
    to `services` ("17track" or "aftership"), China domestic ones to Kuaidi100, and any
    last-mile number the services report is followed to Kuaidi100 under the same parcel.
    A service without a key is answered by the sandbox (not cached unless `cache_dir` is
    given) and `events.attrs["sandbox"]` is then True. Keys come from the environment or
    .env unless `keys` is given; `base_url` defaults to $TOOLKIT_CARRIER_BASE_URL.
    `carrier` names the carrier of numbers given as text (a code or a name such as
    "FedEx" or "顺丰"); a parcels table names its own in international_carrier and
    domestic_carrier. A named carrier decides the service even where the number's format
    points elsewhere; such numbers get a carrier_mismatch warning row.
    Returns (events in the contract, errors with one row per number that failed).
    """
    if carrier is not None:
        if isinstance(numbers, pd.DataFrame):
            raise InputError(
                "carrier= was given with a parcels table",
                "carrier",
                "Name each parcel's carriers in its international_carrier and "
                "domestic_carrier columns instead",
            )
        if carrier_code(carrier) is None:
            raise InputError(
                f"unknown carrier {carrier!r}",
                "carrier",
                f"Use one of {', '.join(CARRIERS)}, or leave it out to let the number decide",
            )
        given = [item["number"] for item in _items(numbers)]  # checks each item is text
        numbers = pd.DataFrame(
            {"tracking_number": given, "international_carrier": carrier}, dtype=object
        )
    run = _Run.start(
        services,
        keys,
        sandbox,
        base_url,
        rate_limit,
        transport,
        refresh=refresh,
        cache_dir=cache_dir,
        cache_ttl=cache_ttl,
        timeout=timeout,
        concurrency=concurrency,
        max_attempts=max_attempts,
    )
    try:
        return run.go(numbers, phones or {}, progress, follow)
    finally:
        run.close()


def detect_carrier(
    number: str,
    *,
    services: str = "17track",
    sandbox: bool | None = None,
    keys: Keys | None = None,
    base_url: str | Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
    refresh: bool = False,
    cache_dir: str | Path | bool | None = None,
    timeout: float = 20.0,
    max_attempts: int = 4,
) -> list[str]:
    """Carrier codes a carrier service detects for a number, most likely first ([] if none).

    The service is the one track() would ask: Kuaidi100's number recognition when the
    number may be Chinese domestic, else `services` ("17track" registers the number, which
    spends one unit of its quota; "aftership" asks couriers/detect). Keys, sandbox and
    base_url work as in track(). Raises CarrierError when the service cannot be asked.
    """
    tn = parse(number)
    if not tn.normalized:
        raise InputError(
            " ".join(tn.problems) or "no tracking number was given", "number", "Give the number"
        )
    run = _Run.start(
        services,
        keys,
        sandbox,
        base_url,
        None,
        transport,
        refresh=refresh,
        cache_dir=cache_dir,
        cache_ttl=DEFAULT_TTL,
        timeout=timeout,
        concurrency=1,
        max_attempts=max_attempts,
    )
    try:
        client = run.client(run.detector(tn))
        try:
            return client.detect(tn.normalized)
        except RequestFailed as exc:
            raise CarrierError(
                f"{client.title} could not detect the carrier: {exc.message}",
                tn.normalized,
                "Run again later, or give the carrier yourself",
            ) from None
    finally:
        run.close()


class _Run:
    """One call of track(): the clients it made and what it has gathered."""

    @classmethod
    def start(cls, services, keys, sandbox, base_url, rate_limit, transport, **options):
        """A run after checking `services`; base_url defaults to $TOOLKIT_CARRIER_BASE_URL
        and keys to the environment's."""
        if base_url is None:
            base_url = os.environ.get(BASE_URL_VARIABLE, "").strip() or None
        if services not in INTERNATIONAL_SERVICES:
            raise InputError(
                f"unknown service {services!r}",
                "services",
                f"Use one of {', '.join(INTERNATIONAL_SERVICES)}",
            )
        keys = keys if keys is not None else load_keys()
        return cls(services, keys, sandbox, options, base_url, rate_limit, transport)

    def __init__(self, services, keys, sandbox, options, base_url, rate_limit, transport):
        self.services = services
        self.keys = keys
        self.force_sandbox = sandbox
        self.options = options
        self.base_url = base_url
        self.rate_limit = rate_limit
        self.transport = _SharedTransport(transport) if transport is not None else None
        self.clients: dict[str, ServiceClient] = {}
        self.result = Result()
        self.errors: list[NumberError] = []
        self.hints: dict[str, str] = {}
        self.frames: list[pd.DataFrame] = []
        self.parcel_phone: dict[str, str] = {}
        self.parcel_shipped: dict[str, Any] = {}

    # ------------------------------------------------------------ clients
    def _per_service(self, value, name):
        if isinstance(value, Mapping):
            return value.get(name)
        return value

    def _secrets(self, name: str) -> tuple:
        """The keys the service's client needs (None where one is not set)."""
        k = self.keys
        return {
            "17track": (k.seventeentrack,),
            "aftership": (k.aftership,),
            "kuaidi100": (k.kuaidi100_key, k.kuaidi100_customer),
        }[name]

    def client(self, name: str) -> ServiceClient:
        if name in self.clients:
            return self.clients[name]
        secret = self._secrets(name)
        has_key = all(s is not None for s in secret)
        sandbox = (not has_key) if self.force_sandbox is None else bool(self.force_sandbox)
        base_url = self._per_service(self.base_url, name)
        transport = self.transport
        if sandbox and transport is None and base_url is None:
            transport = _SharedTransport(_sandbox_transport())
        options = dict(
            self.options,
            base_url=base_url,
            transport=transport,
            sandbox=sandbox,
            rate_limit=self._per_service(self.rate_limit, name)
            or (SANDBOX_RATE if sandbox else None),
        )
        if sandbox and options["cache_dir"] is None:
            options["cache_dir"] = False  # sandbox answers change with its data: no default cache
        creds = (None,) * len(secret) if sandbox else secret
        cls = {
            "17track": SeventeenTrackClient,
            "aftership": AfterShipClient,
            "kuaidi100": Kuaidi100Client,
        }[name]
        self.clients[name] = cls(*creds, **options)
        return self.clients[name]

    def close(self) -> None:
        for c in self.clients.values():
            c.close()

    # -------------------------------------------------------------- input
    def queries(self, numbers, phones) -> tuple[list[Query], list[Query]]:
        """Split the input into international and domestic queries.

        A carrier named in the parcels table (international_carrier, domestic_carrier)
        decides the service: an international carrier goes to `services` with that carrier,
        a Chinese domestic one to Kuaidi100. Where the number's format disagrees with it,
        the number is still tracked with the named carrier and a carrier_mismatch warning
        row says so. A number that fits several carriers and has none named costs one
        carrier detection request per distinct number before tracking (Kuaidi100 autonumber
        when it may be Chinese domestic, else the international service's detection;
        17TRACK's registers the number, one unit of its quota that tracking it there spends
        anyway, plus a free gettrackinfo if it was registered before; a cached answer costs
        nothing), and is routed by the carrier detected. If detection fails (network,
        quota, key), the format's ranking is used and the number is tracked all the same.
        """
        phone_of = {_norm(k): v for k, v in phones.items()}
        plans: list[dict] = []
        seen: set[tuple[str, str]] = set()
        for item in _items(numbers):
            raw = item["number"]
            tn = parse(raw)
            number = tn.normalized
            parcel_id = item.get("parcel_id") or number or str(raw)
            if not number:
                self.errors.append(
                    NumberError(
                        str(raw),
                        parcel_id,
                        "toolkit",
                        INVALID_NUMBER,
                        " ".join(tn.problems) or "The tracking number is empty: fill it in",
                    )
                )
                continue
            if (parcel_id, number) in seen:
                continue
            seen.add((parcel_id, number))
            if tn.valid is False:
                hint = " ".join(tn.problems)
                if tn.suggestions:
                    hint += f" Did you mean {', '.join(tn.suggestions[:3])}?"
                self.hints[number] = hint
            phone = phone_of.get(number) or item.get("phone")
            if phone:
                self.parcel_phone.setdefault(parcel_id, phone)
            if item.get("shipped_at") is not None:
                self.parcel_shipped.setdefault(parcel_id, item["shipped_at"])
            named = carrier_code(item.get("carrier"))
            plans.append(
                {
                    "tn": tn,
                    "parcel_id": parcel_id,
                    "phone": phone,
                    "named": named,
                    "leg": item.get("leg"),
                    "detect": named is None and _ambiguous(tn),
                }
            )
        detected = self._detect_all([p["tn"] for p in plans if p["detect"]])
        intl: list[Query] = []
        dom: list[Query] = []
        for p in plans:
            tn, named = p["tn"], p["named"]
            number, parcel_id, phone = tn.normalized, p["parcel_id"], p["phone"]
            if named is not None:
                self._check_named(tn, named, parcel_id, p["leg"])
                domestic = named in DOMESTIC_CARRIERS and not (
                    tn.format == "s10" and p["leg"] != "domestic"
                )  # a postal S10 number's own leg is tracked internationally
                carrier = named
            elif detected.get(number):
                carrier = detected[number][0]
                domestic = carrier in DOMESTIC_CARRIERS
            else:
                carrier = None
                first = tn.candidates[0] if tn.candidates else None
                domestic = p["leg"] == "domestic" or (
                    tn.format != "s10" and first in DOMESTIC_CARRIERS
                )
                if domestic:
                    carrier = _domestic_guess(tn.candidates)
            if domestic:
                dom.append(Query(number, parcel_id, carrier, phone, "domestic"))
            else:
                intl.append(Query(number, parcel_id, carrier, None, "international"))
        return intl, dom

    # ------------------------------------------------------------ detection
    def _uses_sandbox(self, name: str) -> bool:
        """Whether the client for this service is (or would be) the sandbox."""
        if name in self.clients:
            return self.clients[name].sandbox
        if self.force_sandbox is not None:
            return bool(self.force_sandbox)
        return any(s is None for s in self._secrets(name))

    def detector(self, tn) -> str:
        """The service asked to detect this number's carrier.

        Kuaidi100 when a candidate is a Chinese domestic carrier (it knows them all, and the
        international express carriers too), else the international service; a service
        with a key is preferred over one answered by the sandbox.
        """
        # an S10 number is its issuing post's (China Post only delivers a foreign one)
        firsts = tn.candidates[:1] if tn.format == "s10" else tn.candidates
        domestic = any(c in DOMESTIC_CARRIERS for c in firsts)
        first, other = ("kuaidi100", self.services) if domestic else (self.services, "kuaidi100")
        if self._uses_sandbox(first) and not self._uses_sandbox(other):
            return other
        return first

    def _detect_all(self, numbers: list) -> dict[str, list[str]]:
        """Detected carriers per distinct number, most likely first; failures are skipped."""
        out: dict[str, list[str]] = {}
        for tn in numbers:
            number = tn.normalized
            if number in out:
                continue
            try:
                found = self.client(self.detector(tn)).detect(number)
            except Exception as exc:  # detection only advises: tracking goes on without it
                secrets = [c for client in self.clients.values() for c in client.secrets()]
                log.info(
                    "carrier detection failed for %s (%s); ranking by format instead",
                    number,
                    redact(str(exc), secrets),
                )
                found = []
            out[number] = found
        return out

    def _check_named(self, tn, named: str, parcel_id: str, leg: str | None) -> None:
        """Warn (carrier_mismatch) when the number's format does not fit the named carrier."""
        if not tn.candidates or (tn.format == "s10" and named in ("chinapost", "ems")):
            return  # an unknown format says nothing; China Post and EMS share S10 numbers
        fits = named in tn.candidates and (tn.valid is False or named in tn.plausible)
        if fits:
            return
        column = "domestic_carrier" if leg == "domestic" else "international_carrier"
        others = [c for c in _plausible(tn) if c != named] or list(tn.candidates)
        names = ", ".join(_carrier_name(c) for c in others[:3])
        why = (
            f"its format fails {_carrier_name(named)}'s check digit"
            if named in tn.candidates
            else f"its format matches {names}, not {_carrier_name(named)}"
        )
        service = "Kuaidi100" if named in DOMESTIC_CARRIERS else _SERVICE_TITLES[self.services]
        self.errors.append(
            NumberError(
                tn.normalized,
                parcel_id,
                "toolkit",
                CARRIER_MISMATCH,
                f"Warning: {tn.normalized} was tracked as {_carrier_name(named)} through "
                f"{service} because {column} names it, but {why} (the format suggests "
                f"{names}). If no scans come back, check the carrier with the sender and "
                f"correct {column}, or leave it blank to let the number decide",
            )
        )

    # ---------------------------------------------------------------- run
    def go(self, numbers, phones, progress, follow) -> tuple[pd.DataFrame, pd.DataFrame]:
        intl, dom = self.queries(numbers, phones)
        total = len(intl) + len(dom)
        show = total > PROGRESS_FROM if progress is None else bool(progress)
        tracked = {(q.parcel, q.number) for q in (*intl, *dom)}
        rounds = []
        if intl:
            rounds.append(self.client(self.services).track(intl, progress=show))
        if dom:
            rounds.append(self.client("kuaidi100").track(dom, progress=show))
        links: list[Link] = []
        for res in rounds:
            links.extend(self._absorb(res))
        for _ in range(MAX_HOPS if follow else 0):
            todo = self._follow(links, tracked)
            if not todo:
                break
            res = self.client("kuaidi100").track(todo, progress=show and len(todo) > PROGRESS_FROM)
            links = self._absorb(res)
        return self._events(), self._errors()

    def _absorb(self, res: Result) -> list[Link]:
        """Keep a round's errors, normalise its events; return the links it revealed."""
        self.result.requests += res.requests
        self.result.from_cache += res.from_cache
        self.errors.extend(res.errors)
        links = list(res.links)
        frame = self._normalize(res.events)
        if frame is not None and len(frame):
            frame, set_aside = self._set_aside(frame)
            links = [k for k in links if (k.parcel_id, k.from_number) not in set_aside]
        if frame is not None and len(frame):
            self.frames.append(frame)
            if "linked_number" in frame.columns:
                handover = (frame["milestone"] == "handed_over").fillna(False).astype(bool)
                found = frame.loc[frame["linked_number"].notna() & handover]
                for row in found.itertuples(index=False):
                    carrier = getattr(row, "linked_carrier", None)
                    links.append(
                        Link(
                            str(row.parcel_id),
                            str(row.tracking_number),
                            str(row.linked_number),
                            None if pd.isna(carrier) else str(carrier),
                        )
                    )
        return links

    def _set_aside(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, set[tuple[str, str]]]:
        """Drop the answers that cannot belong to their parcel; each becomes an error."""
        found = implausible(frame, self.parcel_shipped)
        if not found:
            return frame, set()
        key = frame["parcel_id"].astype(str) + "\x00" + frame["tracking_number"].astype(str)
        doubtful = key.isin([f"{p}\x00{n}" for p, n in found])
        for (parcel_id, number), reasons in found.items():
            rows = frame.loc[doubtful & (key == f"{parcel_id}\x00{number}")]
            service = str(rows["source"].iloc[0]) if len(rows) else "toolkit"
            title = self._title(service)
            code = str(rows["carrier"].iloc[0]) if len(rows) else ""
            carrier = CARRIERS.get(code)
            who = carrier.name if carrier else "the carrier"
            self.errors.append(
                NumberError(
                    number,
                    parcel_id,
                    service,
                    IMPLAUSIBLE,
                    f"the {len(rows)} scans {title} gave for {number} cannot all belong to "
                    f"this parcel: {'; '.join(reasons)}. They are kept out of the diagnosis. "
                    "Check the number with the sender (a mistyped or placeholder number shows "
                    f"other parcels' scans), or ask {who} which parcel it belongs to",
                )
            )
        kept = frame.loc[~doubtful].reset_index(drop=True)
        return kept, set(found)

    def _normalize(self, rows: list[dict]) -> pd.DataFrame | None:
        """normalize() the rows; rows it cannot read become errors for their numbers.

        Should the scans of one number make normalize() fail in a way no row number
        explains, each number is normalised on its own: that number gets the error and
        the numbers of the rest of the batch keep their scans.
        """
        if not rows:
            return None
        try:
            frame, errors = self._normalize_rows(rows)
        except Exception:
            log.debug("normalising a batch failed; normalising number by number", exc_info=True)
        else:
            self.errors.extend(errors)
            return frame
        groups: dict[tuple[str, str, str], list[dict]] = {}
        for row in rows:
            key = (str(row.get("parcel_id")), str(row.get("tracking_number")), row.get("source"))
            groups.setdefault(key, []).append(row)
        frames = []
        for (parcel_id, number, source), group in groups.items():
            try:
                frame, errors = self._normalize_rows(group)
            except Exception as exc:
                log.debug("could not normalise the scans of %s", number, exc_info=True)
                title = self._title(str(source))
                self.errors.append(
                    NumberError(
                        number,
                        parcel_id,
                        str(source),
                        MALFORMED,
                        f"{title} sent scans for this number that the toolkit cannot read "
                        f"({type(exc).__name__} while reading them); the other numbers were "
                        f"tracked. Run it again later; if the answer stays the same, look the "
                        f"number up on {title}'s website",
                    )
                )
                continue
            self.errors.extend(errors)
            if frame is not None:
                frames.append(frame)
        if not frames:
            return None
        return pd.concat(frames, ignore_index=True, sort=False)

    def _title(self, source: str) -> str:
        """The service's name as analysts know it, from an event's `source`."""
        client = self.clients.get(source.split("·")[0])
        return client.title if client is not None else source

    def _normalize_rows(self, rows: list[dict]) -> tuple[pd.DataFrame | None, list[NumberError]]:
        """normalize() the rows, dropping rows it names as unreadable (each an error)."""
        from toolkit.tracking.normalize import normalize

        errors: list[NumberError] = []
        frame = pd.DataFrame(rows)
        for _ in range(3):
            try:
                return normalize(frame, where="carrier answer"), errors
            except SchemaError as exc:
                bad = [r - 1 for r in exc.rows if 0 < r <= len(frame)]
                if not bad:
                    raise
                for r in bad:
                    row = frame.iloc[r]
                    errors.append(
                        NumberError(
                            str(row["tracking_number"]),
                            str(row["parcel_id"]),
                            str(row["source"]),
                            MALFORMED,
                            f"the service sent an event the toolkit cannot read ({exc.what}); "
                            "the other events of this number are kept",
                        )
                    )
                frame = frame.drop(frame.index[bad]).reset_index(drop=True)
                if frame.empty:
                    return None, errors
        return normalize(frame, where="carrier answer"), errors

    def _follow(self, links: list[Link], tracked: set) -> list[Query]:
        """Domestic queries for last-mile numbers not tracked yet."""
        todo = []
        for link in links:
            number = parse(link.number).normalized or link.number
            key = (link.parcel_id, number)
            if key in tracked:
                continue
            tracked.add(key)
            tn = parse(number)
            carrier = link.carrier or _domestic_guess(tn.candidates)
            phone = self.parcel_phone.get(link.parcel_id)
            q = Query(number, link.parcel_id, carrier, phone, "domestic")
            if carrier is None:
                self.errors.append(
                    NumberError(
                        number,
                        link.parcel_id,
                        "toolkit",
                        CARRIER_UNKNOWN,
                        f"{link.from_number} was handed over under last-mile number {number}, "
                        "but its carrier is not named and cannot be told from the number: "
                        "ask the international carrier which domestic carrier took it",
                    )
                )
                continue
            todo.append(q)
        return todo

    # ------------------------------------------------------------- output
    def _sandboxed(self) -> bool:
        return any(c.sandbox for c in self.clients.values())

    def _events(self) -> pd.DataFrame:
        if self.frames:
            events = pd.concat(self.frames, ignore_index=True, sort=False)
            events = events.sort_values(["parcel_id", "time_utc"], kind="stable")
            events = events.reset_index(drop=True)
        else:
            events = empty_events()
            for col in ("linked_number", "linked_carrier"):
                events[col] = pd.Series(dtype="string")
        extra = [c for c in events.columns if c not in EVENT_COLUMNS]
        events = events[[*EVENT_COLUMNS, *extra]]
        events.attrs.update(self._attrs())
        return events

    def _errors(self) -> pd.DataFrame:
        rows = []
        for e in self.errors:
            message = e.message
            hint = self.hints.get(e.tracking_number)
            if hint and e.error in (NOT_FOUND, INVALID_NUMBER, CARRIER_UNKNOWN):
                message = f"{message.rstrip('.')}. {hint}"
            rows.append(
                {
                    "tracking_number": _safe(e.tracking_number),
                    "parcel_id": _safe(e.parcel_id),
                    "service": e.service,
                    "error": e.error,
                    "message": _safe(message),
                }
            )
        errors = pd.DataFrame(rows, columns=list(ERROR_COLUMNS)).astype("string")
        errors.attrs.update(self._attrs())
        return errors

    def _attrs(self) -> dict[str, Any]:
        return {
            "sandbox": self._sandboxed(),
            "sources": sorted(c.source for c in self.clients.values()),
            "requests": self.result.requests,
            "from_cache": self.result.from_cache,
        }


def _safe(value: Any) -> Any:
    """Text as the errors table can hold it (input such as a lone surrogate replaced)."""
    return scrub(value)[0] if isinstance(value, str) else value


def _norm(number: Any) -> str:
    return parse(number).normalized or str(number)


def _domestic_guess(candidates: Iterable[str]) -> str | None:
    for c in candidates:
        if c in DOMESTIC_CARRIERS or (CARRIERS.get(c) and CARRIERS[c].kuaidi100):
            return c
    return None


def _carrier_name(code: str) -> str:
    return carrier_label(code)


def _plausible(tn) -> list[str]:
    """The number's candidates whose format it fits (check digit included)."""
    return list(tn.plausible)


def _ambiguous(tn) -> bool:
    """A number whose format fits more than one carrier (S10 numbers name their operator)."""
    return tn.format != "s10" and len(_plausible(tn)) > 1


def _items(numbers: Any) -> Iterable[dict]:
    """Input rows as dicts with number, parcel_id, carrier, phone, leg."""
    if isinstance(numbers, str):
        yield {"number": numbers}
        return
    if isinstance(numbers, pd.DataFrame):
        yield from _parcel_items(numbers)
        return
    if numbers is None or not isinstance(numbers, Iterable):
        raise InputError(
            f"expected a tracking number, a list of them or a parcels table, "
            f"got {type(numbers).__name__}",
            "numbers",
        )
    for i, n in enumerate(numbers, start=1):
        if not isinstance(n, str):
            raise InputError(
                f"item {i} is {type(n).__name__} {n!r}, not a tracking number",
                "numbers",
                "Give tracking numbers as text",
            )
        yield {"number": n}


def _parcel_items(df: pd.DataFrame) -> Iterable[dict]:
    number_cols = [c for c in ("international_number", "domestic_number") if c in df.columns]
    if not number_cols and "tracking_number" not in df.columns:
        raise MissingColumnsError(["international_number"], "parcels", "track")

    def cell(row, col):
        value = row.get(col)
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return None
        value = str(value).strip()
        return value or None

    for pos, row in enumerate(df.to_dict("records"), start=1):
        parcel_id = cell(row, "parcel_id")
        phone = cell(row, "recipient_phone")
        intl = cell(row, "international_number") or cell(row, "tracking_number")
        dom = cell(row, "domestic_number")
        if intl is None and dom is None:
            yield {"number": "", "parcel_id": parcel_id or f"row {pos}"}
            continue
        shipped = row.get("shipped_at")
        shipped = None if shipped is None or pd.isna(shipped) else shipped
        # the international number first; only the domestic one names its leg
        legs = ((intl, "international_carrier", {}), (dom, "domestic_carrier", {"leg": "domestic"}))
        for number, carrier_column, leg in legs:
            if number is not None:
                yield {
                    "number": number,
                    "parcel_id": parcel_id,
                    "carrier": cell(row, carrier_column),
                    "phone": phone,
                    **leg,
                    "shipped_at": shipped,
                }


def numbers_with_scans(numbers: Iterable[str], **options: Any) -> set[str]:
    """Which of these numbers a carrier service has scans for (one tracking call for all).

    Used to check suggested corrections of a mistyped number: 40 numbers go to 17TRACK in
    one request. `options` are those of track(); last-mile links are not followed.
    """
    wanted = [n for n in dict.fromkeys(numbers) if n]
    if not wanted:
        return set()
    events, _ = track(wanted, **{"progress": False, **options, "follow": False})
    if events.empty:
        return set()
    return set(events["tracking_number"].astype(str))


# At package level `toolkit.track` is the function track(); this makes the documented name
# toolkit.tracking.track.detect_carrier work there as well as in the module.
track.detect_carrier = detect_carrier  # type: ignore[attr-defined]
