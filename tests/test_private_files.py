"""Stores, caches and exports holding recipient data are owner-only (0600, folders 0700),
whatever the umask."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest

import toolkit
from toolkit.files import private_dir, private_file, write_private_text
from toolkit.findings.store import FindingsStore
from toolkit.io import write_events, write_parcels, write_spreadsheet_csv
from toolkit.world import demo

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(params=[0o022, 0o002, 0o000])
def umask(request):
    """The usual umask 022, a group-writable 002, and none at all."""
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


@pytest.fixture(scope="module")
def demo_set():
    parcels, events = demo.load_demo()
    return parcels, events, pd.Timestamp(parcels["as_of"].iloc[0])


def test_helpers_make_owner_only_files_and_folders(tmp_path, umask):
    folder = private_dir(tmp_path / "a" / "b")
    assert mode(tmp_path / "a") == mode(folder) == 0o700
    assert mode(private_file(folder / "x.db")) == 0o600
    assert mode(write_private_text(folder / "y.html", "<p>hi</p>")) == 0o600
    assert (folder / "y.html").read_text() == "<p>hi</p>"
    wide = folder / "wide.csv"
    wide.write_text("old")
    wide.chmod(0o644)
    write_private_text(wide, "new")
    assert mode(wide) == 0o600 and wide.read_text() == "new"
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o755)
    mine.chmod(0o755)
    private_dir(mine)
    assert mode(mine) == 0o755  # a folder that was there is the analyst's to decide


def test_response_cache_folder_and_file(tmp_path, umask):
    folder = tmp_path / "cache" / "toolkit"
    toolkit.track(["LZ049939080US"], sandbox=True, cache_dir=folder, progress=False)
    assert mode(tmp_path / "cache") == mode(folder) == 0o700
    files = list(folder.iterdir())
    assert [f.name for f in files] == ["responses.sqlite3"]
    assert all(mode(f) == 0o600 for f in files)


def test_an_existing_world_readable_cache_is_narrowed(tmp_path, umask):
    toolkit.track(["LZ049939080US"], sandbox=True, cache_dir=tmp_path, progress=False)
    db = tmp_path / "responses.sqlite3"
    journal = tmp_path / "responses.sqlite3-journal"
    journal.write_bytes(b"")  # left over by an interrupted run
    db.chmod(0o644)
    journal.chmod(0o644)
    toolkit.track(["LZ049939080US"], sandbox=True, cache_dir=tmp_path, progress=False)
    assert mode(db) == 0o600
    assert not journal.exists() or mode(journal) == 0o600


def test_findings_store_and_its_wal_files(tmp_path, umask):
    path = tmp_path / "var" / "findings.sqlite"
    with FindingsStore(f"sqlite:///{path}") as store:
        store.add(["P1"], category="moving", analyst="ana")
        with store._read() as conn:  # a reader keeps the -wal and -shm files in place
            conn.exec_driver_sql("SELECT count(*) FROM findings").scalar()
            names = sorted(p.name for p in path.parent.iterdir())
            assert names == ["findings.sqlite", "findings.sqlite-shm", "findings.sqlite-wal"]
            assert {p.name: mode(p) for p in path.parent.iterdir()} == dict.fromkeys(names, 0o600)
    assert mode(path.parent) == 0o700


def test_an_existing_world_readable_store_is_narrowed(tmp_path, umask):
    path = tmp_path / "findings.sqlite"
    with FindingsStore(f"sqlite:///{path}") as store:
        store.add(["P1"], category="moving", analyst="ana")
    for suffix in ("", "-wal", "-shm"):
        other = tmp_path / f"findings.sqlite{suffix}"
        if not other.exists():
            other.write_bytes(b"")
        other.chmod(0o644)
    with FindingsStore(f"sqlite:///{path}") as store:
        assert len(store) == 1
    for suffix in ("", "-wal", "-shm"):
        other = tmp_path / f"findings.sqlite{suffix}"
        assert not other.exists() or mode(other) == 0o600


def test_findings_csv_export(tmp_path, umask):
    with FindingsStore(f"sqlite:///{tmp_path / 'f.sqlite'}") as store:
        store.add(["P1"], category="moving", analyst="ana", notes="buyer 13800138000")
        internal = store.export_csv(tmp_path / "exports" / "mine.csv", partner_safe=False)
        shared = store.export_csv(tmp_path / "exports" / "partner.csv")
    assert mode(internal) == mode(shared) == 0o600
    assert mode(tmp_path / "exports") == 0o700


@pytest.mark.parametrize("name", ["parcels.csv", "parcels.tsv.gz", "parcels.parquet"])
def test_written_tables(tmp_path, umask, demo_set, name):
    parcels, events, _ = demo_set
    path = write_parcels(parcels.head(5), tmp_path / name)
    assert mode(path) == 0o600
    assert mode(write_events(events.head(5), tmp_path / f"events-{name}")) == 0o600
    again = tmp_path / name
    again.chmod(0o644)
    write_parcels(parcels.head(5), again)  # overwriting keeps it private
    assert mode(again) == 0o600


def test_spreadsheet_csv(tmp_path, umask):
    path = write_spreadsheet_csv(pd.DataFrame({"a": ["x"]}), tmp_path / "new" / "t.csv")
    assert mode(path) == 0o600 and mode(tmp_path / "new") == 0o700


def test_triage_widget_csv_export(tmp_path, umask, demo_set):
    from toolkit.widgets import GroupTriage

    parcels, events, now = demo_set
    with FindingsStore(f"sqlite:///{tmp_path / 'f.sqlite'}") as store:
        g = GroupTriage(parcels, events, now=now, store=store, out_dir=tmp_path / "exports")
        g.parts.parcels.value = tuple([v for _, v in g.parts.parcels.options][:2])
        g.parts.csv_button.click()
    (path,) = (tmp_path / "exports").glob("*.csv")
    assert mode(path) == 0o600 and mode(tmp_path / "exports") == 0o700


@pytest.mark.slow
def test_partner_html_export(tmp_path, demo_set):
    from toolkit.report import export_for_partner

    parcels, events, now = demo_set
    old = os.umask(0o022)
    try:
        path = export_for_partner(
            [parcels["parcel_id"].iloc[0]], parcels, events, tmp_path / "out", now=now
        )
    finally:
        os.umask(old)
    assert mode(path) == 0o600 and mode(tmp_path / "out") == 0o700
