"""In a real browser: the partner report offline, and notebook 01 in JupyterLab.

Python Playwright drives Debian's Chromium (apt package ``chromium``). The tests skip
only when Chromium is absent on a developer machine; with CI=true they fail instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest
from lab_server import LabFailed, lab_server
from report_fixtures import EVIL_ID, EVIL_IMG, EVIL_SCRIPT, stuck_demo_ids, with_evil_parcel

from toolkit.report import export_for_partner
from toolkit.report.content import MAX_LANES
from toolkit.report.translations import TEXT
from toolkit.world import demo

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_PATHS = ("/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_SCHEMES = ("file:", "data:", "blob:")


def allow_only(target, prefixes: tuple[str, ...], outside: list | None = None) -> None:
    """Let a page or browser context load only addresses that start with ``prefixes``;
    any other request is refused (and its address kept in ``outside`` when given)."""

    def handle(route) -> None:
        if route.request.url.startswith(prefixes):
            route.continue_()
            return
        if outside is not None:
            outside.append(route.request.url)
        route.abort()

    target.route("**/*", handle)


NOTEBOOKS = ("01_investigate_parcel.ipynb", "02_triage_group.ipynb")
ALL_DRAWN = """() => {
    const divs = [...document.querySelectorAll('.plotly-graph-div')];
    return divs.length > 0 && divs.every(d => d.querySelector('.main-svg'));
}"""

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def chromium() -> str:
    """Path of the Chromium binary; skip (or fail in CI) when there is none."""
    found = os.environ.get("TOOLKIT_CHROMIUM") or next(
        (p for p in CHROMIUM_PATHS if Path(p).is_file()), None
    )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        found = None
    if found is None:
        message = "Chromium or Python playwright is missing (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + "; CI must run the browser tests")
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    path = chromium()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


# ------------------------------------------------------------------ the partner report


@pytest.fixture(scope="module")
def partner_html(tmp_path_factory) -> Path:
    chromium()  # no need to render when there is no browser to open it
    parcels, events = demo.load_demo()
    now = pd.Timestamp(parcels["as_of"].iloc[0])
    parcels, events = with_evil_parcel(parcels, events)
    ids = [EVIL_ID, *stuck_demo_ids(parcels)]
    return export_for_partner(ids, parcels, events, tmp_path_factory.mktemp("partner"), now=now)


def test_partner_report_draws_every_chart_offline_and_runs_no_injected_script(
    browser, partner_html
):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    outside, console_errors = [], []
    allow_only(page, LOCAL_SCHEMES, outside)
    page.on("request", lambda r: None if r.url.startswith(LOCAL_SCHEMES) else outside.append(r.url))
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: console_errors.append(str(exc)))

    page.goto(partner_html.as_uri(), wait_until="load")
    page.wait_for_function(ALL_DRAWN, timeout=30_000)

    charts = page.evaluate(
        """() => [...document.querySelectorAll('.plotly-graph-div')].map(d => ({
            svg: d.querySelectorAll('.main-svg').length,
            traces: (d._fullData || []).length,
            title: (d._fullLayout && d._fullLayout.title && d._fullLayout.title.text) || ''
        }))"""
    )
    assert len(charts) >= 6  # lane figures and one timeline per parcel with scans
    assert all(c["svg"] > 0 and c["traces"] > 0 for c in charts), charts
    assert any(EVIL_ID in c["title"] for c in charts)

    # The carrier text shows as text, in the table and in the chart's hover label.
    assert page.get_by_text(EVIL_SCRIPT).count() > 0
    assert page.get_by_text(EVIL_IMG).count() > 0
    assert page.locator("img[onerror]").count() == 0
    hover = page.evaluate(
        """(id) => {
            const gd = [...document.querySelectorAll('.plotly-graph-div')]
                .find(d => d._fullLayout.title.text.includes(id));
            const points = [];
            gd._fullData.forEach((t, i) => t.x.forEach((_, j) => points.push({curveNumber: i, pointNumber: j})));
            Plotly.Fx.hover(gd, points.slice(-1));
            const label = gd.querySelector('.hoverlayer');
            return label ? label.textContent : '';
        }""",
        EVIL_ID,
    )
    assert "<script>window.__pwned=1</script>" in hover
    page.wait_for_timeout(300)
    assert page.evaluate("typeof window.__pwned") == "undefined"

    # No link to another site is added while the page is viewed (plotly's logo in the bar).
    links = page.evaluate(
        """() => [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))
            .filter(h => /^\\s*(https?:)?\\/\\//i.test(h))"""
    )
    assert links == []
    assert page.locator(".modebar").count() > 0  # the tool bar itself is still there

    assert outside == []
    assert console_errors == []
    page.close()


def test_partner_downloads_the_requests_as_a_spreadsheet_offline(browser, partner_html, tmp_path):
    context = browser.new_context(accept_downloads=True)
    outside = []
    allow_only(context, LOCAL_SCHEMES, outside)
    page = context.new_page()
    page.goto(partner_html.as_uri(), wait_until="load")
    link = page.locator("a.questions-csv")
    assert link.count() == 1
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename.startswith("questions-all-") and (
        download.suggested_filename.endswith(".csv")
    )
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    sheet = pd.read_csv(saved, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    rows = page.evaluate(
        """() => [...document.querySelector('a.questions-csv').closest('div')
                   .querySelectorAll('table tbody tr')].map(tr => tr.cells[0].textContent)"""
    )
    assert sheet["Parcel"].tolist() == rows and len(rows) > 0
    assert list(sheet.columns)[-1] == "Answer" and set(sheet["Answer"]) == {""}
    assert EVIL_ID in set(sheet["Parcel"])
    assert not sheet.apply(lambda c: c.str.contains("13912345678")).any().any()
    assert outside == []
    context.close()


def offline_page(browser, outside: list, errors: list, **options):
    """A page that may load only the file itself; requests elsewhere and errors are kept."""
    page = browser.new_page(viewport={"width": 1280, "height": 900}, **options)
    allow_only(page, LOCAL_SCHEMES, outside)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page


@pytest.fixture(scope="module")
def all_carriers_html(whole_demo_report) -> Path:
    chromium()
    return whole_demo_report


def test_all_carrier_report_leads_from_its_contents_to_each_carrier(browser, all_carriers_html):
    outside, errors = [], []
    page = offline_page(browser, outside, errors)
    page.goto(all_carriers_html.as_uri(), wait_until="load")
    page.wait_for_function(ALL_DRAWN, timeout=60_000)
    page.screenshot(path="/tmp/partner-all-top.png")
    links = page.locator("nav.report-contents ul.report-carriers a")
    sections = page.locator("h3[id^='carrier-']")
    assert links.count() == sections.count() > 5
    assert links.nth(0).text_content() == "UPS: 157 parcels need action"
    link = links.nth(2)
    target = link.get_attribute("href")[1:]
    link.click()
    page.wait_for_timeout(300)
    top = page.evaluate("(id) => document.getElementById(id).getBoundingClientRect().top", target)
    assert 0 <= top < 100, top  # the carrier's section is at the top of the window
    heading = page.locator(f"h3#{target}").text_content()
    assert heading.startswith(link.text_content().split(":")[0])
    page.screenshot(path="/tmp/partner-all-carrier.png")

    page.click("nav.report-contents a[href='#lanes']")
    page.wait_for_timeout(300)
    page.screenshot(path="/tmp/partner-all-lanes.png")
    note = page.locator("p.report-lanes-note").text_content()
    assert note.startswith(f"The charts show the {MAX_LANES} lanes with the most parcels")
    ticks = page.evaluate(
        """() => [...document.querySelectorAll('.plotly-graph-div')].slice(0, 2).map(d => ({
            y: [...d.querySelectorAll('.ytick text')].map(t => t.textContent),
            x: [...d.querySelectorAll('.xtick text')].map(t => t.textContent),
            lanes: d._fullData[0].type === 'heatmap' ? d._fullData[0].x.length : null,
        }))"""
    )
    outcomes, heatmap = ticks
    assert len(outcomes["y"]) == MAX_LANES and not any("other" in y for y in outcomes["y"])
    # every heatmap column has its lane's name under it
    assert len(heatmap["x"]) == heatmap["lanes"] <= MAX_LANES

    # the scan texts nobody can read: a section of their own, each carrier named, and asked
    page.click("nav.report-contents a[href='#unread-texts']")
    page.wait_for_timeout(300)
    top = page.evaluate("() => document.getElementById('unread-texts').getBoundingClientRect().top")
    assert 0 <= top < 100, top
    page.screenshot(path="/tmp/partner-all-unread.png")
    rows = page.evaluate(
        """() => [...document.getElementById('unread-texts').nextElementSibling
                   .nextElementSibling.querySelectorAll('tbody tr')]
                   .map(tr => [...tr.cells].map(c => c.textContent))"""
    )
    assert rows and rows[0][:2] == ["YunExpress", "已收货"], rows
    assert page.get_by_text('What does the scan text "已收货" mean').count() == 1  # a request
    assert outside == [] and errors == []
    page.close()


def test_one_parcel_export_is_a_page_about_that_parcel(browser, tmp_path):
    parcels, events = demo.load_demo()
    now = pd.Timestamp(parcels["as_of"].iloc[0])
    pid = parcels.loc[parcels["true_category"] == "handover_not_synced", "parcel_id"].iloc[0]
    path = export_for_partner([pid], parcels, events, tmp_path, now=now)
    outside, errors = [], []
    page = offline_page(browser, outside, errors)
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_function(ALL_DRAWN, timeout=30_000)
    page.screenshot(path="/tmp/partner-one.png", full_page=True)
    assert page.title().startswith(f"Parcel {pid}: tracking report for ")
    text = page.locator("body").inner_text()
    assert "all carriers" not in text and "The 1 parcels" not in text
    titles = page.evaluate(
        """() => [...document.querySelectorAll('.plotly-graph-div')]
                 .map(d => d._fullLayout.title.text)"""
    )
    assert len(titles) == 1 and titles[0].startswith(pid)  # its timeline; no group chart
    for heading in ("The parcel", "Timeline", "Questions for", "Finding"):
        assert page.locator("h2", has_text=heading).count() == 1, heading
    assert outside == [] and errors == []
    page.close()


# ------------------------------------------------------------------ JupyterLab


@pytest.fixture
def lab(tmp_path):
    """JupyterLab on a free localhost port over a copy of the notebooks; (url, token)."""
    chromium()
    try:
        with running_lab(tmp_path) as (url, token):
            yield url, token
    except LabFailed as exc:
        pytest.fail(str(exc))


@contextlib.contextmanager
def running_lab(tmp_path: Path, notebooks=NOTEBOOKS, env_extra: dict | None = None):
    """Start JupyterLab as `make lab` does, over copies of the notebooks in tmp_path;
    yield (url, token)."""
    work = tmp_path / "notebooks"
    work.mkdir(exist_ok=True)
    for name in notebooks:
        shutil.copy(ROOT / "notebooks" / name, work)
    env = dict(
        TOOLKIT_FINDINGS_URL=f"sqlite:///{tmp_path / 'findings.sqlite'}",
        TOOLKIT_CACHE_DIR=str(tmp_path / "cache"),
        # the kernel imports this checkout's toolkit, whatever the venv has installed
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        **(env_extra or {}),
    )
    # Start the notebook's kernel without asking (no "Select Kernel" dialog racing Run All).
    tracker = tmp_path / "settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True, exist_ok=True)
    (tracker / "tracker.jupyterlab-settings").write_text('{"autoStartDefaultKernel": true}')
    with lab_server(
        work,
        tmp_path,
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
        env=env,
    ) as (url, token):
        yield url, token


ALL_RUN = """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
    .every(p => /^\\[\\d+\\]:$/.test(p.textContent.trim()))"""


# The notebook panel's kernel, as the page sees it; null until it is connected and idle.
PAGE_KERNEL = """(path) => {
    const panel = [...window.jupyterapp.shell.widgets('main')]
        .find(w => w.context && w.context.path === path && w.sessionContext);
    const sc = panel && panel.sessionContext;
    const kernel = sc && sc.isReady && sc.session && sc.session.kernel;
    const ready = kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
    return ready ? kernel.id : null;
}"""


def wait_for_settled_kernel(page, url: str, token: str, path: str, tmp_path: Path) -> None:
    """Wait until the page and the server agree on one idle kernel for the notebook, for 2 s.

    Lab opens a notebook in steps (session created, then patched, kernel connected); a
    Run All sent while those are still in flight can go to a kernel that is being
    replaced and run nothing.
    """
    deadline = time.monotonic() + 90
    seen, since = None, time.monotonic()
    while time.monotonic() < deadline:
        kernel = page.evaluate(PAGE_KERNEL, path)
        sessions = httpx.get(
            f"{url}/api/sessions", headers={"Authorization": f"token {token}"}, timeout=5
        ).json()
        on_server = [s["kernel"]["id"] for s in sessions if s["path"] == path]
        agreed = kernel if kernel is not None and on_server == [kernel] else None
        if agreed != seen:
            seen, since = agreed, time.monotonic()
        elif agreed is not None and time.monotonic() - since >= 2:
            return
        page.wait_for_timeout(200)
    page.screenshot(path=str(tmp_path / "lab.png"), full_page=True)
    pytest.fail(f"The notebook's kernel never settled; see {tmp_path / 'lab.png'} and lab.log")


def run_all_cells(page, tmp_path: Path) -> None:
    """Run all cells, and wait until every code cell has run."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    # Not awaited: the command's promise lasts until every cell has run.
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    try:
        page.wait_for_function(ALL_RUN, timeout=90_000)
    except PlaywrightTimeout:
        page.screenshot(path=str(tmp_path / "lab.png"), full_page=True)
        pytest.fail(f"Run all cells did not finish; see {tmp_path / 'lab.png'} and lab.log")


def test_notebook_01_investigates_a_parcel_in_jupyterlab(browser, lab, tmp_path):
    url, token = lab
    parcels, _ = demo.load_demo()
    linked = parcels[
        (parcels["true_category"] == "delivered")
        & parcels["domestic_number"].notna()
        & (parcels["domestic_number"] != parcels["international_number"])
    ].iloc[0]
    context, page, _ = open_notebook(browser, url, token, "01_investigate_parcel.ipynb", tmp_path)

    number_box = page.get_by_placeholder(re.compile(r"LX123456785US"))
    number_box.wait_for(state="attached", timeout=30_000)
    # Run all leaves the view at the last cell; scroll back up to the widget, as a user would.
    number_box.scroll_into_view_if_needed()
    cell = page.locator(".jp-Cell", has=number_box)
    number_box.fill(linked["international_number"])
    cell.get_by_role("button", name="Investigate").click()

    heading = cell.locator("h4", has_text=f"Parcel {linked['parcel_id']}:")
    heading.wait_for(timeout=60_000)
    assert re.search(r"Parcel P\d+: (delivered|moving|awaiting clearance)", heading.inner_text())
    assert cell.get_by_text("Explanation").first.is_visible()
    svg = cell.locator(".main-svg").first
    svg.wait_for(state="visible", timeout=30_000)
    # plotly draws the frame first and the traces after it: wait for them, on a slow
    # machine the frame can be visible a moment before any trace is in it
    cell.locator(".scatterlayer .trace").first.wait_for(state="attached", timeout=30_000)
    assert cell.locator(".scatterlayer .trace").count() > 0
    lanes = cell.locator(".ytick text").all_text_contents()
    assert any(t.startswith("international ·") for t in lanes), lanes
    assert any(t.startswith("domestic ·") for t in lanes), lanes
    context.close()


# ------------------------------------------------------------------ widgets as analysts see them

MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
# a date axis tick: "Nov 12", "Nov 12, 2026", "12:00", "Nov 2026", "2026"
DATE_TICK = re.compile(rf"^(({MONTHS})( \d{{1,2}})?(,? \d{{4}})?|\d{{1,2}}:\d{{2}}|\d{{4}})$")
# the chart's x tick labels (a date axis writes the year on a second line: take the first)
X_TICKS = """(title) => {
    const gd = [...document.querySelectorAll('.js-plotly-plot')]
        .find(d => d._fullLayout && (d._fullLayout.title.text || '').includes(title));
    if (!gd) return null;
    return {
        type: gd._fullLayout.xaxis.type,
        ticks: [...gd.querySelectorAll('.xtick text')]
            .map(t => (t.querySelector('tspan') || t).textContent.trim()),
    };
}"""


def open_notebook(browser, url: str, token: str, name: str, tmp_path: Path, **context_options):
    """A page with the notebook open, every cell run; (context, page, console errors).

    ``context_options`` go to the browser context (e.g. ``accept_downloads``).
    """
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, **context_options)
    # Lab is local: anything else (fonts, news, CDNs) is refused.
    allow_only(context, (url, *LOCAL_SCHEMES))
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{url}/lab/tree/{name}?token={token}")
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=60_000)
    wait_for_settled_kernel(page, url, token, name, tmp_path)
    run_all_cells(page, tmp_path)
    return context, page, errors


def x_ticks(page, title: str, timeout: float = 30.0) -> dict:
    """Axis type and x tick labels of the chart whose title contains ``title``."""
    deadline = time.monotonic() + timeout
    while True:
        got = page.evaluate(X_TICKS, title)
        if (got and got["ticks"]) or time.monotonic() > deadline:
            return got
        page.wait_for_timeout(200)


def shown_text(cell) -> str:
    """The text a user sees in a cell (the demo-parcel menu's options left out)."""
    return cell.evaluate(
        """c => {
            const menus = [...c.querySelectorAll('select')];
            menus.forEach(m => { m.dataset.display = m.style.display; m.style.display = 'none'; });
            const text = c.innerText;
            menus.forEach(m => { m.style.display = m.dataset.display; });
            return text;
        }"""
    )


def investigate(page, cell, number: str) -> None:
    box = cell.get_by_placeholder(re.compile(r"LX123456785US"))
    box.fill(number)
    cell.get_by_role("button", name="Investigate").click()


def test_investigator_timeline_has_dates_and_shows_only_the_last_parcel(browser, lab, tmp_path):
    url, token = lab
    parcels, events = demo.load_demo()
    counts = events["parcel_id"].value_counts()
    stuck = parcels[
        (parcels["true_category"] == "silent_too_long")
        & parcels["parcel_id"].isin(counts[counts >= 3].index)
    ]
    first, second = stuck.iloc[0], stuck.iloc[1]
    context, page, errors = open_notebook(
        browser, url, token, "01_investigate_parcel.ipynb", tmp_path
    )
    number_box = page.get_by_placeholder(re.compile(r"LX123456785US"))
    number_box.scroll_into_view_if_needed()
    cell = page.locator(".jp-Cell", has=number_box)

    investigate(page, cell, first["international_number"])
    cell.locator("h4", has_text=f"Parcel {first['parcel_id']}:").wait_for(timeout=60_000)
    got = x_ticks(page, f"Tracking timeline · {first['parcel_id']}")
    assert got is not None and got["type"] == "date", got
    assert got["ticks"] and all(DATE_TICK.match(t) for t in got["ticks"]), got
    # the "now" and "silent" labels sit over the plot, not piled at its left edge
    spots = page.evaluate(
        """(title) => {
            const gd = [...document.querySelectorAll('.js-plotly-plot')]
                .find(d => (d._fullLayout.title.text || '').includes(title));
            const plot = gd.querySelector('.cartesianlayer .bg, .nsewdrag').getBoundingClientRect();
            return {left: plot.left, labels: [...gd.querySelectorAll('.annotation')]
                .filter(a => /now|silent/.test(a.textContent))
                .map(a => [a.textContent, a.getBoundingClientRect().left])};
        }""",
        f"Tracking timeline · {first['parcel_id']}",
    )
    assert any(t == "now" for t, _ in spots["labels"]), spots
    assert all(x > spots["left"] + 20 for _, x in spots["labels"]), spots
    page.screenshot(path="/tmp/browser-investigator-timeline.png", full_page=False)
    # the actions checklist shows each action in full (wrapped), never cut with "…"
    actions = cell.locator(".widget-checkbox")
    actions.first.scroll_into_view_if_needed()
    page.screenshot(path="/tmp/browser-investigator-actions.png", full_page=False)
    cut = actions.evaluate_all(
        "boxes => boxes.filter(b => { const s = b.querySelector('span');"
        " return s && s.scrollWidth > s.clientWidth + 1; }).map(b => b.textContent)"
    )
    assert actions.count() >= 1 and cut == [], cut
    cell.locator(".js-plotly-plot").first.screenshot(path="/tmp/browser-investigator-chart.png")

    # a second parcel replaces the first everywhere in the widget
    investigate(page, cell, second["international_number"])
    cell.locator("h4", has_text=f"Parcel {second['parcel_id']}:").wait_for(timeout=60_000)
    x_ticks(page, f"Tracking timeline · {second['parcel_id']}")
    text = shown_text(cell)
    assert first["parcel_id"] not in text and first["international_number"] not in text
    assert cell.locator(".js-plotly-plot").count() == 1

    # typing another number takes the shown result away at once
    number_box.fill("RB000000000GB")
    page.wait_for_timeout(1000)
    assert second["parcel_id"] not in shown_text(cell)
    assert not cell.locator(".js-plotly-plot").first.is_visible()
    # a number without scans shows no timeline, and nothing of the parcel before it
    investigate(page, cell, second["international_number"])
    cell.locator("h4", has_text=f"Parcel {second['parcel_id']}:").wait_for(timeout=60_000)
    investigate(page, cell, "LX999999995US")
    page.wait_for_timeout(3000)
    assert second["parcel_id"] not in shown_text(cell)
    assert not any(p.is_visible() for p in cell.locator(".js-plotly-plot").all())
    page.screenshot(path="/tmp/browser-investigator-after-no-scans.png", full_page=False)

    assert errors == [], errors
    context.close()


def test_triage_swimlanes_have_dates(browser, lab, tmp_path):
    url, token = lab
    context, page, errors = open_notebook(browser, url, token, "02_triage_group.ipynb", tmp_path)
    got = x_ticks(page, "longest-silent", timeout=60)
    assert got is not None and got["type"] == "date", got
    assert got["ticks"] and all(DATE_TICK.match(t) for t in got["ticks"]), got
    axis = page.locator(".js-plotly-plot", has_text="longest-silent").first.locator(".xtick")
    axis.first.scroll_into_view_if_needed()
    page.screenshot(path="/tmp/browser-triage-swimlanes.png")
    # the ageing bars and the gone-dark grid are the report's figures: shares in per cent
    heat = page.locator(".js-plotly-plot", has_text="gone dark, by carrier and lane").first
    heat.scroll_into_view_if_needed()
    heat.screenshot(path="/tmp/browser-triage-heatmap.png")
    scale = heat.locator(".colorbar text").all_text_contents()
    assert any(t.endswith("%") for t in scale), scale
    ageing = page.locator(".js-plotly-plot", has_text="by days since the last scan").first
    ageing.screenshot(path="/tmp/browser-triage-ageing.png")
    assert errors == [], errors
    context.close()


def test_investigator_gives_chinese_scans_in_english_in_table_and_hover(browser, lab, tmp_path):
    url, token = lab
    parcels, events = demo.load_demo()
    han = events["description"].astype(str).str.contains(r"[\u4e00-\u9fff]")
    counts = events[han].groupby("parcel_id").size()
    pick = parcels[parcels["parcel_id"].isin(counts[counts >= 3].index)].iloc[0]
    context, page, errors = open_notebook(
        browser, url, token, "01_investigate_parcel.ipynb", tmp_path
    )
    number_box = page.get_by_placeholder(re.compile(r"LX123456785US"))
    number_box.scroll_into_view_if_needed()
    cell = page.locator(".jp-Cell", has=number_box)
    investigate(page, cell, pick["international_number"])
    cell.locator("h4", has_text=f"Parcel {pick['parcel_id']}:").wait_for(timeout=60_000)
    x_ticks(page, f"Tracking timeline · {pick['parcel_id']}")
    # the events table: an "in English" column beside the original Chinese
    table = cell.locator("table", has=page.locator("th", has_text="in English")).first
    table.scroll_into_view_if_needed()
    rows = table.evaluate(
        """t => { const head = [...t.querySelectorAll('th')].map(h => h.textContent);
                  const d = head.indexOf('description'), g = head.indexOf('in English');
                  return [...t.querySelectorAll('tbody tr')].map(r => {
                      const c = r.querySelectorAll('td');
                      return [c[d].textContent, c[g].textContent]; }); }"""
    )
    chinese = [(d, g) for d, g in rows if re.search(r"[\u4e00-\u9fff]", d)]
    assert chinese and all(g and not re.search(r"[\u4e00-\u9fff]", g) for _, g in chinese), rows
    page.screenshot(path="/tmp/browser-investigator-english.png", full_page=False)
    # the timeline's hover on a Chinese scan carries the same English line
    hovers = page.evaluate(
        """(title) => {
            const gd = [...document.querySelectorAll('.js-plotly-plot')]
                .find(d => (d._fullLayout.title.text || '').includes(title));
            return gd.data.flatMap(t => t.hovertext || []);
        }""",
        f"Tracking timeline · {pick['parcel_id']}",
    )
    assert any("≈ " in h for h in hovers if re.search(r"[\u4e00-\u9fff]", h)), hovers
    assert errors == [], errors
    context.close()


def one_cell_notebook(path: Path, source: str) -> None:
    """Write a notebook of one code cell (run by open_notebook in the Lab)."""
    import json

    nb = {
        "cells": [{"cell_type": "code", "metadata": {}, "source": source, "outputs": [],
                   "execution_count": None}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }  # fmt: skip
    path.write_text(json.dumps(nb), encoding="utf-8")


def test_triage_shows_lane_incidents_and_a_click_selects_their_parcels(browser, lab, tmp_path):

    from toolkit.diagnosis.incidents import detect
    from toolkit.model import EVENT_COLUMNS, PARCEL_COLUMNS
    from toolkit.tracking.normalize import normalize

    url, token = lab
    parcels, raw, _ = demo.generate(12_000, 5, incidents=[("handover backlog", 50)])
    events = normalize(demo.observable_events(parcels, raw))[list(EVENT_COLUMNS)]
    table = parcels[list(PARCEL_COLUMNS)].replace("", None)
    table["shipped_at"] = pd.to_datetime(table["shipped_at"], utc=True, format="ISO8601")
    now = pd.Timestamp(demo.DEFAULT_AS_OF)
    found = detect(events, table, now)
    assert len(found)
    table.to_parquet(tmp_path / "parcels.parquet")
    events.to_parquet(tmp_path / "events.parquet")
    source = (
        "import pandas as pd\nfrom toolkit.widgets import GroupTriage\n"
        f"parcels = pd.read_parquet({str(tmp_path / 'parcels.parquet')!r})\n"
        f"events = pd.read_parquet({str(tmp_path / 'events.parquet')!r})\n"
        f"GroupTriage(parcels, events, now=pd.Timestamp({str(now)!r}))"
    )
    one_cell_notebook(tmp_path / "notebooks" / "incidents.ipynb", source)
    context, page, errors = open_notebook(browser, url, token, "incidents.ipynb", tmp_path)
    first = found.iloc[0]
    button = page.get_by_role("button", name=re.compile(re.escape(f"{first['kind']} · ")))
    button.first.wait_for(timeout=120_000)
    panel = page.get_by_text(re.compile(r"Open incidents \(\d+\)"))
    assert panel.is_visible()
    # the panel sits above the filters
    filters = page.locator(".widget-select-multiple").first
    assert panel.bounding_box()["y"] < filters.bounding_box()["y"]
    button.first.scroll_into_view_if_needed()
    page.screenshot(path="/tmp/browser-triage-incidents.png")
    button.first.click()
    selected = page.get_by_text(re.compile(r"\d+ parcel\(s\) selected"))
    expected = f"{len(first['parcel_ids'])} parcel(s) selected"
    page.wait_for_function(
        "(t) => document.body.innerText.includes(t)", arg=expected, timeout=30_000
    )
    assert selected.first.is_visible()
    assert errors == [], errors
    context.close()


def test_triage_of_a_diagnoses_folder_draws_scans_read_on_demand(browser, lab, tmp_path):

    from toolkit.scale import diagnose_dataset

    url, token = lab
    data = tmp_path / "dataset"
    argv = ["--parcels", "2000", "--seed", "3", "--format", "parquet", "--partitions", "2"]
    assert demo.main([*argv, "--out", str(data), "--quiet"]) == 0
    now = pd.Timestamp(demo.DEFAULT_AS_OF)
    diagnose_dataset(
        data / "events", data / "parcels", now, out=data / "diagnoses", client="synchronous",
        progress=False,
    )  # fmt: skip
    source = (
        "from toolkit.widgets import GroupTriage\n"
        "triage = GroupTriage()\n"
        f"triage.load_dataset({str(data / 'diagnoses')!r})\n"
        "triage"
    )
    one_cell_notebook(tmp_path / "notebooks" / "folder.ipynb", source)
    context, page, errors = open_notebook(browser, url, token, "folder.ipynb", tmp_path)
    status = page.get_by_text(re.compile(r"2,000 parcels from diagnoses \(2 partitions"))
    status.first.wait_for(timeout=120_000)
    assert "scans read on demand" in status.first.inner_text()
    got = x_ticks(page, "longest-silent", timeout=60)
    assert got is not None and got["type"] == "date", got
    assert got["ticks"] and all(DATE_TICK.match(t) for t in got["ticks"]), got
    status.first.scroll_into_view_if_needed()
    page.screenshot(path="/tmp/browser-triage-folder.png")
    # narrowing to one category redraws the swimlanes from that category's parcels
    lanes = page.locator(".js-plotly-plot .gtitle", has_text="longest-silent")
    before = lanes.first.text_content()
    page.locator(".widget-select-multiple").nth(3).locator(
        "option", has_text="customs_hold"
    ).click()
    page.wait_for_function(
        "(t) => [...document.querySelectorAll('.js-plotly-plot .gtitle')].some("
        "e => e.textContent.startsWith('Scans of the') && e.textContent !== t)",
        arg=before,
        timeout=30_000,
    )
    assert re.search(r"\d+ of 2,000 parcels match the filters", page.inner_text("body"))
    page.locator(".js-plotly-plot", has_text="Scans of the").first.scroll_into_view_if_needed()
    page.screenshot(path="/tmp/browser-triage-folder-hold.png")
    assert errors == [], errors
    context.close()


def test_wording_teacher_lists_escaped_texts_and_teaches_one(browser, lab, tmp_path):
    """The unread texts of a team's scans, a hostile one shown as text, a Chinese one with
    its English; teaching one from the browser writes the team's table and lists the rest."""
    team = tmp_path / "team_wording.csv"
    rows = [
        ("P1", "dhl", "Forward destination (DD's expected)"),
        ("P2", "dhl", "Forward destination (DD's expected)"),
        ("P3", "yunexpress", "已收货"),
        ("P4", "usps", "<img src=x onerror=\"document.title='pwned'\">Crew sweep"),
        ("P5", "ups", "Delivered"),
    ]
    events = pd.DataFrame(rows, columns=["parcel_id", "carrier", "description"])
    events.assign(raw_status="").to_parquet(tmp_path / "scans.parquet")
    source = (
        "import os\nimport pandas as pd\n"
        f"os.environ['TOOLKIT_TEAM_WORDING'] = {str(team)!r}\n"
        "from toolkit.widgets import WordingTeacher\n"
        f"WordingTeacher(pd.read_parquet({str(tmp_path / 'scans.parquet')!r}), analyst='Li Wei')"
    )
    one_cell_notebook(tmp_path / "notebooks" / "wording.ipynb", source)
    url, token = lab
    context, page, errors = open_notebook(browser, url, token, "wording.ipynb", tmp_path)
    summary = page.get_by_text(re.compile(r"4 of 5 scans"))
    summary.wait_for(timeout=120_000)
    widget = page.locator(".jp-OutputArea-output").last
    assert "3 texts the reader does not know" in widget.inner_text()
    # the hostile text is shown as its characters, never as an element
    assert widget.get_by_text("<img src=x onerror=\"document.title='pwned'\">Crew sweep").count()
    assert widget.locator("img").count() == 0 and page.title() != "pwned"
    # the Chinese text has its English beside it
    row = widget.locator("tr", has_text="已收货")
    assert "received" in row.inner_text().lower()
    # the requests spreadsheet a partner sent back: its answer shows beside the text
    answers = tmp_path / "questions-dhl-20261120.csv"
    pd.DataFrame(
        {
            "Parcel": ["P1"],
            "Request": [TEXT["en"]["unread_question"].format(text=rows[0][2])],
            "Answer": ["<img src=x onerror=\"document.title='answered'\">Sent to the depot"],
        }
    ).to_csv(answers, index=False, encoding="utf-8-sig")
    widget.get_by_placeholder("requests spreadsheet (CSV) a partner sent back").fill(str(answers))
    widget.get_by_role("button", name="Read answers").click()
    page.wait_for_function(  # the message is set last
        "() => document.body.innerText.includes('Read 1 answer from questions-dhl-20261120.csv')",
        timeout=30_000,
    )
    assert "1 of the texts listed here has one" in widget.inner_text()
    assert "DHL Express answered (questions-dhl-20261120.csv, row 2)" in widget.inner_text()
    assert widget.get_by_text(re.compile(r"onerror=.*Sent to the depot")).count() >= 1
    assert widget.locator("img").count() == 0 and page.title() != "answered"
    # what the answer's words read as is offered; the Means menu waits for the analyst
    means = widget.locator("select").nth(1)
    assert means.input_value() == "— choose —"
    widget.get_by_role("button", name="Mean what the answer says").click()
    page.wait_for_function("(el) => el.value === 'in_transit'", arg=means.element_handle())
    page.screenshot(path="/tmp/browser-wording-before.png", full_page=True)
    picker = widget.locator("select").first
    picker.select_option(label="已收货 [yunexpress] · 1 scan")
    words = widget.locator("input[type=text]").first
    page.wait_for_function("(el) => el.value === '已收货'", arg=words.element_handle())
    widget.locator("select").nth(1).select_option("accepted")
    widget.get_by_role("button", name="Teach the reader").click()
    page.wait_for_function(
        "() => document.body.innerText.includes('Taught (for yunexpress)')", timeout=30_000
    )
    assert "1 scan of 1 parcel now read differently" in widget.inner_text()
    assert "3 of 5 scans" in widget.inner_text()
    assert widget.locator("tr", has_text="已收货").count() == 1  # only in the team's table now
    page.screenshot(path="/tmp/browser-wording-after.png", full_page=True)
    taught = team.read_text(encoding="utf-8")
    assert "已收货,substr,accepted,100,yunexpress" in taught and "Li Wei" in taught
    assert errors == [], errors
    context.close()


def test_investigator_offers_to_teach_its_parcels_unread_scan(browser, lab, tmp_path):
    """A parcel with a scan the reader does not know: the investigator names it under the
    scans, and opening the panel shows the teacher on that scan."""
    parcels, events = demo.load_demo()
    pid = events.loc[events["description"] == "已收货", "parcel_id"].iloc[0]
    number = parcels.loc[parcels["parcel_id"] == pid, "international_number"].iloc[0]
    source = (
        "import os\nimport pandas as pd\n"
        f"os.environ['TOOLKIT_TEAM_WORDING'] = {str(tmp_path / 'team_wording.csv')!r}\n"
        "from toolkit.widgets import ParcelInvestigator\nfrom toolkit.world import demo\n"
        "parcels, events = demo.load_demo()\n"
        "inv = ParcelInvestigator(parcels, events, now=pd.Timestamp(parcels['as_of'].iloc[0]))\n"
        f"inv.investigate({number!r})\ninv"
    )
    one_cell_notebook(tmp_path / "notebooks" / "teach01.ipynb", source)
    url, token = lab
    context, page, errors = open_notebook(browser, url, token, "teach01.ipynb", tmp_path)
    title = page.get_by_text("1 scan text the reader does not know: teach it")
    title.wait_for(timeout=120_000)
    title.scroll_into_view_if_needed()
    title.click()
    button = page.get_by_role("button", name="Teach the reader")
    button.wait_for(timeout=30_000)
    assert button.is_visible()
    panel = page.locator(".jp-OutputArea-output").last
    assert "Goods received" in panel.inner_text()  # the Chinese scan's English, in the panel
    button.scroll_into_view_if_needed()
    page.screenshot(path="/tmp/browser-investigator-teach.png")
    assert errors == [], errors
    context.close()
