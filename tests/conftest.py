"""Suite-wide isolation: findings and carrier caches go to a temporary folder, not the checkout."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _isolated_state(tmp_path_factory):
    """Point the default findings store and response cache at a per-run temp folder."""
    base = tmp_path_factory.mktemp("state")
    saved = {k: os.environ.get(k) for k in ("TOOLKIT_FINDINGS_URL", "TOOLKIT_CACHE_DIR")}
    os.environ["TOOLKIT_FINDINGS_URL"] = f"sqlite:///{base / 'findings.sqlite'}"
    os.environ["TOOLKIT_CACHE_DIR"] = str(base / "cache")
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
