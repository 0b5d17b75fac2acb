"""How well the toolkit reads real carrier texts: accuracy on the real-scan corpus.

    python bench/reading_real.py            # the tables
    python bench/reading_real.py --misses   # also list the development part's misses

Prints accuracy overall and on the held-out part (sources not used while writing the
rules, see toolkit.tracking.corpus), precision and recall per milestone, and accuracy per
language and per carrier. Rows marked ``known_miss`` count as misses. The misses listed
are the development and spent parts' only: the held-out part stays unseen.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/tables.py

from tables import table

from toolkit.model import CARRIERS
from toolkit.tracking.corpus import load_corpus
from toolkit.tracking.phrases import PhraseMatcher, load_parts, load_phrases, load_precedence

TARGETS = {"overall": 0.97, "held_out": 0.95}
PRECISION_TARGETS = ("delivered", "customs_hold", "customs_cleared", "handed_over")
PRECISION_TARGET = 0.97
# The carriers issue #12 names for the China-inbound lane: the toolkit's own carriers and the
# cross-border and origin-post codes beside them. Their held-out figure is the one an analyst
# on that lane meets most; the rest of the corpus is last-mile carriers around the world.
LANE = frozenset(CARRIERS) | {"cainiao", "4px", "yanwen", "dhlecommerce", "dhlparcel", "postnl"}


def read_corpus(df: pd.DataFrame) -> pd.DataFrame:
    """The corpus with the reader's milestone and whether it is right."""
    matcher = PhraseMatcher(load_phrases(), load_parts(), load_precedence())
    start = time.perf_counter()
    got = matcher.classify_many(df["text"], df["carrier"])
    elapsed = time.perf_counter() - start
    out = df.assign(got=got.to_numpy())
    out["right"] = out["got"] == out["expected"]
    out.attrs["seconds"] = elapsed
    return out


def _share(mask: pd.Series) -> str:
    return f"{mask.mean():.1%}" if len(mask) else "-"


def report(out: pd.DataFrame) -> tuple[str, bool]:
    dev, held = out[out["split"] == "dev"], out[out["split"] == "held_out"]
    spent = out[out["split"] == "spent"]
    on_lane = held["carrier"].isin(LANE)
    lane, other = held[on_lane], held[~on_lane]
    parts = [
        f"Real-scan corpus: {len(out)} texts, {out['carrier'].nunique()} carriers, "
        f"{out['lang'].nunique()} languages, {out['unit'].nunique()} source units; "
        f"held out: {len(held)} texts from {held['unit'].nunique()} units. "
        f"Read in {out.attrs['seconds'] * 1000:.0f} ms.",
        "",
        table(
            [
                ("all", len(out), _share(out["right"]), f"≥ {TARGETS['overall']:.0%}"),
                ("development", len(dev), _share(dev["right"]), ""),
                ("spent (held out, then looked at)", len(spent), _share(spent["right"]), ""),
                ("held out", len(held), _share(held["right"]), f"≥ {TARGETS['held_out']:.0%}"),
                ("held out, China-lane carriers", len(lane), _share(lane["right"]), ""),
                ("held out, other carriers", len(other), _share(other["right"]), ""),
                ("marked known miss", int((out["known_miss"] != "").sum()), "", ""),
            ],
            ("part", "texts", "accuracy", "target"),
        ),
        "",
    ]
    ok = out["right"].mean() >= TARGETS["overall"] and (
        held.empty or held["right"].mean() >= TARGETS["held_out"]
    )
    rows = []
    for m in sorted(set(out["expected"]) | set(out["got"])):
        said = out["got"] == m
        truth = out["expected"] == m
        precision = (out["right"] & said).sum() / said.sum() if said.any() else float("nan")
        recall = (out["right"] & truth).sum() / truth.sum() if truth.any() else float("nan")
        target = f"≥ {PRECISION_TARGET:.0%}" if m in PRECISION_TARGETS else ""
        if m in PRECISION_TARGETS and said.any() and precision < PRECISION_TARGET:
            ok = False
        rows.append((m, int(truth.sum()), f"{precision:.1%}", f"{recall:.1%}", target))
    parts += [table(rows, ("milestone", "texts", "precision", "recall", "precision target")), ""]
    for key in ("lang", "carrier"):
        grouped = (
            out.groupby(key)["right"].agg(["size", "mean"]).sort_values("size", ascending=False)
        )
        held_by = held.groupby(key)["right"].mean()
        rows = [
            (k, int(r["size"]), f"{r['mean']:.1%}", f"{held_by[k]:.1%}" if k in held_by else "")
            for k, r in grouped.iterrows()
        ]
        parts += [table(rows, (key, "texts", "accuracy", "held out")), ""]
    return "\n".join(parts), bool(ok)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--misses", action="store_true", help="list the development and spent misses"
    )
    parser.add_argument("--lang", help="list misses of this language only (with --misses)")
    parser.add_argument("--carrier", help="list misses of this carrier only (with --misses)")
    parser.add_argument("--corpus", help="another corpus file (default: the shipped one)")
    args = parser.parse_args(argv)
    out = read_corpus(load_corpus(args.corpus))
    text, ok = report(out)
    print(text)
    if args.misses:
        dev = out[out["split"].isin(["dev", "spent"]) & ~out["right"]]
        if args.lang:
            dev = dev[dev["lang"] == args.lang]
        if args.carrier:
            dev = dev[dev["carrier"] == args.carrier]
        for r in dev.itertuples():
            print(f"{r.expected:>22} <- {r.got:<22} [{r.carrier}] {r.text}")
    print("targets met" if ok else "targets NOT met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
