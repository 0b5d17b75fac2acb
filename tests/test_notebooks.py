"""Every notebook runs top to bottom on a fresh checkout against the sandbox."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def execute(path: Path, env_cwd: Path | None = None) -> nbformat.NotebookNode:
    """Run a notebook in a fresh kernel from its own folder; raise on the first error."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    return nb


def outputs_text(nb: nbformat.NotebookNode) -> str:
    """Every output of a run notebook as one string (text, HTML and JSON parts)."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(str(out.get("text", "")))
            for value in out.get("data", {}).values():
                parts.append(str(value))
    return "\n".join(parts)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path):
    nb = execute(path)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    assert "Traceback" not in outputs_text(nb)
    # Every chart is live in Lab (plotly mimetype) and embedded as HTML for export.
    charts = [
        o["data"]
        for c in nb.cells
        for o in c.get("outputs", [])
        if "application/vnd.plotly.v1+json" in o.get("data", {})
    ]
    assert charts, "no plotly chart in the outputs"
    assert all("text/html" in data for data in charts), "a chart would be blank in HTML export"
