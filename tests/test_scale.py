"""The diagnosis of co-partitioned Parquet datasets on Dask equals diagnose_all on the whole."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from toolkit.diagnosis.diagnose import diagnose_all, eta_history
from toolkit.diagnosis.eta import NO_TIME, EtaHistory, EtaModel
from toolkit.errors import InputError
from toolkit.io import partition_of, partition_paths, read_events, read_parcels, repartition
from toolkit.scale import diagnose_dataset
from toolkit.world import demo

ROOT = Path(__file__).resolve().parents[1]
NOW = pd.Timestamp(demo.DEFAULT_AS_OF)
PARCELS = 2500
PARTITIONS = 4


def _write(out: Path, parcels: int = PARCELS, partitions: int = PARTITIONS, seed: int = 7):
    argv = ["--parcels", str(parcels), "--seed", str(seed), "--format", "parquet"]
    argv += ["--partitions", str(partitions), "--out", str(out), "--quiet"]
    assert demo.main(argv) == 0
    return out / "events", out / "parcels"


def _whole(events: Path, parcels: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    ev = pd.concat([read_events(p) for p in partition_paths(events)], ignore_index=True)
    pc = pd.concat([read_parcels(p) for p in partition_paths(parcels)], ignore_index=True)
    return ev, pc


def _plain(values: pd.Series) -> pd.Series:
    values = values.reset_index(drop=True).astype(object)
    return values.where(values.notna(), None)


def _assert_same(got: pd.DataFrame, want: pd.DataFrame, columns=None) -> None:
    assert len(got) == len(want)
    assert set(got["parcel_id"]) == set(want["parcel_id"])
    got = got.set_index("parcel_id").loc[want["parcel_id"]].reset_index()
    for col in columns or want.columns:
        pd.testing.assert_series_equal(
            _plain(got[col]), _plain(want[col]), check_names=False, obj=col
        )


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return _write(tmp_path_factory.mktemp("dataset"))


@pytest.fixture(scope="module")
def expected(dataset):
    ev, pc = _whole(*dataset)
    return diagnose_all(ev, pc, NOW)


@pytest.fixture(scope="module")
def client():
    """The partitions run in this process, one after the other (the slow tests use workers)."""
    return "synchronous"


# ------------------------------------------------------------------------- the layout


def test_demo_partitions_hold_each_parcel_in_the_file_of_its_hash(dataset):
    events, parcels = dataset
    ev_files, pc_files = partition_paths(events), partition_paths(parcels)
    assert [Path(p).name for p in ev_files] == [f"part-{i:05d}.parquet" for i in range(4)]
    assert [Path(p).name for p in pc_files] == [Path(p).name for p in ev_files]
    total = 0
    for i, (ev, pc) in enumerate(zip(ev_files, pc_files, strict=True)):
        ids = pq.read_table(pc, columns=["parcel_id"]).column(0).to_pandas()
        scans = pq.read_table(ev, columns=["parcel_id"]).column(0).to_pandas()
        assert (partition_of(ids, PARTITIONS) == i).all()
        assert (partition_of(scans, PARTITIONS) == i).all()
        assert len(ids)
        total += len(ids)
    assert total == PARCELS


def test_partition_of_is_a_fixed_hash_of_the_trimmed_id():
    ids = ["P0000001", " P0000001 ", "ORDER-7", "顺丰-1"]
    first = partition_of(ids, 16)
    assert first[0] == first[1]
    # the same numbers in every process and release: files written earlier stay readable
    assert partition_of(ids, 16).tolist() == first.tolist()
    assert first.tolist() == [int(x) for x in first] and all(0 <= x < 16 for x in first)
    assert partition_of(["P0000001"], 1).tolist() == [0]
    with pytest.raises(InputError, match="partitions"):
        partition_of(ids, 0)


def test_partitions_require_parquet(tmp_path, capsys):
    argv = ["--parcels", "10", "--partitions", "2", "--out", str(tmp_path), "--quiet"]
    assert demo.main(argv) == 2
    assert "--format parquet" in capsys.readouterr().err


# ----------------------------------------------------------------- the lane model as a sum


def test_histories_of_partitions_add_up_to_the_history_of_the_whole(dataset):
    ev, pc = _whole(*dataset)
    part = partition_of(pc["parcel_id"], PARTITIONS)
    scan_part = partition_of(ev["parcel_id"], PARTITIONS)
    pieces = [
        eta_history(ev[scan_part == i], pc[part == i].reset_index(drop=True), NOW)
        for i in range(PARTITIONS)
    ]
    merged, whole = EtaHistory.merge(pieces), eta_history(ev, pc, NOW)
    assert merged.parcels == whole.parcels
    keys = ["stage", "origin_country", "international_carrier", "destination_province", "minutes"]
    lanes = {c: str for c in keys[1:4]}  # the same words, whatever order each coded them in
    a = merged.counts.astype(lanes).sort_values(keys).reset_index(drop=True)
    b = whole.counts.astype(lanes).sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    # far fewer rows than past parcels x stages: the counts, not the scans, travel
    assert len(merged.counts) < 5 * whole.parcels
    stage = np.array([2, 3, 4, 1])
    entered = np.full(4, NOW.value - 3 * 86_400 * 10**9, np.int64)
    lanes = pc.loc[:3, ["origin_country", "international_carrier", "destination_province"]]
    one = EtaModel.from_history(merged).predict(stage, entered, lanes, NOW)
    other = EtaModel.from_history(whole).predict(stage, entered, lanes, NOW)
    pd.testing.assert_frame_equal(one, other)


def test_an_empty_history_merges_to_an_empty_model():
    empty = EtaHistory.merge([])
    assert empty.parcels == 0 and empty.counts.empty
    model = EtaModel.from_history(empty)
    lanes = pd.DataFrame({"origin_country": ["us"]})
    got = model.predict(np.array([2]), np.array([NO_TIME + 1]), lanes, NOW)
    assert got["eta_level"].tolist() == [-1]


# ------------------------------------------------------------------- the same diagnosis


def test_dataset_diagnosis_equals_diagnose_all_per_parcel(dataset, expected, client, tmp_path):
    events, parcels = dataset
    run = diagnose_dataset(events, parcels, NOW, out=tmp_path / "out", client=client)
    assert run.parcels == PARCELS and run.partitions == PARTITIONS
    assert run.categories == expected["category"].value_counts()[lambda s: s > 0].to_dict()
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    # the partitions, the record of when and from what, and the triage tables (the last two
    # ignored by Parquet readers of the folder)
    parts = [f"part-{i:05d}.parquet" for i in range(PARTITIONS)]
    assert files == ["_toolkit.json", "_triage", *parts]
    assert sorted(p.name for p in (tmp_path / "out" / "_triage").iterdir()) == parts
    got = pd.read_parquet(tmp_path / "out")
    assert expected["eta_low"].notna().sum() > PARCELS // 5  # the estimates are exercised
    _assert_same(got, expected)  # every column: category, ETA, basis, evidence …


def test_without_out_a_dask_dataframe_of_the_same_rows(dataset, expected, client):
    frame = diagnose_dataset(*dataset, NOW, client=client, progress=False)
    assert frame.npartitions == PARTITIONS
    got = frame.compute()
    assert list(got.columns) == list(expected.columns)
    _assert_same(got, expected)


def test_dask_dataframes_in_the_contract_are_accepted(dataset, expected, client):
    import dask.dataframe as dd
    from dask import delayed

    ev_files, pc_files = (partition_paths(d) for d in dataset)
    ev = dd.from_delayed([delayed(read_events)(p) for p in ev_files], verify_meta=False)
    pc = dd.from_delayed([delayed(read_parcels)(p) for p in pc_files], verify_meta=False)
    got = diagnose_dataset(ev, pc, NOW, client=client, progress=False).compute()
    _assert_same(got, expected, ["category", "eta_low", "eta_high", "eta_basis", "eta_reason"])


# --------------------------------------------------------------------------- refusals


def _copy(dataset, tmp_path) -> tuple[Path, Path]:
    events, parcels = dataset
    shutil.copytree(events, tmp_path / "events")
    shutil.copytree(parcels, tmp_path / "parcels")
    return tmp_path / "events", tmp_path / "parcels"


def test_partition_counts_that_differ_are_refused(dataset, client, tmp_path):
    events, parcels = _copy(dataset, tmp_path)
    (parcels / "part-00003.parquet").unlink()
    with pytest.raises(InputError) as err:
        diagnose_dataset(events, parcels, NOW, out=tmp_path / "out", client=client)
    text = str(err.value)
    assert "4 partitions" in text and "3" in text and "not co-partitioned" in text
    assert "toolkit.io.repartition" in text and "python -m toolkit repartition" in text


def test_misplaced_scans_are_refused_and_repartitioning_fixes_them(
    dataset, expected, client, tmp_path
):
    events, parcels = _copy(dataset, tmp_path)
    first, second = events / "part-00000.parquet", events / "part-00001.parquet"
    os.replace(first, tmp_path / "swap")
    os.replace(second, first)
    os.replace(tmp_path / "swap", second)
    with pytest.raises(InputError) as err:
        diagnose_dataset(events, parcels, NOW, out=tmp_path / "out", client=client)
    text = str(err.value)
    assert re.search(r"events/part-0000([01])\.parquet \(partition \1\)", text), text
    assert re.search(r"hashes to partition [01] of 4", text), text
    assert "not co-partitioned" in text and "toolkit.io.repartition" in text

    fixed_events, fixed_parcels = repartition(events, parcels, tmp_path / "fixed", 3)
    assert len(partition_paths(fixed_events)) == len(partition_paths(fixed_parcels)) == 3
    for path in partition_paths(fixed_parcels):  # recipient data: owner-only
        assert Path(path).stat().st_mode & 0o077 == 0
    run = diagnose_dataset(fixed_events, fixed_parcels, NOW, tmp_path / "out", client=client)
    assert run.parcels == PARCELS
    _assert_same(pd.read_parquet(tmp_path / "out"), expected)


def test_repartition_reads_a_single_csv_export(client, tmp_path):
    argv = ["--parcels", "600", "--seed", "3", "--out", str(tmp_path / "csv"), "--quiet"]
    assert demo.main(argv) == 0
    ev_file, pc_file = tmp_path / "csv" / "events.csv", tmp_path / "csv" / "parcels.csv"
    events, parcels = repartition(ev_file, pc_file, tmp_path / "parts", 3, client=client)
    got = diagnose_dataset(events, parcels, NOW, client=client, progress=False).compute()
    want = diagnose_all(read_events(ev_file), read_parcels(pc_file), NOW)
    _assert_same(got, want, ["category", "eta_low", "eta_high", "eta_basis", "evidence"])


def test_a_missing_column_names_the_partition_file_and_column(dataset, client, tmp_path):
    events, parcels = _copy(dataset, tmp_path)
    path = events / "part-00002.parquet"
    table = pq.read_table(path)
    pq.write_table(table.drop(["tracking_number"]), path)
    with pytest.raises(InputError) as err:
        diagnose_dataset(events, parcels, NOW, out=tmp_path / "out", client=client)
    text = str(err.value)
    assert "tracking_number" in text and "events/part-00002.parquet" in text, text


def test_a_folder_without_partitions_is_refused(tmp_path, client):
    (tmp_path / "events").mkdir()
    with pytest.raises(InputError, match="no partition files"):
        diagnose_dataset(tmp_path / "events", tmp_path / "events", NOW, client=client)
    with pytest.raises(InputError, match="does not exist"):
        diagnose_dataset(tmp_path / "nothing", tmp_path / "events", NOW, client=client)


# ------------------------------------------------------------------ processes (slow lane)


@pytest.mark.slow
def test_command_line_end_to_end(dataset, expected, tmp_path):
    events, parcels = dataset
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TOOLKIT_DASK_SCHEDULER", None)
    argv = [sys.executable, "-m", "toolkit", "diagnose", "--events", str(events)]
    argv += ["--parcels", str(parcels), "--out", str(tmp_path / "out"), "--now", str(NOW)]
    argv += ["--workers", "2", "--memory-limit", "2GB"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "dashboard: http" in done.stderr
    assert f"diagnosed {PARCELS:,} parcels in {PARTITIONS} partitions" in done.stdout
    _assert_same(pd.read_parquet(tmp_path / "out"), expected)

    (parcels_copy := tmp_path / "parcels").mkdir()
    for path in partition_paths(parcels)[:3]:
        shutil.copy(path, parcels_copy)
    argv[argv.index(str(parcels))] = str(parcels_copy)
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2
    assert "error:" in done.stderr and "python -m toolkit repartition" in done.stderr


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_nothing(tmp_path):
    from distributed import Client, LocalCluster

    events, parcels = _write(tmp_path / "data", parcels=12_000, partitions=12, seed=5)
    want = diagnose_all(*_whole(events, parcels), NOW)
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        pids = client.run(os.getpid)
        result: dict = {}

        def run() -> None:
            try:
                result["run"] = diagnose_dataset(
                    events, parcels, NOW, out=tmp_path / "out", client=client, progress=False
                )
            except BaseException as exc:  # handed to the test below
                result["error"] = exc

        worker = threading.Thread(target=run)
        worker.start()
        deadline = time.monotonic() + 60
        while not any(client.processing().values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # well into the run
        victim = next(iter(pids.values()))
        os.kill(victim, signal.SIGKILL)
        assert worker.is_alive(), "the run ended before a worker could be killed"
        worker.join(timeout=300)
        assert victim not in client.run(os.getpid).values()  # the nanny started a new one
    assert "error" not in result, result.get("error")
    assert result["run"].parcels == 12_000
    _assert_same(pd.read_parquet(tmp_path / "out"), want)


@pytest.mark.slow
def test_the_scheduler_in_the_environment_is_joined(dataset, expected, tmp_path, monkeypatch):
    from distributed import Client, LocalCluster

    with LocalCluster(
        n_workers=1, processes=False, protocol="tcp://", dashboard_address=":0"
    ) as team:
        monkeypatch.setenv("TOOLKIT_DASK_SCHEDULER", team.scheduler_address)
        run = diagnose_dataset(*dataset, NOW, out=tmp_path / "out", progress=False)
        with Client(team) as client:  # the team's cluster keeps running afterwards
            assert client.run_on_scheduler(lambda: 1) == 1
    assert run.parcels == PARCELS
    _assert_same(pd.read_parquet(tmp_path / "out"), expected, ["category", "eta_low"])


def test_the_scorecard_of_a_dataset_equals_the_scorecard_of_the_whole(
    dataset, expected, client, tmp_path
):
    from toolkit.diagnosis.scorecard import scorecard
    from toolkit.scale import scorecard_dataset

    events, parcels = dataset
    diagnose_dataset(events, parcels, NOW, out=tmp_path / "diagnoses", client=client)
    ev, pc = _whole(events, parcels)
    for by in (("international_carrier", "lane"), (), "destination_province"):
        got = scorecard_dataset(
            events, parcels, tmp_path / "diagnoses", NOW, by=by, client=client, progress=False
        )
        want = scorecard(ev, pc, expected, NOW, by=by)
        assert want["arrival_to_domestic_n"].sum() > 100  # the pooled days are exercised
        pd.testing.assert_frame_equal(got, want)


def test_a_scorecard_over_diagnoses_of_another_split_is_refused(dataset, client, tmp_path):
    from toolkit.scale import scorecard_dataset

    events, parcels = dataset
    other = tmp_path / "other"
    _write(other, partitions=PARTITIONS + 1)
    diagnose_dataset(other / "events", other / "parcels", NOW, out=tmp_path / "d", client=client)
    with pytest.raises(InputError, match="not co-partitioned") as err:
        scorecard_dataset(events, parcels, tmp_path / "d", NOW, client=client, progress=False)
    assert "diagnoses" in str(err.value)
