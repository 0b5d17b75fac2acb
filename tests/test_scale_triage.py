"""Group triage over a diagnoses folder: only the filter columns are loaded, the scans and
rows of the parcels an analyst looks at are read from their own partitions."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from toolkit import scale
from toolkit.diagnosis.diagnose import diagnose_all
from toolkit.diagnosis.triage import triage_table
from toolkit.errors import InputError
from toolkit.findings import FindingsStore
from toolkit.io import partition_of, partition_paths, read_events, read_parcels
from toolkit.scale import DATASET_INFO, diagnose_dataset, open_diagnoses
from toolkit.widgets.triage import GroupTriage
from toolkit.world import demo

NOW = pd.Timestamp(demo.DEFAULT_AS_OF)
PARTITIONS = 3


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    out = tmp_path_factory.mktemp("triage-dataset")
    argv = ["--parcels", "1500", "--seed", "11", "--format", "parquet"]
    argv += ["--partitions", str(PARTITIONS), "--out", str(out), "--quiet"]
    assert demo.main(argv) == 0
    diagnose_dataset(
        out / "events", out / "parcels", NOW, out=out / "diagnoses", client="synchronous",
        progress=False,
    )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def whole(folders):
    ev = pd.concat([read_events(p) for p in partition_paths(folders / "events")])
    pc = pd.concat([read_parcels(p) for p in partition_paths(folders / "parcels")])
    ev, pc = ev.reset_index(drop=True), pc.reset_index(drop=True)
    return ev, pc, diagnose_all(ev, pc, NOW)


def test_the_folder_records_when_and_from_what_it_was_diagnosed(folders):
    info = json.loads((folders / "diagnoses" / DATASET_INFO).read_text())
    assert pd.Timestamp(info["now"]) == NOW
    assert info["partitions"] == PARTITIONS
    assert Path(info["events"]) == (folders / "events").resolve()
    assert Path(info["parcels"]) == (folders / "parcels").resolve()


def test_the_triage_table_of_the_folder_is_the_one_of_the_whole_data(folders, whole):
    _, pc, diagnoses = whole
    got = open_diagnoses(folders / "diagnoses").triage_table()
    want = triage_table(diagnoses, pc, NOW)
    got = got.sort_values("parcel_id").reset_index(drop=True)
    want = want.sort_values("parcel_id").reset_index(drop=True)
    assert list(got.columns) == list(want.columns)
    for column in ("parcel_id", "carrier", "lane", "category", "days_silent", "days_known"):
        assert got[column].astype(str).tolist() == want[column].astype(str).tolist(), column


def test_the_triage_table_written_with_the_diagnoses_is_read_not_computed(
    folders, whole, monkeypatch
):
    stored = sorted(p.name for p in (folders / "diagnoses" / scale.TRIAGE_DIR).iterdir())
    assert stored == [f"part-{n:05d}.parquet" for n in range(PARTITIONS)]
    data = open_diagnoses(folders / "diagnoses")
    assert data.triage is not None

    def no_loading(*args, **kwargs):
        raise AssertionError("the parcels were loaded to compute the triage table")

    monkeypatch.setattr(scale, "_loaded", no_loading)
    got = data.triage_table()
    monkeypatch.undo()
    computed = replace(data, triage=None).triage_table()
    pd.testing.assert_frame_equal(got, computed)


def test_another_time_or_a_damaged_triage_folder_computes_the_table_again(folders, tmp_path):
    data = open_diagnoses(folders / "diagnoses")
    table = data.triage_table()
    later = open_diagnoses(folders / "diagnoses", now=NOW + pd.Timedelta(days=3))
    assert later.triage is None  # the stored days silent were counted to NOW
    moved = later.triage_table()
    known = table["days_known"].to_numpy()
    assert known.any()
    assert (moved["days_silent"][known] == table["days_silent"][known] + 3).all()
    copy = tmp_path / "diagnoses"
    shutil.copytree(folders / "diagnoses", copy)
    (copy / scale.TRIAGE_DIR / "part-00001.parquet").unlink()  # a gap: not used
    damaged = open_diagnoses(copy)
    assert damaged.triage is None
    pd.testing.assert_frame_equal(damaged.triage_table(), table)
    # computed once, kept for the next opening
    assert (copy / scale.TRIAGE_DIR / "part-00001.parquet").is_file()
    again = open_diagnoses(copy)
    assert again.triage is not None
    pd.testing.assert_frame_equal(again.triage_table(), table)
    # a damaged table is computed again and replaced
    (copy / scale.TRIAGE_DIR / "part-00002.parquet").write_bytes(b"PAR1 cut short")
    pd.testing.assert_frame_equal(open_diagnoses(copy).triage_table(), table)
    assert len(pd.read_parquet(copy / scale.TRIAGE_DIR / "part-00002.parquet")) > 0
    # a folder where the tables cannot be written still opens (computed each time)
    shutil.rmtree(copy / scale.TRIAGE_DIR)
    (copy / scale.TRIAGE_DIR).write_text("not a folder")
    blocked = open_diagnoses(copy)
    pd.testing.assert_frame_equal(blocked.triage_table(), table)
    assert blocked.triage is None and (copy / scale.TRIAGE_DIR).is_file()


def test_scans_of_a_few_parcels_come_from_their_partitions_only(folders, whole, monkeypatch):
    ev, _, diagnoses = whole
    data = open_diagnoses(folders / "diagnoses")
    ids = diagnoses["parcel_id"].astype(str).iloc[[3, 40]].tolist()
    opened: list[str] = []
    real = scale._read_parquet_rows

    def spy(path, columns=None, ids=None):
        opened.append(Path(path).name)
        return real(path, columns, ids)

    monkeypatch.setattr(scale, "_read_parquet_rows", spy)
    got = data.events_of(ids)
    homes = {f"part-{n:05d}.parquet" for n in partition_of(ids, PARTITIONS)}
    assert set(opened) == homes
    want = ev[ev["parcel_id"].astype(str).isin(ids)]
    assert len(got) == len(want) > 0
    key = ["parcel_id", "time_utc", "description"]
    assert (
        got[key].astype(str).sort_values(key).values.tolist()
        == want[key].astype(str).sort_values(key).values.tolist()
    )
    assert set(got["milestone"].astype(str)) == set(want["milestone"].astype(str))
    rows = data.parcels_of(ids)
    assert sorted(rows["parcel_id"].astype(str)) == sorted(ids)
    assert sorted(data.diagnoses_of(ids)["parcel_id"].astype(str)) == sorted(ids)
    assert data.events_of([]).empty


def test_group_triage_opens_the_folder_and_acts_on_a_selection(folders, whole, tmp_path):
    _, _, diagnoses = whole
    store = FindingsStore(f"sqlite:///{tmp_path / 'findings.sqlite'}")
    g = GroupTriage(store=store, out_dir=tmp_path / "exports", analyst="mei")
    g.load_dataset(folders / "diagnoses")
    assert g.parcels is None and g.events is None  # nothing loaded whole
    assert "1,500</b> parcels" in g.status and "3 partitions" in g.status
    assert "2026-11-20 04:00 UTC" in g.status
    hold = int((diagnoses["category"].astype(str) == "customs_hold").sum())
    g.parts.category.value = ("customs_hold",)
    assert len(g.filtered_ids()) == hold > 0
    # the swimlanes draw the longest-silent of them, their scans read on demand
    assert g._w_swimlanes.data and "customs_hold" not in g._w_swimlanes.layout.title.text
    chosen = g.filtered_ids()[:4]
    g.select(chosen)
    finding = g.record_finding()
    assert sorted(finding.parcel_ids) == sorted(chosen)
    assert len(finding.tracking_numbers) >= len(chosen)
    table = g.selection_table()
    assert table["parcel_id"].tolist() == chosen
    assert set(table["category"].astype(str)) == {"customs_hold"}
    assert table["evidence"].notna().all() and table["international_number"].notna().all()
    assert g.export_csv().is_file()


@pytest.mark.slow
def test_a_partner_report_of_a_selection_from_the_folder(folders, tmp_path):
    g = GroupTriage(out_dir=tmp_path / "exports", analyst="mei")
    g.load_dataset(folders / "diagnoses")
    g.parts.category.value = ("customs_hold",)
    chosen = g.filtered_ids()[:3]
    g.select(chosen)
    html = g.export_for_partner().read_text(encoding="utf-8")
    assert all(pid in html for pid in chosen)
    assert "customs_hold" in html or "customs hold" in html.lower()


def test_the_kept_scans_never_drop_a_parcel_when_they_are_renewed(folders, whole, monkeypatch):
    import toolkit.widgets.triage as triage_module

    ev, _, diagnoses = whole
    monkeypatch.setattr(triage_module, "EVENTS_CACHED", 3)
    g = GroupTriage(analyst="mei")
    g.load_dataset(folders / "diagnoses")
    ids = diagnoses["parcel_id"].astype(str).iloc[:4].tolist()
    g.events_of(ids[:3])  # three kept
    got = g.events_of(ids)  # one more: the kept ones are renewed, all four come back
    want = ev[ev["parcel_id"].astype(str).isin(ids)]
    assert len(got) == len(want) > 0
    assert set(got["parcel_id"].astype(str)) == set(want["parcel_id"].astype(str))


def test_a_folder_without_its_record_needs_now_and_refuses_other_partitionings(folders, tmp_path):
    bare = tmp_path / "diagnoses"
    shutil.copytree(folders / "diagnoses", bare)
    (bare / DATASET_INFO).unlink()
    with pytest.raises(InputError, match="does not say when") as caught:
        open_diagnoses(bare)
    assert "now=" in str(caught.value)
    opened = open_diagnoses(bare, parcels=folders / "parcels", now=NOW)
    assert opened.events is None and len(opened.triage_table()) == 1500
    assert opened.events_of(["P0000001"]).empty
    other = tmp_path / "events"
    other.mkdir()
    shutil.copy(partition_paths(folders / "events")[0], other / "part-00000.parquet")
    with pytest.raises(InputError, match="not co-partitioned"):
        open_diagnoses(folders / "diagnoses", events=other)


def test_a_partition_written_in_id_order_is_read_a_few_row_groups_at_a_time(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    ids = [f"P{i:07d}" for i in range(1000)]
    table = pa.table({"parcel_id": ids, "description": [f"scan {i}" for i in range(1000)]})
    path = tmp_path / "part-00000.parquet"
    pq.write_table(table, path, row_group_size=100)
    meta = pq.ParquetFile(path).metadata
    assert scale._row_groups_holding(meta, "parcel_id", ["P0000150", "P0000950"]) == [1, 9]
    got = scale._read_parquet_rows(str(path), ids=["P0000950", "P0000150", "P9999999"])
    assert sorted(got.column("description").to_pylist()) == ["scan 150", "scan 950"]
    # in any other order every row group may hold an id: all are read, the rows still right
    shuffled = tmp_path / "shuffled.parquet"
    order = [(i * 389) % 1000 for i in range(1000)]  # every id once, out of order
    pq.write_table(table.take(order), shuffled, row_group_size=100)
    meta = pq.ParquetFile(shuffled).metadata
    assert scale._row_groups_holding(meta, "parcel_id", ["P0000150"]) == list(range(10))
    got = scale._read_parquet_rows(str(shuffled), ids=["P0000150", "P0000001"])
    assert sorted(got.column("description").to_pylist()) == ["scan 1", "scan 150"]


@pytest.mark.parametrize("as_type", [object, "string", "str"])
def test_rows_of_parcels_are_picked_by_their_ids_as_text(as_type):
    from toolkit.model import text_isin

    ids = pd.Series(["P-1", "00042", None, "P-3"], dtype=as_type)
    # the ids an analyst selected, some typed as numbers by a spreadsheet, one blank
    picked = text_isin(ids, ["P-3", 42, "00042", float("nan")])
    assert picked.tolist() == [False, True, False, True]
    assert text_isin(ids, pd.Series(["P-1", None], dtype="string")).tolist() == [
        True, False, False, False,
    ]  # fmt: skip
    assert not text_isin(ids, []).any()
    assert text_isin(pd.Series([], dtype="string"), ["P-1"]).tolist() == []
