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


@pytest.mark.slow
def test_api_keys_never_reach_notebook_output(monkeypatch):
    """With recognisable keys set (clients pointed at a localhost sandbox), no output shows them."""
    from toolkit.world.sandbox import serve

    fake = {
        "SEVENTEENTRACK_API_KEY": "FAKE17KEY-5c2e9a0b7d",
        "KUAIDI100_KEY": "FAKEK100KEY-81f3aa42",
        "KUAIDI100_CUSTOMER": "FAKECUSTOMER-0d9b2e",
        "AFTERSHIP_API_KEY": "FAKEASKEY-77e1c3f0",
    }
    with serve(port=0) as server:
        for name, value in fake.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("TOOLKIT_CARRIER_BASE_URL", server.url)
        monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(ROOT / ".pytest_cache" / "carrier-cache"))
        nb = execute(ROOT / "notebooks" / "01_investigate_parcel.ipynb")
        assert server.app.log, "the notebook sent no request to the carrier services"
    text = outputs_text(nb)
    for value in fake.values():
        assert value not in text


@pytest.mark.slow
def test_triage_notebook_runs_without_warnings_and_leaves_the_findings_store_alone(
    tmp_path, monkeypatch
):
    """Run All on notebook 02 shows no JSON warning and adds no demo finding to the real store."""
    from toolkit.findings.store import FindingsStore, default_path

    url = f"sqlite:///{tmp_path / 'team-findings.sqlite'}"
    with FindingsStore(url) as team:
        team.add(parcel_ids=["P-REAL-1"], category="customs_hold", analyst="mei")
        before = team.query()
    default = default_path()
    default_before = default.stat().st_mtime_ns if default.exists() else None
    monkeypatch.setenv("TOOLKIT_FINDINGS_URL", url)

    nb = execute(ROOT / "notebooks" / "02_triage_group.ipynb")

    text = outputs_text(nb)
    assert "not JSON compliant" not in text
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o.get("name") == "stderr"], (
        "a cell wrote to stderr (shown in red in Lab)"
    )
    assert "demo analyst" in text, "the notebook no longer shows its example finding"
    with FindingsStore(url) as team:
        after = team.query()
    assert after["id"].tolist() == before["id"].tolist()
    assert "demo analyst" not in set(after["analyst"])
    assert (default.stat().st_mtime_ns if default.exists() else None) == default_before
