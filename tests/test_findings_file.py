"""The findings store never starts a new store over a file that is there: only a path that
does not exist becomes a new store."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3

import pytest

from toolkit.errors import ToolkitError
from toolkit.findings.store import FindingsStore, StoreError


def url_of(path) -> str:
    return f"sqlite:///{path}"


def fill(path, n: int = 300) -> None:
    with FindingsStore(url_of(path)) as store:
        store.add_many(
            [
                {"parcel_ids": [f"P{i:04d}"], "category": "moving", "analyst": "ana"}
                for i in range(n)
            ]
        )


def test_an_emptied_store_file_is_refused_and_left_as_it_is(tmp_path):
    path = tmp_path / "findings.sqlite"
    fill(path)
    path.write_bytes(b"")  # e.g. truncated by a failed copy or a full disk

    with pytest.raises(StoreError) as err:
        FindingsStore(url_of(path))

    message = str(err.value)
    assert str(path) in message and "empty" in message
    assert "backup" in message and "remove or rename" in message
    assert path.read_bytes() == b""  # not turned into a new, empty store
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings.sqlite"]


def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path):
    path = tmp_path / "findings.sqlite"
    content = b"parcel_id,notes\nP1,kept in a spreadsheet by mistake\n"
    path.write_bytes(content)
    with pytest.raises(StoreError, match="not a SQLite database") as err:
        FindingsStore(url_of(path))
    assert str(path) in str(err.value) and "backup" in str(err.value)
    assert path.read_bytes() == content


def test_a_damaged_store_file_is_refused_untouched(tmp_path):
    path = tmp_path / "findings.sqlite"
    fill(path, 20)
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # the schema page overwritten
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError) as err:
        FindingsStore(url_of(path))
    assert str(path) in str(err.value) and "backup" in str(err.value)
    assert path.read_bytes() == bytes(data)


def test_a_sqlite_file_of_another_program_is_refused_untouched(tmp_path):
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE orders (id TEXT)")
        conn.execute("INSERT INTO orders VALUES ('SO1')")
    before = path.read_bytes()
    with pytest.raises(ToolkitError, match="other tables \\(orders\\)") as err:
        FindingsStore(url_of(path))
    assert str(path) in str(err.value)
    assert path.read_bytes() == before
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    assert tables == ["orders"]


def test_a_folder_at_the_store_path_is_refused(tmp_path):
    (tmp_path / "findings.sqlite").mkdir()
    with pytest.raises(StoreError, match="is a folder"):
        FindingsStore(url_of(tmp_path / "findings.sqlite"))


def test_a_missing_file_becomes_a_new_store_and_reopens_with_its_findings(tmp_path):
    path = tmp_path / "new" / "findings.sqlite"
    fill(path, 3)
    with FindingsStore(url_of(path)) as store:
        assert len(store) == 3
    # no temporary files left beside it
    assert sorted(p.name for p in path.parent.iterdir()) == ["findings.sqlite"]


def _open_and_add(url: str, worker: int, barrier, results) -> None:
    barrier.wait(timeout=60)
    try:
        with FindingsStore(url) as store:
            store.add([f"W{worker}"], category="moving", analyst=f"a{worker}")
        results.put((worker, "ok"))
    except Exception as exc:  # reported to the test
        results.put((worker, f"{type(exc).__name__}: {exc}"))


@pytest.mark.slow
def test_processes_creating_one_new_store_at_once_all_succeed(tmp_path):
    url = url_of(tmp_path / "team.sqlite")
    ctx = mp.get_context("spawn")
    workers = 4
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    procs = [
        ctx.Process(target=_open_and_add, args=(url, w, barrier, results)) for w in range(workers)
    ]
    for p in procs:
        p.start()
    outcomes = dict(results.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=30)
    assert outcomes == {w: "ok" for w in range(workers)}
    with FindingsStore(url) as store:
        assert len(store) == workers
