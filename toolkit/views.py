"""HTML of the domain objects for people: one renderer each, used by the notebook repr
and the widgets. Every value is escaped (carrier text is untrusted)."""

from __future__ import annotations

from html import escape as e
from typing import TYPE_CHECKING

from toolkit.tracking.gloss import with_english

if TYPE_CHECKING:
    from toolkit.diagnosis.diagnose import Diagnosis

# Columns of the evidence scans, in the order shown (local times first: as the carrier wrote).
EVIDENCE_COLUMNS = ("time_local", "time_utc", "carrier", "tracking_number", "milestone",
                    "location", "description")  # fmt: skip


def _evidence_table(d: Diagnosis) -> str:
    if not len(d.evidence):
        return ""
    cols = [c for c in EVIDENCE_COLUMNS if c in d.evidence.columns]
    if "time_local" in cols and "time_utc" in cols:
        cols.remove("time_utc")
    return with_english(d.evidence, cols).to_html(index=False, escape=True, na_rep="")


def _actions(d: Diagnosis) -> str:
    items = []
    for a in d.actions:
        facts = "".join(f"<li>{e(k)}: {e(str(v))}</li>" for k, v in a.facts.items())
        items.append(
            f"<li><b>{e(a.who)}</b>: {e(a.what)}{f'<ul>{facts}</ul>' if facts else ''}</li>"
        )
    return f"<p><b>Next actions</b></p><ol>{''.join(items)}</ol>"


def diagnosis_html(d: Diagnosis, *, actions: bool = False, buyer_messages: bool = False) -> str:
    """A diagnosis: category, evidence (sentences and scans), delivery estimate and
    explanation; with ``actions`` the next actions, with ``buyer_messages`` the buyer
    messages in Chinese and English (the widget shows those in controls of its own)."""
    eta = (
        f"{e(d.eta.text())} <small>({e(d.eta.basis)})</small>"
        if d.eta
        else f"none: {e(d.eta_reason or 'no estimate')}"
    )
    evidence = "".join(f"<li>{e(t)}</li>" for t in d.evidence_text)
    parts = [
        f"<div><h4>Parcel {e(d.parcel_id)}: {e(str(d.category).replace('_', ' '))}</h4>",
        f"<p><b>Evidence</b></p><ul>{evidence}</ul>{_evidence_table(d)}",
        _actions(d) if actions else "",
        f"<p><b>Estimated delivery</b>: {eta}</p>",
        f"<p><b>Explanation</b>: {e(d.explanation)}</p>",
    ]
    if buyer_messages:
        parts += [
            f"<p><b>Buyer message (中文)</b>: {e(d.buyer_message('zh'))}</p>",
            f"<p><b>Buyer message (English)</b>: {e(d.buyer_message('en'))}</p>",
        ]
    return "".join(parts) + "</div>"
