"""Loading and saving events and parcels tables: CSV (plain, gzip, tab) and Parquet."""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import zlib
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from toolkit.errors import (
    FileFormatError,
    InputError,
    MissingColumnsError,
    SchemaError,
    TimeParseError,
    ToolkitError,
)
from toolkit.files import private_dir, private_file, write_private_text
from toolkit.model import PARCEL_DTYPES, PARCEL_REQUIRED_VALUES, validate_events, validate_parcels
from toolkit.normalize import LINE_COLUMN, carrier_code, normalize
from toolkit.times import parse_times

__all__ = [
    "SUPPORTED_SUFFIXES",
    "read_events",
    "read_parcels",
    "spreadsheet_csv",
    "write_events",
    "write_parcels",
    "write_spreadsheet_csv",
]

SUPPORTED_SUFFIXES: tuple[str, ...] = (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".parquet")
_SAVE_AS_UTF8 = "Save the file as UTF-8 (in Excel: 'CSV UTF-8') and load it again"
_Source = str | os.PathLike | bytes | bytearray | memoryview | IO[bytes] | IO[str]


def _suffix(name: str) -> str | None:
    lower = name.lower()
    return next(
        (s for s in sorted(SUPPORTED_SUFFIXES, key=len, reverse=True) if lower.endswith(s)), None
    )


def _unsupported(label: str) -> FileFormatError:
    return FileFormatError(
        f"cannot read files of type {Path(label).suffix or '(no suffix)'!r}",
        label,
        f"Use one of: {', '.join(SUPPORTED_SUFFIXES)}",
    )


def _load_bytes(source: _Source, name: str | None) -> tuple[bytes | str, str, str]:
    """The raw content, its kind (csv, tsv, parquet; with .gz when compressed) and a label."""
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        label = name or path.name
        kind = _suffix(path.name)
        if kind is None:
            raise _unsupported(path.name)
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise InputError("the file does not exist", str(path), "Check the path") from exc
        except IsADirectoryError as exc:
            raise InputError("this is a folder, not a file", str(path)) from exc
        except OSError as exc:
            raise InputError(f"the file cannot be read ({exc.strerror})", str(path)) from exc
        return data, kind, label
    if isinstance(source, bytes | bytearray | memoryview):
        data: bytes | str = bytes(source)
    elif hasattr(source, "read"):
        data = source.read()
        if not isinstance(data, bytes | str):
            raise InputError(f"reading the buffer gave {type(data).__name__}, not bytes or text")
    else:
        raise InputError(
            f"expected a file path or a file-like object, got {type(source).__name__}",
            hint="Pass a path such as 'events.csv', or io.BytesIO(data) with name='events.csv'",
        )
    label = name or str(getattr(source, "name", "") or "uploaded file")
    kind = _suffix(label)
    if kind is None:
        if name and Path(name).suffix:
            raise _unsupported(name)
        head = data[:4] if isinstance(data, bytes) else b""
        kind = ".parquet" if head == b"PAR1" else ".csv.gz" if head[:2] == b"\x1f\x8b" else ".csv"
    return data, kind, label


def _decode(data: bytes | str, label: str) -> str:
    """Text of a CSV file: UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030/GBK."""
    if isinstance(data, str):
        return data
    if data[:4] == b"PK\x03\x04":
        raise FileFormatError(
            "this is an Excel workbook or a zip archive, not a CSV file", label, _SAVE_AS_UTF8
        )
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise FileFormatError(f"the UTF-16 text is damaged ({exc.reason})", label) from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        first_error = exc
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        pass
    offset = first_error.start
    line = data.count(b"\n", 0, offset) + 1
    raise FileFormatError(
        f"the file is neither UTF-8 nor GB18030/GBK text: byte {data[offset]:#04x} at "
        f"byte offset {offset} (line {line}) cannot be decoded",
        label,
        _SAVE_AS_UTF8,
    )


def _column_name(text: str) -> str:
    """Header text as a column name: 'Tracking Number ' -> 'tracking_number'."""
    return re.sub(r"[\s\-]+", "_", text.replace("\ufeff", "").strip().lower())


def _delimiter(text: str, kind: str) -> str:
    if kind.startswith(".tsv"):
        return "\t"
    first = next((line for line in io.StringIO(text) if line.strip()), "")
    if "," not in first:
        for other in ("\t", ";"):
            if other in first:
                return other
    return ","


def _check_header(names: list[str], label: str, line: int) -> None:
    if LINE_COLUMN in names:
        raise FileFormatError(
            f"the column name {LINE_COLUMN!r} (line {line}) is reserved for line numbers",
            label,
            "Rename that column",
        )
    seen: dict[str, int] = {}
    for position, column in enumerate(names, start=1):
        if column and column in seen:
            raise FileFormatError(
                f"the header (line {line}) names column {column!r} twice "
                f"(columns {seen[column]} and {position})",
                label,
                "Give each column its own name",
            )
        seen[column] = position


def _parse_csv(text: str, delimiter: str, label: str) -> pd.DataFrame:
    """Cells as strings (blank -> NA), header names normalised, file line numbers in _line."""
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise FileFormatError(
            f"line {line} holds a NUL byte: this is a binary file, not CSV text",
            label,
            _SAVE_AS_UTF8,
        )
    header, header_line, header_end = _header(text, delimiter, label)
    names = [_column_name(h) for h in header]
    _check_header(names, label, header_line)
    parsed = _fast_cells(text, delimiter, len(names), header_end)
    if parsed is None:  # anything unusual: read record by record for exact messages
        parsed = _careful_cells(text, delimiter, len(names), header_line, label)
    columns, lines = parsed

    frame = pd.DataFrame(index=range(len(lines)))
    blank_rows = np.ones(len(lines), dtype=bool)
    for position, column in enumerate(names):
        values = columns[position]
        values = values.mask(values.str.strip() == "")
        blank_rows &= values.isna().to_numpy()
        if not column:
            if values.notna().any():
                raise FileFormatError(
                    f"column {position + 1} has values but no name in the header "
                    f"(line {header_line})",
                    label,
                    "Give the column a name, or delete it",
                )
            continue
        frame[column] = values
    frame[LINE_COLUMN] = lines
    return frame[~blank_rows].reset_index(drop=True)  # rows of empty cells hold nothing


def _csv_error(exc: csv.Error, line: int, label: str) -> FileFormatError:
    return FileFormatError(
        f"the row starting on line {line} cannot be read ({exc})",
        label,
        "A value holding the separator, a quote or a line break must be in double "
        'quotes, with quotes inside it doubled ("")',
    )


def _header(text: str, delimiter: str, label: str) -> tuple[list[str], int, int]:
    """The first non-blank record, the line it starts on, and the last line it uses."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    previous = 0
    try:
        for record in reader:
            start, previous = previous + 1, reader.line_num
            if "".join(record).strip():
                return record, start, reader.line_num
    except csv.Error as exc:
        raise _csv_error(exc, previous + 1, label) from exc
    raise FileFormatError("the file is empty: it has no header line", label)


def _fast_cells(
    text: str, delimiter: str, width: int, header_end: int
) -> tuple[list[pd.Series], np.ndarray] | None:
    """Columns and line numbers via pyarrow's CSV reader, or None when the file needs care.

    Used only when every row has the header's width and no value spans lines, so
    that records and non-empty lines correspond one to one.
    """
    start = 0
    for _ in range(header_end):
        start = text.find("\n", start) + 1
        if start == 0:
            return None
    body = text[start:].encode("utf-8")
    if not body.strip():
        return None
    names = [f"c{i}" for i in range(width)]
    try:
        table = pacsv.read_csv(
            io.BytesIO(body),
            read_options=pacsv.ReadOptions(column_names=names),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=True
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, ValueError):
        return None
    columns = [table.column(i) for i in range(width)]
    if any(pc.any(pc.match_substring_regex(c, "[\r\n]")).as_py() for c in columns):
        return None
    data = np.frombuffer(body, dtype=np.uint8)
    returns = np.flatnonzero(data == 13)
    if len(returns) and (returns[-1] == len(data) - 1 or (data[returns + 1] != 10).any()):
        return None  # a lone carriage return also ends a line: count lines with care
    ends = np.flatnonzero(data == 10)
    starts = np.concatenate(([0], ends + 1))
    ends = np.concatenate((ends, [len(data)]))
    length = ends - starts
    carriage_only = (length == 1) & (data[np.minimum(starts, len(data) - 1)] == 13)
    filled = np.flatnonzero((length > 0) & ~carriage_only)  # pyarrow skips empty lines
    if len(filled) != table.num_rows:
        return None
    series = [pd.Series(c.to_pandas(), dtype="string") for c in columns]
    return series, (filled + header_end + 1).astype(np.int64)


def _careful_cells(
    text: str, delimiter: str, width: int, header_line: int, label: str
) -> tuple[list[pd.Series], np.ndarray]:
    """Columns and line numbers read record by record, with errors naming the line."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[list[str]] = []
    lines: list[int] = []
    previous = 0
    try:
        for record in reader:
            start, previous = previous + 1, reader.line_num
            if start > header_line and "".join(record).strip():
                records.append(record)
                lines.append(start)
    except csv.Error as exc:
        raise _csv_error(exc, previous + 1, label) from exc

    lengths = np.fromiter((len(r) for r in records), dtype=np.int64, count=len(records))
    for i in np.flatnonzero(lengths > width):  # trailing empty cells past the header are harmless
        if not "".join(records[i][width:]).strip():
            records[i] = records[i][:width]
            lengths[i] = width
    bad = np.flatnonzero(lengths != width)
    if len(bad):
        shown = "; ".join(f"line {lines[i]} has {lengths[i]}" for i in bad[:5])
        more = f" (and {len(bad) - 5} more lines)" if len(bad) > 5 else ""
        raise FileFormatError(
            f"rows must have as many fields as the header (line {header_line}: {width} fields), "
            f"but {shown}{more}",
            label,
            "Quote values that contain the separator, and fill in missing fields",
        )
    cells = list(zip(*records, strict=True)) if records else [()] * width
    series = [pd.Series(list(c), dtype="string") for c in cells]
    return series, np.asarray(lines, dtype=np.int64)


def _parse_parquet(data: bytes | str, label: str) -> pd.DataFrame:
    if isinstance(data, str):
        raise FileFormatError("a Parquet file must be given as bytes, not text", label)
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises many types for damaged files
        raise FileFormatError(
            f"this is not a readable Parquet file ({type(exc).__name__}: {exc})"[:300],
            label,
            "Export it again, or save it as CSV",
        ) from exc
    names = [_column_name(str(c)) for c in frame.columns]
    _check_header(names, label, 1)
    frame.columns = names
    for column in frame.columns:
        values = frame[column]
        if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
            text = values.astype("string")
            frame[column] = text.mask(text.str.strip() == "")
    return frame.reset_index(drop=True)


def _read_raw(source: _Source, name: str | None) -> tuple[pd.DataFrame, str]:
    data, kind, label = _load_bytes(source, name)
    if kind.endswith(".gz"):
        if isinstance(data, str):
            raise FileFormatError("a gzip file must be given as bytes, not text", label)
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise FileFormatError(f"this is not a valid gzip file ({exc})", label) from exc
    if kind == ".parquet":
        return _parse_parquet(data, label), label
    text = _decode(data, label)
    return _parse_csv(text, _delimiter(text, kind), label), label


def _in_lines(exc: ToolkitError, raw: pd.DataFrame) -> None:
    """Word row errors of a text file in its line numbers (the numbers already are lines)."""
    if LINE_COLUMN in raw.columns and getattr(exc, "rows", None):
        exc.what = exc.what.replace("in row(s)", "on line(s)").replace("row(s)", "line(s)")
        exc.args = (exc.message,)


def read_events(
    path: _Source, tz: str | None = None, source: str | None = None, name: str | None = None
) -> pd.DataFrame:
    """Read scans from a CSV/TSV (optionally gzipped) or Parquet file as the events table.

    ``tz`` is the zone of local times without offset (default: each carrier's zone);
    ``source`` fills the source column (default: the file name); ``name`` labels a
    buffer in messages and tells its format by suffix.
    """
    raw, label = _read_raw(path, name)
    try:
        return normalize(raw, tz=tz, source=source or label, where=label)
    except SchemaError as exc:
        _in_lines(exc, raw)
        raise


def _clean_numbers(values: pd.Series) -> pd.Series:
    return values.str.replace("[ \t\u3000\xa0]", "", regex=True).str.upper()


def read_parcels(path: _Source, tz: str = "UTC", name: str | None = None) -> pd.DataFrame:
    """Read a parcels table from CSV/TSV (optionally gzipped) or Parquet, typed and checked.

    ``shipped_at`` without offset is read in ``tz``. A missing ``parcel_id`` is
    filled from ``order_id``, then ``international_number``.
    """
    raw, label = _read_raw(path, name)
    try:
        return _parcels(raw, tz, label)
    except SchemaError as exc:
        _in_lines(exc, raw)
        raise


def _parcels(raw: pd.DataFrame, tz: str, label: str) -> pd.DataFrame:
    if "international_number" not in raw.columns:
        raise MissingColumnsError(["international_number"], "parcels", label)
    lines = (
        raw[LINE_COLUMN].to_numpy() if LINE_COLUMN in raw.columns else np.arange(1, len(raw) + 1)
    )
    out = pd.DataFrame(index=raw.index)
    for column, dtype in PARCEL_DTYPES.items():
        if column == "shipped_at":
            continue
        values = raw[column] if column in raw.columns else pd.Series(pd.NA, index=raw.index)
        values = values.astype(dtype)
        values = values.mask(values.str.strip() == "")
        out[column] = values
    for column in ("parcel_id", "order_id"):
        out[column] = out[column].str.strip()
    for column in ("international_number", "domestic_number"):
        out[column] = _clean_numbers(out[column])
    for column in ("international_carrier", "domestic_carrier"):
        given = out[column].str.strip()
        codes = {v: carrier_code(v) or v.lower() for v in given.dropna().unique()}
        out[column] = given.map(codes, na_action="ignore").astype("string")
    out["parcel_id"] = out["parcel_id"].fillna(out["order_id"]).fillna(out["international_number"])

    if "shipped_at" in raw.columns:
        times, _, unreadable = parse_times(raw["shipped_at"], tz)
        given = raw["shipped_at"].notna().to_numpy()  # blank cells were read as missing
        bad = unreadable.to_numpy() & given
        if bad.any():
            examples = raw["shipped_at"][bad].astype(str).tolist()
            raise TimeParseError("shipped_at", lines[bad].tolist(), examples, label)
        out["shipped_at"] = times
    else:
        out["shipped_at"] = pd.Series(pd.NaT, index=raw.index, dtype=PARCEL_DTYPES["shipped_at"])
    out = out[list(PARCEL_DTYPES)].astype(PARCEL_DTYPES)

    for column in PARCEL_REQUIRED_VALUES:
        blank = out[column].isna().to_numpy()
        if blank.any():
            rows = lines[blank].tolist()
            raise SchemaError(
                f"column {column!r} is blank in row(s) {', '.join(map(str, rows[:10]))}",
                label,
                "Every parcel needs an id and its international tracking number",
                columns=[column],
                rows=rows,
            )
    repeated = out["parcel_id"].duplicated(keep=False).to_numpy()
    if repeated.any():
        rows = lines[repeated].tolist()
        raise SchemaError(
            f"parcel_id repeats in row(s) {', '.join(map(str, rows[:10]))} "
            f"(e.g. {out['parcel_id'][repeated].iloc[0]!r})",
            label,
            "Each parcel needs its own parcel_id; merge or rename the duplicates",
            columns=["parcel_id"],
            rows=rows,
        )
    for column in raw.columns:
        if column not in PARCEL_DTYPES and column != LINE_COLUMN:
            out[column] = raw[column]
    return validate_parcels(out.reset_index(drop=True), label)


def _write(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    target = Path(path)
    kind = _suffix(target.name)
    if kind is None:
        raise _unsupported(target.name)
    try:
        private_file(target)  # tables hold recipient data: owner-only, whatever the umask
        if kind == ".parquet":
            df.to_parquet(target, index=False)
        else:
            sep = "\t" if kind.startswith(".tsv") else ","
            df.to_csv(target, sep=sep, index=False, encoding="utf-8", compression="infer")
    except OSError as exc:
        raise InputError(f"the file cannot be written ({exc.strerror})", str(target)) from exc
    return target


# Text a spreadsheet program would run as a formula (CSV injection) starts with one of these.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: object) -> object:
    """Text that would run as a formula gets a leading apostrophe; anything else is unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def spreadsheet_csv(df: pd.DataFrame) -> str:
    """The table as CSV text for spreadsheet programs: text cells that would run as formulas
    (carrier or analyst text such as '=HYPERLINK(...)') get a leading apostrophe."""
    out = df.copy()
    for col in out.columns:
        if not pd.api.types.is_numeric_dtype(out[col]) and not pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].astype(object).map(spreadsheet_cell)
    return out.to_csv(index=False, lineterminator="\r\n")


def write_spreadsheet_csv(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write spreadsheet_csv(df) as UTF-8 with a byte-order mark, so that Excel reads Chinese
    text correctly, readable by its owner only (0600; new folders 0700); return the path."""
    target = Path(path).expanduser()
    try:
        private_dir(target.parent)
        write_private_text(target, spreadsheet_csv(df), encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputError(
            f"the file cannot be written ({exc.strerror})",
            str(target),
            "Pick a folder you can write to",
        ) from None
    return target


def write_events(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Save an events table as CSV/TSV (optionally .gz) or Parquet, chosen by suffix (0600)."""
    return _write(validate_events(df, "events to write"), path)


def write_parcels(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Save a parcels table as CSV/TSV (optionally .gz) or Parquet, chosen by suffix (0600)."""
    return _write(validate_parcels(df, "parcels to write"), path)
