"""What partners answered about the scan texts the reader cannot read.

A partner report asks the carrier what each of its unreadable scan texts means (one request
per text, ``content.PartnerReport.unread_html``); the requests spreadsheet has an empty
Answer column. ``read_answers`` reads the spreadsheets partners send back, in English or
Chinese, as saved by any spreadsheet program (UTF-8 or GB18030, comma or semicolon), and
gives one row per answered text: the text, the carrier, the answer and where it was read.
The answers are the partner's words, shown to the analyst who teaches the reader
(``toolkit.widgets.wording.WordingTeacher``); they never change a reading by themselves.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from toolkit.errors import FileFormatError, InputError
from toolkit.model import CARRIERS
from toolkit.report.translations import _WHO_ZH, TEXT

__all__ = ["ANSWER_COLUMNS", "asks_about", "read_answers", "text_of_request"]

ANSWER_COLUMNS: tuple[str, ...] = ("description", "carrier", "answer", "file", "row")

# the requests sheet's column names (read_table normalises headers: 'Request' -> 'request')
_REQUEST = ("request", "请求")
_ANSWER = ("answer", "答复")
_TO = ("to", "对象")


def _request_pattern(template: str) -> re.Pattern:
    head, tail = template.split("{text}")
    return re.compile(re.escape(head) + r"(?P<text>.+)" + re.escape(tail) + r"\s*$", re.S)


_REQUESTS = tuple(_request_pattern(TEXT[lang]["unread_question"]) for lang in TEXT)
_ROLES = tuple(_WHO_ZH) + tuple(_WHO_ZH.values())
_BY_NAME = {
    name.lower(): code for code, c in CARRIERS.items() for name in (c.name, c.name_zh, code) if name
}
_FILE_NAME = re.compile(r"^questions-(?P<code>[a-z0-9]+)-\d{8}", re.I)


def text_of_request(request: object) -> str | None:
    """The scan text a 'what does this scan text mean?' request asks about; None for any
    other request."""
    if not isinstance(request, str):
        return None
    value = request.strip().lstrip("'")  # a spreadsheet's formula guard
    for pattern in _REQUESTS:
        if m := pattern.match(value):
            return m.group("text")
    return None


# what masking leaves of a name (张*, Z*), a phone (139****5678) or an address (****)
_MASKED = re.compile(r"(?:\d{1,4}|\w)?\*+\d{0,4}")


def asks_about(shown: str, text: str) -> bool:
    """True when ``shown`` (a scan text as a partner report showed it, recipient data masked:
    张*, 139****5678, ****) is ``text`` as the team's scans hold it."""
    if shown == text:
        return True
    if "*" not in shown:
        return False
    parts = _MASKED.split(shown)
    if sum(len(part.strip()) for part in parts) < 2:  # nothing left to recognise it by
        return False
    pattern = r".+?".join(re.escape(part) for part in parts)
    return re.fullmatch(pattern, text, re.S) is not None


def _carrier_of(to: object, path: Path) -> str:
    """The carrier code a request was addressed to: from its To cell, else the file's name
    (questions-<carrier>-<date>.csv); empty when neither says."""
    if isinstance(to, str) and to.strip():
        name = to.strip()
        for role in _ROLES:
            if name.startswith(role):
                name = name[len(role) :].strip()
                break
        if code := _BY_NAME.get(name.lower()):
            return code
    m = _FILE_NAME.match(path.name)
    code = m.group("code").lower() if m else ""
    return code if code in CARRIERS else ""


def _column(table: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    return next((c for c in names if c in table.columns), None)


def _read_one(path: Path) -> pd.DataFrame:
    from toolkit.io import read_table

    if path.suffix.lower() in (".xlsx", ".xls", ".ods", ".numbers"):
        raise FileFormatError(
            f"{path.name} is a {path.suffix} workbook; the requests are read from CSV",
            str(path),
            "Open it in the spreadsheet program and save it as CSV (UTF-8), then read that",
        )
    table = read_table(path, path.name)
    request, answer = _column(table, _REQUEST), _column(table, _ANSWER)
    if request is None or answer is None:
        missing = [n for n, c in (("Request", request), ("Answer", answer)) if c is None]
        raise FileFormatError(
            f"{path.name} has no {' or '.join(missing)} column (its columns: "
            f"{', '.join(map(str, table.columns))})",
            str(path),
            "Read the requests spreadsheet of a partner report (questions-<carrier>-<date>.csv) "
            "with the partner's answers in its Answer column",
        )
    to = _column(table, _TO)
    rows = []
    for i, (req, ans) in enumerate(zip(table[request], table[answer], strict=True)):
        text = text_of_request(req)
        reply = ans.strip().lstrip("'").strip() if isinstance(ans, str) else ""
        if text is None or not reply:
            continue
        rows.append(
            {
                "description": text,
                "carrier": _carrier_of(table[to].iloc[i] if to else None, path),
                "answer": reply,
                "file": path.name,
                "row": i + 2,  # the spreadsheet's row: the header is row 1
            }
        )
    return pd.DataFrame(rows, columns=list(ANSWER_COLUMNS))


def read_answers(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> pd.DataFrame:
    """The partners' answers about unreadable scan texts in these requests spreadsheets:
    description (the text, as the report showed it: masked), carrier (a code, or empty),
    answer, file, row (the spreadsheet's row). Requests of other kinds and rows left
    unanswered are skipped; of several answers to one text of one carrier the last read is
    kept."""
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    parts = []
    for p in paths:
        path = Path(p).expanduser()
        if not path.is_file():
            raise InputError(
                f"no such file: {path}",
                str(path),
                "Give the path of the requests spreadsheet the partner sent back",
            )
        parts.append(_read_one(path))
    if not parts:
        return pd.DataFrame(columns=list(ANSWER_COLUMNS))
    table = pd.concat(parts, ignore_index=True)
    table = table.iloc[::-1].drop_duplicates(["description", "carrier"]).iloc[::-1]
    return table.astype({"row": int}).reset_index(drop=True) if len(table) else table
