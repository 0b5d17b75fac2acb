"""Everyday tracking wording of each language the tables know, read as an analyst reads it.

``tests/data/everyday_wording.tsv`` holds ordinary phrasings of each milestone, written by the
toolkit's maintainers from the languages themselves (not carrier texts: those are the
real-scan corpus), with the traps next to each milestone: "not delivered", "to be delivered
tomorrow", "returned to the depot", a parcel delivered *to* a sorting centre. They keep the
tables' broad words from being narrowed by a later row written for one carrier's phrasing.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from toolkit.model import MILESTONES
from toolkit.tracking.phrases import classify_many, explain, load_phrases

WORDING = Path(__file__).parent / "data" / "everyday_wording.tsv"


def _rows() -> list[tuple[str, str, str, str | None]]:
    with WORDING.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        assert reader.fieldnames == ["lang", "milestone", "text", "carrier"]
        return [(r["lang"], r["milestone"], r["text"], r["carrier"] or None) for r in reader]


ROWS = _rows()


LANGS = sorted({lang for lang, *_ in ROWS})


@pytest.mark.parametrize("lang", LANGS)
def test_everyday_wording_reads_as_an_analyst_reads_it(lang):
    rows = [r for r in ROWS if r[0] == lang]
    got = classify_many([r[2] for r in rows], [r[3] for r in rows])
    wrong = [
        f"  {text!r} read as {g}, not {milestone}: {explain(text, carrier)}"
        for (_, milestone, text, carrier), g in zip(rows, got, strict=True)
        if g != milestone
    ]
    assert not wrong, f"{len(wrong)} of {len(rows)} {lang} phrasings misread:\n" + "\n".join(wrong)


def test_the_list_covers_every_language_table_and_every_milestone():
    rows = ROWS
    langs = {lang for lang, *_ in rows}
    table_langs = {p.lang for p in load_phrases() if p.lang}
    # the small tables of a few posts each, and rows written for several languages at once
    assert table_langs - langs <= {"bg", "el", "fi", "hr", "no", "sv", "mixed"}
    for lang in ("en", "zh", "de", "fr", "es", "ru", "ja", "ko"):
        assert len([r for r in rows if r[0] == lang]) >= 100, lang
    written = {m for _, m, *_ in rows}
    assert set(MILESTONES) - {"domestic_in_transit", "unknown"} <= written
    assert "domestic_in_transit" not in written, "the reader derives it; write in_transit"
    assert len({(r[2], r[3]) for r in rows}) == len(rows), "a phrasing is listed twice"
