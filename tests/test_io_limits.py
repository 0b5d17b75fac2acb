"""Hostile and odd input files: size limits, encodings, and files that are no table at all."""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
import warnings
import zlib
from pathlib import Path
from unittest import mock

import pandas as pd
import pytest

from toolkit import io as toolkit_io
from toolkit.__main__ import main as cli
from toolkit.errors import DecodingWarning, FileFormatError, InputError, LimitError
from toolkit.io import read_events, read_parcels
from toolkit.model import PARCEL_COLUMNS
from toolkit.policy import MAX_BYTES, MAX_COLUMNS, MAX_ROWS, LoaderLimits
from toolkit.report.scope import read_selection

ROOT = Path(__file__).resolve().parents[1]
INTL = "LX123456785US"
EVENTS_HEADER = "tracking_number,description,time_local,carrier"


def events_csv(rows: int, extra_columns: int = 0) -> bytes:
    header = EVENTS_HEADER + "".join(f",extra_{i}" for i in range(extra_columns))
    lines = [header]
    for r in range(rows):
        cells = [INTL, f"Accepted {r}", f"2026-03-01 {r % 24:02d}:{r % 60:02d}", "usps"]
        lines.append(",".join(cells + [f"v{r}_{i}" for i in range(extra_columns)]))
    return ("\n".join(lines) + "\n").encode()


def parcels_csv(rows: int, extra_columns: int = 0) -> bytes:
    header = "parcel_id,international_number" + "".join(f",x{i}" for i in range(extra_columns))
    lines = [header] + [
        ",".join([f"P{r}", INTL] + [f"c{r}_{i}" for i in range(extra_columns)]) for r in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


# --- the limits and their settings -----------------------------------------------------------


def test_defaults_are_documented_and_overridable_by_argument_and_environment():
    assert (MAX_COLUMNS, MAX_ROWS, MAX_BYTES) == (2_000, 5_000_000, 2 * 1024**3)
    assert LoaderLimits.resolve(environ={}) == LoaderLimits(MAX_COLUMNS, MAX_ROWS, MAX_BYTES)
    env = {"TOOLKIT_MAX_ROWS": "20_000_000", "TOOLKIT_MAX_BYTES": "4GB"}
    limits = LoaderLimits.resolve(max_columns=50, max_rows=7, environ=env)
    assert limits == LoaderLimits(max_columns=50, max_rows=7, max_bytes=4 * 1024**3)
    assert LoaderLimits.resolve(environ=env).max_rows == 20_000_000
    with pytest.raises(InputError, match="TOOLKIT_MAX_ROWS='lots' is not a limit"):
        LoaderLimits.resolve(environ={"TOOLKIT_MAX_ROWS": "lots"})
    with pytest.raises(InputError, match="max_columns must be a whole number"):
        read_events(events_csv(1), name="e.csv", max_columns=0)


# --- columns ---------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_ten_thousand_columns_are_refused_from_the_header(tmp_path):
    path = write(tmp_path, "wide.csv", events_csv(50, extra_columns=10_000 - 4))
    unused = mock.Mock(side_effect=AssertionError("the rows must not be parsed"))
    with (
        mock.patch.object(toolkit_io, "_fast_cells", unused),
        mock.patch.object(toolkit_io, "_careful_cells", unused),
        pytest.raises(LimitError) as info,
    ):
        read_events(path)
    message = str(info.value)
    assert message.startswith("wide.csv: the header (line 1) has 10,000 columns")
    assert "more than the limit of 2,000 columns" in message
    assert "max_columns=10000" in message and "TOOLKIT_MAX_COLUMNS=10000" in message
    assert info.value.setting == "max_columns"
    with pytest.raises(LimitError, match="10,000 columns"):
        read_parcels(write(tmp_path, "wide-parcels.csv", parcels_csv(5, 9_998)))


def test_a_wide_table_within_the_limit_loads_with_every_column(tmp_path):
    ev = read_events(write(tmp_path, "w500.csv", events_csv(200, extra_columns=496)))
    assert len(ev) == 200 and "extra_495" in ev.columns
    by_text = ev.set_index("description")
    assert by_text.loc["Accepted 0", "extra_495"] == "v0_495"
    assert by_text.loc["Accepted 199", "extra_0"] == "v199_0"
    parcels = read_parcels(write(tmp_path, "p.csv", parcels_csv(100, 2_998)), max_columns=3_000)
    assert (
        parcels.shape == (100, len(PARCEL_COLUMNS) + 2_998)
        and parcels["x2997"].iloc[99] == "c99_2997"
    )


def test_the_column_limit_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TOOLKIT_MAX_COLUMNS", "100")
    with pytest.raises(LimitError, match="more than the limit of 100 columns"):
        read_events(write(tmp_path, "w.csv", events_csv(3, extra_columns=200)))
    assert len(read_events(write(tmp_path, "w.csv", events_csv(3, 96)))) == 3
    frame = pd.DataFrame({f"c{i}": ["x"] for i in range(101)}).assign(international_number=INTL)
    frame.to_parquet(tmp_path / "wide.parquet")
    with pytest.raises(LimitError, match="102 columns"):
        read_parcels(tmp_path / "wide.parquet")


# --- rows ------------------------------------------------------------------------------------


def test_row_limit_counts_rows_while_reading(tmp_path):
    path = write(tmp_path, "rows.csv", events_csv(1_001))
    with pytest.raises(LimitError) as info:
        read_events(path, max_rows=1_000)
    assert "rows.csv: the table has more than the limit of 1,000 rows" in str(info.value)
    assert "TOOLKIT_MAX_ROWS" in str(info.value)
    assert len(read_events(path, max_rows=1_001)) == 1_001
    # a value spanning lines sends the file to the record-by-record reader: same limit
    multi = events_csv(1_001).replace(b"Accepted 5,", b'"Accepted\nfive",')
    with pytest.raises(LimitError, match="more than the limit of 1,000 rows"):
        read_events(write(tmp_path, "multi.csv", multi), max_rows=1_000)
    with (
        mock.patch.object(toolkit_io, "_fast_cells", return_value=None),
        pytest.raises(LimitError, match="more than the limit of 1,000 rows"),
    ):
        read_events(path, max_rows=1_000)


def test_row_limit_for_parquet_is_read_from_its_footer(tmp_path, monkeypatch):
    pd.DataFrame(
        {"parcel_id": [f"P{i}" for i in range(30)], "international_number": INTL}
    ).to_parquet(tmp_path / "p.parquet")
    monkeypatch.setenv("TOOLKIT_MAX_ROWS", "20")
    with (
        mock.patch.object(toolkit_io.pd, "read_parquet", side_effect=AssertionError("read")),
        pytest.raises(LimitError, match="the table has 30 rows, more than the limit of 20"),
    ):
        read_parcels(tmp_path / "p.parquet")


# --- bytes -----------------------------------------------------------------------------------


def gzip_bomb(path: Path, megabytes: int) -> Path:
    """A small .csv.gz whose header is followed by `megabytes` MB of zeros."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [packer.compress(f"{EVENTS_HEADER}\n".encode())]
    zeros = b"0" * 2**20
    parts += [packer.compress(zeros) for _ in range(megabytes)]
    path.write_bytes(b"".join([*parts, packer.flush()]))
    return path


class CountingGzipFile(gzip.GzipFile):
    """GzipFile that adds up how much it unpacked."""

    unpacked = 0

    def read(self, size=-1):
        data = super().read(size)
        CountingGzipFile.unpacked += len(data)
        return data


@pytest.mark.timeout(120)
def test_gzip_bomb_is_refused_after_unpacking_only_up_to_the_limit(tmp_path, monkeypatch):
    bomb = gzip_bomb(tmp_path / "bomb.csv.gz", megabytes=200)
    assert bomb.stat().st_size < 1_000_000  # a small file unpacking to 200 MB
    monkeypatch.setattr(toolkit_io.gzip, "GzipFile", CountingGzipFile)
    with pytest.raises(LimitError) as info:
        read_events(bomb, max_bytes=10 * 2**20)
    message = str(info.value)
    assert message.startswith("bomb.csv.gz: the file unpacks to more than the limit of 10.0 MB")
    assert "reading stopped there" in message and "max_bytes=" in message
    assert CountingGzipFile.unpacked <= 12 * 2**20

    # without the keyword: the limit in force (here lowered through the environment)
    CountingGzipFile.unpacked = 0
    monkeypatch.setenv("TOOLKIT_MAX_BYTES", "50MB")
    with pytest.raises(LimitError, match=r"more than the limit of 50\.0 MB"):
        read_events(bomb)
    assert 50 * 2**20 < CountingGzipFile.unpacked <= 52 * 2**20  # not the 200 MB


def test_plain_file_over_the_byte_limit_is_refused_unread(tmp_path):
    path = write(tmp_path, "big.csv", events_csv(200))
    size = path.stat().st_size
    with (
        mock.patch.object(toolkit_io, "_read_limited", side_effect=AssertionError("read")),
        pytest.raises(LimitError) as info,
    ):
        read_events(path, max_bytes=1_000)
    assert f"big.csv: the file is {size / 1024:.1f} KB ({size:,} bytes)" in str(info.value)
    with pytest.raises(LimitError, match="the file holds more than the limit of 1,000 bytes"):
        read_events(io.BytesIO(events_csv(200)), name="upload.csv", max_bytes=1_000)
    with pytest.raises(LimitError, match="the file is"):
        read_parcels(parcels_csv(100), name="upload.csv", max_bytes=1_000)


# --- encodings -------------------------------------------------------------------------------


def test_western_european_cp1252_file_is_decoded_right(tmp_path):
    text = (
        "parcel_id,international_number,recipient_name,recipient_address,destination_city\n"
        f'P1,{INTL},Müller,"Straße 5, München",Zürich\n'
        f'P2,LX987654321US,François Lefèvre,"12 rue de l\'Église – Besançon",Logroño\n'
    )
    parcels = read_parcels(write(tmp_path, "europe.csv", text.encode("cp1252")))
    assert parcels["recipient_name"].tolist() == ["Müller", "François Lefèvre"]
    assert parcels["recipient_address"].iloc[0] == "Straße 5, München"
    assert parcels["recipient_address"].iloc[1] == "12 rue de l'Église – Besançon"
    assert parcels["destination_city"].tolist() == ["Zürich", "Logroño"]


def test_chinese_files_in_gbk_and_big5_still_decode(tmp_path):
    text = (
        f"{EVENTS_HEADER}\n"
        f"{INTL},快件已到達【台北轉運中心】，派送中,2026-03-04 14:05,ems\n"
        f"{INTL},已簽收，簽收人：本人,2026-03-05 09:00,ems\n"
    )
    ev = read_events(write(tmp_path, "big5.csv", text.encode("big5")))
    assert ev["description"].tolist() == [
        "快件已到達【台北轉運中心】，派送中",
        "已簽收，簽收人：本人",
    ]
    names = "parcel_id,international_number,recipient_name\nP1,LX1,张伟\nP2,LX2,李娜\n"
    parcels = read_parcels(write(tmp_path, "gbk.csv", names.encode("gbk")))
    assert parcels["recipient_name"].tolist() == ["张伟", "李娜"]


def test_file_whose_encoding_cannot_be_told_is_refused(tmp_path):
    # 0xC4 0xD6 is 'ÄÖ' in cp1252, '闹' in GBK and '齡' in Big5
    data = f"parcel_id,international_number,note\nP1,{INTL},".encode() + b"\xc4\xd6\n"
    with pytest.raises(FileFormatError) as info:
        read_parcels(write(tmp_path, "which.csv", data))
    message = str(info.value)
    assert message.startswith("which.csv: the file is not UTF-8 text, and its encoding cannot")
    assert "line 2" in message and "Save the file as UTF-8" in message
    assert not {"ÄÖ", "闹", "齡"} & set(message.split())


def test_garbage_bytes_are_refused_not_decoded(tmp_path):
    garbage = bytes(range(0x80, 0x100)) * 4
    data = f"{EVENTS_HEADER}\n{INTL},".encode() + garbage + b",2026-03-01 10:00,usps\n"
    with pytest.raises(FileFormatError) as info:
        read_events(write(tmp_path, "garbage.csv", data))
    message = str(info.value)
    assert "garbage.csv" in message and "neither UTF-8 nor" in message
    assert "byte offset 61 (line 2)" in message and "Save the file as UTF-8" in message


def test_damaged_bytes_in_a_utf8_file_are_replaced_counted_and_reported(tmp_path):
    text = f"{EVENTS_HEADER}\n{INTL},快件已到达【上海转运中心】,2026-03-04 14:05,ems\n"
    data = text.encode() + f"{INTL},已签收".encode() + b"\xff\xfe" + b",2026-03-05 09:00,ems\n"
    data += f"{INTL},派送中".encode()[:-1] + b",2026-03-05 08:00,ems\n"  # a cut character
    with pytest.warns(DecodingWarning) as caught:
        ev = read_events(write(tmp_path, "damaged.csv", data))
    message = str(caught[0].message)
    assert message.startswith("damaged.csv: 3 byte sequence(s) that are not valid UTF-8")
    assert "(the first on line 3)" in message
    assert ev["description"].tolist() == [
        "快件已到达【上海转运中心】",
        "派送\ufffd",
        "已签收\ufffd\ufffd",
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean file warns nothing
        read_events(write(tmp_path, "clean.csv", text))


# --- files that are no table -----------------------------------------------------------------

SHADOW = (
    "root:$6$Zq1xYbN2$Qk9m0aB3cD4eF5gH6iJ7kL8mN9oP0qR1sT2uV3wX4yZ5:20228:0:99999:7:::\n"
    "daemon:*:20228:0:99999:7:::\n"
    "analyst:$6$s4lt$4nalystHashValue0123456789:20228:0:99999:7:::\n"
)
SECRETS = ("root:", "$6$", "Zq1xYbN2", "daemon", "analyst", "20228", "99999")


def assert_no_content(message: str) -> None:
    leaked = [s for s in SECRETS if s in message]
    assert not leaked, f"the error quotes the file: {leaked}"


@pytest.mark.parametrize(
    "name, data",
    [
        ("shadow.csv", SHADOW),
        ("shadow.tsv", SHADOW),
        ("page.csv", "<!DOCTYPE html>\n<html><head><title>root $6$</title></head>\n"
         "<body><table><tr><td>daemon</td><td>20228</td></tr></table></body></html>\n"),
        ("export.csv", "root,root,daemon\n20228,99999,analyst\n"),  # repeated header names
        ("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR root $6$ 20228"),
        ("blob.csv", bytes(range(0x80, 0x100)) * 3 + b"root:$6$:20228\n"),
        ("shadow.csv.gz", gzip.compress(SHADOW.encode())),
    ],
)  # fmt: skip
def test_file_that_is_no_table_is_refused_without_quoting_it(tmp_path, name, data):
    path = write(tmp_path, name, data)
    for read in (read_parcels, read_events):
        with pytest.raises(FileFormatError) as info:
            read(path)
        message = str(info.value)
        assert name in message
        assert_no_content(message)
    with pytest.raises(FileFormatError) as info:
        read_parcels(io.BytesIO(path.read_bytes()))  # an upload without a name
    assert_no_content(str(info.value))


def test_password_file_says_it_is_no_table_of_parcels(tmp_path):
    with pytest.raises(FileFormatError) as info:
        read_parcels(write(tmp_path, "shadow.csv", SHADOW))
    assert str(info.value).startswith(
        "shadow.csv: this does not look like a CSV table of parcels: its header (line 1) has "
        "none of the expected names"
    )
    assert "international_number" in str(info.value)  # what a parcels table needs


def test_selection_file_that_is_no_list_of_parcels_is_refused_without_quoting_it(tmp_path):
    for name in ("shadow", "shadow.txt", "shadow.csv"):
        with pytest.raises(FileFormatError) as info:
            read_selection(write(tmp_path, name, SHADOW))
        message = str(info.value)
        assert "does not look like a list of parcel ids or tracking numbers" in message
        assert_no_content(message)
    assert read_selection(write(tmp_path, "ids.txt", "P1\nLX123456785US\nSO-2001/7\n")) == [
        "P1",
        "LX123456785US",
        "SO-2001/7",
    ]


def test_cli_does_not_print_a_non_table_file(tmp_path, capsys):
    shadow = write(tmp_path, "shadow", SHADOW)
    table = write(tmp_path, "shadow.csv", SHADOW)
    out = str(tmp_path / "out")
    for argv in (
        ["report", "--parcels", str(shadow), "--out", out],
        ["report", "--parcels", str(table), "--out", out],
        ["report", "--parcels-table", str(table), "--events", str(table), "--out", out],
    ):
        assert cli(argv) == 2
        captured = capsys.readouterr()
        assert "shadow" in captured.err and "does not look like" in captured.err
        assert_no_content(captured.err + captured.out)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_python_m_toolkit_with_a_password_file_as_parcels(tmp_path):
    shadow = write(tmp_path, "shadow", SHADOW)
    done = subprocess.run(
        [sys.executable, "-m", "toolkit", "report", "--parcels", str(shadow), "--out",
         str(tmp_path / "out")],
        capture_output=True, text=True, cwd=ROOT, timeout=110,
    )  # fmt: skip
    assert done.returncode == 2
    assert "does not look like a list of parcel ids" in done.stderr
    assert_no_content(done.stdout + done.stderr)
