"""Partner reports: one offline HTML page per carrier partner, masked and checked.

- ``scope``: which parcels a report covers (``ReportScope``, checked once), the tables;
- ``translations``: the report's words in English and Chinese, its figures in Chinese;
- ``content``: what the report shows (``PartnerReport``, ``build_report``, ``load``);
- ``render``: the report notebook run and written as one page (``render_report``,
  ``export_for_partner``), checked for paths, keys and recipient data before it is written.
"""

from toolkit.report.content import PartnerReport, build_report, load, partner_findings
from toolkit.report.render import (
    DEFAULT_OUT,
    ROOT,
    check_shareable,
    default_export_dir,
    export_for_partner,
    external_references,
    personal_data,
    render_report,
    to_html,
)
from toolkit.report.scope import ReportScope, read_selection, select_parcels

__all__ = [
    "DEFAULT_OUT",
    "ROOT",
    "PartnerReport",
    "ReportScope",
    "build_report",
    "check_shareable",
    "default_export_dir",
    "export_for_partner",
    "external_references",
    "load",
    "partner_findings",
    "personal_data",
    "read_selection",
    "render_report",
    "select_parcels",
    "to_html",
]
