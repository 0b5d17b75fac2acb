"""Load time of wide CSV files (many columns), and how fast too-wide ones are refused.

    python bench/wide_csv.py                         # 500, 2,000 and 10,000 columns
    python bench/wide_csv.py --columns 500 1000 --rows 1000
    python bench/wide_csv.py --toolkit /path/to/other/checkout   # compare another version

Each case runs read_events and read_parcels on a generated file (the table's own columns
first, then extra columns) in a fresh subprocess, once to warm up the scan-text matcher
and once timed; a case still running after --timeout seconds is reported as such.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FIRST = {
    "events": (
        ["tracking_number", "description", "time_local", "carrier"],
        lambda r: [
            "LX123456785US",
            f"Accepted {r}",
            f"2026-03-01 {r % 24:02d}:{r % 60:02d}",
            "usps",
        ],
    ),
    "parcels": (
        ["parcel_id", "international_number", "international_carrier", "shipped_at"],
        lambda r: [f"P{r}", "LX123456785US", "usps", "2026-03-01 09:00"],
    ),
}


def wide_csv(table: str, columns: int, rows: int) -> bytes:
    """A CSV of `rows` rows whose header has `columns` columns."""
    names, values = FIRST[table]
    extra = columns - len(names)
    lines = [",".join(names + [f"extra_{i}" for i in range(extra)])]
    for r in range(rows):
        lines.append(",".join(values(r) + [f"v{r}_{i}" for i in range(extra)]))
    return ("\n".join(lines) + "\n").encode()


def one_case(table: str, columns: int, rows: int) -> str:
    """Time one load in this process: 'loaded 0.123' or 'refused 0.012'."""
    from toolkit import io
    from toolkit.errors import ToolkitError

    read = io.read_events if table == "events" else io.read_parcels
    read(wide_csv(table, 5, 3), name="warm-up.csv")
    data = wide_csv(table, columns, rows)
    start = time.perf_counter()
    try:
        read(data, name="wide.csv")
        outcome = "loaded"
    except ToolkitError:
        outcome = "refused"
    return f"{outcome} {time.perf_counter() - start:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--columns", type=int, nargs="+", default=[500, 2000, 10000])
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--toolkit", type=Path, default=ROOT, help="checkout to import from")
    parser.add_argument("--case", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(args.toolkit))
    if args.case:
        table, columns, rows = args.case
        print(one_case(table, int(columns), int(rows)))
        return
    print(f"toolkit: {args.toolkit}; {args.rows} rows per file")
    print(f"{'columns':>8} {'table':8} {'outcome':>8} {'seconds':>8}")
    for columns in args.columns:
        for table in ("events", "parcels"):
            command = [sys.executable, __file__, "--toolkit", str(args.toolkit)]
            command += ["--case", table, str(columns), str(args.rows)]
            try:
                done = subprocess.run(
                    command, capture_output=True, text=True, timeout=args.timeout, cwd=args.toolkit
                )
                outcome, seconds = (done.stdout.split() or ["failed", "-"])[-2:]
            except subprocess.TimeoutExpired:
                outcome, seconds = "running", f">{args.timeout:.0f}"
            print(f"{columns:>8,} {table:8} {outcome:>8} {seconds:>8}", flush=True)


if __name__ == "__main__":
    main()
