"""How fast the group triage widget answers a filter change on a large group.

    python bench/triage_filter.py                  # 100,000 parcels
    python bench/triage_filter.py --parcels 20000

The group is generated with toolkit.world.demo, reduced to the scans an analyst can see,
normalised and cached as Parquet under bench/out/ (git-ignored). The timed part builds
GroupTriage once (diagnose_all and the triage table), then applies a series of filter
changes the way the widget's controls do, and reports for each the time to filter, to
redraw the summary, the ageing histogram and the gone-dark heatmap (both drawn from
counts aggregated over every matching parcel), the swimlanes (drawn for a sample: the
longest-silent parcels, at most --swimlanes of them) and the parcel list.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "bench" / "out"
BUDGET_MS = 300.0


def paths(n: int) -> tuple[Path, Path]:
    return OUT / f"triage_{n}_parcels.parquet", OUT / f"triage_{n}_events.parquet"


def prepare(n: int, seed: int) -> None:
    """Generate the group, keep the visible scans, normalise; cache both tables."""
    from toolkit.model import PARCEL_DTYPES
    from toolkit.tracking.normalize import normalize
    from toolkit.world import demo

    OUT.mkdir(parents=True, exist_ok=True)
    parcels, raw = demo.generate(n, seed=seed)
    events = normalize(demo.observable_events(parcels, raw))
    parcels = parcels.replace("", None)
    parcels["shipped_at"] = pd.to_datetime(parcels["shipped_at"], utc=True, format="ISO8601")
    parcels = parcels.astype({c: t for c, t in PARCEL_DTYPES.items() if c in parcels.columns})
    p_path, e_path = paths(n)
    parcels.to_parquet(p_path, index=False)
    events.to_parquet(e_path, index=False)


def load(n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    p_path, e_path = paths(n)
    parcels = pd.read_parquet(p_path)
    events = pd.read_parquet(e_path)
    return parcels, events


def changes(g) -> list[tuple[str, callable]]:
    """Filter changes, each as the widget control it sets."""
    t = g.triage
    top = [v for v, _ in t.options("carrier")[:2]]
    lane = t.options("lane")[0][0]
    province = t.options("destination_province")[0][0]
    hi = g._w_days.max

    def setter(widget, value):
        return lambda: setattr(widget, "value", value)

    return [
        (
            "category: stuck (4 categories)",
            setter(
                g._w_category,
                ("handover_not_synced", "silent_too_long", "customs_hold", "awaiting_clearance"),
            ),
        ),
        ("days silent: 5 to max", setter(g._w_days, (5, hi))),
        ("carrier: top 2", setter(g._w_carrier, tuple(top))),
        ("province: largest", setter(g._w_province, (province,))),
        ("lane: largest", setter(g._w_lane, (lane,))),
        (
            "clear carrier/province/lane",
            lambda: [setattr(x, "value", ()) for x in (g._w_carrier, g._w_province, g._w_lane)],
        ),
        ("category: all", setter(g._w_category, ())),
        ("days silent: full range", setter(g._w_days, (0, hi))),
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parcels", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--swimlanes", type=int, default=100, help="parcels drawn in the swimlanes")
    ap.add_argument("--repeat", type=int, default=3, help="runs of the series of changes")
    args = ap.parse_args(argv)

    from toolkit.widgets import GroupTriage

    if not all(p.exists() for p in paths(args.parcels)):
        print(f"preparing {args.parcels:,} parcels (cached under {OUT})", flush=True)
        began = time.perf_counter()
        prepare(args.parcels, args.seed)
        print(f"  prepared in {time.perf_counter() - began:.0f} s", flush=True)
    parcels, events = load(args.parcels)
    now = pd.Timestamp(parcels["as_of"].iloc[0])
    began = time.perf_counter()
    g = GroupTriage(parcels, events, now=now, swimlane_limit=args.swimlanes, store=object())
    build = time.perf_counter() - began
    if g.triage is None:
        print(g._w_message.value, file=sys.stderr)
        return 1

    runs: dict[str, list[dict[str, float]]] = {}
    kept: dict[str, int] = {}
    for _ in range(args.repeat):
        for name, apply in changes(g):
            apply()
            runs.setdefault(name, []).append(dict(g.timings))
            kept[name] = int(g.mask.sum())

    parts = ["filter", "summary + histogram + heatmap", "swimlanes", "parcel list", "total"]
    header = f"{'filter change':<32} {'parcels':>9} " + " ".join(f"{p[:14]:>14}" for p in parts)
    print(f"{len(parcels):,} parcels, {len(events):,} scans; widget built in {build:.1f} s")
    print(f"median of {args.repeat} runs, milliseconds; budget {BUDGET_MS:.0f} ms per change")
    print(header)
    print("-" * len(header))
    worst = 0.0
    for name, timings in runs.items():
        med = {p: statistics.median(t[p] for t in timings) * 1000 for p in parts}
        worst = max(worst, max(t["total"] for t in timings) * 1000)
        cells = " ".join(f"{med[p]:>14.1f}" for p in parts)
        print(f"{name:<32} {kept[name]:>9,} {cells}")
    print("-" * len(header))
    verdict = "within" if worst <= BUDGET_MS else "OVER"
    print(f"slowest single change: {worst:.0f} ms ({verdict} the {BUDGET_MS:.0f} ms budget)")
    return 0 if worst <= BUDGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
