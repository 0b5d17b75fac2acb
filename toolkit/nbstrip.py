"""Notebooks saved without outputs: the Jupyter server's pre-save hook and a command.

``make lab`` starts JupyterLab with ``jupyter/jupyter_server_config.py``, which sets
``ContentsManager.pre_save_hook`` to :func:`strip_on_save`. Every save (the analyst's and
autosave) then writes the notebook without outputs, execution counts, run timings or saved
widget state, so the notebooks in git stay small and free of parcel and recipient data,
while the outputs stay on screen until the notebook is closed.

``python -m toolkit.nbstrip FILE...`` cleans notebooks on disk the same way.
"""

from __future__ import annotations

import sys
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

# Cell metadata written by a run (JupyterLab's "record timing", papermill, old Notebook).
RUN_CELL_METADATA = ("execution", "papermill", "collapsed", "scrolled", "ExecuteTime")
# Notebook metadata written by a run: saved widget state can hold every value a widget
# showed (parcels, recipient names), papermill's record holds parameters and local paths.
RUN_NOTEBOOK_METADATA = ("widgets", "papermill")


def strip_notebook(nb: MutableMapping[str, Any]) -> bool:
    """Remove outputs, execution counts and run metadata in place; True when anything changed."""
    changed = False
    for key in RUN_NOTEBOOK_METADATA:
        if key in nb.get("metadata", {}):
            del nb["metadata"][key]
            changed = True
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {})
        for key in RUN_CELL_METADATA:
            if key in meta:
                del meta[key]
                changed = True
        if cell.get("cell_type") != "code":
            continue
        if cell.get("outputs"):
            cell["outputs"] = []
            changed = True
        if cell.get("execution_count") is not None:
            cell["execution_count"] = None
            changed = True
    return changed


def strip_on_save(model: MutableMapping[str, Any], path: str = "", **_: Any) -> None:
    """Jupyter server pre-save hook: a notebook is written without its outputs."""
    if model.get("type") == "notebook" and isinstance(model.get("content"), MutableMapping):
        strip_notebook(model["content"])


def strip_file(path: str | Path) -> bool:
    """Clean one .ipynb file on disk; True when it was rewritten."""
    import nbformat

    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    if not strip_notebook(nb):
        return False
    nbformat.write(nb, path)
    return True


def main(argv: list[str] | None = None) -> int:
    """Strip the notebooks named on the command line; print those that changed."""
    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print("usage: python -m toolkit.nbstrip NOTEBOOK.ipynb ...", file=sys.stderr)
        return 2
    import nbformat

    for name in paths:
        try:
            if strip_file(name):
                print(f"stripped {name}")
        except (OSError, nbformat.reader.NotJSONError, ValueError) as exc:
            print(
                f"{name}: cannot be cleaned ({exc}); name an existing .ipynb file", file=sys.stderr
            )
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
