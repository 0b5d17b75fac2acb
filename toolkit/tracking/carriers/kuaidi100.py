"""Kuaidi100 real-time query (poll/query.do): events of China domestic carriers."""

from __future__ import annotations

import hashlib
import json
from typing import Any, ClassVar

from toolkit.keys import Secret
from toolkit.model import CARRIERS
from toolkit.privacy import phone_last4
from toolkit.tracking.carriers.base import (
    AUTH,
    CARRIER_UNKNOWN,
    MALFORMED,
    NEEDS_PHONE,
    NOT_FOUND,
    QUOTA,
    SERVER_ERROR,
    Parsed,
    Query,
    RequestFailed,
    Retryable,
    ServiceClient,
    text,
)
from toolkit.tracking.phrases import status_milestone

HOST = "https://poll.kuaidi100.com"
PATH = "/poll/query.do"
# Kuaidi100 publishes no per-second limit for this endpoint; a cautious default.
RATE = 5.0
# Intelligent number recognition (智能单号识别). Kuaidi100's document
# (api.kuaidi100.com/document/5f1106542977d50a94e10241) gives the address
# http://www.kuaidi100.com/autonumber/auto with the fields `num` and `key`, sent as
# application/x-www-form-urlencoded; its official SDKs (kuaidi100-api, ApiInfoConstant
# AUTO_NUM_URL) put them in the query string instead. The toolkit posts them as a form over
# HTTPS so the key never appears in a URL (and so in no request log). The answer is a JSON
# list, most likely company first: [{"lengthPre": 15, "comCode": "yuantong", "name": ...}]
# (the SDK's AutoNumResp also names `noPre` and `noCount`); an unrecognised number gets [].
# Errors come as {"returnCode": "701", "message": "key缺失", "result": false}: 601 the key
# is expired or not enabled for the service, 701 the key is missing, 201 not a valid number.
AUTONUMBER_HOST = "https://www.kuaidi100.com"
AUTONUMBER_PATH = "/autonumber/auto"
# Kuaidi100 company code -> toolkit carrier code.
COMPANIES: dict[str, str] = {c.kuaidi100: code for code, c in CARRIERS.items() if c.kuaidi100}
PROVIDER = "kuaidi100"  # its name in toolkit/tracking/data/status_codes.csv


def sign(param: str, key: str, customer: str) -> str:
    """Kuaidi100 request signature: upper-case hex MD5 of param + key + customer."""
    return hashlib.md5((param + key + customer).encode("utf-8")).hexdigest().upper()


def phone_tail(phone: Any) -> str:
    """The last four digits of a phone number ('' if it has fewer)."""
    return phone_last4(text(phone)) or ""


class Kuaidi100Client(ServiceClient):
    """Kuaidi100: one number a request, signed with the key and customer id."""

    name: ClassVar[str] = "kuaidi100"
    title: ClassVar[str] = "Kuaidi100"
    default_host: ClassVar[str] = HOST
    default_rate: ClassVar[float] = RATE
    batch_size: ClassVar[int] = 1
    key_hint: ClassVar[str] = "Check KUAIDI100_KEY and KUAIDI100_CUSTOMER"

    def __init__(self, key: Secret | None = None, customer: Secret | None = None, **options: Any):
        self._key, self._customer = self._hold_keys(
            (key, customer), options, "KUAIDI100_KEY and KUAIDI100_CUSTOMER"
        )
        super().__init__(**options)

    def cache_key(self, query: Query) -> str:
        return f"{self._com(query) or '?'}:{query.number}"

    @staticmethod
    def _com(query: Query) -> str | None:
        carrier = CARRIERS.get(query.carrier or "")
        return carrier.kuaidi100 if carrier else None

    def form(self, query: Query) -> dict[str, str]:
        """The signed form fields for one query."""
        param = json.dumps(
            {
                "com": self._com(query),
                "num": query.number,
                "phone": phone_tail(query.phone),
                "resultv2": "1",
                "show": "0",
                "order": "desc",
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        customer = self._customer.reveal()
        return {
            "customer": customer,
            "sign": sign(param, self._key.reveal(), customer),
            "param": param,
        }

    def fetch(self, batch: list[Query]) -> dict[str, Any]:
        (q,) = batch
        carrier = CARRIERS.get(q.carrier or "")
        if carrier is None or not carrier.kuaidi100:
            known = ", ".join(c for c, v in CARRIERS.items() if v.kuaidi100 and v.leg == "domestic")
            return {
                q.number: self.error(
                    q,
                    CARRIER_UNKNOWN,
                    f"no China domestic carrier is known for this number (carrier "
                    f"{q.carrier or 'unknown'!s}); give domestic_carrier as one of {known}",
                )
            }
        if carrier.needs_phone and not phone_tail(q.phone):
            return {
                q.number: self.error(
                    q,
                    NEEDS_PHONE,
                    f"{carrier.name} ({carrier.name_zh}) only shows its scans with the last four "
                    "digits of the recipient's phone: fill recipient_phone in the parcels table "
                    "or pass phones={number: phone}",
                )
            }
        _status, body = self.request("POST", PATH, data=self.form(q), check=self._check)
        code = text(body.get("returnCode"))
        if code == "408":
            if phone_tail(q.phone):
                msg = (
                    f"{carrier.name} did not accept the phone digits given for this parcel: "
                    "check the recipient's phone number (the last four digits are sent)"
                )
            else:
                msg = (
                    f"{carrier.name} asks for the last four digits of the recipient's phone: "
                    "fill recipient_phone in the parcels table or pass phones={number: phone}"
                )
            return {q.number: self.error(q, NEEDS_PHONE, msg)}
        return {q.number: body}

    # ------------------------------------------------------------ detection
    def ask_detection(self, number: str) -> Any:
        """Kuaidi100 autonumber: the companies whose numbers look like this one."""
        live = self.base_url == HOST  # a sandbox or local server answers on its own host
        url = AUTONUMBER_HOST + AUTONUMBER_PATH if live else AUTONUMBER_PATH
        _status, body = self.request(
            "POST", url, data={"num": number, "key": self._key.reveal()}, check=self._check_auto
        )
        return body

    def read_detection(self, payload: Any) -> list[str]:
        if isinstance(payload, dict):  # returnCode 201: not a valid number, so none known
            return []
        return [COMPANIES.get(text(item.get("comCode")).lower(), "") for item in payload]

    def _check_auto(self, status: int, body: Any) -> None:
        if isinstance(body, list):
            if not all(isinstance(item, dict) for item in body):
                raise Retryable(MALFORMED, "Kuaidi100 sent a recognition list it cannot read")
            return
        if not isinstance(body, dict):
            raise Retryable(MALFORMED, "Kuaidi100 sent a recognition answer that is not JSON")
        code = text(body.get("returnCode"))
        message = text(body.get("message"))
        if code == "201":
            return
        if code == "601":
            raise RequestFailed(
                QUOTA,
                "the Kuaidi100 key has expired or is not enabled for number recognition "
                "(returnCode 601): top up the account",
            )
        if code in ("701", "503"):
            raise RequestFailed(
                AUTH, f"Kuaidi100 did not accept the key (returnCode {code}): check KUAIDI100_KEY"
            )
        if not code:
            raise Retryable(MALFORMED, "Kuaidi100 sent a recognition answer without a list")
        if code in ("501", "502"):
            raise Retryable(SERVER_ERROR, f"Kuaidi100 is busy (returnCode {code}: {message})")
        raise RequestFailed(SERVER_ERROR, f"Kuaidi100 answered returnCode {code} ({message})")

    def _check(self, status: int, body: Any) -> None:
        if not isinstance(body, dict):
            raise Retryable(MALFORMED, "Kuaidi100 sent an answer that is not a JSON object")
        code = text(body.get("returnCode"))
        if not code:
            if not isinstance(body.get("data", []), list):
                raise Retryable(MALFORMED, "Kuaidi100 sent an answer without its data list")
            return
        message = text(body.get("message"))
        if code in ("501", "502"):
            raise Retryable(SERVER_ERROR, f"Kuaidi100 is busy (returnCode {code}: {message})")
        if code == "503":
            raise RequestFailed(
                AUTH,
                "Kuaidi100 rejected the request signature (returnCode 503): "
                "check KUAIDI100_KEY and KUAIDI100_CUSTOMER",
            )
        if code == "601":
            raise RequestFailed(
                QUOTA,
                "the Kuaidi100 key has expired or has no queries left (returnCode 601): "
                "top up the account",
            )

    def parse(self, query: Query, payload: Any) -> Parsed:
        code = text(payload.get("returnCode"))
        carrier = CARRIERS.get(query.carrier or "")
        who = f"{carrier.name} ({carrier.name_zh})" if carrier else "the carrier"
        if code == "500":
            return Parsed(
                error=self.error(
                    query,
                    NOT_FOUND,
                    f"{who} has no record of this number yet (Kuaidi100 returnCode 500). "
                    "Domestic carriers publish scans hours after a handover: try again later, "
                    "and check that the number and carrier are right",
                )
            )
        if code == "400":
            return Parsed(
                error=self.error(
                    query,
                    CARRIER_UNKNOWN,
                    f"Kuaidi100 did not accept the query for {who} (returnCode 400: "
                    f"{text(payload.get('message'))}): check the carrier of this number",
                )
            )
        if code:
            return Parsed(
                error=self.error(
                    query,
                    SERVER_ERROR,
                    f"Kuaidi100 answered returnCode {code} ({text(payload.get('message'))})",
                )
            )
        state = text(payload.get("state"))
        rows = []
        for i, ev in enumerate(payload.get("data") or []):
            status = text(ev.get("status"))
            raw = status or (f"state {state}" if i == 0 and state else "")
            opinion = status_milestone(PROVIDER, raw)
            rows.append(
                self.row(
                    query,
                    carrier=query.carrier,
                    time_local=text(ev.get("time") or ev.get("ftime")) or None,
                    location=text(ev.get("location") or ev.get("areaName")),
                    description=text(ev.get("context")),
                    raw_status=raw,
                    status_milestone=opinion,
                )
            )
        if not rows:
            return Parsed(
                error=self.error(
                    query,
                    NOT_FOUND,
                    f"{who} shows no scans for this number yet: try again later",
                )
            )
        return Parsed(events=rows)
