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
from test_browser import CHROMIUM_ARGS, chromium, open_notebook

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
        context, page, _ = open_notebook(
            browser, url, token, NOTEBOOK, tmp_path, accept_downloads=True
        )

        # Run All shows no red warning (stderr) and no error anywhere
        stderr = page.locator('[data-mime-type="application/vnd.jupyter.stderr"]')
        assert stderr.count() == 0, stderr.all_inner_texts()
        assert page.locator('[data-mime-type="application/vnd.jupyter.error"]').count() == 0

        widget = page.locator(".jp-Cell", has=page.get_by_role("button", name="Load demo set"))
        # the parcel list is the last multiple choice of the widget (its label counts parcels)
        parcels = widget.locator(".widget-select-multiple select").last
        parcels.scroll_into_view_if_needed()
        parcels.select_option(index=[0, 1, 2])

        # the CSV: a warning that names the recipient data; the partner report: masked,
        # named partner-safe. Each downloads from the link its export shows.
        for button, link_text, told, files, shot, timeout in (
            (
                "Export selection as CSV",
                "CONTAINS-RECIPIENT-DATA",
                "CONTAINS RECIPIENT DATA",
                "*.csv",
                "lab02-csv-export.png",
                30_000,
            ),
            (
                "Export for partner",
                "partner-safe",
                "safe to send to the partner",
                "*-partner-safe.html",
                "lab02-partner-export.png",
                120_000,
            ),
        ):
            widget.get_by_role("button", name=button).click()
            link = widget.locator("a[download]", has_text=link_text)
            link.wait_for(timeout=timeout)
            assert told in widget.inner_text()
            link.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / shot))
            with page.expect_download() as got:
                link.click()
            (written,) = (work / "exports").glob(files)
            assert got.value.suggested_filename == written.name
            assert Path(got.value.path()).read_bytes() == written.read_bytes()

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
