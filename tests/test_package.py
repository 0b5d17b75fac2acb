"""The toolkit outside the repository: where it finds its notebook and demo data, and a wheel
installed into a fresh environment running the quick start."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from toolkit import paths
from toolkit.errors import ToolkitError
from toolkit.world import demo
from toolkit.world.sandbox import world as world_module
from toolkit.world.sandbox.world import World

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
REPORT_NOTEBOOK = ROOT / "notebooks" / "03_partner_report.ipynb"


@pytest.fixture
def installed(monkeypatch, tmp_path):
    """Paths resolved as for a toolkit installed from a wheel, with the home folder in tmp."""
    monkeypatch.setattr(paths, "in_checkout", lambda: False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in (paths.DATA_DIR_ENV, "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    world_module._demo_world.cache_clear()
    yield tmp_path / "home"
    world_module._demo_world.cache_clear()


def test_checkout_uses_the_repository_folders(monkeypatch):
    monkeypatch.delenv(paths.DATA_DIR_ENV, raising=False)
    assert paths.in_checkout()
    assert paths.demo_dir() == DEMO
    assert demo.demo_dir() == DEMO
    assert paths.report_notebook() == REPORT_NOTEBOOK


def test_installed_toolkit_keeps_demo_data_in_the_user_data_folder(installed, monkeypatch):
    assert paths.demo_dir() == installed / ".local" / "share" / "parcel-toolkit" / "demo"
    assert paths.report_notebook() == paths.PACKAGE / "notebooks" / "03_partner_report.ipynb"
    monkeypatch.setenv("XDG_DATA_HOME", str(installed / "xdg"))
    assert paths.demo_dir() == installed / "xdg" / "parcel-toolkit" / "demo"
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(installed / "mine"))
    assert paths.demo_dir() == installed / "mine" / "demo"


def test_data_dir_setting_wins_in_a_checkout(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(tmp_path))
    assert paths.demo_dir() == tmp_path / "demo"


def test_demo_set_is_generated_on_first_use_with_the_committed_bytes(installed):
    parcels, events = demo.load_demo()
    made = paths.demo_dir()
    for name in ("parcels.csv", "events.csv"):
        assert (made / name).read_bytes() == (DEMO / name).read_bytes(), name
    assert sorted(p.name for p in made.iterdir()) == ["events.csv", "parcels.csv"]  # no leftovers
    assert len(parcels) == 2000 and len(events) > 10_000
    stamp = (made / "events.csv").stat().st_mtime_ns
    demo.load_demo()  # the second use reads what the first wrote
    assert (made / "events.csv").stat().st_mtime_ns == stamp


def test_demo_set_that_cannot_be_written_says_where_and_what_to_do(installed, monkeypatch):
    blocker = installed.parent / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(blocker))
    with pytest.raises(ToolkitError) as caught:
        demo.ensure_demo()
    message = str(caught.value)
    assert "demo data set is missing and cannot be written" in message
    assert str(blocker / "demo") in message and paths.DATA_DIR_ENV in message


def test_sandbox_world_made_in_memory_is_the_world_of_the_files(installed, monkeypatch):
    """No folder for the demo files: the sandbox generates its world in memory.

    The generator writes a blank cell as "", where the files read back as missing values;
    the domestic number of a parcel without a known link used to become pandas' NA and
    stopped the sandbox with "boolean value of NA is ambiguous".
    """
    blocker = installed.parent / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(blocker))
    made = World.demo()
    assert not (blocker / "demo").exists()
    from_files = World.from_directory(DEMO)
    assert made.numbers() == from_files.numbers()
    for number in from_files.numbers():
        for leg in ("international", "domestic"):
            assert made.lookup(number, leg) == from_files.lookup(number, leg), (number, leg)
    parcels = pd.read_csv(DEMO / "parcels.csv", dtype=str)
    unlinked = parcels[parcels["domestic_number"].isna()].iloc[0]
    assert made.lookup(unlinked["true_international_number"]).link_number is None


def test_world_reads_blank_cells_as_no_value():
    parcels = pd.DataFrame(
        {
            "parcel_id": ["P1", "P2"],
            "international_number": ["RR029484693AU", "LZ123456785US"],
            "domestic_number": ["", "  "],
            "domestic_carrier": ["", None],
            "recipient_phone": ["13812345678", ""],
        }
    )
    events = pd.DataFrame(
        {
            "tracking_number": ["RR029484693AU"],
            "carrier": ["auspost"],
            "leg": ["international"],
            "time_local": ["2026-11-01T09:00:00+11:00"],
            "location": [""],
            "description": ["Accepted"],
            "milestone": ["accepted"],
        }
    )
    w = World(parcels, events)
    assert w.lookup("RR029484693AU").link_number is None
    assert w.lookup("LZ123456785US").phone is None
    assert w.numbers("domestic") == []


# ------------------------------------------------------------------ a wheel in a fresh venv

KEY_VARIABLES = (
    "SEVENTEENTRACK_API_KEY",
    "KUAIDI100_KEY",
    "KUAIDI100_CUSTOMER",
    "AFTERSHIP_API_KEY",
    "TOOLKIT_CARRIER_BASE_URL",
)
# What the build reads: everything else of the repository (tests, data, bench) stays out.
BUILD_INPUTS = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "toolkit", "notebooks")


def _run(args, cwd, env, timeout=300) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"{args}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    return proc


def _build_wheel(tmp_path: Path) -> Path:
    source = tmp_path / "source"  # a copy, so the build leaves nothing in the checkout
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "exports")
    for name in BUILD_INPUTS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    wheels = tmp_path / "wheels"
    _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", wheels, source],
        tmp_path,
        None,
    )
    (wheel,) = wheels.glob("parcel_toolkit-*.whl")
    return wheel


def _fresh_venv(tmp_path: Path, wheel: Path) -> Path:
    """A venv outside the repository with the wheel installed (not editable).

    The dependencies are those of the running environment, seen through a .pth file, so the
    test needs no download. Only a site folder's own .pth files run, so the editable install
    of the checkout that lives there stays inactive: `import toolkit` finds the wheel's copy.
    """
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], tmp_path, None)
    python = venv / "bin" / "python"
    _run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps",
         "--no-index", wheel],
        tmp_path, None,
    )  # fmt: skip
    site = _run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        tmp_path,
        None,
    ).stdout.strip()
    ours = sysconfig.get_paths()
    deps = dict.fromkeys((ours["purelib"], ours["platlib"]))
    Path(site, "_toolkit_test_deps.pth").write_text("\n".join(deps) + "\n", encoding="utf-8")
    return python


def _clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARIABLES}
    for name in ("PYTHONPATH", "VIRTUAL_ENV", "XDG_DATA_HOME", "XDG_CACHE_HOME",
                 paths.DATA_DIR_ENV, "TOOLKIT_EXPORT_DIR", "TOOLKIT_CACHE_DIR"):  # fmt: skip
        env.pop(name, None)
    env["HOME"] = str(tmp_path / "home")
    env["TOOLKIT_FINDINGS_URL"] = "sqlite://"
    # nbconvert's base templates and the kernel spec are data files of the dependencies,
    # installed under the environment's share/jupyter (the .pth file does not carry them).
    env["JUPYTER_PATH"] = str(Path(sysconfig.get_paths()["data"]) / "share" / "jupyter")
    return env


QUICK_START = """
import os
import sys
import toolkit
print(toolkit.__file__)
# the checkout's own package is on no path (its .venv, which may sit inside the checkout,
# only lends the dependencies)
mine = os.path.dirname(os.path.dirname(toolkit.__file__))
others = [p for p in sys.path if p and p != mine and os.path.isdir(os.path.join(p, "toolkit"))]
assert not others and "{root}" not in sys.path, sys.path
events, errors = toolkit.track([{number!r}])
assert events.attrs["sandbox"] is True, events.attrs
assert len(events) > 0 and errors.empty, (len(events), errors)
print("tracked", len(events))
"""

WIDGETS = """
from toolkit.world import demo
from toolkit.widgets import GroupTriage, ParcelInvestigator

parcels, events = demo.load_demo()
now = parcels["as_of"].iloc[0]
investigator = ParcelInvestigator(parcels, events, now=now)
d = investigator.investigate({number!r})
assert d is not None and d.category == "delivered", d
triage = GroupTriage(parcels, events, now=now)
triage.select(list(parcels["parcel_id"].head(3)))
print("exported", triage.export_csv())
"""


@pytest.mark.slow
def test_wheel_runs_the_quick_start_outside_the_repository(tmp_path):
    started = time.perf_counter()
    wheel = _build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        # the one notebook analysts edit is the one the wheel carries
        shipped = z.read("toolkit/notebooks/03_partner_report.ipynb")
    assert shipped == REPORT_NOTEBOOK.read_bytes()
    assert "toolkit/report/templates/partner/index.html.j2" in names
    assert not any(n.startswith(("data/", "tests/", "notebooks/")) for n in names)
    python = _fresh_venv(tmp_path, wheel)
    env = _clean_env(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    parcels = pd.read_csv(DEMO / "parcels.csv", dtype=str)
    postal = parcels[(parcels["true_category"] == "delivered") & (parcels["route"] == "postal")]
    number = postal["international_number"].iloc[0]  # no phone needed on a postal route

    # toolkit.track with no keys: the sandbox, whose demo world is made on first use
    out = _run([python, "-c", QUICK_START.format(root=ROOT, number=number)], work, env).stdout
    assert out.splitlines()[0].startswith(str(tmp_path / "venv")), out
    made = tmp_path / "home" / ".local" / "share" / "parcel-toolkit" / "demo"
    for name in ("parcels.csv", "events.csv"):
        assert (made / name).read_bytes() == (DEMO / name).read_bytes(), name

    _run([python, "-m", "toolkit.world.demo", "--parcels", "50", "--out", "small"], work, env)
    assert len(pd.read_csv(work / "small" / "parcels.csv")) == 50

    # one carrier's report: the whole demo set's is rendered (and measured) in test_report
    report = [python, "-m", "toolkit", "report", "--carrier", "sf", "--out", "reports"]
    printed = _run(report, work, env).stdout
    (page,) = (work / "reports").glob("partner-report-*-partner-safe.html")
    assert printed.strip().endswith(page.name)
    html = page.read_text(encoding="utf-8")
    assert "Demo data: invented parcels" in html

    out = _run([python, "-c", WIDGETS.format(number=number)], work, env).stdout
    exported = Path(out.split("exported", 1)[1].strip())
    assert exported.parent == work / "exports" and exported.is_file()
    print(f"wheel built, installed and run in {time.perf_counter() - started:.1f} s")
