"""The diagnosis of datasets too large for one machine, on a Dask cluster.

A dataset is a pair of Parquet folders, ``events/`` and ``parcels/``, co-partitioned by
parcel_id (toolkit.io: ``partition_of``, ``repartition``; ``python -m toolkit.demo
--format parquet --partitions K`` writes them): a parcel's row and all its scans are in the
files of the same number, so each partition is diagnosed by ``diagnose_all`` on its own.

What in ``diagnose_all`` looks across parcels, and how it is kept exact here:

- **The lane ETA model** is fitted on every parcel with scans (those without a parcels row
  too). Each partition counts its history (``diagnose.eta_history``: per stage, lane and
  whole minute, how many parcels left the stage's clock and how many by delivery); the counts
  are added up in a tree on the cluster (``EtaHistory.merge``), one ``EtaModel`` is built
  from the sum (``EtaModel.from_history``) and handed to every partition's ``diagnose_all``
  (``eta_model=``). Kaplan-Meier curves depend on these counts only, so the model is the one
  ``diagnose_all`` fits on the whole data, bit for bit. Only the counts travel, never scans
  (about one row per past parcel at a few million parcels; one worker fits the model, which
  then stays on the cluster and goes from worker to worker, not through the caller).
- **Scans dated before the parcel's latest scan by more than the trace span** are found per
  parcel; the data-wide time span ``scan_flags`` looks at first only decides whether to
  look, so the result per parcel is the same in any split.
- Everything else (the category rules, number checks, lane thresholds, texts) reads one
  parcel's own row and scans.

Each parcel therefore gets the category, ETA and texts ``diagnose_all`` gives it on all the
data at once. The partitions are read twice (once to count the history, once to diagnose),
so no worker holds more than a few partitions at a time; with ``out`` the second pass
reads the tables as the first loaded them (typed Parquet in out/.loaded/, removed at the
end) instead of parsing the raw files again. Beside each partition's diagnoses the second
pass also writes its triage table (``_triage/``: the columns group triage filters on), so
that ``open_diagnoses`` reads those instead of computing them from the parcels.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pandas as pd

from toolkit.diagnosis.diagnose import diagnose_all, eta_history
from toolkit.diagnosis.eta import EtaHistory, EtaModel
from toolkit.diagnosis.scorecard import SCORE_BY, score_parts, score_table
from toolkit.errors import InputError, ToolkitError
from toolkit.files import private_dir
from toolkit.io import (
    _PARTITION_NAME,
    PARTITION_FILE,
    REPARTITION_HINT,
    partition_of,
    partition_paths,
    read_events,
    read_parcels,
)
from toolkit.model import text_isin
from toolkit.policy import DEFAULT_CONFIG, DiagnosisConfig
from toolkit.times import utc_now

__all__ = [
    "DATASET_INFO",
    "SCHEDULER_ENV",
    "DiagnosesDataset",
    "ScaleRun",
    "cluster",
    "diagnose_dataset",
    "open_diagnoses",
    "scorecard_dataset",
]

SCHEDULER_ENV = "TOOLKIT_DASK_SCHEDULER"  # tcp://host:8786 of a team's scheduler
_MERGE_FAN_IN = 8  # histories added up per task in the tree reduction
_SCRATCH = ".loaded"  # under out/: the partitions as loaded, kept between the two passes
DATASET_INFO = "_toolkit.json"  # beside a diagnoses folder's partitions: its time and inputs
TRIAGE_DIR = "_triage"  # under a diagnoses folder: each partition's triage table


@dataclass
class ScaleRun:
    """What ``diagnose_dataset`` wrote: the output folder, partitions and parcels per category."""

    out: str
    partitions: int
    parcels: int
    categories: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    dashboard: str | None = None
    history_parcels: int = 0  # past parcels the lane model learned from
    history_rows: int = 0  # rows of counted history those came down to

    def summary(self) -> str:
        """A few lines for people: counts per category and where the result is."""
        lines = [
            f"diagnosed {self.parcels:,} parcels in {self.partitions} partitions "
            f"in {self.seconds:.1f} s; result: {self.out}"
        ]
        width = max((len(c) for c in self.categories), default=0)
        for cat, n in sorted(self.categories.items(), key=lambda kv: -kv[1]):
            lines.append(f"  {cat:<{width}}  {n:>12,}")
        return "\n".join(lines)


# ----------------------------------------------------------------------------- the cluster


@contextlib.contextmanager
def cluster(
    client=None,
    *,
    workers: int | None = None,
    memory_limit: str | float | None = "auto",
    quiet: bool = False,
) -> Iterator:
    """A ``distributed.Client``: ``client`` itself when given, else one joined to the
    scheduler named by $TOOLKIT_DASK_SCHEDULER (tcp://…), else a local cluster of worker
    processes (``workers``, default one per core, one thread each; ``memory_limit`` per
    worker, e.g. "6GB"), closed again on leaving. The dashboard link is printed."""
    if client is not None:
        link = getattr(client, "dashboard_link", None)
        if link and not quiet:
            print(f"Dask cluster {client.scheduler.address}; dashboard: {link}", file=sys.stderr)
        yield client
        return
    from distributed import Client, LocalCluster

    address = os.environ.get(SCHEDULER_ENV, "").strip()
    if address:
        try:
            joined = Client(address, timeout="20s")
        except OSError as exc:
            raise InputError(
                f"cannot reach the Dask scheduler at {address} ({exc})",
                SCHEDULER_ENV,
                "Check the address and that the scheduler runs, or unset the variable to use "
                "a local cluster",
            ) from exc
        if not quiet:
            print(f"Dask scheduler {address}; dashboard: {joined.dashboard_link}", file=sys.stderr)
        try:
            yield joined
        finally:
            joined.close()
        return
    n = workers or os.cpu_count() or 1
    local = LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        memory_limit=memory_limit,
        dashboard_address=":0",
    )
    started = Client(local)
    if not quiet:
        print(
            f"local Dask cluster: {n} worker process(es); dashboard: {started.dashboard_link}",
            file=sys.stderr,
        )
    try:
        yield started
    finally:
        started.close()
        local.close()


def _is_local(fs) -> bool:
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return protocol in ("file", "local")


def _connect(scheduler: str | None):
    """A client for ``scheduler`` (tcp://…), or None for the default."""
    if not scheduler:
        return None
    from distributed import Client

    try:
        return Client(scheduler, timeout="20s")
    except OSError as exc:
        raise InputError(
            f"cannot reach the Dask scheduler ({exc})",
            scheduler,
            "Check the address (tcp://host:8786) and that the scheduler runs",
        ) from exc


# ------------------------------------------------------------------------- one partition


def _portable(exc: ToolkitError, where: str) -> InputError:
    """The error as a plain InputError naming the partition (it travels between processes)."""
    place = where if not exc.where or exc.where in where else f"{where} ({exc.where})"
    return InputError(exc.what, place, exc.hint)


def _load(source, table: str, label: str) -> pd.DataFrame:
    """One partition of a table: a file path/URL read by the toolkit's loaders, or a frame."""
    if isinstance(source, pd.DataFrame):
        return source
    import fsspec

    with fsspec.open(source, "rb") as stream:
        data = stream.read()
    name = source.rstrip("/").rsplit("/", 1)[-1]
    # a partition's size is bounded by the worker's memory (memory_limit), not by the
    # single-file loader limits: a partition too large calls for more partitions
    limits = {"max_rows": max(len(data), 1), "max_bytes": 1 << 50}
    if table == "events":
        return read_events(data, source=label, name=name, **limits)
    return read_parcels(data, name=name, **limits)


def _check_placed(ids: pd.Series, number: int, partitions: int, where: str) -> None:
    """Refuse a partition holding parcels whose hash names another partition."""
    if not len(ids):
        return
    home = partition_of(ids, partitions)
    wrong = home != number
    if wrong.any():
        first = int(wrong.argmax())
        raise InputError(
            f"{int(wrong.sum()):,} row(s) belong to other partitions: parcel "
            f"{ids.iloc[first]!r} is in partition {number} but its parcel_id hashes to "
            f"partition {int(home[first])} of {partitions}: the events and parcels are not "
            "co-partitioned by parcel_id",
            where,
            REPARTITION_HINT,
        )


def _where(source, label: str, number: int) -> str:
    """A partition named for messages: 'events/part-00003.parquet (partition 3)'."""
    if isinstance(source, str):
        return f"{label}/{source.rstrip('/').rsplit('/', 1)[-1]} (partition {number})"
    return f"{label} partition {number}"


def _partition(
    events_src, parcels_src, number: int, partitions: int, labels: tuple[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    where_e, where_p = (
        _where(src, label, number)
        for src, label in zip((events_src, parcels_src), labels, strict=True)
    )
    try:
        events = _load(events_src, "events", labels[0])
    except ToolkitError as exc:
        raise _portable(exc, where_e) from None
    try:
        parcels = _load(parcels_src, "parcels", labels[1])
    except ToolkitError as exc:
        raise _portable(exc, where_p) from None
    for frame, where, table in ((events, where_e, "events"), (parcels, where_p, "parcels")):
        if "parcel_id" not in frame.columns:
            raise InputError(
                f"the {table} table has no 'parcel_id' column",
                where,
                "Add the column, or load the files with toolkit.io and repartition them",
            )
    _check_placed(events["parcel_id"], number, partitions, where_e)
    _check_placed(parcels["parcel_id"], number, partitions, where_p)
    return events, parcels


def _history_task(
    events_src, parcels_src, number, partitions, labels, now, scratch: str | None
) -> EtaHistory:
    events, parcels = _partition(events_src, parcels_src, number, partitions, labels)
    if scratch is not None:  # the loaded tables, so that the diagnosis does not load again
        import fsspec

        for frame, table in ((events, "events"), (parcels, "parcels")):
            with fsspec.open(_scratch_file(scratch, table, number), "wb") as stream:
                frame.to_parquet(stream, index=False)
    try:
        return eta_history(events, parcels, now)
    except ToolkitError as exc:
        raise _portable(exc, _where(events_src, labels[0], number)) from None


def _scratch_file(scratch: str, table: str, number: int) -> str:
    return f"{scratch}/{table}-{number:05d}.parquet"


def _merge_task(*histories: EtaHistory) -> EtaHistory:
    return EtaHistory.merge(histories)


def _diagnose_task(
    events_src,
    parcels_src,
    number,
    partitions,
    labels,
    now,
    model: EtaModel,
    config: DiagnosisConfig,
    check_numbers: str,
    scratch: str | None = None,
) -> pd.DataFrame:
    return _diagnosed(
        events_src, parcels_src, number, partitions, labels, now, model, config,
        check_numbers, scratch,
    )[0]  # fmt: skip


def _diagnosed(
    events_src, parcels_src, number, partitions, labels, now, model, config, check_numbers,
    scratch,
) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """A partition's diagnoses, and its parcels as loaded."""
    if scratch is None:
        events, parcels = _partition(events_src, parcels_src, number, partitions, labels)
    else:
        import fsspec

        loaded = []
        for table in ("events", "parcels"):
            with fsspec.open(_scratch_file(scratch, table, number), "rb") as stream:
                loaded.append(pd.read_parquet(stream))
        events, parcels = loaded
    try:
        table = diagnose_all(
            events, parcels, now, config, eta_model=model, check_numbers=check_numbers
        )
    except ToolkitError as exc:
        raise _portable(exc, _where(events_src, labels[0], number)) from None
    table = table.reset_index(drop=True)
    table.attrs = {}
    return table, parcels


def _write_frame(table: pd.DataFrame, path: str) -> None:
    import fsspec

    with fsspec.open(path, "wb") as stream:
        table.to_parquet(stream, index=False)


def _diagnose_write_task(
    events_src, parcels_src, number, partitions, labels, now, model, config, check_numbers,
    scratch, path: str, triage_path: str,
) -> dict[str, int]:  # fmt: skip
    """Diagnose a partition and write its diagnoses, and its triage table beside them (what
    GroupTriage filters on: opening the folder then reads it instead of computing it)."""
    table, parcels = _diagnosed(
        events_src, parcels_src, number, partitions, labels, now, model, config,
        check_numbers, scratch,
    )  # fmt: skip
    _write_frame(table, path)
    _write_frame(_triage_part(table, parcels, now), triage_path)
    counts = table["category"].value_counts()
    return {str(k): int(v) for k, v in counts.items() if v}


def _triage_part(diagnoses: pd.DataFrame, parcels: pd.DataFrame, now) -> pd.DataFrame:
    """``triage_table`` of one partition: the parcels rows of its diagnosed parcels (one
    each), text as Arrow strings (a few bytes a row, not a Python str each)."""
    from toolkit.diagnosis.triage import triage_table

    p = parcels[text_isin(parcels["parcel_id"], diagnoses["parcel_id"])]
    part = triage_table(diagnoses, p.drop_duplicates("parcel_id"), now)
    for column in part.columns:
        if part[column].dtype == object:
            part[column] = part[column].astype(_TEXT)
    return part


def _recorded(data) -> str | None:
    """A dataset folder as _toolkit.json records it (absolute path or URL); None for data
    that is not a folder."""
    if not isinstance(data, str | os.PathLike):
        return None
    url = os.fspath(data)
    return url if "://" in url else os.path.abspath(url)


def _write_info(fs, root: str, now: pd.Timestamp, partitions: int, events, parcels) -> None:
    """Record beside the diagnoses when they were made and from which folders, so that
    ``open_diagnoses`` finds the scans and parcels again."""
    import json

    info = {"now": now.isoformat(), "partitions": partitions}
    info.update(events=_recorded(events), parcels=_recorded(parcels))
    with fs.open(f"{root}/{DATASET_INFO}", "w") as stream:
        json.dump(info, stream, indent=1)


# ------------------------------------------------------------------------------ the inputs


def _sources(data, table: str) -> tuple[list, str]:
    """Per-partition sources of a dataset: file paths/URLs, or a dask DataFrame's partitions."""
    if isinstance(data, str | os.PathLike):
        url = os.fspath(data)
        return partition_paths(url), url.rstrip("/").rsplit("/", 1)[-1] or table
    if hasattr(data, "to_delayed") and hasattr(data, "npartitions"):
        return list(data.to_delayed()), table
    raise InputError(
        f"{table} must be a dataset folder (path or URL) or a dask DataFrame, "
        f"got {type(data).__name__}",
        "diagnose_dataset",
    )


def _tree_merge(histories: Sequence):
    """Add the per-partition histories up in a tree of delayed merges."""
    from dask import delayed

    level = list(histories)
    while len(level) > 1:
        level = [
            delayed(_merge_task, pure=True)(*level[i : i + _MERGE_FAN_IN])
            for i in range(0, len(level), _MERGE_FAN_IN)
        ]
    return level[0] if len(level) == 1 else delayed(_merge_task)()


def _meta() -> pd.DataFrame:
    """The columns and types of diagnose_all's table (for a dask DataFrame of results)."""
    from toolkit.model import EVENT_DTYPES, PARCEL_DTYPES

    events = pd.DataFrame({c: pd.Series(dtype=t) for c, t in EVENT_DTYPES.items()})
    parcels = pd.DataFrame({c: pd.Series(dtype=t) for c, t in PARCEL_DTYPES.items()})
    table = diagnose_all(events, parcels, pd.Timestamp("2026-01-01", tz="UTC"))
    table.attrs = {}
    return table


# --------------------------------------------------------------------------- the public call


def diagnose_dataset(
    events,
    parcels,
    now: pd.Timestamp | str | None = None,
    out: str | os.PathLike | None = None,
    client=None,
    *,
    config: DiagnosisConfig = DEFAULT_CONFIG,
    check_numbers: str = "unscanned",
    workers: int | None = None,
    memory_limit: str | float | None = "auto",
    progress: bool = True,
):
    """Diagnose every parcel of a co-partitioned dataset on a Dask cluster.

    ``events`` and ``parcels`` are dataset folders (local paths or fsspec URLs holding
    part-00000.parquet …, see toolkit.io.repartition) or dask DataFrames in the contract
    with the same number of partitions, partition i holding the parcels whose parcel_id
    hashes to i (``toolkit.io.partition_of``). Partitions that are not co-located are refused
    (InputError naming the partition and the repartition function).

    The cluster is ``client`` (a ``distributed.Client``, or the name of a dask scheduler
    such as "synchronous" to run in this process), else the scheduler in
    $TOOLKIT_DASK_SCHEDULER, else a local
    cluster of ``workers`` processes (default: one per core) with ``memory_limit`` each,
    closed at the end. With ``out`` the result is written there as a Parquet dataset (one
    file per partition, part-00000.parquet …) and a ``ScaleRun`` summary is returned; without
    it the result is returned as a dask DataFrame (the lane model is fitted first, on the
    cluster; the per-partition diagnoses run when it is computed).

    Every parcel gets the row ``diagnose_all(events, parcels, now)`` gives it on all the data
    at once; the module's docstring says how the lane model is fitted exactly across
    partitions.
    """
    from dask import delayed

    began = time.perf_counter()
    now = utc_now(now)
    if check_numbers not in ("unscanned", "all"):
        raise InputError(
            f"check_numbers must be 'unscanned' or 'all', got {check_numbers!r}",
            "diagnose_dataset",
        )
    ev_src, ev_label = _sources(events, "events")
    pc_src, pc_label = _sources(parcels, "parcels")
    if len(ev_src) != len(pc_src):
        raise InputError(
            f"the events have {len(ev_src)} partitions and the parcels {len(pc_src)}: they are "
            "not co-partitioned by parcel_id",
            f"{ev_label} and {pc_label}",
            REPARTITION_HINT,
        )
    k = len(ev_src)
    labels = (ev_label, pc_label)
    scratch = fs = None
    if out is not None:
        import fsspec

        base = os.fspath(out).rstrip("/")
        fs, root = fsspec.core.url_to_fs(base)
        # the loaded partitions between the two passes (recipient data: owner-only here)
        scratch = f"{base}/{_SCRATCH}"
        if fs.exists(f"{root}/{_SCRATCH}"):
            fs.rm(f"{root}/{_SCRATCH}", recursive=True)
        fs.makedirs(f"{root}/{_SCRATCH}", exist_ok=True)
        if _is_local(fs):
            private_dir(f"{root}/{_SCRATCH}")
        for old in fs.glob(f"{root}/part-*.parquet"):
            fs.rm(old)
        if fs.exists(f"{root}/{TRIAGE_DIR}"):
            fs.rm(f"{root}/{TRIAGE_DIR}", recursive=True)
        fs.makedirs(f"{root}/{TRIAGE_DIR}", exist_ok=True)
    histories = [
        delayed(_history_task, pure=True)(ev_src[i], pc_src[i], i, k, labels, now, scratch)
        for i in range(k)
    ]
    merged = _tree_merge(histories)
    fitted = delayed(EtaModel.from_history, pure=True)(merged, config)

    try:
        with cluster(client, workers=workers, memory_limit=memory_limit, quiet=not progress) as c:
            say = "counting the lane history of each partition" if progress else None
            # Written out, the fitted model stays on the worker that fitted it and goes from
            # there to the other workers (once each), not through this process and back.
            kept = out is not None and not isinstance(c, str)
            model = _compute(c, fitted, say, keep=kept)
            if kept:
                facts = c.submit(_model_facts, model, pure=False).result()
            else:
                facts = (model.n_history, model.history_rows)
            if out is None:
                model_d = delayed(model)
                parts = [
                    delayed(_diagnose_task)(
                        ev_src[i], pc_src[i], i, k, labels, now, model_d, config, check_numbers
                    )
                    for i in range(k)
                ]
                import dask
                import dask.dataframe as dd

                # the columns keep diagnose_all's types (no conversion of object columns)
                with dask.config.set({"dataframe.convert-string": False}):
                    return dd.from_delayed(parts, meta=_meta(), verify_meta=False)

            model_d = model if kept else delayed(model)
            written = [
                delayed(_diagnose_write_task)(
                    ev_src[i],
                    pc_src[i],
                    i,
                    k,
                    labels,
                    now,
                    model_d,
                    config,
                    check_numbers,
                    scratch,
                    f"{base}/{PARTITION_FILE.format(i)}",
                    f"{base}/{TRIAGE_DIR}/{PARTITION_FILE.format(i)}",
                )
                for i in range(k)
            ]
            counts = _compute(c, written, "diagnosing each partition" if progress else None)
            dashboard = None if isinstance(c, str) else c.dashboard_link
    finally:
        if fs is not None and fs.exists(f"{root}/{_SCRATCH}"):
            fs.rm(f"{root}/{_SCRATCH}", recursive=True)
    _write_info(fs, root, now, k, events, parcels)
    total: dict[str, int] = {}
    for part in counts:
        for cat, n in part.items():
            total[cat] = total.get(cat, 0) + n
    return ScaleRun(
        out=base,
        partitions=k,
        parcels=sum(total.values()),
        categories=total,
        seconds=time.perf_counter() - began,
        dashboard=dashboard,
        history_parcels=facts[0],
        history_rows=facts[1],
    )


def _score_task(
    events_src, parcels_src, diagnoses_src, number, partitions, labels, now, by, promised_days
) -> pd.DataFrame:
    events, parcels = _partition(events_src, parcels_src, number, partitions, labels[:2])
    where = _where(diagnoses_src, labels[2], number)
    if isinstance(diagnoses_src, pd.DataFrame):
        diagnoses = diagnoses_src
    else:
        import fsspec

        with fsspec.open(diagnoses_src, "rb") as stream:
            diagnoses = pd.read_parquet(stream)
    if "parcel_id" not in diagnoses.columns or "category" not in diagnoses.columns:
        raise InputError(
            "the diagnoses table needs 'parcel_id' and 'category' columns",
            where,
            "Pass the folder diagnose_dataset(out=…) or `python -m toolkit diagnose` wrote",
        )
    _check_placed(diagnoses["parcel_id"].astype("string"), number, partitions, where)
    try:
        return score_parts(events, parcels, diagnoses, now, by, promised_days)
    except ToolkitError as exc:
        raise _portable(exc, _where(parcels_src, labels[1], number)) from None


def scorecard_dataset(
    events,
    parcels,
    diagnoses,
    now: pd.Timestamp | str | None = None,
    by=SCORE_BY,
    promised_days: float | None = None,
    client=None,
    *,
    workers: int | None = None,
    memory_limit: str | float | None = "auto",
    progress: bool = True,
) -> pd.DataFrame:
    """The partner scorecard (``toolkit.diagnosis.scorecard.scorecard``) of a co-partitioned
    dataset, computed on a Dask cluster: each partition's parcels, scans and diagnoses (the
    folder ``diagnose_dataset(out=…)`` wrote) give per-group counts and arrival-to-domestic
    days on their worker; only those come back, to be added up and pooled here. Equal to
    ``scorecard(events, parcels, diagnoses, now, by)`` on the whole data. The cluster is
    chosen as for ``diagnose_dataset``."""
    from dask import delayed

    now = utc_now(now)
    sources = [_sources(data, table) for data, table in
               ((events, "events"), (parcels, "parcels"), (diagnoses, "diagnoses"))]  # fmt: skip
    (ev_src, ev_label), (pc_src, pc_label), (dg_src, dg_label) = sources
    counts = {len(ev_src), len(pc_src), len(dg_src)}
    if len(counts) != 1:
        raise InputError(
            f"the events have {len(ev_src)} partitions, the parcels {len(pc_src)} and the "
            f"diagnoses {len(dg_src)}: they are not co-partitioned by parcel_id",
            f"{ev_label}, {pc_label} and {dg_label}",
            REPARTITION_HINT,
        )
    k = len(ev_src)
    labels = (ev_label, pc_label, dg_label)
    parts = [
        delayed(_score_task, pure=True)(
            ev_src[i], pc_src[i], dg_src[i], i, k, labels, now, by, promised_days
        )
        for i in range(k)
    ]
    with cluster(client, workers=workers, memory_limit=memory_limit, quiet=not progress) as c:
        done = _compute(c, parts, "scoring each partition" if progress else None)
    return score_table(done, by)


def _model_facts(model: EtaModel) -> tuple[int, int]:
    return model.n_history, model.history_rows


def _compute(client, work, say: str | None, keep: bool = False):
    """Run delayed ``work`` on the client's cluster, or with the dask scheduler a string names
    ("synchronous", "threads"). When ``say`` is given it is printed (on stderr) with the time
    taken, and a progress bar is drawn there when stderr is a terminal. With ``keep`` (a
    client only) the result stays on the cluster: its future is returned once it is done."""
    if say is not None:
        print(say, file=sys.stderr, flush=True)
    began = time.perf_counter()
    bar = say is not None and sys.stderr.isatty()
    if isinstance(client, str):
        import dask

        if not bar:
            result = dask.compute(work, scheduler=client)[0]
        else:
            from dask.diagnostics import ProgressBar

            with ProgressBar(out=sys.stderr):
                result = dask.compute(work, scheduler=client)[0]
    else:
        futures = client.compute(work)
        if bar:
            from distributed import progress

            with contextlib.redirect_stdout(sys.stderr):  # the bar draws on stdout
                progress(futures, notebook=False)
            print(file=sys.stderr)
        if keep:
            from distributed import wait

            wait(futures)
            if futures.status == "error":
                futures.result()  # raises the task's error here
            result = futures
        else:
            result = client.gather(futures)
    if say is not None:
        print(f"  done in {time.perf_counter() - began:.1f} s", file=sys.stderr, flush=True)
    return result


# ------------------------------------------------------------- a diagnoses folder, opened lazily

_TEXT = pd.StringDtype("pyarrow")


def _read_parquet_rows(
    path: str, columns: Sequence[str] | None = None, ids: Sequence[str] | None = None
):
    """A Parquet partition's ``columns`` (by their loader names; None for all) as an Arrow
    table: only the rows of ``ids`` when the file has a text parcel_id column to filter on
    (pushed down to the Parquet reader), else every row."""
    import fsspec
    import pyarrow as pa
    import pyarrow.parquet as pq

    from toolkit.io import _column_name

    fs, where = fsspec.core.url_to_fs(path)
    schema = pq.read_schema(where, filesystem=fs)
    named = {_column_name(str(n)): n for n in schema.names}
    raw = [named[c] for c in columns if c in named] if columns is not None else None
    if ids is not None and not len(ids):
        empty = schema.empty_table()
        return empty.select(raw) if raw is not None else empty
    key = named.get("parcel_id")
    if ids is None or key is None or not pa.types.is_string(schema.field(key).type):
        return pq.read_table(where, filesystem=fs, columns=raw)
    import pyarrow.compute as pc

    with fs.open(where, "rb") as stream:
        file = pq.ParquetFile(stream)
        groups = _row_groups_holding(file.metadata, key, sorted(map(str, ids)))
        table = file.read_row_groups(groups, columns=raw) if groups else schema.empty_table()
    if raw is not None and not groups:
        table = table.select(raw)
    wanted = pc.is_in(table[key] if key in table.column_names else pa.nulls(table.num_rows),
                      value_set=pa.array(list(map(str, ids)), pa.string()))  # fmt: skip
    return table.filter(wanted)


def _row_groups_holding(meta, key: str, wanted: list[str]) -> list[int]:
    """The row groups whose parcel_id range (the file's statistics) can hold a wanted id: a
    partition written in id order is read a few row groups at a time, not whole."""
    from bisect import bisect_left

    if meta.num_row_groups == 0:
        return []
    names = [meta.row_group(0).column(j).path_in_schema for j in range(meta.num_columns)]
    column = names.index(key) if key in names else None
    groups = []
    for i in range(meta.num_row_groups):
        stats = meta.row_group(i).column(column).statistics if column is not None else None
        if stats is None or not stats.has_min_max:
            groups.append(i)
            continue
        low, high = str(stats.min), str(stats.max)
        at = bisect_left(wanted, low)
        if at < len(wanted) and wanted[at] <= high:
            groups.append(i)
    return groups


def _loaded(
    paths: Sequence[str], table: str, label: str, columns=None, ids: Sequence[str] | None = None
) -> pd.DataFrame:
    """Rows of raw partitions read by the toolkit's loaders (the same checks and types as
    diagnose_dataset gives them), restricted to ``ids`` when given. The files are read in
    parallel and loaded together, once."""
    import io
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa
    import pyarrow.parquet as pq

    with ThreadPoolExecutor(max_workers=min(8, max(len(paths), 1))) as pool:
        raws = list(pool.map(lambda path: _read_parquet_rows(path, columns, ids), paths))
    raw = pa.concat_tables(raws, promote_options="permissive") if len(raws) > 1 else raws[0]
    buffer = io.BytesIO()
    pq.write_table(raw, buffer)
    data = buffer.getvalue()
    name = (
        paths[0].rstrip("/").rsplit("/", 1)[-1] if len(paths) == 1 else f"{len(paths)} partitions"
    )
    limits = {"max_rows": max(raw.num_rows, 1), "max_bytes": 1 << 50}
    try:
        if table == "events":
            frame = read_events(data, source=label, name=f"{name}.parquet", **limits)
        else:
            frame = read_parcels(data, name=f"{name}.parquet", **limits)
    except ToolkitError as exc:
        raise _portable(exc, f"{label}/{name}") from None
    if ids is not None and len(frame):
        frame = frame[text_isin(frame["parcel_id"], ids)]
    return frame.reset_index(drop=True)


@dataclass
class DiagnosesDataset:
    """A diagnoses folder (``diagnose_dataset(out=…)``) opened for triage without loading it:
    ``triage_table`` reads only the columns group triage filters on, partition by partition;
    ``events_of``, ``parcels_of`` and ``diagnoses_of`` read the rows of a few parcels, from
    the partition files their parcel_id hashes to, with a Parquet filter on parcel_id (never
    the whole events set)."""

    diagnoses: list[str]
    events: list[str] | None
    parcels: list[str] | None
    now: pd.Timestamp
    label: str = "diagnoses"
    labels: tuple[str, str] = ("events", "parcels")
    triage: list[str] | None = None  # the stored triage tables, when they fit the opening
    # where the triage tables computed at the first opening are kept for the next ones
    # (a folder diagnosed without them, opened for the time and parcels it was made from)
    store_triage: str | None = None

    @property
    def partitions(self) -> int:
        return len(self.diagnoses)

    def triage_table(self) -> pd.DataFrame:
        """One row per diagnosed parcel with the filter columns (``triage_table``): read
        from the triage tables diagnose_dataset wrote beside the diagnoses when the folder is
        opened for the time and parcels it was made from, else computed partition by
        partition from the diagnoses' and parcels' filter columns."""
        if self.triage is not None:
            from concurrent.futures import ThreadPoolExecutor

            try:
                with ThreadPoolExecutor(max_workers=min(8, len(self.triage))) as pool:
                    parts = list(pool.map(self._stored_triage, self.triage))
                return pd.concat(parts, ignore_index=True)
            except (OSError, ValueError):  # a damaged table: computed again, and replaced
                self.store_triage = self.triage[0].rsplit("/", 1)[0]
                self.triage = None
        from toolkit.diagnosis.triage import DIAGNOSIS_COLUMNS_READ, PARCEL_COLUMNS_READ

        parts = []
        for number, path in enumerate(self.diagnoses):
            d = _diagnosis_rows(path, self.label, DIAGNOSIS_COLUMNS_READ)
            if self.parcels is not None:
                # order_id: parcel_id's fallback, as the loader fills it
                columns = (*PARCEL_COLUMNS_READ, "order_id")
                p = _loaded([self.parcels[number]], "parcels", self.labels[1], columns)
            else:
                p = pd.DataFrame({"parcel_id": pd.Series(dtype="string")})
            # a parcel without a diagnosis is not triaged; one without a parcels row is
            parts.append(_triage_part(d, p, self.now))
        if self.store_triage is not None:
            self.triage = _store_triage(parts, self.store_triage)
        return pd.concat(parts, ignore_index=True)

    def _stored_triage(self, path: str) -> pd.DataFrame:
        import fsspec

        with fsspec.open(path, "rb") as stream:
            return pd.read_parquet(stream)

    def _homes(self, parcel_ids) -> dict[int, list[str]]:
        ids = list(dict.fromkeys(str(i).strip() for i in parcel_ids))
        if not ids:
            return {}
        homes: dict[int, list[str]] = {}
        for pid, home in zip(ids, partition_of(ids, self.partitions), strict=True):
            homes.setdefault(int(home), []).append(pid)
        return homes

    def _rows_of(self, sources: list[str] | None, table: str, label: str, parcel_ids):
        homes = self._homes(parcel_ids)
        if sources is None:
            return None
        if not homes:
            return _loaded(sources[:1], table, label, ids=[])
        wanted = [pid for ids in homes.values() for pid in ids]
        return _loaded([sources[n] for n in homes], table, label, ids=wanted)

    def events_of(self, parcel_ids) -> pd.DataFrame:
        """The scans of these parcels, read from their partitions only."""
        from toolkit.model import EVENT_DTYPES

        found = self._rows_of(self.events, "events", self.labels[0], parcel_ids)
        if found is None:
            return pd.DataFrame({c: pd.Series(dtype=t) for c, t in EVENT_DTYPES.items()})
        return found

    def parcels_of(self, parcel_ids) -> pd.DataFrame:
        """The parcels rows of these parcels (every column), read from their partitions."""
        found = self._rows_of(self.parcels, "parcels", self.labels[1], parcel_ids)
        if found is None:
            return pd.DataFrame({"parcel_id": pd.Series(dtype="string")})
        return found

    def diagnoses_of(self, parcel_ids) -> pd.DataFrame:
        """The diagnoses rows (every column) of these parcels."""
        frames = [
            _diagnosis_rows(self.diagnoses[n], self.label, ids=ids)
            for n, ids in self._homes(parcel_ids).items()
        ]
        if not frames:
            return _diagnosis_rows(self.diagnoses[0], self.label, ids=[])
        return pd.concat(frames, ignore_index=True)


def _store_triage(parts: list[pd.DataFrame], folder: str) -> list[str] | None:
    """Write the triage tables into ``folder`` (each to a temporary name, then renamed, so
    an interrupted write leaves no partial table); None when the folder cannot be written,
    as for a diagnoses folder shared read-only."""
    import fsspec

    fs, root = fsspec.core.url_to_fs(folder)
    paths = [f"{folder}/{PARTITION_FILE.format(n)}" for n in range(len(parts))]
    try:
        fs.makedirs(root, exist_ok=True)
        for stale in fs.glob(f"{root}/part-*.parquet"):  # of another partitioning
            number = _PARTITION_NAME.match(stale.rsplit("/", 1)[-1])
            if number and int(number.group(1)) >= len(parts):
                fs.rm(stale)
        for n, part in enumerate(parts):
            final = f"{root}/{PARTITION_FILE.format(n)}"
            _write_frame(part, f"{paths[n]}.writing")
            fs.mv(f"{final}.writing", final)
    except OSError:
        return None
    return paths


def _diagnosis_rows(path: str, label: str, columns=None, ids=None) -> pd.DataFrame:
    """Rows of a diagnoses partition (typed as diagnose_all wrote them)."""
    table = _read_parquet_rows(path, columns, ids)
    missing = [c for c in ("parcel_id", "category") if c not in table.column_names]
    if missing:
        raise InputError(
            f"the diagnoses table has no {', '.join(map(repr, missing))} column",
            f"{label}/{path.rstrip('/').rsplit('/', 1)[-1]}",
            "Open the folder diagnose_dataset(out=…) or `python -m toolkit diagnose` wrote",
        )
    frame = table.to_pandas()
    if ids is not None:
        frame = frame[text_isin(frame["parcel_id"], ids)]
    return frame.reset_index(drop=True)


def open_diagnoses(
    diagnoses: str | os.PathLike,
    events: str | os.PathLike | None = None,
    parcels: str | os.PathLike | None = None,
    now: pd.Timestamp | str | None = None,
) -> DiagnosesDataset:
    """A diagnoses folder opened for triage (``DiagnosesDataset``). ``events``, ``parcels``
    and ``now`` default to what diagnose_dataset recorded beside the diagnoses
    (``_toolkit.json``); the three folders must have the same number of partitions."""
    import json

    import fsspec

    url = os.fspath(diagnoses).rstrip("/")
    paths = partition_paths(url)
    fs, root = fsspec.core.url_to_fs(url)
    info: dict = {}
    if fs.exists(f"{root}/{DATASET_INFO}"):
        with fs.open(f"{root}/{DATASET_INFO}", "r") as stream:
            info = json.load(stream)
    events = events if events is not None else info.get("events")
    parcels = parcels if parcels is not None else info.get("parcels")
    if now is None and info.get("now") is None:
        raise InputError(
            "the diagnoses folder does not say when they were made",
            url,
            "Pass now= (the time the diagnosis was run for)",
        )
    when = utc_now(now if now is not None else info["now"])
    sources, labels = {}, []
    for data, table in ((events, "events"), (parcels, "parcels")):
        if data is None:
            sources[table] = None
            labels.append(table)
            continue
        found, label = _sources(data, table)
        if len(found) != len(paths):
            raise InputError(
                f"the {table} have {len(found)} partitions and the diagnoses {len(paths)}: "
                "they are not co-partitioned by parcel_id",
                f"{label} and {url}",
                "Open the folders diagnose_dataset read and wrote",
            )
        sources[table] = found
        labels.append(label)
    # the triage tables written with the diagnoses hold for the time and parcels they were
    # made from; another time or parcels table computes them again
    stored: list[str] = []
    if fs.exists(f"{root}/{TRIAGE_DIR}"):
        try:
            stored = partition_paths(f"{url}/{TRIAGE_DIR}")
        except InputError:  # damaged: computed again instead
            stored = []
    recorded = (
        info.get("parcels") is not None
        and _recorded(parcels) == info["parcels"]
        and info.get("now") is not None
        and when == utc_now(info["now"])
    )
    fits = recorded and len(stored) == len(paths)
    return DiagnosesDataset(
        paths,
        sources["events"],
        sources["parcels"],
        when,
        url.rsplit("/", 1)[-1] or "diagnoses",
        (labels[0], labels[1]),
        triage=stored if fits else None,
        store_triage=None if fits or not recorded else f"{url}/{TRIAGE_DIR}",
    )
