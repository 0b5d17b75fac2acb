"""The public tracking-number specification's test numbers, and the real-number corpus.

tests/data/tracking_number_data/test_numbers.tsv holds the valid and invalid test numbers of
jkeen/tracking_number_data (MIT, licence beside it) for S10, UPS, FedEx, USPS, DHL and
YunExpress, one row per number with the file and commit it came from.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from toolkit.tracking.corpus import load_numbers
from toolkit.tracking.numbers import parse

SPEC = Path(__file__).parent / "data" / "tracking_number_data" / "test_numbers.tsv"
# DHL eCommerce and DHL Paket are DHL's in the specification's families
FAMILY = {"dhlecommerce": "dhl", "dhlparcel": "dhl"}
# formats without a check digit: a valid number gets no verdict (valid is None)
NO_CHECK = {"dhl_piece", "dhl_ecommerce", "dhl_ecommerce_14", "yunexpress"}


def spec_rows() -> list[dict[str, str]]:
    with SPEC.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def passes(row: dict[str, str]) -> bool:
    """A valid number is valid (or, without a check digit, not invalid) with the right
    family first; an invalid one is never valid."""
    r = parse(row["number"])
    if row["expect"] == "invalid":
        return r.valid is not True
    if row["courier"] == "s10":
        return r.valid is True and r.format == "s10"
    family = FAMILY.get(r.carrier, r.carrier)
    verdict = r.valid is True or (r.valid is None and r.format in NO_CHECK)
    return verdict and family == row["courier"]


def test_the_specification_file_is_whole():
    rows = spec_rows()
    couriers = {r["courier"] for r in rows}
    assert couriers == {"s10", "ups", "fedex", "usps", "dhl", "yunexpress"}
    assert len(rows) >= 140
    assert all(r["source"].startswith("github:jkeen/tracking_number_data/couriers/") for r in rows)
    assert (SPEC.parent / "LICENSE").read_text().startswith("MIT License")


def test_at_least_97_percent_of_the_specification_numbers_pass():
    rows = spec_rows()
    failed = [f"{r['format_id']} {r['expect']} {r['number']!r}" for r in rows if not passes(r)]
    assert 1 - len(failed) / len(rows) >= 0.97, failed


@pytest.mark.parametrize(
    "row", [r for r in spec_rows() if r["expect"] == "invalid"], ids=lambda r: r["number"].strip()
)
def test_no_invalid_specification_number_is_called_valid(row):
    assert parse(row["number"]).valid is not True


@pytest.mark.parametrize(
    ("number", "first"),
    [
        ("1001921334250001000300779017972697", "fedex"),
        ("32971514560102447849175802862014", "fedex"),
        ("K1506235620", "ups"),
        ("GM295117494011169042", "dhlecommerce"),
        ("60120172242323", "dhlecommerce"),
        ("4201002334249200190132607600833457", "usps"),
    ],
)
def test_specification_formats_the_toolkit_once_missed(number, first):
    r = parse(number)
    assert r.valid is not False
    assert r.carrier == first


def test_real_numbers_are_placed_at_least_as_well_as_measured():
    # bench/numbers_real.py gives the figures; these floors catch a regression. Numbers the
    # source calls invalid have no carrier to place; they must not pass as that carrier's.
    numbers = load_numbers()
    for n, carrier in numbers.loc[numbers["valid"] == "no", ["number", "carrier"]].itertuples(
        index=False
    ):
        r = parse(n)
        assert not (r.carrier == carrier and r.valid), n
    df = numbers[numbers["valid"] != "no"]
    parsed = [parse(n) for n in df["number"]]
    family = {"ems": "chinapost"}
    want = df["carrier"].map(lambda c: family.get(c, c))
    first = sum(
        family.get(p.carrier, p.carrier) == w for p, w in zip(parsed, want, strict=True)
    ) / len(df)
    anywhere = sum(
        w in {family.get(c, c) for c in p.candidates} for p, w in zip(parsed, want, strict=True)
    ) / len(df)
    assert first >= 0.85
    assert anywhere >= 0.95
