"""Diagnosis quality on the demo set: accuracy and confusion matrix against true_category.

    python bench/diagnosis_quality.py                      # the committed demo set
    python bench/diagnosis_quality.py --wording held_out   # a world speaking unseen texts

Uses the committed demo set (data/demo, the scans an analyst can see). When it has not
been generated yet, the same set is made in memory (2,000 parcels, seed 7) and normalised.
With --wording, the set is made in memory with its real wording drawn from that part of
the real-scan corpus (held_out: texts the reading rules were not written from; none: the
phrase book only); only figures are printed, never texts.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# the shipped tables alone: a team's own taught wording (var/team_wording.csv) is not measured
os.environ["TOOLKIT_TEAM_WORDING"] = ""
WORDING = sys.argv[sys.argv.index("--wording") + 1] if "--wording" in sys.argv else None
if WORDING:  # before the demo's phrase book is built on import
    os.environ["TOOLKIT_DEMO_WORDING"] = WORDING

from toolkit.diagnosis.diagnose import diagnose_all  # noqa: E402
from toolkit.model import CATEGORIES  # noqa: E402
from toolkit.world import demo  # noqa: E402

TARGET_OVERALL, TARGET_EACH = 0.90, 0.80


def demo_set() -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """(parcels, visible events, where they came from)."""
    try:
        if WORDING:
            raise OSError("a world with other wording is made in memory")
        parcels, events = demo.load_demo()
        return parcels, events, "data/demo (committed set)"
    except (ImportError, OSError, demo.ToolkitError):
        from toolkit.tracking.normalize import normalize

        parcels, raw = demo.generate(2000, 7)
        parcels = parcels.replace("", None)
        parcels["shipped_at"] = pd.to_datetime(parcels["shipped_at"], utc=True, format="ISO8601")
        events = normalize(demo.observable_events(parcels, raw))
        wording = WORDING or "dev"
        return parcels, events, f"generated in memory (2,000 parcels, seed 7, {wording} wording)"


def main() -> int:
    parcels, events, where = demo_set()
    now = pd.Timestamp(parcels["as_of"].iloc[0])
    now = now.tz_localize("UTC") if now.tzinfo is None else now.tz_convert("UTC")
    truth = parcels.set_index("parcel_id")["true_category"].astype(str)
    table = diagnose_all(events, parcels, now).set_index("parcel_id").reindex(truth.index)
    got = table["category"].astype(str)
    cats = list(CATEGORIES)
    matrix = pd.crosstab(
        pd.Categorical(truth, cats, ordered=True),
        pd.Categorical(got, cats, ordered=True),
        rownames=["true"],
        colnames=["diagnosed"],
        dropna=False,
    )
    ok = got == truth
    per = ok.groupby(truth).agg(["mean", "size"]).reindex(cats)
    print(f"demo set: {where}; {len(truth):,} parcels, {len(events):,} visible events, now={now}")
    print(f"overall accuracy: {ok.mean():.1%} (target {TARGET_OVERALL:.0%})\n")
    print("per category (recall):")
    for cat, row in per.iterrows():
        flag = "" if row["mean"] >= TARGET_EACH else "  below target"
        print(f"  {cat:<24} {row['mean']:6.1%}  of {int(row['size']):>4}{flag}")
    short = {c: "".join(w[0] for w in c.split("_")) for c in cats}
    print("\nconfusion matrix (rows: true, columns: diagnosed):")
    print("  " + ", ".join(f"{v} = {k}" for k, v in short.items()))
    print(matrix.rename(index=short, columns=short).to_string())
    # parcels past the handover diagnosis's upper bound (arrived, no domestic scan, silent past
    # the lane's loss limit): the set may hold none, and then the figures above do not test it
    bound = (table["category"].astype(str) == "silent_too_long") & table["stage"].isin(
        ["arrived", "released"]
    )
    print(
        f"\nsuspected losses after arrival (past the handover upper bound): {int(bound.sum())}"
        + (
            " (true: " + ", ".join(f"{k} {v}" for k, v in truth[bound].value_counts().items()) + ")"
            if bound.any()
            else ""
        )
    )
    good = ok.mean() >= TARGET_OVERALL and (per["mean"] >= TARGET_EACH).all()
    return 0 if good else 1


if __name__ == "__main__":
    raise SystemExit(main())
