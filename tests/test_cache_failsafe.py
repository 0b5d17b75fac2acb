"""A broken response cache is reported once and bypassed: tracking goes on uncached."""

from __future__ import annotations

import logging
import os
import sqlite3

import httpx
import pandas as pd
import pytest
from carrier_fakes import Fake17Track, FakeClock

import toolkit
from toolkit.keys import Secret
from toolkit.tracking.carriers import Query, ResponseCache, SeventeenTrackClient
from toolkit.tracking.carriers import base as carriers_base

# International numbers of the demo world that the sandbox answers with scans.
NUMBERS = ["CX264048063DE", "LX197341904JP", "LZ049939080US", "EE602772785KR", "CP376178275US"]
CACHE_LOGGER = "toolkit.tracking.carriers.base"


def sandbox_track(cache_dir):
    return toolkit.track(NUMBERS, sandbox=True, cache_dir=cache_dir, progress=False, follow=False)


def cache_warnings(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == CACHE_LOGGER and r.levelno >= logging.WARNING
    ]


def same_events(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    cols = ["tracking_number", "time_utc", "description", "milestone"]
    key = ["tracking_number", "time_utc", "description"]
    left = a[cols].sort_values(key).reset_index(drop=True)
    right = b[cols].sort_values(key).reset_index(drop=True)
    return left.equals(right)


@pytest.fixture
def expected(tmp_path):
    """What tracking the numbers gives with a working cache."""
    events, errors = sandbox_track(tmp_path / "good-cache")
    assert set(events["tracking_number"]) == set(NUMBERS) and errors.empty
    return events


def test_corrupted_cache_file_is_reported_once_and_bypassed(tmp_path, caplog, expected):
    folder = tmp_path / "cache"
    sandbox_track(folder)  # fills the cache
    db = folder / "responses.sqlite3"
    garbage = os.urandom(64) + b"not a database" * 500
    db.write_bytes(garbage)
    caplog.set_level(logging.WARNING)

    events, errors = sandbox_track(folder)

    assert errors.empty and same_events(events, expected)
    warned = cache_warnings(caplog)
    assert len(warned) == 1  # once for the client, not once per number
    assert str(db) in warned[0] and "not a database" in warned[0]
    assert "Delete" in warned[0] and "TOOLKIT_CACHE_DIR" in warned[0]
    assert db.read_bytes() == garbage  # left for the analyst to look at or delete


def test_file_where_the_cache_folder_should_be(tmp_path, caplog, expected):
    in_the_way = tmp_path / "cache"
    in_the_way.write_text("my notes\n")
    caplog.set_level(logging.WARNING)

    events, errors = sandbox_track(in_the_way)

    assert errors.empty and same_events(events, expected)
    warned = cache_warnings(caplog)
    assert len(warned) == 1
    assert str(in_the_way) in warned[0] and "move it away" in warned[0]
    assert "TOOLKIT_CACHE_DIR" in warned[0]
    assert in_the_way.read_text() == "my notes\n"


def test_file_in_the_way_of_a_parent_folder(tmp_path, caplog, expected):
    (tmp_path / "parent").write_text("x")
    caplog.set_level(logging.WARNING)
    events, errors = sandbox_track(tmp_path / "parent" / "cache")
    assert errors.empty and same_events(events, expected)
    assert len(cache_warnings(caplog)) == 1


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="file permissions do not stop root",
)
def test_unwritable_cache_folder(tmp_path, caplog, expected):
    folder = tmp_path / "cache"
    folder.mkdir()
    folder.chmod(0o500)
    caplog.set_level(logging.WARNING)
    try:
        events, errors = sandbox_track(folder)
    finally:
        folder.chmod(0o700)
    assert errors.empty and same_events(events, expected)
    warned = cache_warnings(caplog)
    assert len(warned) == 1 and str(folder) in warned[0] and "writable" in warned[0]


def test_a_folder_where_the_cache_file_should_be(tmp_path, caplog, expected):
    (tmp_path / "cache" / "responses.sqlite3").mkdir(parents=True)
    caplog.set_level(logging.WARNING)
    events, errors = sandbox_track(tmp_path / "cache")
    assert errors.empty and same_events(events, expected)
    warned = cache_warnings(caplog)
    assert len(warned) == 1 and "Move the folder" in warned[0]


def make_client(tmp_path, **options) -> SeventeenTrackClient:
    clock = FakeClock()
    return SeventeenTrackClient(
        Secret("test-key-cache"),
        transport=httpx.MockTransport(Fake17Track()),
        clock=clock,
        sleep=clock.sleep,
        wall_clock=clock,
        cache_dir=tmp_path,
        **options,
    )


class FailingConnection:
    """An SQLite connection on a disk that filled up (or a page found corrupted) mid-run."""

    def __init__(self, message: str):
        self.message = message
        self.calls = 0

    def execute(self, *args, **kwargs):
        self.calls += 1
        raise sqlite3.OperationalError(self.message)

    executemany = execute

    def commit(self):
        raise sqlite3.OperationalError(self.message)

    def close(self):
        pass


@pytest.mark.parametrize(
    "message, advice",
    [
        ("database or disk is full", "Free disk space"),
        ("database disk image is malformed", "Delete"),
    ],
)
def test_errors_at_run_time_warn_once_then_the_cache_is_skipped(tmp_path, caplog, message, advice):
    numbers = [f"RR{n:08d}DE" for n in range(100, 190)]  # three batches of 40 or fewer
    client = make_client(tmp_path, concurrency=1)
    client.track([Query(numbers[0])])  # the cache works at first
    failing = FailingConnection(message)
    client.cache._conn = failing
    caplog.set_level(logging.WARNING)

    result = client.track([Query(n) for n in numbers])

    assert not result.errors and {e["tracking_number"] for e in result.events} == set(numbers)
    warned = cache_warnings(caplog)
    assert len(warned) == 1 and message in warned[0] and advice in warned[0]
    assert failing.calls == 1  # not asked again after it failed
    assert client.track([Query(numbers[0])]).from_cache == 0
    assert len(cache_warnings(caplog)) == 1
    client.close()


def test_a_cache_locked_too_long_is_bypassed(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(carriers_base, "CACHE_BUSY_SECONDS", 0.2)
    client = make_client(tmp_path)
    client.track([Query("RR205774935DE")])
    holder = sqlite3.connect(tmp_path / "responses.sqlite3")
    holder.execute("BEGIN EXCLUSIVE")  # another program holds the file
    caplog.set_level(logging.WARNING)
    try:
        client.cache.close()  # reconnects, as a new client would
        result = client.track([Query("RR205774935DE"), Query("LZ603184755US")])
    finally:
        holder.rollback()
        holder.close()
    assert not result.errors and len(result.events) > 0
    warned = cache_warnings(caplog)
    assert len(warned) == 1 and "locked" in warned[0]
    client.close()


def test_a_working_cache_gives_no_warning(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    cache = ResponseCache(tmp_path)
    cache.put_many("ns", [("k", {"a": 1}, True)])
    assert cache.get_many("ns", ["k"]) == {"k": {"a": 1}}
    assert cache.problem is None and cache_warnings(caplog) == []
    cache.close()
