"""Project hygiene: dependency lists agree, notebooks are stored clean and open in Lab."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx
import nbformat
import pytest
from lab_server import lab_server
from slow_guard import SlowWork, refuse_slow_work

from toolkit.nbstrip import strip_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _name(spec: str) -> str:
    """Package name of a requirement, normalised (psycopg[binary]>=3 -> psycopg)."""
    return re.split(r"[\[<>=!~ ;]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject_names() -> set[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    specs = data["project"]["dependencies"] + data["project"]["optional-dependencies"]["dev"]
    return {_name(s) for s in specs}


def _conda_names() -> set[str]:
    names = set()
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("dependencies:", 1)[1].splitlines():
        m = re.match(r"^\s+- ([A-Za-z0-9][A-Za-z0-9_.\-\[\]]*)", line)  # conda's and pip's
        if m and m.group(1) not in ("pip",):
            names.add(_name(m.group(1)))
    return names - {"python"}


def test_environment_yml_lists_the_same_packages_as_pyproject():
    py, conda = _pyproject_names(), _conda_names()
    assert py - conda == set(), f"in pyproject.toml but not environment.yml: {sorted(py - conda)}"
    assert conda - py == set(), f"in environment.yml but not pyproject.toml: {sorted(conda - py)}"


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no .ipynb files"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs_and_with_a_kernelspec(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [
        i
        for i, c in enumerate(nb["cells"])
        if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))
    ]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; strip them before committing"
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3"


def test_readme_opens_with_the_two_commands():
    head = (ROOT / "README.md").read_text(encoding="utf-8")[:1500]
    assert "make lab" in head and "make test" in head


# ------------------------------------------------------------ saving from JupyterLab


def _with_outputs(path: Path) -> nbformat.NotebookNode:
    """The notebook as Lab holds it after Run All: outputs, counts, timings, widget state."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    for n, cell in enumerate(code, start=1):
        cell.execution_count = n
        cell.metadata["execution"] = {"iopub.execute_input": "2026-12-02T08:00:00Z"}
        cell.outputs = [
            nbformat.v4.new_output("stream", name="stdout", text="Li Wei, 13800138000\n"),
            nbformat.v4.new_output(
                "display_data", data={"text/html": "<div>" + "x" * 200_000 + "</div>"}
            ),
        ]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return nb


def _text(source: str | list[str]) -> str:
    return "".join(source) if isinstance(source, list) else source


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_saving_in_the_lab_of_make_lab_writes_notebooks_without_outputs(tmp_path):
    """A save through the server (what Lab's save and autosave send) leaves no output on disk."""
    work = tmp_path / "notebooks"
    work.mkdir()
    for path in NOTEBOOKS:
        shutil.copy(path, work)
    (tmp_path / "home").mkdir()
    with lab_server(work, tmp_path / "home") as (url, token):
        for path in NOTEBOOKS:
            nb = _with_outputs(path)
            assert sum(len(c.get("outputs", [])) for c in nb.cells) > 0
            r = httpx.put(
                f"{url}/api/contents/{path.name}",
                params={"token": token},
                json={"type": "notebook", "format": "json", "content": nb},
                timeout=30,
            )
            assert r.status_code == 200, r.text
            saved = json.loads((work / path.name).read_text(encoding="utf-8"))
            code = [c for c in saved["cells"] if c["cell_type"] == "code"]
            assert code and all(c["outputs"] == [] for c in code), path.name
            assert all(c["execution_count"] is None for c in code), path.name
            assert all("execution" not in c["metadata"] for c in code), path.name
            assert "widgets" not in saved["metadata"]
            # what was written is the stored notebook: same cells, tags and kernelspec
            stored = json.loads(path.read_text(encoding="utf-8"))
            assert [_text(c["source"]) for c in saved["cells"]] == [
                _text(c["source"]) for c in stored["cells"]
            ]
            assert [c["metadata"] for c in saved["cells"]] == [
                c["metadata"] for c in stored["cells"]
            ]
            assert saved["metadata"]["kernelspec"]["name"] == "python3"
            assert (work / path.name).stat().st_size < 100_000
        # a file that is not a notebook is saved as it is
        r = httpx.put(
            f"{url}/api/contents/notes.txt",
            params={"token": token},
            json={"type": "file", "format": "text", "content": "outputs: keep me"},
            timeout=30,
        )
        assert r.status_code in (200, 201), r.text
        assert (work / "notes.txt").read_text() == "outputs: keep me"


@pytest.mark.slow
def test_the_exports_folder_in_the_lab_root_is_ignored_by_git():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    name = "notebooks/exports/triage-selection-20261202-CONTAINS-RECIPIENT-DATA.csv"
    r = subprocess.run(["git", "check-ignore", "-q", name], cwd=ROOT)
    assert r.returncode == 0, f"{name} would be committed; list notebooks/exports/ in .gitignore"


def test_strip_notebook_keeps_sources_tags_and_kernelspec():
    nb = _with_outputs(NOTEBOOKS[0])
    nb.cells[1].metadata["tags"] = ["parameters"]
    assert strip_notebook(nb) is True
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells)
    assert nb.cells[1].metadata == {"tags": ["parameters"]}
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert strip_notebook(nb) is False  # already clean: nothing to rewrite


# ------------------------------------------------------------------ the fast lane


def test_outside_the_slow_lane_starting_a_process_or_a_server_fails_the_test():
    seen: list[str] = []
    with refuse_slow_work("tests/test_x.py::test_y", seen):
        with pytest.raises(SlowWork, match=r"starts a subprocess \(.*python.* -c pass\)"):
            subprocess.run([sys.executable, "-c", "pass"], check=False)
        with (
            pytest.raises(SlowWork, match=r"mark the test @pytest\.mark\.slow"),
            socket.socket() as s,
        ):
            s.bind(("127.0.0.1", 0))
            s.listen()
        with contextlib.suppress(Exception):  # code under test that swallows the refusal
            subprocess.run(["git", "status"], check=False)  # still leaves it on record
    assert len(seen) == 3 and all(m.startswith("tests/test_x.py::test_y ") for m in seen)
    assert "git status" in seen[2]


def test_the_conftest_guards_every_test_outside_the_slow_lane():
    # this test is not marked slow, so the refusal is in place while it runs
    assert subprocess.Popen._execute_child.__qualname__.startswith("refuse_slow_work.")
    assert "listen" in vars(socket.socket)


@pytest.mark.slow
def test_slow_tests_may_start_processes():
    assert subprocess.Popen._execute_child.__qualname__ == "Popen._execute_child"
    assert "listen" not in vars(socket.socket)
    assert subprocess.run([sys.executable, "-c", "pass"], check=False).returncode == 0


def test_make_check_is_the_fast_lane_and_make_test_runs_everything():
    makefile = (ROOT / "Makefile").read_text()
    check = re.search(r"^check:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert check and '-m "not slow"' in check.group(1)
    test = re.search(r"^test:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert test and "slow" not in test.group(1)
    readme = (ROOT / "README.md").read_text()
    assert "make check" in readme and "make test" in readme


@pytest.mark.slow  # a fresh interpreter: what importing the data contract loads
def test_the_data_contract_loads_no_http_client_sandbox_or_charts():
    code = (
        "import sys, toolkit.model, toolkit.times, toolkit.errors\n"
        "heavy = [m for m in ('httpx', 'plotly', 'ipywidgets', 'toolkit.world.sandbox', 'toolkit.track')"
        " if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "import toolkit.tracking.track, toolkit\n"
        "from toolkit import track\n"
        "assert callable(toolkit.track) and track is toolkit.track, toolkit.track\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
