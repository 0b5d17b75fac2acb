"""Notebook widgets: plain classes holding ipywidgets children, shown through `.layout`.

``ParcelInvestigator`` looks into one parcel (track, timeline, diagnosis, actions,
buyer message, findings); ``GroupTriage`` filters a group of parcels and acts on a
selection of them; ``WordingTeacher`` lists the scan texts the reader does not know and
teaches it what they mean. Every error a callback meets is shown inside the widget.

The package: ``base`` (callback guard, findings store, export links, figure slot),
``html`` (escaped HTML pieces), ``form`` (the finding form), ``investigator`` and
``triage``, ``wording`` (one widget each).
"""

from __future__ import annotations

from toolkit.widgets.base import (
    NUMBER_FAILURES,
    TRACKING_WARNINGS,
    FigureSlot,
    download_link_html,
    link_target,
)
from toolkit.widgets.form import CURRENCIES, FindingForm
from toolkit.widgets.html import (
    EVENT_TABLE_COLUMNS,
    FINDING_LIST_COLUMNS,
    MARK_BAD,
    MARK_OK,
    SANDBOX_NOTE_HTML,
    WRAP_CLASS,
    WRAP_CSS,
    buyer_message_html,
    error_note,
    events_html,
    findings_html,
    message_html,
    parse_html,
)
from toolkit.widgets.investigator import SUGGESTION_BUTTONS, ParcelInvestigator
from toolkit.widgets.triage import RECIPIENT_DATA_SUFFIX, GroupTriage
from toolkit.widgets.wording import WordingTeacher

__all__ = [
    "CURRENCIES",
    "EVENT_TABLE_COLUMNS",
    "FINDING_LIST_COLUMNS",
    "MARK_BAD",
    "MARK_OK",
    "NUMBER_FAILURES",
    "RECIPIENT_DATA_SUFFIX",
    "SANDBOX_NOTE_HTML",
    "SUGGESTION_BUTTONS",
    "TRACKING_WARNINGS",
    "WRAP_CLASS",
    "WRAP_CSS",
    "FigureSlot",
    "FindingForm",
    "GroupTriage",
    "ParcelInvestigator",
    "WordingTeacher",
    "buyer_message_html",
    "download_link_html",
    "error_note",
    "events_html",
    "findings_html",
    "link_target",
    "message_html",
    "parse_html",
]
