"""Loading and saving events and parcels tables: CSV (plain, gzip, tab) and Parquet."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import os
import re
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from charset_normalizer import from_bytes

from toolkit.errors import (
    DecodingWarning,
    FileFormatError,
    InputError,
    LimitError,
    MissingColumnsError,
    SchemaError,
    TimeParseError,
    ToolkitError,
)
from toolkit.files import private_dir, private_file, tighten, write_private_text
from toolkit.model import (
    EVENT_COLUMNS,
    PARCEL_COLUMNS,
    PARCEL_DTYPES,
    PARCEL_REQUIRED_VALUES,
    validate_events,
    validate_parcels,
)
from toolkit.policy import LIMIT_ENVIRONMENT, LoaderLimits
from toolkit.times import parse_times
from toolkit.tracking.normalize import (
    LINE_COLUMN,
    LINK_COLUMNS,
    STATUS_COLUMN,
    carrier_code,
    normalize,
)

__all__ = [
    "SUPPORTED_SUFFIXES",
    "read_events",
    "read_parcels",
    "read_table",
    "read_text",
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


_CHUNK = 1 << 20  # bytes read or unpacked at a time


def _amount(n: int, unit: str) -> str:
    return f"{n:,} {unit}" if unit != "bytes" else _size(n)


def _size(n: int) -> str:
    """A size for people: '2.0 GB (2,147,483,648 bytes)'."""
    for unit, size in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= size:
            return f"{n / size:,.1f} {unit} ({n:,} bytes)"
    return f"{n:,} bytes"


def _raised(found: int) -> int:
    """A round limit at least as large as what was found: 10,437 -> 11000."""
    step = 10 ** max(len(str(found)) - 2, 0)
    return -(-found // step) * step


def _limit_error(
    label: str, what: str, setting: str, limit: int, found: int, exact: bool = True
) -> LimitError:
    unit = {"max_columns": "columns", "max_rows": "rows", "max_bytes": "bytes"}[setting]
    return LimitError(
        f"{what} {_amount(found, unit)}, more than the limit of {_amount(limit, unit)}"
        if exact
        else f"{what} more than the limit of {_amount(limit, unit)}; reading stopped there",
        label,
        setting,
        LIMIT_ENVIRONMENT[setting],
        _raised(found if exact else 4 * limit),
    )


def _read_limited(stream: IO, limit: int, label: str, what: str) -> bytes | str:
    """All of a stream, read in chunks; refused as soon as it passes ``limit``."""
    chunks: list = []
    total = 0
    while chunk := stream.read(_CHUNK):
        if not isinstance(chunk, bytes | str):
            raise InputError(f"reading the buffer gave {type(chunk).__name__}, not bytes or text")
        total += len(chunk)
        if total > limit:
            raise _limit_error(label, what, "max_bytes", limit, total, exact=False)
        chunks.append(chunk)
    if not chunks:
        return b""
    return chunks[0][:0].join(chunks)


def _read_file(path: Path, label: str, limits: LoaderLimits) -> bytes:
    """A file's bytes, refused unread when it is larger than the limit."""
    try:
        with path.open("rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            if size > limits.max_bytes:
                raise _limit_error(label, "the file is", "max_bytes", limits.max_bytes, size)
            return _read_limited(stream, limits.max_bytes, label, "the file holds")
    except FileNotFoundError as exc:
        raise InputError("the file does not exist", str(path), "Check the path") from exc
    except IsADirectoryError as exc:
        raise InputError("this is a folder, not a file", str(path)) from exc
    except OSError as exc:
        raise InputError(f"the file cannot be read ({exc.strerror})", str(path)) from exc


def _load_bytes(
    source: _Source, name: str | None, limits: LoaderLimits | None = None
) -> tuple[bytes | str, str, str]:
    """The raw content, its kind (csv, tsv, parquet; with .gz when compressed) and a label."""
    limits = limits or LoaderLimits.resolve()
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        label = name or path.name
        kind = _suffix(path.name)
        if kind is None:
            raise _unsupported(path.name)
        return _read_file(path, label, limits), kind, label
    label = name or str(getattr(source, "name", "") or "uploaded file")
    if isinstance(source, bytes | bytearray | memoryview):
        data: bytes | str = bytes(source)
        if len(data) > limits.max_bytes:
            raise _limit_error(label, "the file is", "max_bytes", limits.max_bytes, len(data))
    elif hasattr(source, "read"):
        data = _read_limited(source, limits.max_bytes, label, "the file holds")
    else:
        raise InputError(
            f"expected a file path or a file-like object, got {type(source).__name__}",
            hint="Pass a path such as 'events.csv', or io.BytesIO(data) with name='events.csv'",
        )
    kind = _suffix(label)
    if kind is None:
        if name and Path(name).suffix:
            raise _unsupported(name)
        head = data[:4] if isinstance(data, bytes) else b""
        kind = ".parquet" if head == b"PAR1" else ".csv.gz" if head[:2] == b"\x1f\x8b" else ".csv"
    return data, kind, label


def _gunzip(data: bytes | str, label: str, limits: LoaderLimits) -> bytes:
    """A gzip file's content, unpacked in chunks and refused as soon as it passes the limit."""
    if isinstance(data, str):
        raise FileFormatError("a gzip file must be given as bytes, not text", label)
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            return _read_limited(stream, limits.max_bytes, label, "the file unpacks to")
    except (OSError, EOFError, zlib.error) as exc:
        raise FileFormatError(f"this is not a valid gzip file ({exc})", label) from exc


# Encodings of text that is not UTF-8, in the order they are considered: Chinese exports
# from Windows (GBK, whose superset GB18030 also reads it), Traditional Chinese (Big5),
# and Western European spreadsheets (cp1252, which agrees with latin-1 on every letter).
_LEGACY_ENCODINGS: dict[str, str] = {
    "gb18030": "Chinese GB18030/GBK",
    "big5": "Chinese Big5",
    "cp1252": "Western European cp1252/latin-1",
}
_SAMPLE_BYTES = 64 * 1024  # lines with non-ASCII bytes looked at to tell the encoding
_PLAUSIBLE_SHARE = 0.9  # share of those characters that must read as ordinary text
_REPLACEABLE_SHARE = 0.01  # most bad sequences replaced (per good non-ASCII character)
# Valid UTF-8 characters per damaged sequence above which a file is UTF-8 with damage: text
# in GBK or Big5 read as UTF-8 gives about one valid character per five bad ones, and
# Western European text none.
_UTF8_EVIDENCE = 5
_LATIN_LETTERS = set(
    "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝßàáâãäåæçèéêëìíîïñòóôõöøùúûüýÿŒœŠšŽžŸ"
)  # the accented letters of the Western European languages
_LATIN_MARKS = set("€‚„…–—‘’“”•«»°§£¥¢¡¿·²³¹µ½¼¾©®™ªº\xa0")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")


def _plausible_share(text: str, codec: str) -> float:
    """Share of the non-ASCII characters that are ordinary text when read in ``codec``.

    Chinese text is nearly all in the common blocks (GB2312; Big5's frequent characters
    and punctuation); a European file read as Chinese gives rare characters. European
    accented letters stand alone or in pairs between ASCII letters (Müller, Jääskeläinen);
    Chinese read as cp1252 gives long runs of letters and symbols (ÉÏº£).
    """
    runs = _NON_ASCII_RUN.findall(text)
    total = sum(map(len, runs))
    if not total:
        return 0.0
    if codec == "cp1252":
        good = sum(
            len(run)
            for run in runs
            if len(run) <= 2 and all(c in _LATIN_LETTERS or c in _LATIN_MARKS for c in run)
        )
        return good / total
    good = 0
    for char in "".join(runs):
        try:
            encoded = char.encode("gb2312" if codec == "gb18030" else "big5")
        except UnicodeEncodeError:
            continue
        good += codec == "gb18030" or 0xA1 <= encoded[0] <= 0xC6
    return good / total


def _non_ascii_sample(data: bytes) -> bytes:
    """The first lines that hold non-ASCII bytes, up to _SAMPLE_BYTES."""
    lines, size = [], 0
    for match in re.finditer(rb"[^\n]*[\x80-\xff][^\n]*", data):
        lines.append(match.group())
        size += len(match.group()) + 1
        if size >= _SAMPLE_BYTES:
            break
    return b"\n".join(lines)


def _replacing(data: bytes, codec: str, label: str) -> str:
    """Text decoded with bad sequences replaced by U+FFFD; a warning counts them."""
    text = data.decode(codec, errors="replace")
    try:
        already = data.count("\ufffd".encode(codec.removesuffix("-sig")))
    except UnicodeEncodeError:
        already = 0
    replaced = text.count("\ufffd") - already
    if replaced > 0:
        line = text.count("\n", 0, text.index("\ufffd")) + 1
        name = _LEGACY_ENCODINGS.get(codec, "UTF-8")
        warnings.warn(
            DecodingWarning(
                f"{label}: {replaced:,} byte sequence(s) that are not valid {name} text were "
                f"replaced by '\ufffd' (the first on line {line}). Check those values"
                + ("" if name == "UTF-8" else ", or save the file as UTF-8 and load it again")
            ),
            stacklevel=5,
        )
    return text


def _decode(data: bytes | str, label: str) -> str:
    """Text of a CSV file: UTF-8 (with or without BOM), UTF-16/32 with BOM, else GB18030/GBK,
    Big5 or cp1252 when the text reads unmistakably as one of them."""
    if isinstance(data, str):
        return data
    if data[:4] == b"PK\x03\x04":
        raise FileFormatError(
            "this is an Excel workbook or a zip archive, not a CSV file", label, _SAVE_AS_UTF8
        )
    for bom, codec in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as exc:
                raise FileFormatError(
                    f"the {codec.upper()} text is damaged ({exc.reason})", label
                ) from exc
    if data.startswith(codecs.BOM_UTF8):
        return _replacing(data, "utf-8-sig", label)  # the mark says UTF-8
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        first_error = exc
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise FileFormatError(
            f"line {line} holds a NUL byte: this is a binary file, not CSV text",
            label,
            _SAVE_AS_UTF8,
        )
    loose = data.decode("utf-8", errors="replace")
    bad = loose.count("\ufffd") - data.count(b"\xef\xbf\xbd")
    good = len(loose) - len(loose.encode("ascii", errors="ignore")) - bad
    if good >= _UTF8_EVIDENCE * bad:
        return _replacing(data, "utf-8", label)  # UTF-8 with some damaged bytes
    return _decode_legacy(data, label, first_error)


def _decode_legacy(data: bytes, label: str, first_error: UnicodeDecodeError) -> str:
    """Text in the one legacy encoding it reads as, or an error naming the first bad byte."""
    sample = _non_ascii_sample(data)
    readings = {}
    for codec in _LEGACY_ENCODINGS:
        try:
            readings[codec] = sample.decode(codec)
        except UnicodeDecodeError:
            continue
    # charset-normalizer leaves out the readings that come out as a mess of symbols and
    # scripts; of those it keeps, each must also read as ordinary text of its language
    detected = (
        {m.encoding for m in from_bytes(sample, cp_isolation=list(readings))} if readings else set()
    )
    plausible = [
        codec
        for codec, text in readings.items()
        if codec in detected and _plausible_share(text, codec) >= _PLAUSIBLE_SHARE
    ]
    offset = first_error.start
    line = data.count(b"\n", 0, offset) + 1
    if len(plausible) > 1:
        names = " or ".join(_LEGACY_ENCODINGS[c] for c in plausible)
        raise FileFormatError(
            f"the file is not UTF-8 text, and its encoding cannot be told: from line {line} on "
            f"it reads as {names} text alike",
            label,
            _SAVE_AS_UTF8,
        )
    if not plausible:
        raise FileFormatError(
            f"the file is neither UTF-8 nor Chinese (GB18030/GBK, Big5) or Western European "
            f"(cp1252) text: byte {data[offset]:#04x} at byte offset {offset} (line {line}) "
            "cannot be decoded",
            label,
            _SAVE_AS_UTF8,
        )
    codec = plausible[0]
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        text = data.decode(codec, errors="replace")
        bad = text.count("\ufffd")
        good = len(text) - len(text.encode("ascii", errors="ignore")) - bad
        if bad > good * _REPLACEABLE_SHARE:
            line = data.count(b"\n", 0, exc.start) + 1
            raise FileFormatError(
                f"the file reads as {_LEGACY_ENCODINGS[codec]} text, but {bad:,} byte "
                f"sequence(s) are not valid in it, the first at byte offset {exc.start} "
                f"(line {line})",
                label,
                _SAVE_AS_UTF8,
            ) from exc
        return _replacing(data, codec, label)


def _column_name(text: str) -> str:
    """Header text as a column name: 'Tracking Number ' -> 'tracking_number'."""
    return re.sub(r"[\s\-]+", "_", text.replace("\ufeff", "").strip().lower())


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def _lines(text: str) -> Iterator[str]:
    """The text's lines with their endings (LF, CRLF or CR), one at a time, with no copy of
    the whole text (io.StringIO would make one, of up to four bytes a character)."""
    return (match.group() for match in _LINE.finditer(text))


def _delimiter(text: str, kind: str) -> str:
    if kind.startswith(".tsv"):
        return "\t"
    first = next((line for line in _lines(text) if line.strip()), "")
    if "," not in first:
        for other in ("\t", ";"):
            if other in first:
                return other
    return ","


def _check_header(names: list[str], label: str, line: int, quote: bool = True) -> None:
    """Refuse reserved and repeated column names (quoted only where ``quote``)."""
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
                f"the header (line {line}) names "
                + (f"column {column!r}" if quote else "one column")
                + f" twice (columns {seen[column]} and {position})",
                label,
                "Give each column its own name",
            )
        seen[column] = position


# Column names a table must show at least one of to be read as that table at all.
_EXPECTED_COLUMNS: dict[str, frozenset[str]] = {
    "events": frozenset((*EVENT_COLUMNS, *LINK_COLUMNS, STATUS_COLUMN)),
    "parcels": frozenset(PARCEL_COLUMNS),
}


def _check_table(names: list[str], table: str | None, label: str, kind: str, line: int = 1) -> None:
    """Refuse, without quoting it, a file whose header names none of the table's columns.

    Such a file is no table of this kind (a password file, a web page, a binary saved as
    .csv): its lines are not shown in the error, since they may hold anything.
    """
    if table is None or set(names) & _EXPECTED_COLUMNS[table]:
        return
    form = "Parquet" if kind == ".parquet" else "TSV" if kind.startswith(".tsv") else "CSV"
    required = (
        "tracking_number, description and time_local (or time_utc)"
        if table == "events"
        else "international_number (and parcel_id or order_id)"
    )
    raise FileFormatError(
        f"this does not look like a {form} table of {table}: "
        + ("its columns have" if kind == ".parquet" else f"its header (line {line}) has")
        + " none of the expected names",
        label,
        f"A {table} table has a header row naming its columns, at least {required} "
        "(see data/README.md)",
    )


def _parse_csv(
    text: str,
    delimiter: str,
    label: str,
    *,
    table: str | None = None,
    kind: str = ".csv",
    limits: LoaderLimits | None = None,
) -> pd.DataFrame:
    """Cells as strings (blank -> NA), header names normalised, file line numbers in _line."""
    limits = limits or LoaderLimits.resolve()
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise FileFormatError(
            f"line {line} holds a NUL byte: this is a binary file, not CSV text",
            label,
            _SAVE_AS_UTF8,
        )
    header, header_line, header_end = _header(text, delimiter, label)
    if len(header) > limits.max_columns:
        named = sum(1 for h in header if h.strip())
        raise _limit_error(
            label,
            f"the header (line {header_line}) has"
            + (f" {named:,} named columns among" if named < len(header) else ""),
            "max_columns",
            limits.max_columns,
            len(header),
        )
    names = [_column_name(h) for h in header]
    _check_table(names, table, label, kind, header_line)
    _check_header(names, label, header_line, quote=table is not None)
    parsed = _fast_cells(text, delimiter, len(names), header_end, limits, label)
    if parsed is None:  # anything unusual: read record by record for exact messages
        parsed = _careful_cells(text, delimiter, len(names), header_line, label, limits)
    columns, lines = parsed

    kept: dict[str, pa.ChunkedArray] = {}
    blank_rows = np.ones(len(lines), dtype=bool)
    for position, column in enumerate(names):
        values = columns[position]
        values = pc.if_else(
            pc.equal(pc.utf8_trim_whitespace(values), ""), pa.scalar(None, pa.string()), values
        )
        missing = values.is_null().to_numpy(zero_copy_only=False)
        blank_rows &= missing
        if not column:
            if not missing.all():
                raise FileFormatError(
                    f"column {position + 1} has values but no name in the header "
                    f"(line {header_line})",
                    label,
                    "Give the column a name, or delete it",
                )
            continue
        kept[column] = values
    # converted to pandas in one step: a column at a time costs milliseconds per column
    frame = pa.table(kept).to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
    frame.index = pd.RangeIndex(len(lines))  # also when no column has a name
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
    reader = csv.reader(_lines(text), delimiter=delimiter, strict=True)
    previous = 0
    try:
        for record in reader:
            start, previous = previous + 1, reader.line_num
            if "".join(record).strip():
                return record, start, reader.line_num
    except csv.Error as exc:
        raise _csv_error(exc, previous + 1, label) from exc
    raise FileFormatError("the file is empty: it has no header line", label)


def _too_many_rows(label: str, limits: LoaderLimits) -> LimitError:
    return _limit_error(
        label, "the table has", "max_rows", limits.max_rows, limits.max_rows + 1, exact=False
    )


def _fast_cells(
    text: str,
    delimiter: str,
    width: int,
    header_end: int,
    limits: LoaderLimits | None = None,
    label: str = "",
) -> tuple[list[pa.ChunkedArray], np.ndarray] | None:
    """Columns and line numbers via pyarrow's CSV reader, or None when the file needs care.

    Used only when every row has the header's width and no value spans lines, so
    that records and non-empty lines correspond one to one. Rows are counted while
    reading, and reading stops past the row limit.
    """
    limits = limits or LoaderLimits.resolve()
    start = 0
    for _ in range(header_end):
        start = text.find("\n", start) + 1
        if start == 0:
            return None
    body = text[start:].encode("utf-8")
    if not re.search(rb"\S", body):
        return None
    names = [f"c{i}" for i in range(width)]
    try:
        reader = pacsv.open_csv(
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
        batches, rows = [], 0
        for batch in reader:
            rows += batch.num_rows
            if rows > limits.max_rows:
                break
            batches.append(batch)
        table = pa.Table.from_batches(batches, schema=reader.schema)
    except (pa.ArrowException, ValueError):
        return None
    if rows > limits.max_rows:
        raise _too_many_rows(label, limits)
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
    return columns, (filled + header_end + 1).astype(np.int64)


def _careful_cells(
    text: str,
    delimiter: str,
    width: int,
    header_line: int,
    label: str,
    limits: LoaderLimits | None = None,
) -> tuple[list[pa.ChunkedArray], np.ndarray]:
    """Columns and line numbers read record by record, with errors naming the line."""
    limits = limits or LoaderLimits.resolve()
    reader = csv.reader(_lines(text), delimiter=delimiter, strict=True)
    records: list[list[str]] = []
    lines: list[int] = []
    previous = 0
    try:
        for record in reader:
            start, previous = previous + 1, reader.line_num
            if start > header_line and "".join(record).strip():
                if len(records) == limits.max_rows:
                    raise _too_many_rows(label, limits)
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
    return [pa.chunked_array([pa.array(c, type=pa.string())]) for c in cells], np.asarray(
        lines, dtype=np.int64
    )


def _parse_parquet(
    data: bytes | str,
    label: str,
    *,
    table: str | None = None,
    limits: LoaderLimits | None = None,
) -> pd.DataFrame:
    limits = limits or LoaderLimits.resolve()
    if isinstance(data, str):
        raise FileFormatError("a Parquet file must be given as bytes, not text", label)
    try:
        meta = pq.ParquetFile(io.BytesIO(data)).metadata  # the footer: sizes before reading
        columns = len(meta.schema.to_arrow_schema().names)
        unpacked = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        rows = meta.num_rows
    except Exception as exc:  # pyarrow raises many types for damaged files
        raise _not_parquet(exc, label) from exc
    if columns > limits.max_columns:
        raise _limit_error(label, "the table has", "max_columns", limits.max_columns, columns)
    if rows > limits.max_rows:
        raise _limit_error(label, "the table has", "max_rows", limits.max_rows, rows)
    if unpacked > limits.max_bytes:
        raise _limit_error(label, "the table unpacks to", "max_bytes", limits.max_bytes, unpacked)
    try:
        # one piece per column: a file written in many row groups otherwise gives columns
        # of as many chunks, and every later string operation pays for each chunk
        frame = pq.read_table(io.BytesIO(data)).combine_chunks().to_pandas()
    except Exception as exc:  # pyarrow raises many types for damaged files
        raise _not_parquet(exc, label) from exc
    names = [_column_name(str(c)) for c in frame.columns]
    _check_table(names, table, label, ".parquet")
    _check_header(names, label, 1, quote=table is not None)
    frame.columns = names
    for column in frame.columns:
        values = frame[column]
        if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
            text = values.astype("string")
            frame[column] = text.mask(text.str.strip() == "")
    return frame.reset_index(drop=True)


def _not_parquet(exc: Exception, label: str) -> FileFormatError:
    return FileFormatError(
        f"this is not a readable Parquet file ({type(exc).__name__}: {exc})"[:300],
        label,
        "Export it again, or save it as CSV",
    )


def _read_raw(
    source: _Source,
    name: str | None,
    table: str | None = None,
    limits: LoaderLimits | None = None,
) -> tuple[pd.DataFrame, str]:
    limits = limits or LoaderLimits.resolve()
    data, kind, label = _load_bytes(source, name, limits)
    if kind.endswith(".gz"):
        data = _gunzip(data, label, limits)
    if kind == ".parquet":
        return _parse_parquet(data, label, table=table, limits=limits), label
    text = _decode(data, label)
    del data  # the text replaces the bytes
    frame = _parse_csv(text, _delimiter(text, kind), label, table=table, kind=kind, limits=limits)
    return frame, label


def read_table(
    path: _Source,
    name: str | None = None,
    *,
    max_columns: int | None = None,
    max_rows: int | None = None,
    max_bytes: int | None = None,
) -> pd.DataFrame:
    """Any CSV/TSV (optionally gzipped) or Parquet file as a table of text cells.

    Header names are normalised ('Parcel ID' -> 'parcel_id'), blank cells are missing,
    and the loaders' encodings, checks and limits apply (see read_events).
    """
    limits = LoaderLimits.resolve(max_columns, max_rows, max_bytes)
    raw, _ = _read_raw(path, name, None, limits)
    return raw.drop(columns=[LINE_COLUMN], errors="ignore")


def read_text(path: str | os.PathLike, *, max_bytes: int | None = None) -> str:
    """A text file's content, decoded as the loaders decode CSV files, within the byte limit."""
    path = Path(path)
    data = _read_file(path, path.name, LoaderLimits.resolve(max_bytes=max_bytes))
    text = _decode(data, path.name)
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise FileFormatError(
            f"line {line} holds a NUL byte: this is a binary file, not text", path.name
        )
    return text


def _in_lines(exc: ToolkitError, raw: pd.DataFrame) -> None:
    """Word row errors of a text file in its line numbers (the numbers already are lines)."""
    if LINE_COLUMN in raw.columns and getattr(exc, "rows", None):
        exc.what = exc.what.replace("in row(s)", "on line(s)").replace("row(s)", "line(s)")
        exc.args = (exc.message,)


def read_events(
    path: _Source,
    tz: str | None = None,
    source: str | None = None,
    name: str | None = None,
    *,
    max_columns: int | None = None,
    max_rows: int | None = None,
    max_bytes: int | None = None,
) -> pd.DataFrame:
    """Read scans from a CSV/TSV (optionally gzipped) or Parquet file as the events table.

    ``tz`` is the zone of local times without offset (default: each carrier's zone);
    ``source`` fills the source column (default: the file name); ``name`` labels a
    buffer in messages and tells its format by suffix. ``max_columns``, ``max_rows`` and
    ``max_bytes`` (content once unpacked) raise or lower the loader limits for this call
    (defaults and environment variables: toolkit.policy.LoaderLimits).
    """
    limits = LoaderLimits.resolve(max_columns, max_rows, max_bytes)
    raw, label = _read_raw(path, name, "events", limits)
    try:
        return normalize(raw, tz=tz, source=source or label, where=label)
    except SchemaError as exc:
        _in_lines(exc, raw)
        raise


def _clean_numbers(values: pd.Series) -> pd.Series:
    return values.str.replace("[ \t\u3000\xa0]", "", regex=True).str.upper()


def read_parcels(
    path: _Source,
    tz: str = "UTC",
    name: str | None = None,
    *,
    max_columns: int | None = None,
    max_rows: int | None = None,
    max_bytes: int | None = None,
) -> pd.DataFrame:
    """Read a parcels table from CSV/TSV (optionally gzipped) or Parquet, typed and checked.

    ``shipped_at`` without offset is read in ``tz``. A missing ``parcel_id`` is
    filled from ``order_id``, then ``international_number``. The loader limits are
    those of read_events.
    """
    limits = LoaderLimits.resolve(max_columns, max_rows, max_bytes)
    raw, label = _read_raw(path, name, "parcels", limits)
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
    extras = [c for c in raw.columns if c not in PARCEL_DTYPES and c != LINE_COLUMN]
    if extras:  # joined in one step: inserting columns one by one is quadratic in their number
        out = pd.concat([out, raw[extras]], axis=1)
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


# ------------------------------------------------------------------ partitioned datasets
# A dataset too large for one machine is a folder of Parquet files part-00000.parquet,
# part-00001.parquet … The events and parcels datasets of one export are co-partitioned:
# a parcel's row and all its scans are in files of the same number, chosen by a stable
# hash of its parcel_id (partition_of), so each partition can be diagnosed on its own.

PARTITION_FILE = "part-{:05d}.parquet"
_PARTITION_NAME = re.compile(r"^part-(\d+)\.parquet$")
REPARTITION_HINT = (
    "Repartition the export once with toolkit.io.repartition(events, parcels, out, partitions) "
    "or `python -m toolkit repartition --events … --parcels … --out DIR`"
)


def partition_of(parcel_ids: pd.Series | np.ndarray | list, partitions: int) -> np.ndarray:
    """The partition number (0 … partitions-1) of each parcel id: a stable hash of its text.

    The hash (pandas' SipHash of the UTF-8 text, with its fixed key) does not depend on the
    machine, the process or the order of the ids, so files written at different times and
    places agree. Ids are compared as the loaders read them: surrounding spaces removed.
    """
    if int(partitions) < 1:
        raise InputError(f"partitions must be 1 or more, got {partitions}", "partition_of")
    values = pd.Series(np.asarray(parcel_ids, dtype=object)).astype(str).str.strip()
    hashed = pd.util.hash_array(values.to_numpy(dtype=object), categorize=True)
    return (hashed % np.uint64(partitions)).astype(np.int64)


def partition_paths(dataset: str | os.PathLike) -> list[str]:
    """The partition files of a dataset folder (local path or fsspec URL), in number order.

    Raises InputError when the folder is missing, holds no part-NNNNN.parquet files, or
    their numbers have gaps.
    """
    import fsspec

    url = os.fspath(dataset)
    fs, root = fsspec.core.url_to_fs(url)
    if not fs.isdir(root):
        raise InputError(
            "the dataset folder does not exist",
            url,
            "Give the folder written by `python -m toolkit.demo --format parquet --partitions K` "
            "or by toolkit.io.repartition",
        )
    found = {}
    for path in fs.ls(root, detail=False):
        m = _PARTITION_NAME.match(path.rstrip("/").rsplit("/", 1)[-1])
        if m:
            found[int(m.group(1))] = path
    if not found:
        raise InputError(
            "the folder holds no partition files (part-00000.parquet …)", url, REPARTITION_HINT
        )
    missing = sorted(set(range(max(found) + 1)) - set(found))
    if missing:
        raise InputError(
            f"partition file(s) {', '.join(PARTITION_FILE.format(i) for i in missing[:5])} "
            f"are missing ({len(found)} found, numbered up to {max(found)})",
            url,
            REPARTITION_HINT,
        )
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    prefix = "" if protocol in ("file", "local") else f"{protocol}://"
    return [prefix + found[i] for i in range(len(found))]


def _partition_key(frame: pd.DataFrame, table: str) -> pd.Series:
    """The parcel id each raw row will have once loaded (the loaders' fallbacks included)."""
    from toolkit.tracking.normalize import _clean_number

    def text(col: str) -> pd.Series:
        if col not in frame.columns:
            return pd.Series(pd.NA, index=frame.index, dtype="string")
        values = frame[col].astype("string").str.strip()
        return values.mask(values == "")

    if table == "events":
        number = _clean_number(frame["tracking_number"]) if "tracking_number" in frame else None
        key = text("parcel_id")
        return key if number is None else key.fillna(number)
    number = _clean_numbers(text("international_number"))
    return text("parcel_id").fillna(text("order_id")).fillna(number)


def _dask_table(source: str | os.PathLike, table: str):
    """A raw export (CSV/TSV, optionally gzipped, or Parquet file or folder) as a dask
    DataFrame of text cells, with the column names the loaders use."""
    import dask.dataframe as dd
    import fsspec

    url = os.fspath(source)
    fs, root = fsspec.core.url_to_fs(url)
    if not fs.exists(root):
        raise InputError(f"the {table} export does not exist", url, "Check the path or URL")
    kind = _suffix(url.rstrip("/"))
    if fs.isdir(root) or kind == ".parquet":
        frame = dd.read_parquet(url)
    elif kind in (".csv", ".csv.gz", ".tsv", ".tsv.gz"):
        frame = dd.read_csv(
            url,
            sep="\t" if kind.startswith(".tsv") else ",",
            dtype=str,
            keep_default_na=False,
            blocksize=None if kind.endswith(".gz") else "64MB",
            encoding="utf-8",
        )
    else:
        raise _unsupported(url)
    frame.columns = [_column_name(str(c)) for c in frame.columns]
    need = ("tracking_number",) if table == "events" else ("international_number",)
    if "parcel_id" not in frame.columns and not set(need) & set(frame.columns):
        raise MissingColumnsError(["parcel_id"], table, url)
    return frame


def repartition(
    events: str | os.PathLike,
    parcels: str | os.PathLike,
    out: str | os.PathLike,
    partitions: int,
    client=None,
) -> tuple[str, str]:
    """Write an events and a parcels export as co-partitioned Parquet datasets, once.

    ``events`` and ``parcels`` are files (CSV/TSV, optionally gzipped, or Parquet) or
    Parquet folders, local paths or fsspec URLs; ``out`` receives ``events/`` and
    ``parcels/``, each with ``partitions`` files part-00000.parquet …, a parcel's scans and
    row in files of the same number (partition_of). The rows are moved unchanged (as text
    for CSV): loading and checking happen when the partitions are read. The shuffle runs on
    Dask (the ``client``'s cluster, else the default scheduler). Returns the two folders.
    """
    import fsspec

    partitions = int(partitions)
    if partitions < 1:
        raise InputError(f"partitions must be 1 or more, got {partitions}", "repartition")
    base = os.fspath(out).rstrip("/")
    fs, root = fsspec.core.url_to_fs(base)
    targets = []
    for source, table in ((events, "events"), (parcels, "parcels")):
        frame = _dask_table(source, table)
        keyed = frame.map_partitions(
            lambda df, t=table: df.assign(
                _partition=partition_of(_partition_key(df, t), partitions)
            ),
        )
        # partition i of the result holds exactly the rows of partition number i
        moved = keyed.set_index("_partition", divisions=[*range(partitions), partitions])
        target = f"{base}/{table}"
        if fs.exists(f"{root}/{table}"):
            fs.rm(f"{root}/{table}", recursive=True)
        local = (fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]) in (
            "file",
            "local",
        )
        if local:  # the tables hold recipient data: owner-only folders and files
            private_dir(f"{root}/{table}")
        else:
            fs.makedirs(f"{root}/{table}", exist_ok=True)
        moved.to_parquet(
            target,
            write_index=False,
            name_function=PARTITION_FILE.format,
            write_metadata_file=False,
            compute_kwargs={} if client is None else {"scheduler": client},
        )
        if local:
            for path in Path(root, table).glob("part-*.parquet"):
                tighten(path)
        targets.append(target)
    return targets[0], targets[1]
