"""Time, size and memory of the partner report rendered from the demo set.

    python bench/partner_report.py
    python bench/partner_report.py --scopes all sf

Each scope is rendered the way `python -m toolkit report` does it (papermill runs notebook 03
in a fresh kernel, nbconvert turns it into one offline HTML file), in its own subprocess so
that the peak memory of that subprocess and of the kernel it starts can be read apart. The
in-process part (selecting, diagnosing and masking the parcels: content.build_report)
is timed separately. The issue's limit for the file is 8 MB on the demo data.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LIMIT_MB = 8.0
SCOPES = {
    "all": ("whole demo set, all carriers", {}),
    "all-zh": ("whole demo set, in Chinese", {"language": "zh"}),
    "sf": ("SF Express parcels", {"carrier": "sf"}),
    "sf-open": (
        "SF Express, shipped 2026-11-01 to 11-10",
        {"carrier": "sf", "since": "2026-11-01", "until": "2026-11-11"},
    ),
    "one": ("one stuck parcel (Export for partner)", {"one": True}),
}


def child(scope: str) -> dict:
    from toolkit.report import content, export_for_partner, render_report
    from toolkit.world import demo

    options = dict(SCOPES[scope][1])
    parcels, events = demo.load_demo()
    one = options.pop("one", False)
    if one:
        table = content.build_report(parcels, events)
        stuck = table.diagnoses[table.diagnoses["category"].astype(str) == "handover_not_synced"]
        options["parcel_ids"] = [stuck["parcel_id"].iloc[0]]
    t0 = time.perf_counter()
    built = content.build_report(parcels, events, demo=True, **options)
    build_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        if one:
            path = export_for_partner(options["parcel_ids"], parcels, events, Path(out))
        else:
            path = render_report(out, **options)
        render_s = time.perf_counter() - t0
        size = path.stat().st_size
    return {
        "parcels": len(built.diagnoses),
        "stuck": int(built.diagnoses["category"].astype(str).isin(content.STUCK).sum()),
        "questions": len(built.questions),
        "build_s": build_s,
        "render_s": render_s,
        "mb": size / 1e6,
        "self_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
        "kernel_gb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scopes", nargs="+", choices=list(SCOPES), default=list(SCOPES))
    ap.add_argument("--child", choices=list(SCOPES), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child)))
        return 0
    head = (
        "scope",
        "parcels",
        "stuck",
        "questions",
        "build (s)",
        "render (s)",
        "file (MB)",
        f"< {LIMIT_MB:g} MB",
        "peak RSS: python / kernel (GB)",
    )
    rows = []
    for scope in args.scopes:
        run = subprocess.run(
            [sys.executable, __file__, "--child", scope],
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode:
            print(run.stderr, file=sys.stderr)
            return run.returncode
        r = json.loads(run.stdout.strip().splitlines()[-1])
        rows.append(
            (
                SCOPES[scope][0],
                f"{r['parcels']:,}",
                f"{r['stuck']:,}",
                f"{r['questions']:,}",
                f"{r['build_s']:.1f}",
                f"{r['render_s']:.1f}",
                f"{r['mb']:.2f}",
                "yes" if r["mb"] < LIMIT_MB else "NO",
                f"{r['self_gb']:.2f} / {r['kernel_gb']:.2f}",
            )
        )
        print(f"  {scope}: {r['render_s']:.1f} s", file=sys.stderr, flush=True)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
    for row in (head, *rows):
        print(
            "  ".join(
                f"{v:<{w}}" if i == 0 else f"{v:>{w}}"
                for i, (v, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
