"""The toolkit's error types: each says what was wrong, where, and what to do."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def _rows_text(rows: Sequence[int], limit: int = 10) -> str:
    """Render row numbers as '2, 5, 9 (and 3 more)'."""
    rows = list(rows)
    shown = ", ".join(str(r) for r in rows[:limit])
    if len(rows) > limit:
        shown += f" (and {len(rows) - limit} more)"
    return shown


class ToolkitError(Exception):
    """Base of every error the toolkit raises on purpose.

    ``what`` says what was wrong, ``where`` names the place (file, row, column,
    number), ``hint`` says what to do about it.
    """

    def __init__(self, what: str, where: str | None = None, hint: str | None = None):
        self.what = what
        self.where = where
        self.hint = hint
        super().__init__(self.message)

    @property
    def message(self) -> str:
        parts = [self.what if not self.where else f"{self.where}: {self.what}"]
        if self.hint:
            parts.append(self.hint)
        return " ".join(p.rstrip(".") + "." for p in parts)

    def __str__(self) -> str:
        return self.message


class InputError(ToolkitError, ValueError):
    """Input given by the user (a file, a table, an argument) is not usable."""


class SchemaError(InputError):
    """A table lacks required columns or holds values of the wrong kind."""

    def __init__(
        self,
        what: str,
        where: str | None = None,
        hint: str | None = None,
        columns: Iterable[str] = (),
        rows: Iterable[int] = (),
    ):
        self.columns = list(columns)
        self.rows = list(rows)
        super().__init__(what, where, hint)


class MissingColumnsError(SchemaError):
    """Required columns are absent."""

    def __init__(self, columns: Iterable[str], table: str, where: str | None = None):
        cols = sorted(columns)
        super().__init__(
            f"the {table} table is missing the column(s) {', '.join(repr(c) for c in cols)}",
            where,
            "Add the column(s) or rename yours to these names (see data/README.md)",
            columns=cols,
        )


class TimeParseError(SchemaError):
    """Timestamps that could not be read."""

    def __init__(self, column: str, rows: Sequence[int], examples: Sequence[str], where=None):
        ex = ", ".join(repr(e) for e in list(examples)[:3])
        super().__init__(
            f"column {column!r} has times that cannot be read in row(s) {_rows_text(rows)} "
            f"(e.g. {ex})",
            where,
            "Use ISO 8601 such as 2026-03-01 14:05:00+08:00, or 2026-03-01 14:05 with no offset",
            columns=[column],
            rows=rows,
        )


class ValueNotAllowedError(SchemaError):
    """Values outside the allowed set (unknown milestone, leg, category...)."""

    def __init__(
        self,
        column: str,
        rows: Sequence[int],
        values: Sequence[str],
        allowed: Iterable[str],
        where: str | None = None,
    ):
        vals = ", ".join(repr(v) for v in list(dict.fromkeys(values))[:5])
        super().__init__(
            f"column {column!r} has unknown value(s) {vals} in row(s) {_rows_text(rows)}",
            where,
            f"Allowed values: {', '.join(sorted(allowed))}",
            columns=[column],
            rows=rows,
        )


class FileFormatError(InputError):
    """A file could not be read at all (wrong format, encoding, empty)."""


class LimitError(FileFormatError):
    """A file passes one of the loader limits (columns, rows, bytes): it is refused unread."""

    def __init__(
        self,
        what: str,
        where: str | None,
        setting: str,
        variable: str,
        suggestion: int,
    ):
        self.setting = setting
        self.variable = variable
        super().__init__(
            what,
            where,
            f"If the file really is this large, raise the limit for this load with "
            f"{setting}={suggestion} or for every load with the environment variable "
            f"{variable}={suggestion}; otherwise split the file",
        )


class DecodingWarning(UserWarning):
    """Bytes of a text file that were not valid in its encoding were replaced by U+FFFD."""


class CarrierError(ToolkitError):
    """A carrier service failed or answered with an error."""
