"""Text from outside made safe to keep: invalid Unicode and control characters replaced, counted.

A carrier answer is JSON, and JSON can carry what no text file, web page or database can
hold: a lone surrogate ("\\ud800", half of a UTF-16 pair) cannot be written as UTF-8 at
all, and NUL or other control characters break CSV readers, HTML and SQLite text. Each
such character is replaced with U+FFFD (the replacement character, shown as �) and
counted, so the rest of the text, and every other scan, is kept.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

REPLACEMENT = "\ufffd"
# Lone surrogates, C0 controls other than tab, line feed and carriage return, DEL and the
# C1 controls (U+0080-U+009F: what a text decoded with the wrong code page leaves behind).
_BAD = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff"
_BAD_CHAR = re.compile(f"[{_BAD}]")
# The same set without surrogates, for pyarrow's regex engine (arrow text cannot hold them).
_BAD_CONTROL = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]"

__all__ = ["REPLACEMENT", "scrub", "scrub_json", "scrub_series"]


def scrub(text: str) -> tuple[str, int]:
    """The text with every invalid or control character replaced by U+FFFD, and how many."""
    if not isinstance(text, str):
        return text, 0
    return _BAD_CHAR.subn(REPLACEMENT, text)


def scrub_json(value: Any) -> tuple[Any, int]:
    """A parsed JSON value with every string (keys too) scrubbed; the number replaced.

    Returns the value itself, not a copy, when nothing needed replacing.
    """
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        total = 0
        items = []
        for k, v in value.items():
            k2, n1 = scrub(k) if isinstance(k, str) else (k, 0)
            v2, n2 = scrub_json(v)
            total += n1 + n2
            items.append((k2, v2))
        return (dict(items), total) if total else (value, 0)
    if isinstance(value, list):
        total = 0
        out = []
        for v in value:
            v2, n = scrub_json(v)
            total += n
            out.append(v2)
        return (out, total) if total else (value, 0)
    return value, 0


def scrub_series(values: pd.Series) -> tuple[pd.Series, int]:
    """A text column with invalid or control characters replaced, and how many were.

    Only text cells change; other cells (numbers, timestamps) and the dtype stay as they
    are. Columns that are already clean cost one vectorised search.
    """
    dtype = values.dtype
    if not (pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)):
        return values, 0
    try:
        as_text = values.astype("string")
    except (UnicodeEncodeError, UnicodeDecodeError):
        as_text = None  # a lone surrogate: arrow-backed text cannot hold it
    if as_text is not None:
        python = getattr(as_text.dtype, "storage", "") == "python"  # may hold surrogates
        pattern = _BAD_CHAR.pattern if python else _BAD_CONTROL
        hit = as_text.str.contains(pattern, regex=True).fillna(False).to_numpy(bool)
        if not hit.any():
            return values, 0
        rows = hit.nonzero()[0]
    else:
        rows = range(len(values))
    cells = values.to_numpy(dtype=object, copy=True)
    total = 0
    for i in rows:
        if isinstance(cells[i], str):
            cells[i], n = scrub(cells[i])
            total += n
    if not total:
        return values, 0
    out = pd.Series(cells, index=values.index, name=values.name)
    return (out if pd.api.types.is_object_dtype(dtype) else out.astype(dtype)), total
