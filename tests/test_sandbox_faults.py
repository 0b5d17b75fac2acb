"""Injected faults: they come at the configured rates, and the clients survive them."""

from __future__ import annotations

import json
import math
import time
from collections import Counter, defaultdict
from itertools import pairwise

import httpx
import pandas as pd
import pytest

from toolkit.errors import InputError
from toolkit.world.sandbox import Faults, SandboxTransport, World, serve
from toolkit.world.sandbox.app import KUAIDI100_AUTONUMBER_PATH

NUMBER = "LZ603184755US"


def tiny_world() -> World:
    """One parcel, two scans: enough for every endpoint to give a full answer."""
    parcels = pd.DataFrame(
        {"parcel_id": ["P1"], "international_number": [NUMBER], "domestic_number": [None],
         "recipient_phone": ["13912345678"], "international_carrier": ["usps"]}
    )  # fmt: skip
    events = pd.DataFrame(
        {
            "parcel_id": ["P1", "P1"],
            "tracking_number": [NUMBER, NUMBER],
            "carrier": ["usps", "chinapost"],
            "leg": ["international", "international"],
            "time_local": ["2026-02-28T14:10:00-05:00", "2026-03-05 22:30:00"],
            "location": ["BROOKLYN, NY", "上海市"],
            "description": [
                "Accepted at USPS Origin Facility",
                "【上海国际邮件处理中心】到达寄达地处理中心",
            ],
            "true_milestone": ["accepted", "arrived_destination"],
        }
    )
    return World(parcels, events)


def register(http: httpx.Client, base: str = "http://sandbox") -> httpx.Response:
    return http.post(
        f"{base}/track/v2.2/register", json=[{"number": NUMBER}], headers={"17token": "k"}
    )


def classify(http: httpx.Client) -> str:
    """What the client sees for one request: ok, 429, 5xx, timeout or malformed."""
    try:
        answer = register(http)
    except httpx.ReadTimeout:
        return "timeout"
    if answer.status_code == 429:
        return "429"
    if answer.status_code >= 500:
        return "5xx"
    try:
        answer.json()
    except ValueError:
        return "malformed"
    return "ok"


def test_faults_come_at_the_configured_rates():
    rates = {"429": 0.10, "5xx": 0.20, "timeout": 0.05, "malformed": 0.02}
    faults = Faults(rate_429=0.10, rate_5xx=0.20, rate_timeout=0.05, rate_malformed=0.02, seed=11)
    transport = SandboxTransport(faults=faults, world=tiny_world())
    http = httpx.Client(transport=transport)
    n = 4000
    seen = Counter(classify(http) for _ in range(n))
    for name, rate in rates.items():
        spread = 4 * math.sqrt(n * rate * (1 - rate))
        assert abs(seen[name] - n * rate) < spread, (name, seen)
    assert seen["ok"] == n - sum(seen[k] for k in rates)
    logged = Counter(e.fault for e in transport.app.log)
    assert logged == seen  # the log tells the same story the client lived


def test_the_same_seed_gives_the_same_faults_and_another_seed_does_not():
    def run(seed: int) -> list[str]:
        faults = Faults(rate_429=0.2, rate_5xx=0.2, rate_malformed=0.2, seed=seed)
        http = httpx.Client(transport=SandboxTransport(faults=faults, world=tiny_world()))
        return [classify(http) for _ in range(200)]

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_429_says_when_to_come_back_in_the_service_shape():
    faults = Faults(rate_429=1.0, retry_after=2.5)
    transport = SandboxTransport(faults=faults, world=tiny_world())
    http = httpx.Client(transport=transport)
    answer = register(http)
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "3"  # whole seconds, rounded up
    assert answer.json()["data"]["errors"][0]["code"] == 429
    aftership = http.get("http://x/tracking/2025-01/trackings", headers={"as-api-key": "k"})
    assert aftership.json()["meta"]["code"] == 429 and aftership.headers["retry-after"] == "3"
    assert [e.retry_after for e in transport.app.log] == [3.0, 3.0]
    assert transport.app.log[0].status == 429 and transport.app.log[0].fault == "429"


def test_5xx_are_500_502_and_503_and_leave_no_trace():
    transport = SandboxTransport(faults=Faults(rate_5xx=1.0, seed=2), world=tiny_world())
    http = httpx.Client(transport=transport)
    statuses = Counter(register(http).status_code for _ in range(60))
    assert set(statuses) == {500, 502, 503}
    # Nothing was registered: once the faults stop, the number is new to the account.
    transport.app.set_faults(Faults())
    assert register(http).json()["data"]["accepted"][0]["number"] == NUMBER


def test_malformed_bodies_are_cut_short_json():
    transport = SandboxTransport(faults=Faults(rate_malformed=1.0), world=tiny_world())
    answer = register(httpx.Client(transport=transport))
    assert answer.status_code == 200
    with pytest.raises(ValueError):
        json.loads(answer.content)
    assert answer.content.startswith(b'{"code": 0')


def test_in_process_timeouts_raise_read_timeout_after_doing_the_work():
    transport = SandboxTransport(faults=Faults(rate_timeout=1.0), world=tiny_world())
    http = httpx.Client(transport=transport)
    with pytest.raises(httpx.ReadTimeout):
        register(http)
    assert transport.app.log[0].status is None and transport.app.log[0].fault == "timeout"
    # The request reached the service before the answer was lost: a retry finds it registered.
    transport.app.set_faults(Faults())
    assert register(http).json()["data"]["rejected"][0]["error"]["code"] == -18019901


def test_latency_is_added_to_every_request():
    http = httpx.Client(transport=SandboxTransport(faults=Faults(latency=0.05), world=tiny_world()))
    started = time.perf_counter()
    for _ in range(4):
        register(http)
    assert time.perf_counter() - started >= 0.2


@pytest.mark.slow
def test_a_socket_timeout_hangs_longer_than_the_client_waits_and_stop_cuts_it_short():
    faults = Faults(rate_timeout=1.0, timeout_seconds=30)
    server = serve(port=0, faults=faults, world=tiny_world())
    try:
        with pytest.raises(httpx.ReadTimeout):
            register(httpx.Client(timeout=0.3), base=server.url)
    finally:
        started = time.perf_counter()
        server.stop()
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rate_429": 1.5},
        {"rate_5xx": -0.1},
        {"rate_429": 0.6, "rate_timeout": 0.6},
        {"latency": -1},
        {"retry_after": float("nan")},
    ],
)
def test_impossible_faults_are_refused_with_a_reason(kwargs):
    with pytest.raises(InputError, match="Faults"):
        Faults(**kwargs)


# ------------------------------------------------------------------ the clients under fire


def _demo_parcels(count: int) -> pd.DataFrame:
    demo = pytest.importorskip("toolkit.world.demo", reason="the demo data set generator is needed")
    from pathlib import Path

    path = Path(demo.DEMO_DIR) / "parcels.csv"
    if path.is_file():
        parcels = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    else:
        made = demo.generate(2000, 7)
        parcels = made.parcels if hasattr(made, "parcels") else made[0]
    return parcels.head(count).reset_index(drop=True)


FIRE = Faults(
    rate_5xx=0.20, rate_429=0.10, retry_after=1, rate_timeout=0.05, timeout_seconds=3,
    rate_malformed=0.02, seed=20260354,  # its first 16 draws hold every kind of fault
)  # fmt: skip
MAX_ATTEMPTS = 4


def _assert_survived(log, events: pd.DataFrame, errors: pd.DataFrame, numbers: list[str]) -> None:
    tracked = set(events["tracking_number"])
    failed = Counter(errors["tracking_number"])
    for number in numbers:
        assert (number in tracked) != (number in failed), (
            f"{number}: in events and errors, or neither"
        )
        assert failed[number] <= 1, f"{number} has {failed[number]} error rows"
    # Retries are bounded: no request (same path, same body) went out more than max_attempts times.
    sent = Counter((e.path, e.body_digest) for e in log)
    assert max(sent.values()) <= MAX_ATTEMPTS, sent.most_common(3)
    # Retry-After is honoured: the same request comes back no sooner than the wait announced.
    by_body = defaultdict(list)
    for entry in log:
        by_body[entry.path, entry.body_digest].append(entry)
    for entries in by_body.values():
        for earlier, later in pairwise(entries):
            if earlier.retry_after is not None:
                waited = later.received - earlier.answered
                assert waited >= earlier.retry_after - 0.01, (earlier.path, waited)


@pytest.mark.slow
def test_tracking_250_demo_numbers_through_every_fault(tmp_path):
    from toolkit.tracking.track import track

    parcels = _demo_parcels(250)
    with serve(port=0, faults=FIRE, world=World.demo()) as server:
        started = time.monotonic()
        events, errors = track(
            parcels, base_url=server.url, sandbox=True, cache_dir=tmp_path, progress=False,
            timeout=1.0, max_attempts=MAX_ATTEMPTS, rate_limit=50, concurrency=4, follow=False,
        )  # fmt: skip
        elapsed = time.monotonic() - started
        log = server.app.log
    international = list(dict.fromkeys(parcels["international_number"].dropna()))
    domestic = [n for n in parcels["domestic_number"].dropna() if n not in set(international)]
    assert len(international) >= 240 and domestic
    _assert_survived(log, events, errors, international + domestic)
    assert {e.service for e in log} == {"17track", "kuaidi100"}
    assert len(events) > 0 and elapsed < 60
    faults = Counter(e.fault for e in log)
    assert all(faults[f] for f in ("429", "5xx", "timeout", "malformed")), faults
    # Failures are named by kind, never by a bare traceback.
    assert set(errors["error"]) <= {"not_found", "invalid_number", "carrier_unknown", "needs_phone",
                                    "timeout", "server_error", "rate_limited",
                                    "malformed_response"}  # fmt: skip


@pytest.mark.slow
def test_following_last_mile_numbers_to_kuaidi100_under_fire(tmp_path):
    from toolkit.tracking.track import track

    parcels = _demo_parcels(60)
    numbers = list(dict.fromkeys(parcels["international_number"].dropna()))
    phones = dict(zip(parcels["international_number"], parcels["recipient_phone"], strict=True))
    with serve(port=0, faults=FIRE, world=World.demo()) as server:
        events, errors = track(
            numbers, phones=phones, base_url=server.url, sandbox=True, cache_dir=tmp_path,
            progress=False, timeout=1.0, max_attempts=MAX_ATTEMPTS, rate_limit=50, concurrency=4,
        )  # fmt: skip
        log = server.app.log
    # Only last-mile numbers 17TRACK reported (in misc_info or in a scan's text) lead to
    # Kuaidi100's tracking (its autonumber detection is asked about ambiguous numbers).
    followed = {
        e.numbers[0]
        for e in log
        if e.service == "kuaidi100" and e.numbers and e.path != KUAIDI100_AUTONUMBER_PATH
    }
    last_mile = set(parcels["true_domestic_number"].dropna()) - set(numbers)
    assert followed and followed <= last_mile
    _assert_survived(log, events, errors, numbers + sorted(followed))
