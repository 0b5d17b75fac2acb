"""Findings store under concurrent writers, a writer killed mid-run, and two analysts racing.

Runs on a fresh SQLite file and on a fresh PostgreSQL schema (``store_url`` in
test_findings.py). Writers are separate processes started with 'spawn', as separate
notebook kernels would be.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import time
from collections import Counter

import pytest
import sqlalchemy as sa
from test_findings import store_url  # noqa: F401  (fixture)

from toolkit.findings.store import FindingsStore, StaleVersionError

pytestmark = pytest.mark.slow

WORKERS = 4
ADDS = 125  # per worker; each then updates every one of its own findings once...
OWN_UPDATES = 100  # ...up to this many...
SHARED_UPDATES = 25  # ...and makes this many updates to findings every worker shares
SHARED = 5


def update_with_retry(store: FindingsStore, fid: str, analyst: str, **changes) -> int:
    """Apply a change on top of whatever the current version is; return the retries needed."""
    retries = 0
    while True:
        current = store.get(fid)
        try:
            store.update(fid, expected_version=current.version, analyst=analyst, **changes)
            return retries
        except StaleVersionError:
            retries += 1


def busy_writer(url: str, worker: int, shared: list[str], barrier, results) -> None:
    """Add findings, update them, and update the shared ones, all while the others do too."""
    analyst = f"analyst-{worker}"
    with FindingsStore(url) as store:
        barrier.wait(timeout=60)
        own = []
        for i in range(ADDS):
            f = store.add([f"W{worker}-P{i}", "SHARED-PARCEL"], category="moving", analyst=analyst)
            own.append(f.id)
            if i % 5 == 0 and i // 5 < SHARED_UPDATES:
                k = i // 5
                update_with_retry(store, shared[k % SHARED], analyst, notes=f"w{worker}-s{k}")
        for fid in own[:OWN_UPDATES]:
            store.update(fid, expected_version=1, analyst=analyst, status="waiting")
    results.put((worker, own))


def test_concurrent_writers_lose_nothing(store_url):  # noqa: F811
    ctx = mp.get_context("spawn")
    with FindingsStore(store_url) as store:
        shared = [
            store.add([f"S{k}"], category="customs_hold", analyst="lead").id for k in range(SHARED)
        ]
    barrier, results = ctx.Barrier(WORKERS), ctx.Queue()
    procs = [
        ctx.Process(target=busy_writer, args=(store_url, w, shared, barrier, results))
        for w in range(WORKERS)
    ]
    for p in procs:
        p.start()
    got = dict(results.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    reported = [fid for w in range(WORKERS) for fid in got[w]]
    assert len(reported) == len(set(reported)) == WORKERS * ADDS

    with FindingsStore(store_url) as store:
        everything = store.query()
        assert len(everything) == SHARED + WORKERS * ADDS
        assert set(reported) <= set(everything["id"])
        assert everything["id"].is_unique
        waiting = everything[everything["status"] == "waiting"]
        assert len(waiting) == WORKERS * OWN_UPDATES
        assert (waiting["version"] == 2).all()
        by_parcel = store.query(parcel_id="SHARED-PARCEL")
        assert len(by_parcel) == WORKERS * ADDS

        # Every shared update is one version of its finding: none lost, none applied twice.
        notes = Counter()
        for fid in shared:
            hist = store.history(fid)
            assert hist["version"].tolist() == list(range(1, len(hist) + 1))
            assert store.get(fid).version == len(hist)
            notes.update(hist["notes"].iloc[1:])
        expected = {f"w{w}-s{k}" for w in range(WORKERS) for k in range(SHARED_UPDATES)}
        assert set(notes) == expected and set(notes.values()) == {1}

    engine = sa.create_engine(store_url)
    with engine.connect() as conn:
        versions = conn.exec_driver_sql(
            "SELECT count(*), count(DISTINCT finding_id || ':' || version) FROM finding_versions"
        ).one()
    engine.dispose()
    total = SHARED + WORKERS * (ADDS + OWN_UPDATES + SHARED_UPDATES)
    assert tuple(versions) == (total, total)


def reporting_writer(url: str, conn) -> None:
    """Add and update findings without end, reporting each committed change through a pipe."""
    with FindingsStore(url) as store:
        i = 0
        while True:
            f = store.add([f"K-{i}"], category="silent_too_long", analyst="night-shift")
            conn.send((f.id, 1))
            g = store.update(f.id, expected_version=1, analyst="night-shift", status="waiting")
            conn.send((g.id, 2))
            i += 1


def test_writer_killed_mid_run_leaves_every_committed_finding(store_url):  # noqa: F811
    ctx = mp.get_context("spawn")
    FindingsStore(store_url).close()
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=reporting_writer, args=(store_url, send))
    proc.start()
    send.close()
    committed: dict[str, int] = {}
    deadline = time.monotonic() + 60
    while len(committed) < 150 and time.monotonic() < deadline:
        fid, version = receive.recv()
        committed[fid] = version
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(timeout=10)
    assert proc.exitcode == -signal.SIGKILL
    while True:  # what was reported before the kill is still in the pipe
        try:
            fid, version = receive.recv()
        except EOFError:
            break
        committed[fid] = version
    assert len(committed) >= 150

    with FindingsStore(store_url) as store:
        stored = store.query().set_index("id")["version"]
        for fid, version in committed.items():
            assert stored[fid] >= version
        # Nothing half-written: each finding's versions are complete and it is findable by parcel.
        engine = sa.create_engine(store_url)
        with engine.connect() as conn:
            n_versions = conn.exec_driver_sql("SELECT count(*) FROM finding_versions").scalar()
            n_links = conn.exec_driver_sql("SELECT count(*) FROM finding_parcels").scalar()
            if engine.dialect.name == "sqlite":
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        engine.dispose()
        assert n_versions == int(stored.sum()) and n_links == len(stored)
        # And the store still takes writes.
        f = store.add(["after-kill"], category="moving", analyst="morning-shift")
        assert store.get(f.id).version == 1


def test_two_analysts_from_the_same_version(store_url):  # noqa: F811
    with FindingsStore(store_url) as store:
        f = store.add(["P-77"], category="customs_hold", analyst="li.na")
        li_view, wang_view = store.get(f.id), store.get(f.id)
        store.update(f.id, expected_version=li_view.version, analyst="li.na", status="waiting")
        with pytest.raises(StaleVersionError) as err:
            store.update(
                f.id, expected_version=wang_view.version, analyst="wang.wei", notes="called EMS"
            )
        assert err.value.changed_by == "li.na" and err.value.current_version == 2
        fresh = store.get(f.id)
        done = store.update(
            f.id, expected_version=fresh.version, analyst="wang.wei", notes="called EMS"
        )
        assert (done.status, done.notes, done.version) == ("waiting", "called EMS", 3)
        hist = store.history(f.id)
        assert hist["analyst"].tolist() == ["li.na", "li.na", "wang.wei"]
        assert hist["changed"].tolist()[1:] == ["status", "notes, analyst"]


def test_simultaneous_updates_from_one_version_exactly_one_wins(store_url):  # noqa: F811
    racers = 6
    with FindingsStore(store_url) as store:
        for _round in range(3):
            f = store.add(["P-88"], category="moving", analyst="lead")
            barrier = threading.Barrier(racers)
            outcome: list[str] = []

            def race(n: int, fid=f.id, gate=barrier, outcome=outcome) -> None:
                gate.wait()
                try:
                    store.update(fid, expected_version=1, analyst=f"a{n}", notes=f"note {n}")
                    outcome.append("won")
                except StaleVersionError:
                    outcome.append("stale")

            threads = [threading.Thread(target=race, args=(n,)) for n in range(racers)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            assert sorted(outcome) == ["stale"] * (racers - 1) + ["won"]
            hist = store.history(f.id)
            assert len(hist) == 2
            winner = hist["analyst"].iloc[1]
            assert hist["notes"].tolist() == ["", f"note {winner[1:]}"]
