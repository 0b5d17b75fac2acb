"""The diagnosis of a partitioned dataset on a local Dask cluster: time, memory, spill.

    python bench/diagnose_cluster.py                       # 100,000 parcels
    python bench/diagnose_cluster.py --parcels 1000000
    python bench/diagnose_cluster.py --parcels 5000000 --no-baseline
    python bench/diagnose_cluster.py --parcels 1000000 --keep   # diagnoses kept for triage

The dataset is generated with ``python -m toolkit.demo --format parquet --partitions K``
(every scan, not only the visible ones) and cached under bench/out/ (git-ignored). It is
diagnosed by ``toolkit.scale.diagnose_dataset`` on a local cluster of ``--workers`` worker
processes (one thread each) limited to ``--memory-limit`` each; the table gives the wall
time, each worker's peak resident memory (ru_maxrss of its process) and what it spilled to
disk. The demo generator makes at most 9,999,999 parcels. The baseline is ``diagnose_all`` on the same data loaded whole, in a fresh process
(wall time and peak memory); the ratio is the cluster's wall time over the baseline's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/tables.py

from tables import table  # noqa: E402

OUT = ROOT / "bench" / "out"
PARCELS_PER_PARTITION = 50_000

_BASELINE = """
import json, resource, sys, time
import pandas as pd
from toolkit.diagnosis.diagnose import diagnose_all
from toolkit.io import partition_paths, read_events, read_parcels
events, parcels, now = sys.argv[1:4]
began = time.perf_counter()
big = {"max_rows": 10**9, "max_bytes": 1 << 50}
ev = pd.concat([read_events(p, **big) for p in partition_paths(events)], ignore_index=True)
pc = pd.concat([read_parcels(p, **big) for p in partition_paths(parcels)], ignore_index=True)
loaded = time.perf_counter()
table = diagnose_all(ev, pc, pd.Timestamp(now))
done = time.perf_counter()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": done - began, "load": loaded - began, "peak": peak,
                  "parcels": len(table)}))
"""


def _gb(n: float) -> str:
    return f"{n / 1024**3:.2f} GB"


def dataset(parcels: int, partitions: int, seed: int) -> tuple[Path, Path, float]:
    """The cached dataset's folders (generated when missing) and seconds spent generating."""
    from toolkit.world import demo

    folder = OUT / f"cluster-{parcels}-{partitions}-{seed}"
    events, table_dir = folder / "events", folder / "parcels"
    if (folder / "done").is_file():
        return events, table_dir, 0.0
    began = time.perf_counter()
    argv = ["--parcels", str(parcels), "--seed", str(seed), "--format", "parquet"]
    argv += ["--partitions", str(partitions), "--out", str(folder), "--quiet"]
    if demo.main(argv) != 0:
        raise SystemExit("generating the dataset failed")
    (folder / "done").write_text("")
    return events, table_dir, time.perf_counter() - began


def _worker_peak() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _worker_spill(dask_worker) -> tuple[int, int]:
    data = dask_worker.data
    total = getattr(data, "spilled_total", None)
    if total is None:
        return 0, 0
    return int(total.memory), int(total.disk)


def on_cluster(
    events: Path, parcels: Path, now: str, workers: int, memory: str, keep: Path | None = None
) -> dict:
    from distributed import Client, LocalCluster, get_task_stream

    from toolkit.scale import diagnose_dataset

    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=memory,
            dashboard_address=":0",
        ) as cluster,
        Client(cluster) as client,
        tempfile.TemporaryDirectory(dir=OUT) as out,
    ):
        print(f"dashboard: {client.dashboard_link}", file=sys.stderr)
        began = time.perf_counter()
        result = keep if keep is not None else Path(out) / "result"
        with get_task_stream(client) as stream:
            run = diagnose_dataset(events, parcels, now, out=result, client=client)
        seconds = time.perf_counter() - began
        peaks = client.run(_worker_peak)
        spills = client.run(_worker_spill)
    return {
        "seconds": seconds,
        "parcels": run.parcels,
        "peaks": peaks,
        "spills": spills,
        "history": (run.history_parcels, run.history_rows),
        "tasks": _task_times(stream.data),
        "timeline": _timeline(stream.data),
    }


TASKS = {
    "_history_task": "load + lane history (pass 1)",
    "_diagnose_write_task": "diagnose + write diagnoses and triage table (pass 2)",
}


def _task_times(records: list[dict]) -> dict[str, tuple[int, float, float, float]]:
    """Per kind of task: how many ran, and the median, 90th percentile and total seconds
    they computed (from the cluster's task stream), so a slower run shows whether the work
    per partition or the waiting between tasks grew."""
    import statistics

    spans = _spans(records)
    out = {}
    for kind, pairs in spans.items():
        times = sorted(stop - start for start, stop in pairs)
        p90 = times[min(len(times) - 1, int(0.9 * len(times)))]
        out[kind] = (len(times), statistics.median(times), p90, sum(times))
    return out


STEP_TASKS = ("_merge_task", "from_history")  # the step between the passes


def _spans(records: list[dict], kinds=TASKS) -> dict[str, list[tuple[float, float]]]:
    """(start, stop) of each computation of the given kinds of task."""
    spans: dict[str, list[tuple[float, float]]] = {}
    for record in records:
        key = record["key"]
        name = str(key[0] if isinstance(key, tuple) else key)
        kind = name.split("-", 1)[0]
        if kind not in kinds:
            continue
        for step in record["startstops"]:
            if step["action"] == "compute":
                spans.setdefault(kind, []).append((step["start"], step["stop"]))
    return spans


def _timeline(records: list[dict]) -> list[tuple[str, ...]]:
    """Where the wall time went: each pass from its first task's start to its last task's
    end (with the median task in each fifth of the pass, by start, to show whether tasks
    slowed down as the run went on), and the step between the passes (merging the counts,
    fitting the lane model, sending it to the workers) during which no pass task ran."""
    import statistics

    spans = _spans(records)
    rows = []
    first, second = spans.get("_history_task", []), spans.get("_diagnose_write_task", [])
    for kind, pairs in (("_history_task", first), ("_diagnose_write_task", second)):
        if not pairs:
            continue
        pairs = sorted(pairs)
        fifth = max(1, -(-len(pairs) // 5))
        medians = [
            statistics.median(stop - start for start, stop in pairs[i : i + fifth])
            for i in range(0, len(pairs), fifth)
        ]
        wall = max(stop for _, stop in pairs) - pairs[0][0]
        rows.append((TASKS[kind], f"{wall:.1f} s", " / ".join(f"{m:.2f}" for m in medians) + " s"))
    if first and second:
        ended = max(stop for _, stop in first)
        gap = min(start for start, _ in second) - ended
        step = _spans(records, STEP_TASKS)
        merges = step.get("_merge_task", [])
        late = sum(stop - max(start, ended) for start, stop in merges if stop > ended)
        fit = sum(stop - start for start, stop in step.get("from_history", []))
        rows[1:1] = [
            ("between the passes (merge, fit, send the model)", f"{gap:.1f} s", "-"),
            ("… merging counts after the last pass-1 task", f"{late:.1f} s", "-"),
            ("… fitting the lane model", f"{fit:.1f} s", "-"),
            (
                "… merging counts beside pass 1 (all workers)",
                f"{sum(b - a for a, b in merges) - late:.1f} s",
                "-",
            ),
        ]
    return rows


def fresh_python(code: str, *args: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh Python process on the project (its own peak memory)."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        check=False,
    )


def baseline(events: Path, parcels: Path, now: str) -> dict:
    done = fresh_python(_BASELINE, str(events), str(parcels), now)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    from toolkit.world.demo import DEFAULT_AS_OF

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=100_000, help="parcels (100,000)")
    parser.add_argument(
        "--partitions",
        type=int,
        default=None,
        help=f"partitions (one per {PARCELS_PER_PARTITION:,} parcels, at least 4)",
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--memory-limit", default="6GB", help="memory per worker (6GB)")
    parser.add_argument("--seed", type=int, default=7, help="demo seed (7)")
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip diagnose_all on the whole data"
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the diagnoses next to the data set (diagnoses/, for bench/triage_dataset.py)",
    )
    args = parser.parse_args(argv)
    partitions = args.partitions or max(4, -(-args.parcels // PARCELS_PER_PARTITION))
    OUT.mkdir(parents=True, exist_ok=True)
    events, parcels, generated = dataset(args.parcels, partitions, args.seed)
    size = sum(p.stat().st_size for p in [*events.iterdir(), *parcels.iterdir()])
    scans = _rows(events)
    now = DEFAULT_AS_OF

    keep = events.parent / "diagnoses" if args.keep else None
    result = on_cluster(events, parcels, now, args.workers, args.memory_limit, keep)
    base = None if args.no_baseline else baseline(events, parcels, now)

    print(
        f"\n{args.parcels:,} parcels, {scans:,} scans, {partitions} partitions "
        f"({_gb(size)} of Parquet{f', generated in {generated:.0f} s' if generated else ''}); "
        f"local cluster of {args.workers} workers x 1 thread, {args.memory_limit} each\n"
    )
    rows = [
        (
            "diagnose_dataset (cluster)",
            f"{result['seconds']:.1f} s",
            f"{result['seconds'] / args.parcels * 1e6:.0f} µs",
            " / ".join(_gb(p) for p in result["peaks"].values()),
            " / ".join(_gb(d) for _m, d in result["spills"].values()),
            "-" if not base or "error" in base else f"{result['seconds'] / base['seconds']:.2f}",
        )
    ]
    if base and "error" not in base:
        rows.append(
            (
                "diagnose_all (one process)",
                f"{base['seconds']:.1f} s (load {base['load']:.0f} s)",
                f"{base['seconds'] / args.parcels * 1e6:.0f} µs",
                _gb(base["peak"]),
                "-",
                "1.00 (baseline)",
            )
        )
    elif base:
        rows.append(("diagnose_all (one process)", "failed", "-", "-", "-", base["error"][:60]))
    print(
        table(
            rows,
            ("run", "wall time", "per parcel", "peak memory per worker", "spilled", "ratio"),
        )
    )
    print(
        "\n"
        + table(
            [
                (TASKS[k], f"{n}", f"{med:.1f} s", f"{p90:.1f} s", f"{total:.0f} s")
                for k, (n, med, p90, total) in result["tasks"].items()
            ],
            ("task", "ran", "median", "90th percentile", "total (all workers)"),
        )
    )
    print(
        "\n"
        + table(
            result["timeline"],
            ("step", "wall time", "median task in each fifth of the pass (in start order)"),
        )
    )
    past, rows = result["history"]
    print(
        f"\nThe lane model learned from {past:,} parcels with scans, counted in {rows:,} rows "
        "(stage x lane x minute) gathered from the partitions instead of their scans."
    )
    if result["parcels"] != args.parcels:
        print(f"only {result['parcels']:,} of {args.parcels:,} parcels diagnosed")
        return 1
    return 0


def _rows(folder: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).metadata.num_rows for p in sorted(folder.glob("*.parquet")))


if __name__ == "__main__":
    sys.exit(main())
