"""Suite-wide isolation and the fast lane's rule.

Findings, carrier caches and exports go to a temporary folder. A test not marked ``slow`` that
starts a process, a kernel, a browser or a server fails (``slow_guard.py``), so that
``make check`` (``pytest -m "not slow"``) stays fast.
"""

from __future__ import annotations

import os

import pytest
from slow_guard import refuse_slow_work


@pytest.fixture(scope="session", autouse=True)
def _isolated_state(tmp_path_factory):
    """Point the default findings store, response cache, exports and team wording table at a
    per-run temp folder."""
    base = tmp_path_factory.mktemp("state")
    keys = (
        "TOOLKIT_FINDINGS_URL",
        "TOOLKIT_CACHE_DIR",
        "TOOLKIT_EXPORT_DIR",
        "TOOLKIT_TEAM_WORDING",
    )
    saved = {k: os.environ.get(k) for k in keys}
    os.environ["TOOLKIT_FINDINGS_URL"] = f"sqlite:///{base / 'findings.sqlite'}"
    os.environ["TOOLKIT_CACHE_DIR"] = str(base / "cache")
    os.environ["TOOLKIT_EXPORT_DIR"] = str(base / "exports")
    # no team wording unless a test teaches some: the shipped tables are what is tested
    os.environ["TOOLKIT_TEAM_WORDING"] = str(base / "team_wording.csv")
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def whole_demo_report(tmp_path_factory):
    """The partner report of the whole demo set (every carrier), rendered once per run for the
    slow tests that read it: its size and privacy in test_report, its pages in test_browser."""
    from toolkit.report.render import render_report
    from toolkit.world import demo

    parcels, _ = demo.load_demo()
    return render_report(tmp_path_factory.mktemp("whole-demo"), now=parcels["as_of"].iloc[0])


def _guarded(item: pytest.Item):
    """Run a test phase; outside the slow lane, starting a process or a server fails the test."""
    if item.get_closest_marker("slow") is not None:
        return (yield)
    seen: list[str] = []
    try:
        with refuse_slow_work(item.nodeid, seen):
            return (yield)
    finally:
        if seen:  # also when the code under test caught the SlowWork and went on
            pytest.fail("\n".join(dict.fromkeys(seen)), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    return (yield from _guarded(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    return (yield from _guarded(item))
