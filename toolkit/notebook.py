"""One-call notebook setup: plotly renderer, display options, the sandbox banner."""

from __future__ import annotations

import pandas as pd

from toolkit.keys import load_keys

SANDBOX_BANNER = (
    '<div style="padding:6px 10px;border-left:4px solid #b5651d;background:#fff4e5;'
    'color:#5a3e1b;font-family:sans-serif;font-size:13px">'
    "<b>Sandbox</b>: no carrier API keys are set, so tracking data comes from the built-in "
    "sandbox over the demo data set. Set the keys in the environment (or a .env file) to "
    "track real parcels.</div>"
)


def using_sandbox() -> bool:
    """True when no carrier API key is set, so clients talk to the built-in sandbox."""
    return not load_keys().secrets()


def setup_notebook(sandbox: bool | None = None) -> None:
    """Prepare a notebook: live plotly charts that also survive HTML export, tidy tables, banner."""
    import plotly.io as pio
    from IPython.display import HTML, display

    from toolkit.plots import use_chart_config

    # plotly_mimetype alone renders blank in exported HTML; "+notebook" embeds plotly.js.
    pio.renderers.default = "plotly_mimetype+notebook"
    use_chart_config()
    pd.set_option("display.max_columns", 40)
    pd.set_option("display.max_colwidth", 80)
    pd.set_option("display.width", 200)
    if sandbox if sandbox is not None else using_sandbox():
        display(HTML(SANDBOX_BANNER))
