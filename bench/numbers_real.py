"""How well the toolkit places real tracking numbers: the real-number corpus.

    python bench/numbers_real.py

For each number in toolkit/tracking/data/real_numbers.tsv (real numbers with the carrier their
public source names), whether `toolkit.tracking.numbers.parse` puts that carrier first among its
candidates, anywhere among them, and whether numbers the source calls valid pass the
check digit (where the format has one). China Post and EMS count as one family (both are
China Post's numbers). Placement counts the numbers the source calls real (or does not
say); a number its source calls invalid has no right carrier to place first, and counts
instead as rejected when parse() does not accept it as a valid number of that carrier.
Prints the overall figures, the held-out part (sources chosen by hash as for the scans; the
spent units apart), the pass rate on the public specification's test numbers, and a table
per carrier.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from toolkit.tracking import numbers
from toolkit.tracking.corpus import load_numbers

FAMILY = {"ems": "chinapost"}
TARGETS = {"first": 0.90, "any": 0.98}


def _family(code: str | None) -> str | None:
    return FAMILY.get(code, code) if code else code


def read_numbers(df: pd.DataFrame) -> pd.DataFrame:
    """The corpus with the parser's answer per number."""
    parsed = [numbers.parse(n) for n in df["number"]]
    want = df["carrier"].map(_family)
    firsts = [_family(p.candidates[0]) if p.candidates else None for p in parsed]
    anys = [{_family(c) for c in p.candidates} for p in parsed]
    return df.assign(
        first=[f == w for f, w in zip(firsts, want, strict=True)],
        any=[w in a for w, a in zip(want, anys, strict=True)],
        got=[f or "" for f in firsts],
        check=[p.valid for p in parsed],
    )


def spec_pass_rate() -> tuple[int, int]:
    """How many of the specification's test numbers pass (tests/test_numbers_spec.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from test_numbers_spec import passes, spec_rows

    rows = spec_rows()
    return sum(passes(r) for r in rows), len(rows)


def main() -> int:
    everything = read_numbers(load_numbers())
    invalid = everything[everything["valid"] == "no"]
    out = everything[everything["valid"] != "no"]
    held = out[out["split"] == "held_out"]
    valid = out[out["valid"] == "yes"]
    print(
        f"Real-number corpus: {len(everything)} numbers, {everything['carrier'].nunique()} "
        f"carriers, {everything['unit'].nunique()} source units; placed below: the "
        f"{len(out)} the source calls real or does not judge (held out: {len(held)}).\n"
    )
    print("| part | numbers | carrier first | carrier anywhere |")
    print("|---|---|---|---|")
    dev = out[out["split"] == "dev"]
    spent = out[out["split"] == "spent"]
    for name, part in (
        ("all", out),
        ("dev (rules written from)", dev),
        ("spent (held out, then looked at)", spent),
        ("held out", held),
    ):
        if len(part):
            print(
                f"| {name} | {len(part)} | {part['first'].mean():.1%} | {part['any'].mean():.1%} |"
            )
    print(f"| target | | {TARGETS['first']:.0%} | {TARGETS['any']:.0%} |\n")
    spec_ok, spec_n = spec_pass_rate()
    print(
        f"Specification test numbers (jkeen/tracking_number_data: s10, ups, fedex, usps, dhl, "
        f"yunexpress): {spec_ok}/{spec_n} pass = {spec_ok / spec_n:.1%} (target 97%)\n"
    )
    accepted = invalid[invalid["first"] & invalid["check"].eq(True)]
    print(
        f"numbers the source calls invalid: {len(invalid)}; parse() rejects them or does not "
        f"place them on that carrier as valid: {len(invalid) - len(accepted)}\n"
    )
    failed_check = valid[valid["check"].eq(False)]
    print(
        f"numbers the source calls valid that parse() does not accept (no format matches, "
        f"or a check digit fails): {len(failed_check)}\n"
    )
    print("| carrier | numbers | first | anywhere | most often placed first instead |")
    print("|---|---|---|---|---|")
    for carrier, part in out.groupby("carrier"):
        wrong = part.loc[~part["first"], "got"].replace("", "(none)")
        instead = ", ".join(f"{k} {v}" for k, v in wrong.value_counts().head(3).items())
        print(
            f"| {carrier} | {len(part)} | {part['first'].mean():.0%} | "
            f"{part['any'].mean():.0%} | {instead} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
