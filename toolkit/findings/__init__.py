"""The findings store: what analysts found about parcels, versioned, with its history.

``store`` holds ``FindingsStore`` (SQLite by default, PostgreSQL for a team); ``schema``
the rules a finding obeys and the store's tables.
"""

from toolkit.findings.store import (
    COMPENSATION_KINDS,
    ENV_URL,
    FIELDS,
    STATUSES,
    Finding,
    FindingNotFoundError,
    FindingsStore,
    StaleVersionError,
    StoreError,
    default_path,
)

__all__ = [
    "COMPENSATION_KINDS",
    "ENV_URL",
    "FIELDS",
    "STATUSES",
    "Finding",
    "FindingNotFoundError",
    "FindingsStore",
    "StaleVersionError",
    "StoreError",
    "default_path",
]
