"""Suite-wide isolation: findings, carrier caches and exports go to a temporary folder."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _isolated_state(tmp_path_factory):
    """Point the default findings store, response cache and exports at a per-run temp folder."""
    base = tmp_path_factory.mktemp("state")
    keys = ("TOOLKIT_FINDINGS_URL", "TOOLKIT_CACHE_DIR", "TOOLKIT_EXPORT_DIR")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ["TOOLKIT_FINDINGS_URL"] = f"sqlite:///{base / 'findings.sqlite'}"
    os.environ["TOOLKIT_CACHE_DIR"] = str(base / "cache")
    os.environ["TOOLKIT_EXPORT_DIR"] = str(base / "exports")
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
