"""The findings store: what analysts found about parcels, versioned, with its history.

``store`` holds ``FindingsStore`` (SQLite by default, PostgreSQL for a team); ``schema``
the rules a finding obeys and the store's tables.
"""

from toolkit.findings import store
from toolkit.findings.store import *  # noqa: F403  (the store's public names, as listed there)

__all__ = store.__all__
