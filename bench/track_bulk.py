"""Bulk tracking through the 17TRACK client against the localhost sandbox.

Tracks the demo parcels' international numbers with 100 ms added to every request and the
client held to 10 requests a second, and prints wall time against the floor that limit sets
(requests / limit), against a naive loop that asks one number per request, and for a second
run answered from the cache.

    .venv/bin/python bench/track_bulk.py [--numbers 2000] [--latency 0.1] [--limit 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from toolkit.tracking.carriers import Query, SeventeenTrackClient
from toolkit.world.sandbox import Faults, World, serve


@dataclass
class Run:
    name: str
    numbers: int
    requests: int
    wall: float
    limit: float
    note: str = ""
    tracked: int = 0
    failed: int = 0

    @property
    def floor(self) -> float:
        return self.requests / self.limit


def demo_numbers(world: World, count: int) -> list[str]:
    """The analysts' international numbers of the first `count` demo parcels (typos included)."""
    from toolkit.world import demo

    path = Path(demo.DEMO_DIR) / "parcels.csv"
    if path.is_file():
        parcels = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    else:
        made = demo.generate(count, 7)
        parcels = made.parcels if hasattr(made, "parcels") else made[0]
    numbers = list(dict.fromkeys(parcels["international_number"].dropna()))[:count]
    if len(numbers) < count:
        numbers += [n for n in world.numbers("international") if n not in set(numbers)]
    return numbers[:count]


def track_once(
    url: str, numbers: list[str], limit: float, cache: Path | bool, batch: int | None, workers: int
) -> tuple[float, int, int, int]:
    """Track the numbers with one client; return wall seconds, requests, tracked, failed."""
    client = SeventeenTrackClient(
        sandbox=True,
        base_url=url,
        rate_limit=limit,
        cache_dir=cache,
        concurrency=workers,
        timeout=10,
    )
    if batch is not None:
        client.batch_size = batch
    try:
        started = time.perf_counter()
        result = client.track([Query(n) for n in numbers])
        wall = time.perf_counter() - started
    finally:
        client.close()
    failed = {e.tracking_number for e in result.errors}
    return wall, client.requests_sent, len(set(numbers) - failed), len(failed)


def busiest_second(times: list[float]) -> int:
    """Most requests the server received within any one second."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=2000, help="numbers to track")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds added per request")
    parser.add_argument("--limit", type=float, default=10.0, help="client requests per second")
    parser.add_argument("--naive-sample", type=int, default=100, help="numbers for the naive loop")
    parser.add_argument("--concurrency", type=int, default=4, help="client worker threads")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    world = World.demo()
    world_load = time.perf_counter() - started
    numbers = demo_numbers(world, args.numbers)
    runs: list[Run] = []
    with serve(port=0, faults=Faults(latency=args.latency), world=world) as server:
        with tempfile.TemporaryDirectory() as cache:
            before = len(server.app.log)
            wall, sent, ok, bad = track_once(
                server.url, numbers, args.limit, Path(cache), None, args.concurrency
            )
            log = server.app.log[before:]
            assert sent == len(log), "the client and the server disagree on requests sent"
            runs.append(Run("batched client, 40 a request", len(numbers), sent, wall, args.limit,
                            tracked=ok, failed=bad))  # fmt: skip
            arrivals = sorted(e.received for e in log)
            peak = busiest_second(arrivals)
            pace = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0
            too_many = sum(e.status == 429 for e in log)

            before = len(server.app.log)
            wall, sent, ok, bad = track_once(
                server.url, numbers, args.limit, Path(cache), None, args.concurrency
            )
            assert len(server.app.log) == before and sent == 0, "the cached run sent requests"
            runs.append(Run("second run, from cache", len(numbers), sent, wall, args.limit,
                            tracked=ok, failed=bad))  # fmt: skip

        sample = numbers[: args.naive_sample]
        wall, sent, _, _ = track_once(server.url, sample, args.limit, False, 1, 1)
        scale = len(numbers) / len(sample)
        runs.append(Run("naive loop, 1 a request (*)", len(numbers), round(sent * scale),
                        wall * scale, args.limit,
                        note=f"{len(sample)} numbers in {wall:.1f} s, x{scale:g}"))  # fmt: skip

    print(
        f"\n17TRACK client against the localhost sandbox: {len(numbers)} numbers, "
        f"{args.latency * 1000:.0f} ms latency, limit {args.limit:g} requests/s, "
        f"{args.concurrency} workers; the demo world loaded in {world_load:.2f} s "
        "(target: under 1 s)\n"
    )
    header = (
        f"{'run':32} {'numbers':>7} {'requests':>8} {'wall s':>8} {'floor s':>8} {'wall/floor':>10}"
    )
    print(header)
    print("-" * len(header))
    for r in runs:
        ratio = f"{r.wall / r.floor:.2f}" if r.floor else "-"
        print(
            f"{r.name:32} {r.numbers:>7} {r.requests:>8} {r.wall:>8.1f} {r.floor:>8.1f} {ratio:>10}"
        )
    batched, cached, naive = runs
    print(
        f"\n(*) measured on {naive.note}; the naive loop asks register + gettrackinfo "
        "for each number, one after the other."
    )
    print(
        f"Batched run: {batched.tracked} numbers with events, {batched.failed} with an error "
        f"(mistyped or unknown numbers). At the server: {pace:.1f} requests/s on average, "
        f"{peak} in the busiest one-second window (arrival jitter), {too_many} answered 429."
    )
    print(
        f"Batched vs naive: {naive.wall / batched.wall:.0f}x faster. "
        f"Cached run: {cached.requests} requests in {cached.wall:.2f} s."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
