"""Group triage over a diagnoses folder too large to load: open, filter, draw, export.

    python bench/triage_dataset.py                      # 1,000,000 parcels
    python bench/triage_dataset.py --parcels 100000

The data set is the one bench/diagnose_cluster.py generates (cached under bench/out/), its
diagnoses written once by ``toolkit.scale.diagnose_dataset`` next to it (``diagnoses/``,
kept). A fresh process then opens the folder in ``GroupTriage.load_dataset`` and changes
filters as an analyst does, twice: first without the triage tables diagnose_dataset writes
beside the diagnoses (as for a folder diagnosed before they were written: the filter
columns are computed from the diagnoses and parcels, and kept), then with them. The table
gives each step's time as the widget measures it (``GroupTriage.timings``: filter, charts,
swimlanes with the scans read on demand, list) and the process's peak resident memory. For
comparison, the same process's memory when the whole diagnoses table alone is read (every
column, not what triage needs) is given too.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from diagnose_cluster import PARCELS_PER_PARTITION, dataset, fresh_python  # noqa: E402
from tables import table  # noqa: E402

_RUN = """
import json, resource, sys, tempfile, time
import pandas as pd
from toolkit.widgets.triage import GroupTriage
folder = sys.argv[1]
peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
steps = []
g = GroupTriage(out_dir=tempfile.mkdtemp(), analyst="bench")
began = time.perf_counter()
g.load_dataset(folder)
steps.append(("open the folder (load_dataset, first draw included)",
              time.perf_counter() - began, dict(g.timings)))
opened = peak()
options = [v for _, v in g.parts.category.options]
for category in ("customs_hold", "handover_not_synced", "silent_too_long"):
    if category in options:
        g.parts.category.value = (category,)
        steps.append((f"category = {category} ({len(g.filtered_ids()):,} parcels)",
                      g.timings["total"], dict(g.timings)))
carriers = [v for _, v in g.parts.carrier.options][:2]
g.parts.carrier.value = tuple(carriers)
steps.append((f"carrier = {', '.join(carriers)}", g.timings["total"], dict(g.timings)))
g.parts.reset_button.click()
steps.append(("clear filters", g.timings["total"], dict(g.timings)))
began = time.perf_counter()
g.select(g.filtered_ids()[:50])
g.export_csv()
steps.append(("select 50 parcels and export them as CSV", time.perf_counter() - began, {}))
print(json.dumps({"steps": steps, "opened_peak": opened, "peak": peak(), "parcels": len(g.triage)}))
"""

_WHOLE = """
import json, resource, sys
import pandas as pd
from toolkit.io import partition_paths
frames = [pd.read_parquet(p) for p in partition_paths(sys.argv[1])]
whole = pd.concat(frames, ignore_index=True)
print(json.dumps({"peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "rows": len(whole)}))
"""


def _gb(n: float) -> str:
    return f"{n / 1024**3:.2f} GB"


def _python(code: str, *args: str) -> dict:
    done = fresh_python(code, *args)
    if done.returncode != 0:
        raise SystemExit(done.stderr.strip()[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    from toolkit.scale import TRIAGE_DIR, diagnose_dataset
    from toolkit.world.demo import DEFAULT_AS_OF

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=1_000_000, help="parcels (1,000,000)")
    parser.add_argument("--seed", type=int, default=7, help="demo seed (7)")
    args = parser.parse_args(argv)
    partitions = max(4, -(-args.parcels // PARCELS_PER_PARTITION))
    events, parcels, _ = dataset(args.parcels, partitions, args.seed)
    folder = events.parent / "diagnoses"
    if not (folder / "_toolkit.json").is_file():
        diagnose_dataset(events, parcels, DEFAULT_AS_OF, out=folder, workers=2)
    # first as a folder diagnosed without its triage tables (they are computed from the
    # diagnoses and parcels, and kept), then as diagnose_dataset leaves it (they are read)
    shutil.rmtree(folder / TRIAGE_DIR, ignore_errors=True)
    first = _python(_RUN, str(folder))
    run = _python(_RUN, str(folder))
    whole = _python(_WHOLE, str(folder))
    print(
        f"\n{run['parcels']:,} parcels in {partitions} partitions; peak memory of the "
        f"triage process {_gb(run['peak'])} ({_gb(run['opened_peak'])} once opened); "
        f"reading the whole diagnoses table alone peaks at {_gb(whole['peak'])}\n"
    )
    what, seconds, _ = first["steps"][0]
    rows = [
        (
            f"{what}, triage table computed from the diagnoses and parcels",
            f"{seconds * 1000:,.0f} ms",
            "-",
        )
    ]
    for what, seconds, parts in run["steps"]:
        lanes = parts.get("swimlanes")
        rows.append(
            (what, f"{seconds * 1000:,.0f} ms", "-" if lanes is None else f"{lanes * 1000:,.0f} ms")
        )
    print(table(rows, ("step", "time", "of which swimlanes (scans read on demand)")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
