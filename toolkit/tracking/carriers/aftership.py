"""AfterShip Tracking API (dated version 2025-01): trackings, checkpoints, last mile."""

from __future__ import annotations

import re
from typing import Any, ClassVar

import pandas as pd

from toolkit.keys import Secret
from toolkit.tracking.carriers.base import (
    AUTH,
    CARRIER_UNKNOWN,
    INVALID_NUMBER,
    MALFORMED,
    NOT_FOUND,
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

VERSION = "2025-01"
HOST = "https://api.aftership.com"
PATH = f"/tracking/{VERSION}"
RATE = 6.0  # GET /trackings allows 6 requests a second (POST /trackings 20, detect 3)
BATCH = 25  # numbers per GET /trackings?tracking_numbers=... request

# AfterShip courier slug -> toolkit carrier code.
SLUGS: dict[str, str] = {
    "usps": "usps",
    "royal-mail": "royalmail",
    "deutsch-post": "deutschepost",
    "dhl-germany": "deutschepost",
    "japan-post": "japanpost",
    "kpost": "koreapost",
    "korea-post": "koreapost",
    "australia-post": "auspost",
    "canada-post": "canadapost",
    "laposte": "laposte",
    "la-poste-colissimo": "laposte",
    "china-post": "chinapost",
    "china-ems": "ems",
    "ups": "ups",
    "fedex": "fedex",
    "dhl": "dhl",
    "yunexpress": "yunexpress",
    "sf-express": "sf",
    "yto": "yto",
    "zto-express": "zto",
    "sto": "sto",
    "yunda": "yunda",
    "jd": "jd",
    "jd-logistics": "jd",
}
CODES = {code: slug for slug, code in reversed(list(SLUGS.items()))}

ERRORS: dict[int, tuple[str, str]] = {
    4005: (INVALID_NUMBER, "AfterShip says the number is not valid: check it for typos"),
    4017: (INVALID_NUMBER, "AfterShip says the number's format is invalid: check it for typos"),
    4010: (CARRIER_UNKNOWN, "AfterShip does not know the carrier given: check the carrier"),
    4011: (INVALID_NUMBER, "this carrier needs more than the number (see AfterShip's message)"),
    4012: (
        CARRIER_UNKNOWN,
        "AfterShip cannot tell which carrier the number belongs to: check "
        "the number, or give the carrier (international_carrier column)",
    ),
}
PROVIDER = "aftership"  # its name in toolkit/tracking/data/status_codes.csv


# Zone of a checkpoint's country when its time comes without an offset (one-zone countries).
COUNTRY_ZONES: dict[str, str] = {
    "CHN": "Asia/Shanghai",
    "HKG": "Asia/Hong_Kong",
    "JPN": "Asia/Tokyo",
    "KOR": "Asia/Seoul",
    "GBR": "Europe/London",
    "DEU": "Europe/Berlin",
    "FRA": "Europe/Paris",
}
_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")


def local_to_utc(value: str, country: Any) -> str | None:
    """UTC ISO time of an offset-less checkpoint time in its country's zone (None if unsure)."""
    zone = COUNTRY_ZONES.get(text(country).upper())
    if not zone or not value or _OFFSET.search(value):
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        return None
    if stamp is pd.NaT or stamp.tzinfo is not None:
        return None
    local = stamp.tz_localize(zone, ambiguous=True, nonexistent="shift_forward")
    return local.tz_convert("UTC").isoformat()


def _scans(tracking: dict) -> int:
    """How many checkpoints a tracking holds (0 when its list is missing or not a list)."""
    checkpoints = tracking.get("checkpoints")
    return len(checkpoints) if isinstance(checkpoints, list) else 0


def milestone_for(subtag: Any, tag: Any) -> str:
    """Milestone an AfterShip checkpoint's codes imply (toolkit/tracking/data/status_codes.csv), or ''
    when they are too generic; the subtag first, the tag when it says nothing."""
    return provider_milestone(PROVIDER, subtag, tag)


class AfterShipClient(ServiceClient):
    """AfterShip: reads existing trackings in batches, creates the missing ones."""

    name: ClassVar[str] = "aftership"
    title: ClassVar[str] = "AfterShip"
    default_host: ClassVar[str] = HOST
    default_rate: ClassVar[float] = RATE
    batch_size: ClassVar[int] = BATCH
    key_hint: ClassVar[str] = "Check AFTERSHIP_API_KEY"

    def __init__(self, key: Secret | None = None, **options: Any):
        (self._key,) = self._hold_keys((key,), options, "AFTERSHIP_API_KEY")
        super().__init__(**options)

    def _call(self, method: str, path: str, **kwargs: Any) -> tuple[int, dict]:
        return self.request(
            method,
            f"{PATH}{path}",
            headers={"as-api-key": self._key.reveal()},
            check=self._check,
            **kwargs,
        )

    def _check(self, status: int, body: Any) -> None:
        if not isinstance(body, dict) or not isinstance(body.get("meta"), dict):
            raise Retryable(MALFORMED, "AfterShip sent an answer without its 'meta' field")
        code = body["meta"].get("code")
        if code in (401, 403):
            raise RequestFailed(AUTH, "AfterShip refused the API key: check AFTERSHIP_API_KEY")
        if code == 429:
            raise Retryable(RATE_LIMITED, "AfterShip said too many requests")
        if isinstance(code, int) and 500 <= code < 600:
            raise Retryable(SERVER_ERROR, f"AfterShip reported an error (meta code {code})")

    # ------------------------------------------------------------ detection
    # POST /tracking/2025-01/couriers/detect with {"tracking_number": ...} (the request
    # model is the body itself, as in AfterShip's tracking SDKs' DetectCourierRequest; the
    # old v4 API wrapped it in "tracking"). The answer is {"meta": {"code": 200, ...},
    # "data": {"total": 1, "couriers": [{"slug": "usps", "name": "USPS", ...}]}}, most
    # likely first; an unrecognised number gets total 0 and an empty list. A number that is
    # not a valid tracking number is refused with meta code 4005 (HTTP 400). AfterShip
    # allows 3 detect requests a second. Recorded answer:
    # tests/fixtures/carriers/aftership_detect_courier.json.
    def ask_detection(self, number: str) -> Any:
        """AfterShip's couriers/detect answer for one number."""
        _status, body = self._call("POST", "/couriers/detect", json={"tracking_number": number})
        code = body["meta"].get("code")
        if code == 200:
            return body
        if code in ERRORS:  # the number is not one AfterShip can place
            return {"meta": body["meta"], "data": {"total": 0, "couriers": []}}
        raise RequestFailed(SERVER_ERROR, self._meta_text(body))

    def _slugs(self, payload: Any) -> list[str]:
        couriers = (payload.get("data") or {}).get("couriers") or []
        return [text(c.get("slug")) for c in couriers if text(c.get("slug"))]

    def read_detection(self, payload: Any) -> list[str]:
        return [SLUGS.get(slug, "") for slug in self._slugs(payload)]

    def detect_couriers(self, number: str) -> list[str]:
        """Toolkit carrier codes (or AfterShip slugs when unknown) that may carry this number."""
        return [SLUGS.get(s, s) for s in self._slugs(self.ask_detection(number))]

    def _get(self, numbers: list[str]) -> dict[str, dict]:
        _status, body = self._call(
            "GET", "/trackings", params={"tracking_numbers": ",".join(numbers), "limit": 200}
        )
        if body["meta"].get("code") != 200:
            raise RequestFailed(SERVER_ERROR, self._meta_text(body))
        found: dict[str, dict] = {}
        for t in (body.get("data") or {}).get("trackings") or []:
            if not isinstance(t, dict):  # unreadable item: its number is reported as missing
                continue
            number = text(t.get("tracking_number")).upper()
            best = found.get(number)
            if best is None or _scans(t) > _scans(best):
                found[number] = t
        return found

    @staticmethod
    def _meta_text(body: dict) -> str:
        meta = body.get("meta") or {}
        return f"AfterShip: {text(meta.get('message'))} (meta code {meta.get('code')})"

    def fetch(self, batch: list[Query]) -> dict[str, Any]:
        found = self._get([q.number for q in batch])
        answers: dict[str, Any] = {}
        for q in batch:
            if q.number.upper() in found:
                answers[q.number] = found[q.number.upper()]
                continue
            answers[q.number] = self._create(q)
        return answers

    def _create(self, q: Query):
        body: dict[str, Any] = {"tracking_number": q.number}
        if q.carrier in CODES:
            body["slug"] = CODES[q.carrier]
        try:
            _status, answer = self._call("POST", "/trackings", json=body)
        except RequestFailed as exc:
            return self.error(q, exc.kind, exc.message)
        code = answer["meta"].get("code")
        if code in (200, 201) and isinstance(answer.get("data"), dict):
            data = answer["data"]
            return data.get("tracking") if isinstance(data.get("tracking"), dict) else data
        if code == 4003:  # already on the account but not returned by the filter: ask once more
            try:
                again = self._get([q.number])
            except RequestFailed as exc:
                return self.error(q, exc.kind, exc.message)
            if q.number.upper() in again:
                return again[q.number.upper()]
            return self.error(q, NOT_FOUND, "AfterShip holds this number but did not return it")
        kind, hint = ERRORS.get(code, (SERVER_ERROR, "AfterShip did not accept the number"))
        return self.error(q, kind, f"{hint}. {self._meta_text(answer)}")

    def parse(self, query: Query, payload: Any) -> Parsed:
        slug_carrier = SLUGS.get(text(payload.get("slug")))
        fallback = slug_carrier or query.carrier or guess_carrier(query.number) or "unknown"
        rows = []
        for cp in payload.get("checkpoints") or []:
            location = text(cp.get("location")) or ", ".join(
                text(cp.get(k)) for k in ("city", "state", "country_region") if cp.get(k)
            )
            local = text(cp.get("checkpoint_time"))
            utc = local_to_utc(local, cp.get("country_region"))
            rows.append(
                self.row(
                    query,
                    carrier=SLUGS.get(text(cp.get("slug"))) or fallback,
                    time_utc=utc,
                    tz_assumed=utc is not None,
                    time_local=local or None,
                    location=location,
                    description=text(cp.get("message")),
                    raw_status=text(cp.get("subtag") or cp.get("tag")),
                    status_milestone=milestone_for(cp.get("subtag"), cp.get("tag")),
                )
            )
        parsed = Parsed(events=rows)
        last = payload.get("last_mile") or {}
        number = text(last.get("tracking_number")).replace(" ", "")
        if number and number.upper() != query.number.upper():
            carrier = SLUGS.get(text(last.get("slug"))) or carrier_from_name(last.get("slug"))
            parsed.links.append(Link(query.parcel, query.number, number, carrier))
        if not rows:
            tag = text(payload.get("tag")) or "Pending"
            parsed.error = self.error(
                query,
                NOT_FOUND,
                f"AfterShip has no checkpoints for this number yet (tag {tag}). A tracking "
                "created just now needs a few minutes; otherwise the carrier does not know it: "
                "check the number with the sender",
            )
        return parsed
