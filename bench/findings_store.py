"""Findings store speed: add rate and query-by-parcel latency with many findings stored.

For each backend (a fresh SQLite file; PostgreSQL when TOOLKIT_TEST_PG_URL is set or a local
server answers) it times single adds, fills the store to --n findings with add_many in
batches, then times query(parcel_id=...), get() and update() on random findings.

    .venv/bin/python bench/findings_store.py [--n 100000] [--single 2000] [--queries 1000]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from toolkit.findings.store import FindingsStore
from toolkit.model import CATEGORIES

LOCAL_PG_URL = "postgresql+psycopg://toolkit:toolkit@127.0.0.1:5432/toolkit_test"
BATCH = 1000


@dataclass
class Row:
    backend: str
    measure: str
    value: float
    unit: str


def item(i: int, rng: random.Random) -> dict:
    """Add arguments for finding number i: one parcel, or two for one finding in five."""
    parcels = [f"BP{i:07d}"] + ([f"BP{i:07d}-2"] if i % 5 == 0 else [])
    return {
        "parcel_ids": parcels,
        "category": rng.choice(CATEGORIES),
        "analyst": f"analyst-{i % 12}",
        "notes": f"asked the carrier about parcel {i}",
        "tracking_numbers": [f"LX{i:09d}CN"],
    }


def pg_url() -> str | None:
    """The PostgreSQL server to measure, or None when none answers."""
    url = os.environ.get("TOOLKIT_TEST_PG_URL") or LOCAL_PG_URL
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return url
    except Exception:
        return None


@contextmanager
def sqlite_store() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.sqlite'}"


@contextmanager
def pg_store(base: str) -> Iterator[str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def latencies(fn: Callable[[int], object], picks: list[int]) -> tuple[float, float]:
    """Median and 95th percentile, in milliseconds, of fn over the picked finding numbers."""
    times = []
    for i in picks:
        start = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def measure(backend: str, url: str, n: int, single: int, queries: int) -> list[Row]:
    rng = random.Random(7)
    rows: list[Row] = []
    with FindingsStore(url) as store:
        single = min(single, n)
        start = time.perf_counter()
        ids = [store.add(**item(i, rng)).id for i in range(single)]
        rows.append(
            Row(
                backend,
                "add(), one at a time",
                single / (time.perf_counter() - start),
                "findings/s",
            )
        )

        start = time.perf_counter()
        for lo in range(single, n, BATCH):
            made = store.add_many(item(i, rng) for i in range(lo, min(lo + BATCH, n)))
            ids.extend(f.id for f in made)
        batched = n - single
        if batched:
            rate = batched / (time.perf_counter() - start)
            rows.append(Row(backend, f"add_many(), batches of {BATCH}", rate, "findings/s"))
        assert len(store) == n

        picks = [rng.randrange(n) for _ in range(queries)]
        med, p95 = latencies(lambda i: store.query(parcel_id=f"BP{i:07d}"), picks)
        hits = store.query(parcel_id=f"BP{picks[0]:07d}")
        assert len(hits) == 1, "query by parcel must find its finding"
        rows += [
            Row(backend, f"query(parcel_id=...) median, {n:,} stored", med, "ms"),
            Row(backend, f"query(parcel_id=...) p95, {n:,} stored", p95, "ms"),
        ]
        med, p95 = latencies(lambda i: store.get(ids[i]), picks)
        rows += [Row(backend, "get(id) median", med, "ms"), Row(backend, "get(id) p95", p95, "ms")]
        touched = list(dict.fromkeys(picks))
        med, p95 = latencies(
            lambda i: store.update(ids[i], expected_version=1, analyst="bench", status="waiting"),
            touched,
        )
        rows += [
            Row(backend, "update() median", med, "ms"),
            Row(backend, "update() p95", p95, "ms"),
        ]
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="findings to store (100000)")
    parser.add_argument("--single", type=int, default=2000, help="adds timed one at a time")
    parser.add_argument("--queries", type=int, default=1000, help="lookups to time")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "all"], default="all")
    args = parser.parse_args(argv)

    rows: list[Row] = []
    if args.backend in ("sqlite", "all"):
        with sqlite_store() as url:
            rows += measure("sqlite", url, args.n, args.single, args.queries)
    if args.backend in ("postgresql", "all"):
        base = pg_url()
        if base is None:
            print("PostgreSQL: no server answers; set TOOLKIT_TEST_PG_URL to measure one")
        else:
            with pg_store(base) as url:
                rows += measure("postgresql", url, args.n, args.single, args.queries)

    width = max(len(r.measure) for r in rows)
    print(f"\n{'backend':<11} {'measure':<{width}} {'value':>10}  unit")
    for r in rows:
        value = f"{r.value:,.0f}" if r.unit == "findings/s" else f"{r.value:.2f}"
        print(f"{r.backend:<11} {r.measure:<{width}} {value:>10}  {r.unit}")


if __name__ == "__main__":
    main()
