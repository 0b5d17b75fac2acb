"""Speed of diagnose_all on a large generated set, and against diagnose() called per parcel.

    python bench/diagnose_scale.py                 # 1,000,000 parcels
    python bench/diagnose_scale.py --parcels 100000

The data set is generated with toolkit.world.demo, reduced to what an analyst can see and
normalised once, then cached as Parquet under bench/out/ (git-ignored). The timed run
loads the cache and runs diagnose_all in a fresh subprocess, whose peak resident memory
(ru_maxrss) is reported. The per-parcel comparison calls diagnose() for every parcel of
a 10,000-parcel sample, with one arrival-time model fitted beforehand, and
diagnose_each (the same full results, one core pass) on that sample.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "bench" / "out"
EVENT_COLUMNS = [
    "parcel_id",
    "tracking_number",
    "carrier",
    "leg",
    "time_utc",
    "milestone",
    "linked_number",
    "linked_carrier",
]
PARCEL_COLUMNS = [
    "parcel_id",
    "international_number",
    "international_carrier",
    "domestic_number",
    "domestic_carrier",
    "origin_country",
    "destination_province",
    "shipped_at",
    "recipient_phone",
    "true_category",
    "as_of",
]
STRING = pd.StringDtype("pyarrow")


def paths(n: int) -> tuple[Path, Path]:
    return OUT / f"scale_{n}_parcels.parquet", OUT / f"scale_{n}_events.parquet"


def prepare(n: int, seed: int = 11) -> None:
    """Generate, keep the visible scans, normalise; write the two Parquet caches."""
    from toolkit.tracking.normalize import normalize
    from toolkit.world import demo

    OUT.mkdir(parents=True, exist_ok=True)
    p_path, e_path = paths(n)
    writers: dict[str, pq.ParquetWriter] = {}
    began = time.perf_counter()
    done = 0
    for p_table, e_table in demo._tables(n, seed, demo.DEFAULT_AS_OF):
        parcels = p_table.to_pandas().astype(object).where(lambda d: d.notna(), None)
        raw = e_table.to_pandas()
        visible = demo.observable_events(parcels, raw)
        events = normalize(visible)[EVENT_COLUMNS]
        parcels = parcels[PARCEL_COLUMNS].replace("", None)
        parcels["shipped_at"] = pd.to_datetime(parcels["shipped_at"], utc=True, format="ISO8601")
        for name, df, path in (("p", parcels, p_path), ("e", events, e_path)):
            table = pa.Table.from_pandas(df, preserve_index=False)
            if name not in writers:
                writers[name] = pq.ParquetWriter(path, table.schema)
            writers[name].write_table(table.cast(writers[name].schema))
        done += len(parcels)
        print(f"  prepared {done:,} parcels ({time.perf_counter() - began:.0f} s)", flush=True)
    for w in writers.values():
        w.close()


def load(n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The cached parcels and events, strings held by Arrow."""
    p_path, e_path = paths(n)
    mapper = {pa.string(): STRING, pa.large_string(): STRING}.get
    parcels = pq.read_table(p_path).to_pandas(types_mapper=mapper)
    events = pq.read_table(e_path).to_pandas(types_mapper=mapper)
    for df, col in ((parcels, "shipped_at"), (events, "time_utc")):
        df[col] = df[col].astype("datetime64[ns, UTC]")
    return parcels, events


def child(n: int) -> None:
    """Timed run (in its own process): load, diagnose_all; print JSON with times and memory."""
    import resource

    from toolkit.diagnosis.diagnose import diagnose_all

    t0 = time.perf_counter()
    parcels, events = load(n)
    t1 = time.perf_counter()
    now = pd.Timestamp(parcels["as_of"].iloc[0])
    out = diagnose_all(events, parcels, now)
    t2 = time.perf_counter()
    accuracy = float((out["category"].astype(str).to_numpy() == parcels["true_category"]).mean())
    print(
        json.dumps(
            {
                "parcels": len(parcels),
                "events": len(events),
                "load_s": t1 - t0,
                "diagnose_all_s": t2 - t1,
                "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
                "accuracy": accuracy,
            }
        )
    )


def per_parcel(n: int, sample: int) -> dict:
    """diagnose() per parcel vs diagnose_all on the same sample of parcels."""
    from toolkit.diagnosis.diagnose import diagnose, diagnose_all, diagnose_each, fit_eta

    parcels, events = load(n)
    now = pd.Timestamp(parcels["as_of"].iloc[0])
    parcels = parcels.sample(n=min(sample, len(parcels)), random_state=1).reset_index(drop=True)
    events = events[events["parcel_id"].isin(parcels["parcel_id"])].reset_index(drop=True)
    t0 = time.perf_counter()
    table = diagnose_all(events, parcels, now)
    t_all = time.perf_counter() - t0
    model = fit_eta(events, parcels, now)
    groups = dict(tuple(events.groupby("parcel_id", sort=False)))
    empty = events.iloc[:0]
    t0 = time.perf_counter()
    cats = [
        diagnose(groups.get(p["parcel_id"], empty), now, p, eta_model=model).category
        for _, p in parcels.iterrows()
    ]
    t_one = time.perf_counter() - t0
    t0 = time.perf_counter()
    many = [d.category for d in diagnose_each(events, parcels, now, eta_model=model)]
    t_many = time.perf_counter() - t0
    agree = float((table["category"].astype(str).to_numpy() == pd.Series(cats).to_numpy()).mean())
    return {
        "sample": len(parcels),
        "all_s": t_all,
        "each_s": t_one,
        "many_s": t_many,
        "agree": agree,
        "many_agree": float((pd.Series(many) == pd.Series(cats)).mean()),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parcels", type=int, default=1_000_000)
    ap.add_argument("--sample", type=int, default=10_000, help="per-parcel comparison size")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.parcels)
        return 0
    if not all(p.exists() for p in paths(args.parcels)):
        print(f"preparing {args.parcels:,} parcels (cached under {OUT})", flush=True)
        prepare(args.parcels)
    run = subprocess.run(
        [sys.executable, __file__, "--parcels", str(args.parcels), "--child"],
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode:
        print(run.stderr, file=sys.stderr)
        return run.returncode
    big = json.loads(run.stdout.strip().splitlines()[-1])
    cmp = per_parcel(args.parcels, args.sample)
    per_all = cmp["all_s"] / cmp["sample"]
    per_each = cmp["each_s"] / cmp["sample"]
    rows = [
        ("parcels", f"{big['parcels']:,}"),
        ("events", f"{big['events']:,}"),
        ("load Parquet (s)", f"{big['load_s']:.1f}"),
        ("diagnose_all (s)", f"{big['diagnose_all_s']:.1f}"),
        ("peak memory, load + diagnose_all (GB)", f"{big['peak_rss_gb']:.2f}"),
        ("accuracy vs true_category", f"{big['accuracy']:.1%}"),
        (f"diagnose() per parcel, {cmp['sample']:,} parcels (s)", f"{cmp['each_s']:.1f}"),
        (f"diagnose_each, same {cmp['sample']:,} parcels (s)", f"{cmp['many_s']:.1f}"),
        (f"diagnose_all, same {cmp['sample']:,} parcels (s)", f"{cmp['all_s']:.2f}"),
        ("speed ratio on the sample", f"{per_each / per_all:.0f}x"),
        (
            "speed ratio, per-parcel rate vs diagnose_all at full size",
            f"{per_each * big['parcels'] / big['diagnose_all_s']:.0f}x",
        ),
        ("categories agree (diagnose vs diagnose_all)", f"{cmp['agree']:.1%}"),
        ("categories agree (diagnose vs diagnose_each)", f"{cmp['many_agree']:.1%}"),
    ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v:>12}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
