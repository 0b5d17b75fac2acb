"""Shared client plumbing: retries, Retry-After, rate limit, cache, concurrency."""

from __future__ import annotations

import email.utils
import itertools
import json
import threading
import time

import httpx
import pytest
from carrier_fakes import Fake17Track, FakeClock

from toolkit.errors import InputError
from toolkit.keys import Secret
from toolkit.tracking.carriers import Query, RateLimiter, ResponseCache, SeventeenTrackClient
from toolkit.tracking.carriers.base import parse_retry_after

KEY = Secret("test-key-base")
NUMBERS = ["LZ603184755US", "RR205774935DE"]


def make(handler, clock=None, **options) -> SeventeenTrackClient:
    clock = clock or FakeClock()
    options.setdefault("cache_dir", False)
    return SeventeenTrackClient(
        KEY,
        transport=httpx.MockTransport(handler),
        clock=clock,
        sleep=clock.sleep,
        wall_clock=clock,
        **options,
    )


class Scripted:
    """Answers the first requests from a script, then hands over to the fake service."""

    def __init__(self, *script):
        self.script = list(script)
        self.fake = Fake17Track()
        self.times: list[float] = []
        self.clock: FakeClock | None = None

    def __call__(self, request):
        if self.clock is not None:
            self.times.append(self.clock.now)
        if self.script:
            step = self.script.pop(0)
            if isinstance(step, Exception):
                raise step
            return step
        return self.fake(request)


def test_retry_after_seconds_is_honoured_before_the_next_attempt():
    clock = FakeClock()
    handler = Scripted(httpx.Response(429, headers={"Retry-After": "7"}))
    handler.clock = clock
    res = make(handler, clock).track([Query(n) for n in NUMBERS])
    assert res.errors == []
    assert handler.times[1] - handler.times[0] >= 7.0
    assert 7.0 in clock.sleeps


def test_retry_after_as_http_date_is_understood():
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(date, now=now) == pytest.approx(30, abs=1)
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("soon") is None
    assert parse_retry_after(email.utils.formatdate(now - 60, usegmt=True), now=now) == 0.0


def test_a_retry_after_longer_than_allowed_gives_up_with_a_plain_message():
    handler = Scripted(httpx.Response(429, headers={"Retry-After": "3600"}))
    res = make(handler, max_retry_after=60).track([Query("LZ603184755US")])
    assert res.errors[0].error == "rate_limited"
    assert "3600 s" in res.errors[0].message
    assert res.requests == 1


def test_attempts_are_bounded_and_each_number_gets_the_error():
    calls = []

    def always_503(request):
        calls.append(request)
        return httpx.Response(503)

    res = make(always_503, max_attempts=3).track([Query(n) for n in NUMBERS])
    assert len(calls) == 3
    assert sorted(e.tracking_number for e in res.errors) == sorted(NUMBERS)
    assert {e.error for e in res.errors} == {"server_error"}
    assert "tried 3 times" in res.errors[0].message


def test_backoff_grows_and_is_jittered():
    clock = FakeClock()
    make(lambda r: httpx.Response(500), clock, max_attempts=5, backoff=1.0, seed=3).track(
        [Query("LZ603184755US")]
    )
    waits = clock.sleeps
    assert len(waits) == 4
    for n, w in enumerate(waits):
        assert 2**n / 2 <= w <= 2**n  # half to full of 1, 2, 4, 8 seconds


def test_timeouts_are_retried_then_reported_as_timeouts():
    calls = []

    def slow(request):
        calls.append(request)
        raise httpx.ReadTimeout("timed out", request=request)

    res = make(slow, max_attempts=2, timeout=3).track([Query("LZ603184755US")])
    assert len(calls) == 2
    assert res.errors[0].error == "timeout"
    assert "3 s" in res.errors[0].message


def test_connection_errors_are_retried_then_reported():
    def refused(request):
        raise httpx.ConnectError("connection refused", request=request)

    res = make(refused, max_attempts=2).track([Query("LZ603184755US")])
    assert res.errors[0].error == "connection_error"


def test_a_malformed_body_is_retried_and_a_good_one_then_used():
    handler = Scripted(httpx.Response(200, content=b'{"code": 0, "data": {"acc'))
    res = make(handler, max_attempts=3).track([Query("LZ603184755US")])
    assert res.errors == []
    assert res.events
    assert res.requests == 3  # broken register, register again, gettrackinfo


def test_bodies_that_stay_malformed_become_per_number_errors():
    res = make(lambda r: httpx.Response(200, content=b"<html>oops"), max_attempts=2).track(
        [Query(n) for n in NUMBERS]
    )
    assert {e.error for e in res.errors} == {"malformed_response"}
    assert len(res.errors) == 2
    assert res.requests == 2


def test_rate_limiter_spaces_requests():
    clock = FakeClock(0.0)
    limiter = RateLimiter(2.0, clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(5):
        limiter.acquire()
        starts.append(clock.now)
    assert starts == [0.0, 0.5, 1.0, 1.5, 2.0]


def test_rate_limiter_allows_a_burst_then_spaces():
    clock = FakeClock(0.0)
    limiter = RateLimiter(1.0, burst=3, clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(5):
        limiter.acquire()
        starts.append(clock.now)
    assert starts == [0.0, 0.0, 0.0, 1.0, 2.0]


def test_rate_limiter_holds_across_threads():
    limiter = RateLimiter(100.0)
    starts = []
    lock = threading.Lock()

    def work():
        for _ in range(5):
            limiter.acquire()
            with lock:
                starts.append(time.monotonic())

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    starts.sort()
    assert starts[-1] - starts[0] >= 19 * 0.01 * 0.9
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    # no bursts; a busy machine may delay a thread between its grant and its clock reading,
    # which bunches a few readings that were granted apart
    assert sum(g < 0.005 for g in gaps) <= 4


def test_rate_limit_option_is_checked():
    with pytest.raises(InputError, match="rate_limit"):
        make(lambda r: httpx.Response(200), rate_limit=-1)


def test_client_requests_respect_the_rate_limit():
    clock = FakeClock(0.0)
    fake = Fake17Track()
    times = []

    def handler(request):
        times.append(clock.now)
        return fake(request)

    make(handler, clock, rate_limit=2.0, concurrency=1).track(
        [Query(f"LZ{i:08d}0US") for i in range(120)]
    )
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) == 6
    assert min(gaps) >= 0.5


def test_second_call_is_answered_from_cache_and_refresh_bypasses_it(tmp_path):
    fake = Fake17Track()
    first = make(fake, cache_dir=tmp_path).track([Query(n) for n in NUMBERS])
    assert first.requests == 2
    again = make(fake, cache_dir=tmp_path).track([Query(n) for n in NUMBERS])
    assert again.requests == 0
    assert again.from_cache == 2
    assert sorted(map(json.dumps, again.events)) == sorted(map(json.dumps, first.events))
    assert [link.number for link in again.links] == ["SF1402233445566"]
    fresh = make(fake, cache_dir=tmp_path, refresh=True).track([Query(n) for n in NUMBERS])
    assert fresh.requests == 2


def test_cached_answers_expire_after_their_ttl(tmp_path):
    clock = FakeClock()
    fake = Fake17Track()
    make(fake, clock, cache_dir=tmp_path, cache_ttl=600).track([Query("LZ603184755US")])
    clock.now += 599
    assert (
        make(fake, clock, cache_dir=tmp_path, cache_ttl=600)
        .track([Query("LZ603184755US")])
        .requests
        == 0
    )
    clock.now += 2
    assert (
        make(fake, clock, cache_dir=tmp_path, cache_ttl=600)
        .track([Query("LZ603184755US")])
        .requests
        == 2
    )


def test_no_scans_yet_answers_are_cached_only_briefly(tmp_path):
    clock = FakeClock()
    cache = ResponseCache(tmp_path, ttl=3600, negative_ttl=60, clock=clock)
    cache.put_many("ns", [("found", {"a": 1}, True), ("empty", {"b": 2}, False)])
    clock.now += 120
    assert cache.get_many("ns", ["found", "empty"]) == {"found": {"a": 1}}


def test_errors_are_not_cached(tmp_path):
    calls = []

    def fail(request):
        calls.append(request)
        return httpx.Response(503)

    make(fail, cache_dir=tmp_path, max_attempts=1).track([Query("LZ603184755US")])
    make(fail, cache_dir=tmp_path, max_attempts=1).track([Query("LZ603184755US")])
    assert len(calls) == 2


def test_sandbox_and_live_answers_do_not_share_cache_entries(tmp_path):
    fake = Fake17Track()
    make(fake, cache_dir=tmp_path).track([Query("LZ603184755US")])
    sandbox = SeventeenTrackClient(
        None, sandbox=True, transport=httpx.MockTransport(fake), cache_dir=tmp_path
    )
    res = sandbox.track([Query("LZ603184755US")])
    assert res.requests == 2
    assert {r["source"] for r in res.events} == {"17track·sandbox"}


def test_batches_overlap_when_concurrency_allows():
    fake = Fake17Track()
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def slow(request):
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return fake(request)

    c = SeventeenTrackClient(
        KEY, transport=httpx.MockTransport(slow), cache_dir=False, rate_limit=1000, concurrency=4
    )
    res = c.track([Query(f"LZ{i:08d}0US") for i in range(160)])
    assert state["peak"] > 1
    assert len({r["tracking_number"] for r in res.events}) == 160
