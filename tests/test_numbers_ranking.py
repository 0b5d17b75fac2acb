"""The ranking table (toolkit/tracking/data/number_ranking.csv) where number formats overlap.

Every number used here is a real one from the development part of
toolkit/tracking/data/real_numbers.tsv; the held-out part is only measured by the bench.
"""

from __future__ import annotations

import re

import pytest

from toolkit.tracking.corpus import load_numbers
from toolkit.tracking.numbers import RANKING, load_ranking, parse

FAMILY = {"ems": "chinapost"}


@pytest.fixture(scope="module")
def corpus():
    return load_numbers()


def test_every_rule_rests_on_development_numbers_from_two_sources(corpus):
    rows = corpus.set_index("number")
    for rule in RANKING:
        ev = rows.loc[list(rule.evidence)]
        assert (ev["split"] == "dev").all(), f"{rule.pattern}: held-out evidence"
        assert all(re.fullmatch(rule.pattern, n) for n in rule.evidence), rule.pattern
        counts = ev["carrier"].map(lambda c: FAMILY.get(c, c)).value_counts()
        first = ev[ev["carrier"].map(lambda c: FAMILY.get(c, c)) == rule.carriers[0]]
        assert len(first) >= 2 and first["unit"].nunique() >= 2, rule.pattern
        assert counts.iloc[0] == len(first), f"{rule.pattern}: another carrier has more numbers"


def test_the_table_names_known_carriers_and_says_where_its_evidence_is(tmp_path):
    assert len(RANKING) >= 8
    assert all(rule.note and rule.evidence for rule in RANKING)
    bad = tmp_path / "ranking.csv"
    bad.write_text("pattern,carriers,evidence,note\n21\\d{10},nosuchcarrier,210139426256,x\n")
    with pytest.raises(ValueError, match="known carrier codes"):
        load_ranking(str(bad))
    bad.write_text("pattern,carriers,evidence,note\n21\\d{10},best,210139426256,\n")
    with pytest.raises(ValueError, match="where they were published"):
        load_ranking(str(bad))


def test_sf_legacy_number_ranks_sf_first_though_fedex_check_passes_by_chance():
    r = parse("765720722994")  # SF (github:xifengzhu/kuaidi100 README)
    assert r.candidates[0] == "sf"
    assert "fedex" in r.candidates  # it does pass FedEx's check: still listed
    assert r.format == "sf_12"
    assert r.valid is None  # SF's 12-digit labels have no check digit
    assert r.problems[0].startswith("12 digits matches SF Express, FedEx")


@pytest.mark.parametrize(
    ("number", "first"),
    [
        ("441003077850", ("sf",)),
        ("210323413836", ("best",)),
        ("402659170518", ("sto", "zto")),
        ("221401186231", ("sto", "zto")),
        ("550011398745680", ("best", "sto")),
        ("1200722815552", ("yunda", "ems")),
        ("RF171700114SG", ("4px",)),
    ],
)
def test_overlapping_formats_name_the_carrier_whose_numbers_start_that_way(number, first):
    r = parse(number)
    assert r.candidates[: len(first)] == first
    assert r.plausible[: len(first)] == first


def test_sto_15_digits_outrank_a_chance_fedex_check():
    r = parse("773044983842140")  # STO (github:fuzui/aggregatelogistics HandlerTest)
    assert r.candidates[:2] == ("sto", "fedex")
    assert (r.format, r.valid) == ("sto_15", None)


def test_forwarder_s10_numbers_keep_their_check_digit_verdict():
    r = parse("RB672036540SG")  # Cainiao (github:Eugene239/microSystem CainiaoTest.kt)
    assert r.candidates == ("cainiao", "singpost", "4px", "chinapost")
    assert (r.format, r.valid, r.country) == ("s10", True, "SG")


def test_the_table_only_reorders_carriers_the_number_plausibly_belongs_to():
    r = parse("RB672036541SG")  # the same number with a wrong check digit
    assert r.valid is False
    assert r.candidates[0] == "singpost"
    assert r.plausible == ()
    # a 12-digit number that fits no row keeps the format order
    assert parse("773165231258").candidates[:4] == ("sf", "zto", "yto", "best")


@pytest.mark.parametrize(
    ("number", "carrier"),
    [("1071180100692707", "dhlecommerce"), ("316083634065", "deutschepost")],
)
def test_formats_read_from_real_numbers_list_their_carrier(number, carrier):
    # DHL eCommerce 16 digits (github:wantable/omniship), DHL Paket 12 digits (kuaidi100 dhlde)
    assert carrier in parse(number).candidates


def test_development_numbers_are_placed_at_least_as_well_as_measured(corpus):
    dev = corpus[corpus["split"] == "dev"]
    parsed = [parse(n) for n in dev["number"]]
    want = [FAMILY.get(c, c) for c in dev["carrier"]]
    first = sum(FAMILY.get(p.carrier, p.carrier) == w for p, w in zip(parsed, want, strict=True))
    anywhere = sum(
        w in {FAMILY.get(c, c) for c in p.candidates} for p, w in zip(parsed, want, strict=True)
    )
    assert first / len(dev) >= 0.82
    assert anywhere / len(dev) >= 0.94
