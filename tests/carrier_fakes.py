"""Fake carrier services for the client tests: answer httpx requests from the recorded fixtures."""

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs

import httpx

FIXTURES = Path(__file__).parent / "fixtures" / "carriers"


def load(name: str) -> dict:
    """One recorded case: {'request': ..., 'response': {'status', 'headers', 'json'}}."""
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def reply(name: str) -> httpx.Response:
    """The recorded response of a case as an httpx.Response."""
    r = load(name)["response"]
    return httpx.Response(r["status"], headers=r.get("headers", {}), json=r["json"])


class FakeClock:
    """Monotonic and wall clock in one; sleeping advances it instantly."""

    def __init__(self, start: float = 1_000.0):
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


class Recorder:
    """Collects the requests a fake service saw."""

    def __init__(self):
        self.requests: list[httpx.Request] = []
        self._lock = threading.Lock()

    def add(self, request: httpx.Request) -> None:
        with self._lock:
            self.requests.append(request)

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


class Fake17Track(Recorder):
    """17TRACK v2.2 register/gettrackinfo answering from the fixtures.

    Numbers in the fixtures get their recorded answer; any other number is accepted and
    gets a copy of the recorded in-transit parcel under its own number (without the link).
    """

    def __init__(self, not_found: tuple[str, ...] = ()):
        super().__init__()
        self.not_found = set(not_found)
        reg = load("seventeentrack_register")["response"]["json"]["data"]
        info = load("seventeentrack_gettrackinfo")["response"]["json"]["data"]
        self.register_rejected = {r["number"]: r for r in reg["rejected"]}
        self.accepted = {a["number"]: a for a in info["accepted"]}
        self.info_rejected = {r["number"]: r for r in info["rejected"]}
        template = copy.deepcopy(self.accepted["RR205774935DE"])
        self.template = template

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.add(request)
        numbers = [e["number"] for e in json.loads(request.content)]
        if request.url.path.endswith("/register"):
            accepted, rejected = [], []
            for n in numbers:
                if n in self.register_rejected:
                    rejected.append(self.register_rejected[n])
                else:
                    accepted.append({"origin": 1, "number": n, "carrier": 0})
            return httpx.Response(
                200, json={"code": 0, "data": {"accepted": accepted, "rejected": rejected}}
            )
        accepted, rejected = [], []
        for n in numbers:
            if n in self.info_rejected:
                rejected.append(self.info_rejected[n])
            elif n in self.accepted:
                accepted.append(self.accepted[n])
            elif n in self.not_found:
                item = copy.deepcopy(self.accepted["CP041277368GB"])
                item["number"] = n
                accepted.append(item)
            else:
                item = copy.deepcopy(self.template)
                item["number"] = n
                accepted.append(item)
        return httpx.Response(
            200, json={"code": 0, "data": {"accepted": accepted, "rejected": rejected}}
        )


class FakeKuaidi100(Recorder):
    """Kuaidi100 poll/query.do answering from the fixtures by (com, num, phone)."""

    CASES: ClassVar[dict[tuple[str, str], str]] = {
        ("zhongtong", "75891234567890"): "kuaidi100_zto_in_transit",
        ("ems", "1100087654321"): "kuaidi100_ems_customs",
        ("yuantong", "YT7512345678901"): "kuaidi100_yto_returned",
    }

    def __init__(self, phone: str = "5678"):
        super().__init__()
        self.phone = phone

    def params(self, request: httpx.Request) -> dict:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        return json.loads(form["param"])

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.add(request)
        p = self.params(request)
        if p["com"] == "shunfeng" and p["num"] == "SF1402233445566":
            name = (
                "kuaidi100_sf_delivered" if p["phone"] == self.phone else "kuaidi100_sf_needs_phone"
            )
            return reply(name)
        name = self.CASES.get((p["com"], p["num"]), "kuaidi100_not_found")
        return reply(name)


class FakeAfterShip(Recorder):
    """AfterShip GET/POST /trackings and couriers/detect answering from the fixtures."""

    def __init__(self):
        super().__init__()
        data = load("aftership_get_trackings")["response"]["json"]["data"]
        self.trackings = {t["tracking_number"]: t for t in data["trackings"]}
        self.created: dict[str, dict] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.add(request)
        path = request.url.path
        if path.endswith("/couriers/detect"):
            return reply("aftership_detect_courier")
        if request.method == "GET":
            wanted = request.url.params.get("tracking_numbers", "").split(",")
            found = [self.trackings[n] for n in wanted if n in self.trackings]
            body = {
                "meta": {"code": 200, "message": "OK", "type": "OK"},
                "data": {"pagination": {"total": len(found)}, "trackings": found},
            }
            return httpx.Response(200, json=body)
        number = json.loads(request.content)["tracking_number"]
        if number == "XX00000000":
            return reply("aftership_bad_courier")
        if number == "12-34":
            return reply("aftership_invalid_number")
        created = copy.deepcopy(load("aftership_create_tracking")["response"]["json"])
        created["data"]["tracking_number"] = number
        self.created[number] = created["data"]
        return httpx.Response(201, json=created)


class FakeServices:
    """All three services behind one transport, routed by path like the sandbox."""

    def __init__(self, not_found: tuple[str, ...] = ()):
        self.seventeen = Fake17Track(not_found)
        self.kuaidi100 = FakeKuaidi100()
        self.aftership = FakeAfterShip()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.startswith("/track/v2.2/"):
            return self.seventeen(request)
        if path == "/poll/query.do":
            return self.kuaidi100(request)
        if path.startswith("/tracking/"):
            return self.aftership(request)
        return httpx.Response(404, json={"error": "no such path"})

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)
