"""The package grouped by what it does, with the earlier flat module names still working."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import toolkit

EARLIER = sorted(toolkit.MOVED.items())


@pytest.mark.parametrize(("old", "new"), EARLIER)
def test_an_earlier_module_name_is_the_same_module(old, new):
    assert importlib.import_module(old) is importlib.import_module(new)


def test_the_api_named_in_the_readme_keeps_working():
    from toolkit.diagnose import diagnose_all
    from toolkit.numbers import parse
    from toolkit.track import detect_carrier

    from toolkit.diagnosis.diagnose import diagnose_all as present
    from toolkit.findings import FindingsStore
    from toolkit.tracking.track import detect_carrier as detect

    assert diagnose_all is present and detect_carrier is detect
    assert FindingsStore.__module__ == "toolkit.findings.store"
    assert parse("RR123456785CN").valid
    # toolkit.track stays the tracking function, before and after its module is imported
    assert callable(toolkit.track) and toolkit.track.__name__ == "track"
    assert toolkit.numbers.parse is parse  # a bare `import toolkit` reaches them too


def test_submodules_of_a_moved_package_are_not_loaded_twice():
    import toolkit.carriers.kuaidi100 as old

    import toolkit.tracking.carriers.kuaidi100 as new

    assert old is new and sys.modules["toolkit.carriers.kuaidi100"] is new
    assert old.Kuaidi100Client is new.Kuaidi100Client


@pytest.mark.slow
def test_python_m_toolkit_demo_still_runs(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "toolkit.demo",
            "--parcels",
            "20",
            "--seed",
            "3",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "parcels.csv").is_file() and (tmp_path / "events.csv").is_file()


@pytest.mark.slow
def test_reading_a_number_loads_no_http_client_or_sandbox():
    code = (
        "import sys; import toolkit.tracking.numbers, toolkit.numbers;"
        "print(sorted(m for m in ('httpx', 'toolkit.world.sandbox', 'plotly') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
