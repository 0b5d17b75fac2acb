"""17TRACK API v2.2: register numbers, then read their events with gettrackinfo."""

from __future__ import annotations

from typing import Any, ClassVar

from toolkit.keys import Secret
from toolkit.tracking.carriers.base import (
    AUTH,
    CARRIER_UNKNOWN,
    INVALID_NUMBER,
    MALFORMED,
    NOT_FOUND,
    QUOTA,
    RATE_LIMITED,
    SERVER_ERROR,
    Link,
    Parsed,
    Query,
    RequestFailed,
    Retryable,
    ServiceClient,
    carrier_from_name,
    guess_carrier,
    provider_milestone,
    text,
)

HOST = "https://api.17track.net"
PATH = "/track/v2.2"
RATE = 3.0  # requests a second per key, as 17TRACK publishes
BATCH = 40  # numbers a request, as 17TRACK publishes

ALREADY_REGISTERED = -18019901
# 17TRACK error codes -> (error kind, what to do).
ERRORS: dict[int, tuple[str, str]] = {
    -18010001: (
        AUTH,
        "17TRACK does not accept requests from this IP address: add it to the "
        "whitelist in the 17TRACK dashboard",
    ),
    -18010002: (AUTH, "17TRACK rejected the key: check SEVENTEENTRACK_API_KEY"),
    -18010004: (AUTH, "the 17TRACK account is disabled: contact 17TRACK"),
    -18010005: (AUTH, "17TRACK refused access with this key: check SEVENTEENTRACK_API_KEY"),
    -18010003: (SERVER_ERROR, "17TRACK had an internal error: run again later"),
    -18010011: (INVALID_NUMBER, "17TRACK says the number is not valid: check it for typos"),
    -18010012: (
        INVALID_NUMBER,
        "17TRACK says the number's format is invalid: check it for "
        "typos (5 to 50 letters and digits)",
    ),
    -18010013: (INVALID_NUMBER, "17TRACK rejected the submitted number: check it for typos"),
    -18019902: (NOT_FOUND, "17TRACK has not registered this number: run again to register it"),
    -18019903: (
        CARRIER_UNKNOWN,
        "17TRACK cannot tell which carrier the number belongs to: "
        "check the number, or give the carrier (international_carrier column)",
    ),
    -18019907: (RATE_LIMITED, "17TRACK says too many requests: run again in a minute"),
    -18019908: (
        QUOTA,
        "the 17TRACK account has no tracking quota left: top it up or wait for the next period",
    ),
    -18019909: (
        NOT_FOUND,
        "17TRACK has no tracking information for this number yet: try again in a few hours",
    ),
}

# Known 17TRACK carrier keys (from their carrier list) for carriers the toolkit knows.
# The list is https://res.17track.net/asset/carrier/info/apicarrier.all.json (records
# {"key": 21051, "_name": "USPS", "_country_iso": "US", ...}). Keys of the Chinese
# express companies (SF, YTO, ZTO, STO, Yunda, JD) are left out until read from that list:
# a key the toolkit cannot name is read as "carrier not known" (detection answers []).
CARRIER_KEYS: dict[str, int] = {
    "usps": 21051,
    "royalmail": 11031,
    "deutschepost": 7041,
    "canadapost": 3041,
    "auspost": 1151,
    "japanpost": 10021,
    "koreapost": 11051,
    "yunexpress": 190008,
    "ems": 3013,
    "laposte": 6051,
    "chinapost": 3011,
    "dhl": 100001,
    "ups": 100002,
    "fedex": 100003,
}
_BY_KEY = {v: k for k, v in CARRIER_KEYS.items()}
PROVIDER = "17track"  # its name in toolkit/tracking/data/status_codes.csv


def _items(value: Any) -> list[dict]:
    """The objects of a JSON list (anything else in it, or a non-list, is left out)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _object(value: Any) -> dict:
    """A JSON object, or {} for anything else."""
    return value if isinstance(value, dict) else {}


def milestone_for(sub_status: Any, stage: Any) -> str:
    """Milestone a 17TRACK event's codes imply (toolkit/tracking/data/status_codes.csv), or '' when
    they are too generic; the sub-status first, the event stage when it says nothing."""
    return provider_milestone(PROVIDER, sub_status, stage)


class SeventeenTrackClient(ServiceClient):
    """17TRACK: international carriers, 40 numbers a request, 3 requests a second."""

    name: ClassVar[str] = "17track"
    title: ClassVar[str] = "17TRACK"
    default_host: ClassVar[str] = HOST
    default_rate: ClassVar[float] = RATE
    batch_size: ClassVar[int] = BATCH
    key_hint: ClassVar[str] = "Check SEVENTEENTRACK_API_KEY"

    def __init__(self, key: Secret | None = None, **options: Any):
        (self._key,) = self._hold_keys((key,), options, "SEVENTEENTRACK_API_KEY")
        super().__init__(**options)

    def _post(self, endpoint: str, body: list[dict]) -> dict:
        _status, data = self.request(
            "POST",
            f"{PATH}/{endpoint}",
            json=body,
            headers={"17token": self._key.reveal()},
            check=self._check,
        )
        return data["data"]

    def _check(self, status: int, body: Any) -> None:
        if not isinstance(body, dict) or "code" not in body:
            raise Retryable(MALFORMED, "17TRACK sent an answer without its 'code' field")
        code = body.get("code")
        if code != 0:
            kind, hint = ERRORS.get(code, (SERVER_ERROR, "17TRACK reported an error"))
            message = f"{hint} (17TRACK code {code})"
            if kind in (SERVER_ERROR, RATE_LIMITED):
                raise Retryable(kind, message)
            raise RequestFailed(kind, message)
        data = body.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("accepted", []), list):
            raise Retryable(MALFORMED, "17TRACK sent an answer without its 'data' lists")

    def _entry(self, q: Query) -> dict:
        entry: dict[str, Any] = {"number": q.number}
        if q.carrier in CARRIER_KEYS:
            entry["carrier"] = CARRIER_KEYS[q.carrier]
        return entry

    def fetch(self, batch: list[Query]) -> dict[str, Any]:
        by_number = {q.number: q for q in batch}
        answers: dict[str, Any] = {}
        reg = self._post("register", [self._entry(q) for q in batch])
        # An item that is not an object cannot be matched to a number: it is skipped, and
        # its number (if any) is reported as not mentioned, while the others are read.
        for item in _items(reg.get("rejected")):
            number = text(item.get("number"))
            err = _object(item.get("error"))
            if number in by_number and err.get("code") != ALREADY_REGISTERED:
                answers[number] = self._rejected(by_number[number], err)
        ready = [q for q in batch if q.number not in answers]
        if not ready:
            return answers
        info = self._post("gettrackinfo", [self._entry(q) for q in ready])
        for item in _items(info.get("accepted")):
            number = text(item.get("number"))
            if number in by_number and number not in answers:
                answers[number] = item
        for item in _items(info.get("rejected")):
            number = text(item.get("number"))
            if number in by_number and number not in answers:
                answers[number] = self._rejected(by_number[number], _object(item.get("error")))
        return answers

    # ------------------------------------------------------------ detection
    # 17TRACK has no separate detection endpoint: register without a carrier and it assigns
    # one (auto_detection is on by default), answering {"origin": 1, "number": ...,
    # "carrier": 21051} in data.accepted; "origin" 1 is auto-detected, 2 the code given was
    # confirmed, 3 a guess. A number it cannot place is rejected with -18019903. (17TRACK
    # API v2.2 documentation, register; the recorded answer is
    # tests/fixtures/carriers/seventeentrack_register.json.) Registering spends one unit of
    # the tracking quota, as tracking the number would; a number registered before is
    # rejected with -18019901 and its carrier is read from gettrackinfo, which is free.
    def ask_detection(self, number: str) -> Any:
        """Register the number without a carrier: the carrier 17TRACK assigns, as an answer."""
        reg = self._post("register", [{"number": number}])
        for item in reg.get("accepted") or []:
            if text((item or {}).get("number")).upper() == number.upper():
                return {
                    "number": number,
                    "carrier": item.get("carrier"),
                    "origin": item.get("origin"),
                }
        for item in reg.get("rejected") or []:
            if text((item or {}).get("number")).upper() != number.upper():
                continue
            code = ((item or {}).get("error") or {}).get("code")
            if code == ALREADY_REGISTERED:
                break
            kind, hint = ERRORS.get(code, (SERVER_ERROR, "17TRACK rejected the number"))
            if kind in (CARRIER_UNKNOWN, INVALID_NUMBER):  # 17TRACK does not know it
                return {"number": number, "carrier": None, "error": code}
            raise RequestFailed(kind, f"{hint} (17TRACK code {code})")
        info = self._post("gettrackinfo", [{"number": number}])
        for item in info.get("accepted") or []:
            if text((item or {}).get("number")).upper() == number.upper():
                return {"number": number, "carrier": item.get("carrier"), "origin": None}
        return {"number": number, "carrier": None}

    def read_detection(self, payload: Any) -> list[str]:
        code = _BY_KEY.get(payload.get("carrier"))
        return [code] if code else []

    def _rejected(self, q: Query, err: dict):
        code = err.get("code")
        kind, hint = ERRORS.get(code, (SERVER_ERROR, "17TRACK rejected the number"))
        return self.error(q, kind, f"{hint} (17TRACK code {code})")

    def parse(self, query: Query, payload: Any) -> Parsed:
        info = payload.get("track_info") or {}
        providers = (info.get("tracking") or {}).get("providers") or []
        fallback = (
            query.carrier or _BY_KEY.get(payload.get("carrier")) or guess_carrier(query.number)
        )
        rows = []
        for prov in providers:
            p = prov.get("provider") or {}
            carrier = (
                _BY_KEY.get(p.get("key"))
                or carrier_from_name(p.get("name"))
                or carrier_from_name(p.get("alias"))
                or fallback
                or "unknown"
            )
            for ev in prov.get("events") or []:
                address = ev.get("address") or {}
                raw_time = ev.get("time_raw") or {}
                local = ev.get("time_iso") or " ".join(
                    text(raw_time.get(k)) for k in ("date", "time") if raw_time.get(k)
                )
                rows.append(
                    self.row(
                        query,
                        carrier=carrier,
                        time_utc=ev.get("time_utc") or None,
                        time_local=local or None,
                        location=text(ev.get("location"))
                        or ", ".join(
                            text(address.get(k))
                            for k in ("city", "state", "country")
                            if address.get(k)
                        ),
                        description=text(ev.get("description")),
                        raw_status=text(ev.get("sub_status") or ev.get("stage")),
                        status_milestone=milestone_for(ev.get("sub_status"), ev.get("stage")),
                    )
                )
        parsed = Parsed(events=rows)
        misc = info.get("misc_info") or {}
        local_number = text(misc.get("local_number")).replace(" ", "")
        if local_number and local_number.upper() != query.number.upper():
            parsed.links.append(
                Link(
                    query.parcel,
                    query.number,
                    local_number,
                    carrier_from_name(misc.get("local_provider")),
                )
            )
        if not rows:
            status = text((info.get("latest_status") or {}).get("status")) or "NotFound"
            parsed.error = self.error(
                query,
                NOT_FOUND,
                f"17TRACK has no scans for this number yet (status {status}). A number "
                "registered just now needs a few minutes; otherwise the carrier does not know "
                "it: check the number with the sender",
            )
        return parsed
