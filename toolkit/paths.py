"""Where the toolkit finds its notebook and demo data: in a checkout, or installed from a wheel.

In a checkout (``pyproject.toml`` next to ``toolkit/``) the repository's own folders are
used: ``data/demo/`` and ``notebooks/``. Installed elsewhere, the report notebook comes with
the package (the build copies ``notebooks/03_partner_report.ipynb`` into it, so the file in
``notebooks/`` stays the only one anybody edits) and the demo data set is generated, once,
into the user's data folder.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent
REPORT_NOTEBOOK_NAME = "03_partner_report.ipynb"
# Where the build puts the report notebook inside the package (see setup.py).
PACKAGED_NOTEBOOKS = PACKAGE / "notebooks"
DATA_DIR_ENV = "TOOLKIT_DATA_DIR"


def in_checkout() -> bool:
    """True when the toolkit runs from the repository (not from an installed wheel)."""
    return (ROOT / "pyproject.toml").is_file() and (ROOT / "toolkit").is_dir()


def user_data_dir() -> Path:
    """$TOOLKIT_DATA_DIR, else $XDG_DATA_HOME/parcel-toolkit, else ~/.local/share/parcel-toolkit."""
    chosen = os.environ.get(DATA_DIR_ENV, "").strip()
    if chosen:
        return Path(chosen).expanduser()
    base = os.environ.get("XDG_DATA_HOME", "").strip() or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "parcel-toolkit"


def demo_dir() -> Path:
    """The demo data set's folder: $TOOLKIT_DATA_DIR/demo if set, data/demo/ in a checkout,
    else demo/ in the user's data folder."""
    if os.environ.get(DATA_DIR_ENV, "").strip() or not in_checkout():
        return user_data_dir() / "demo"
    return ROOT / "data" / "demo"


def report_notebook() -> Path:
    """The partner report notebook: notebooks/ in a checkout, else the package's copy."""
    if in_checkout():
        return ROOT / "notebooks" / REPORT_NOTEBOOK_NAME
    return PACKAGED_NOTEBOOKS / REPORT_NOTEBOOK_NAME
