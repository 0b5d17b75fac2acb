"""Command line: ``python -m toolkit <command> ...``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from toolkit.errors import InputError, ToolkitError


def _sandbox(args: argparse.Namespace) -> int:
    from toolkit.world.sandbox import Faults, World, serve

    faults = Faults(
        latency=args.latency,
        rate_429=args.rate_429,
        retry_after=args.retry_after,
        rate_5xx=args.rate_5xx,
        rate_timeout=args.rate_timeout,
        timeout_seconds=args.timeout_seconds,
        rate_malformed=args.rate_malformed,
        seed=args.seed,
    )
    world = World.from_directory(args.data) if args.data else World.demo()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with serve(
        port=args.port, host=args.host, faults=faults, world=world, verbose=not args.quiet
    ) as server:
        print(
            f"Sandbox listening on {server.url} ({world!r})\n"
            f"  17TRACK   {server.url}/track/v2.2/register, /track/v2.2/gettrackinfo\n"
            f"  Kuaidi100 {server.url}/poll/query.do\n"
            f"  AfterShip {server.url}/tracking/2025-01/trackings, /tracking/2025-01/couriers/detect\n"
            f"  faults: {faults}\n"
            "Press Ctrl+C to stop.",
            flush=True,
        )
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    print("Sandbox stopped.", flush=True)
    return 0


def _report(args: argparse.Namespace) -> int:
    from toolkit.report import render_report

    if (args.parcels_table is None) != (args.events is None):
        raise InputError(
            "--parcels-table and --events go together",
            "python -m toolkit report",
            "Give both, or neither to report on the demo data set",
        )
    tables = {}
    if args.parcels_table is not None:
        from toolkit.io import read_events, read_parcels

        tables = {"parcels": read_parcels(args.parcels_table), "events": read_events(args.events)}
    path = render_report(
        args.out,
        carrier=args.carrier,
        since=args.since,
        until=args.until,
        parcels_file=args.parcels,
        findings_url=args.findings_url,
        findings_filter={
            "status": args.finding_status,
            "category": args.finding_category,
            "analyst": args.finding_analyst,
            "since": args.finding_since,
        },
        language=args.language,
        now=args.now,
        **tables,
    )
    print(path)
    return 0


def _diagnose(args: argparse.Namespace) -> int:
    from toolkit.scale import _connect, diagnose_dataset

    client = _connect(args.scheduler)
    try:
        run = diagnose_dataset(
            args.events,
            args.parcels,
            now=args.now,
            out=args.out,
            client=client,
            workers=args.workers,
            memory_limit=args.memory_limit,
            progress=not args.quiet,
        )
    finally:
        if client is not None:
            client.close()
    print(run.summary())
    return 0


def _repartition(args: argparse.Namespace) -> int:
    from toolkit.io import repartition

    events, parcels = repartition(args.events, args.parcels, args.out, args.partitions)
    print(f"wrote {events} and {parcels} in {args.partitions} partitions")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m toolkit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")

    sandbox = commands.add_parser(
        "sandbox",
        help="serve the carrier sandbox (17TRACK, Kuaidi100, AfterShip) on localhost",
        description="Serve 17TRACK, Kuaidi100 and AfterShip look-alikes from the demo data set. "
        "Point the clients at the printed URL as their base URL.",
    )
    sandbox.add_argument(
        "--port", type=int, default=8765, help="port to listen on (0: any free port)"
    )
    sandbox.add_argument("--host", default="127.0.0.1", help="address to listen on")
    sandbox.add_argument(
        "--latency", type=float, default=0.0, help="seconds added to every request"
    )
    sandbox.add_argument(
        "--rate-429", type=float, default=0.0, help="share of requests answered 429"
    )
    sandbox.add_argument(
        "--retry-after", type=float, default=1.0, help="seconds announced with 429"
    )
    sandbox.add_argument("--rate-5xx", type=float, default=0.0, help="share answered 500/502/503")
    sandbox.add_argument("--rate-timeout", type=float, default=0.0, help="share left unanswered")
    sandbox.add_argument(
        "--timeout-seconds", type=float, default=30.0, help="how long an unanswered request hangs"
    )
    sandbox.add_argument(
        "--rate-malformed", type=float, default=0.0, help="share answered with truncated JSON"
    )
    sandbox.add_argument("--seed", type=int, default=None, help="seed for the fault draws")
    sandbox.add_argument("--data", default=None, help="directory with parcels.csv and events.csv")
    sandbox.add_argument("--quiet", action="store_true", help="do not print one line per request")
    sandbox.set_defaults(run=_sandbox)

    report = commands.add_parser(
        "report",
        help="render the carrier partner report to one HTML file that opens offline",
        description="Run notebooks/03_partner_report.ipynb and write it as one self-contained "
        "HTML file (recipient data masked, no code, nothing loaded from the internet). "
        "Without --parcels-table and --events it reports on the demo data set.",
    )
    report.add_argument("--carrier", default=None, help="carrier code, e.g. sf or usps (all)")
    report.add_argument(
        "--since", default=None, help="only parcels shipped since this date, e.g. 2026-11-01"
    )
    report.add_argument(
        "--until",
        default=None,
        help="only parcels shipped before this date (not included): --since 2026-10-01 "
        "--until 2026-11-01 is October",
    )
    report.add_argument(
        "--parcels",
        default=None,
        metavar="FILE",
        help="only these parcels: a CSV/Parquet with a parcel_id (or international_number) "
        "column, or a text file with one parcel id or tracking number a line",
    )
    found = report.add_argument_group(
        "parcels with recorded findings",
        "Only parcels with a current finding matching all of these; repeat a flag to allow "
        "several values. The report's findings section then lists the matching findings.",
    )
    found.add_argument(
        "--finding-status", action="append", metavar="STATUS", help="open, waiting or resolved"
    )
    found.add_argument(
        "--finding-category", action="append", metavar="CATEGORY", help="e.g. customs_hold"
    )
    found.add_argument(
        "--finding-analyst", action="append", metavar="NAME", help="who recorded the finding"
    )
    found.add_argument(
        "--finding-since", default=None, metavar="DATE", help="changed since this date"
    )
    report.add_argument(
        "--out", default="out", metavar="DIR", help="output folder (out, in the working folder)"
    )
    report.add_argument(
        "--language", choices=("en", "zh"), default="en", help="report language (en)"
    )
    report.add_argument(
        "--parcels-table", default=None, metavar="FILE", help="parcels table to report on"
    )
    report.add_argument("--events", default=None, metavar="FILE", help="its events table")
    report.add_argument(
        "--findings-url", default=None, help="findings store address (the default store)"
    )
    report.add_argument(
        "--now", default=None, help="the moment described (the data's as_of, else now)"
    )
    report.set_defaults(run=_report)

    diagnose = commands.add_parser(
        "diagnose",
        help="diagnose a co-partitioned Parquet dataset on a Dask cluster",
        description="Diagnose every parcel of the datasets --events DIR and --parcels DIR "
        "(part-00000.parquet … co-partitioned by parcel_id, as written by `python -m "
        "toolkit.demo --format parquet --partitions K` or `python -m toolkit repartition`) "
        "on a local Dask cluster, or on the scheduler given by --scheduler or "
        "$TOOLKIT_DASK_SCHEDULER; the result is a Parquet dataset in --out.",
    )
    diagnose.add_argument("--events", required=True, metavar="DIR", help="events dataset")
    diagnose.add_argument("--parcels", required=True, metavar="DIR", help="parcels dataset")
    diagnose.add_argument("--out", required=True, metavar="DIR", help="result dataset folder")
    diagnose.add_argument(
        "--now", default=None, help="the moment of the diagnosis, e.g. 2026-11-20T12:00Z (now)"
    )
    diagnose.add_argument(
        "--scheduler", default=None, metavar="tcp://HOST:PORT", help="a running Dask scheduler"
    )
    diagnose.add_argument(
        "--workers", type=int, default=None, help="local cluster: worker processes (one a core)"
    )
    diagnose.add_argument(
        "--memory-limit", default="auto", help="local cluster: memory per worker, e.g. 6GB"
    )
    diagnose.add_argument("--quiet", action="store_true", help="no dashboard link or progress")
    diagnose.set_defaults(run=_diagnose)

    repart = commands.add_parser(
        "repartition",
        help="write an events and a parcels export as co-partitioned Parquet datasets",
        description="Shuffle an events and a parcels export (CSV/TSV, optionally gzipped, or "
        "Parquet files or folders; paths or fsspec URLs) into --out/events/ and "
        "--out/parcels/, co-partitioned by parcel_id, for `python -m toolkit diagnose`.",
    )
    repart.add_argument("--events", required=True, metavar="PATH", help="events export")
    repart.add_argument("--parcels", required=True, metavar="PATH", help="parcels export")
    repart.add_argument("--out", required=True, metavar="DIR", help="output folder")
    repart.add_argument("--partitions", type=int, required=True, help="number of partitions")
    repart.set_defaults(run=_repartition)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except ToolkitError as exc:
        from toolkit.keys import redact_url

        print(f"error: {redact_url(exc)}", file=sys.stderr)  # no password of a URL given
        return 2


if __name__ == "__main__":
    sys.exit(main())
