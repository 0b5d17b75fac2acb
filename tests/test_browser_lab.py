"""Notebook 02 in the JupyterLab of `make lab`, in Chromium: Run All, exports, save.

What an analyst does on a normal day: run the triage notebook, export a CSV and a partner
report and download them from the links, save. Nothing turns red, the files download, and
the notebook on disk stays without outputs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from lab_server import lab_server
from test_browser import (
    CHROMIUM_ARGS,
    LOCAL_SCHEMES,
    chromium,
    run_all_cells,
    wait_for_settled_kernel,
)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "02_triage_group.ipynb"
SHOTS = Path("/tmp")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture
def lab02(tmp_path):
    """JupyterLab as `make lab` starts it over a copy of notebook 02; (url, token, folder)."""
    chromium()
    work = tmp_path / "notebooks"
    work.mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, work)
    home = tmp_path / "home"
    settings = home / "settings"
    tracker = settings / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    # start the kernel without asking; keep every cell in the page (no windowing), so that
    # the widget at the top can be found after Run All has scrolled to the end
    (tracker / "tracker.jupyterlab-settings").write_text(
        '{"autoStartDefaultKernel": true, "windowingMode": "none"}'
    )
    env = {
        "PYTHONPATH": str(ROOT),
        "TOOLKIT_FINDINGS_URL": f"sqlite:///{tmp_path / 'findings.sqlite'}",
        "TOOLKIT_CACHE_DIR": str(tmp_path / "cache"),
        # the checkout's notebooks/exports is outside this Lab's root: use one inside it
        "TOOLKIT_EXPORT_DIR": str(work / "exports"),
    }
    with lab_server(
        work,
        home,
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.user_settings_dir={settings}",
        env=env,
    ) as (url, token):
        yield url, token, work


def test_notebook_02_runs_exports_downloads_and_saves_clean(lab02, tmp_path):
    from playwright.sync_api import sync_playwright

    url, token, work = lab02
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 1400, "height": 1000}, accept_downloads=True
        )
        context.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith((url, *LOCAL_SCHEMES))
                else route.abort()
            ),
        )
        page = context.new_page()
        page.goto(f"{url}/lab/tree/{NOTEBOOK}?token={token}")
        page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=60_000)
        wait_for_settled_kernel(page, url, token, NOTEBOOK, tmp_path)
        run_all_cells(page, tmp_path)

        # Run All shows no red warning (stderr) and no error anywhere
        stderr = page.locator('[data-mime-type="application/vnd.jupyter.stderr"]')
        assert stderr.count() == 0, stderr.all_inner_texts()
        assert page.locator('[data-mime-type="application/vnd.jupyter.error"]').count() == 0

        widget = page.locator(".jp-Cell", has=page.get_by_role("button", name="Load demo set"))
        # the parcel list is the last multiple choice of the widget (its label counts parcels)
        parcels = widget.locator(".widget-select-multiple select").last
        parcels.scroll_into_view_if_needed()
        parcels.select_option(index=[0, 1, 2])

        # the CSV: a warning that names the recipient data, and a link that downloads it
        widget.get_by_role("button", name="Export selection as CSV").click()
        link = widget.locator("a[download]", has_text="CONTAINS-RECIPIENT-DATA")
        link.wait_for(timeout=30_000)
        assert "CONTAINS RECIPIENT DATA" in widget.inner_text()
        link.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "lab02-csv-export.png"))
        with page.expect_download() as got:
            link.click()
        download = got.value
        (csv,) = (work / "exports").glob("*.csv")
        assert download.suggested_filename == csv.name
        assert Path(download.path()).read_bytes() == csv.read_bytes()

        # the partner report: masked, named partner-safe, downloaded the same way
        widget.get_by_role("button", name="Export for partner").click()
        link = widget.locator("a[download]", has_text="partner-safe")
        link.wait_for(timeout=120_000)
        assert "safe to send to the partner" in widget.inner_text()
        link.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "lab02-partner-export.png"))
        with page.expect_download() as got:
            link.click()
        (html,) = (work / "exports").glob("*-partner-safe.html")
        assert got.value.suggested_filename == html.name
        assert Path(got.value.path()).read_bytes() == html.read_bytes()

        # saving keeps the notebook on disk without outputs, while the page still shows them
        page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        page.wait_for_function(
            """() => !document.querySelector('.jp-NotebookPanel .jp-mod-dirty')""",
            timeout=30_000,
        )
        saved = json.loads((work / NOTEBOOK).read_text(encoding="utf-8"))
        code = [c for c in saved["cells"] if c["cell_type"] == "code"]
        assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
        assert page.locator(".jp-OutputArea-output").count() > 0
        context.close()
        browser.close()
