"""The real-scan corpus: scan texts written by carriers, each with its public source.

``toolkit/tracking/data/real_scans.tsv`` holds texts copied verbatim from public material
(carrier SDK test fixtures, recorded API responses, carriers' status-code tables, API
documentation examples, issue threads quoting responses), one per row, labelled with
the milestone an analyst would read in it. It is the evidence for the reader in
:mod:`toolkit.tracking.phrases` and the wording the demo world speaks.

Columns: ``text``, ``lang``, ``carrier``, ``milestone``, ``source`` (``github:OWNER/
REPO/PATH`` or a page address), ``note`` (why a label is debatable), ``provider`` and
``raw_status`` (an aggregator's or carrier's status code given beside the text), and
``known_miss`` (a reason, where the reader is known to get the row wrong).

**Held-out part.** The rows are split by where they came from: a source's *unit* is its
repository (``github:OWNER/REPO``) or its web host, together with the carrier (one
repository may hold several carriers' own material). A unit is held out when the SHA-1
of its name is divisible by 5: about a fifth of the units, fixed for each unit however
the corpus grows. The rules were written looking only at the other part, so accuracy
on the held-out part says how the reader does on sources it has not seen.

**Spent units.** A held-out unit whose misses were once looked at to improve the reader
is *spent*: it is listed, with the day, in ``spent_units.tsv`` and from then on forms its
own part (``split == 'spent'``). Its rows are read like development rows, but it no longer
counts as unseen, and the demo does not speak its texts. On 2026-12-04 half of the
held-out units were spent (those whose SHA-1 is also divisible by 10, a choice made
before looking at them); the other half stayed unseen. The list serves both corpora: a
unit of the numbers corpus (``real_numbers.tsv``, split the same way) is spent in the
same way, e.g. the Japan Post fixture numbers on 2026-12-05, when Japan Post's check digit
was ranked ahead of the 12-digit formats that have none.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd

from toolkit.errors import MissingColumnsError, SchemaError
from toolkit.model import DOMESTIC_CARRIERS, MILESTONES, Milestone

CORPUS_COLUMNS: tuple[str, ...] = (
    "text",
    "lang",
    "carrier",
    "milestone",
    "source",
    "note",
    "provider",
    "raw_status",
    "known_miss",
)
HELD_OUT_EVERY = 5  # one unit in five, by hash


def default_corpus_path() -> Path:
    """Path of the corpus shipped with the toolkit."""
    return Path(str(resources.files("toolkit.tracking").joinpath("data", "real_scans.tsv")))


def source_unit(source: str, carrier: str) -> str:
    """The unit a row belongs to for the held-out split: its repository or web host, and
    its carrier."""
    source = source.strip()
    url = urlparse(source)
    if url.netloc.casefold() == "github.com":
        source = "github:" + url.path.strip("/")
    if source.startswith("github:"):
        where = "github:" + "/".join(source[len("github:") :].split("/")[:2]).casefold()
    else:
        where = url.netloc.casefold().removeprefix("www.") or source.casefold()
    return f"{where} {carrier}"


def held_out(unit: str) -> bool:
    """True for the units of the held-out part (one in five, by a hash of the name)."""
    return int(hashlib.sha1(unit.encode("utf-8")).hexdigest(), 16) % HELD_OUT_EVERY == 0


def default_spent_path() -> Path:
    """Path of the list of spent held-out units shipped with the toolkit."""
    return Path(str(resources.files("toolkit.tracking").joinpath("data", "spent_units.tsv")))


@cache
def spent_units() -> frozenset[str]:
    """The held-out units whose rows were looked at (see the module docstring)."""
    df = _read_table(default_spent_path(), ("unit", "spent_on"), "spent units")
    return frozenset(df["unit"])


def expected_milestone(milestone: str, carrier: str) -> str:
    """The label as the reader reports it: generic transit of a domestic carrier is domestic."""
    if milestone == Milestone.IN_TRANSIT and carrier in DOMESTIC_CARRIERS:
        return Milestone.DOMESTIC_IN_TRANSIT.value
    return milestone


def _read_table(path: Path, columns: tuple[str, ...], what: str) -> pd.DataFrame:
    """A tab-separated corpus file as text columns, or an error naming what is missing."""
    df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=3, encoding="utf-8")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise MissingColumnsError(missing, what, str(path))
    return df


def _reject(
    df: pd.DataFrame,
    bad: pd.Series,
    column: str,
    path: Path,
    what: Callable[[str], str],
    hint: str,
) -> None:
    """A SchemaError naming the first bad row's file line (header is line 1), if any."""
    if not bad.any():
        return
    lines = (df.index[bad] + 2).tolist()
    raise SchemaError(
        what(df.loc[bad, column].iloc[0]),
        f"{path.name}, line {lines[0]}",
        hint,
        columns=[column],
        rows=lines,
    )


def _split(df: pd.DataFrame, spent: frozenset[str] = frozenset()) -> pd.DataFrame:
    """Each row's source unit and part ('dev', 'held_out' or, for a held-out unit listed
    in ``spent``, 'spent')."""
    df["unit"] = [source_unit(s, c) for s, c in zip(df["source"], df["carrier"], strict=True)]
    df["split"] = [
        ("spent" if u in spent else "held_out") if held_out(u) else "dev" for u in df["unit"]
    ]
    return df


def load_corpus(path: str | Path | None = None) -> pd.DataFrame:
    """The corpus with its ``unit``, ``split`` ('dev', 'held_out' or 'spent') and
    ``expected`` columns."""
    path = Path(path) if path is not None else default_corpus_path()
    df = _read_table(path, CORPUS_COLUMNS, "corpus")
    _reject(
        df,
        ~df["milestone"].isin(MILESTONES),
        "milestone",
        path,
        lambda v: f"milestone {v!r} is not a known milestone",
        f"Allowed values: {', '.join(MILESTONES)}",
    )
    for column in ("text", "source", "carrier"):
        _reject(
            df,
            df[column].str.strip() == "",
            column,
            path,
            lambda _v, c=column: f"column {c!r} is blank",
            "Every row needs its text, its carrier and its public source",
        )
    df = _split(df, spent_units())
    df["expected"] = [
        expected_milestone(m, c) for m, c in zip(df["milestone"], df["carrier"], strict=True)
    ]
    return df


NUMBER_COLUMNS: tuple[str, ...] = ("number", "carrier", "valid", "source", "note")


def default_numbers_path() -> Path:
    """Path of the real tracking-number corpus shipped with the toolkit."""
    return Path(str(resources.files("toolkit.tracking").joinpath("data", "real_numbers.tsv")))


def load_numbers(path: str | Path | None = None) -> pd.DataFrame:
    """Real tracking numbers, each with the carrier its source names and the source
    (``toolkit/tracking/data/real_numbers.tsv``), split into parts the same way as the scans."""
    path = Path(path) if path is not None else default_numbers_path()
    df = _read_table(path, NUMBER_COLUMNS, "numbers corpus")
    _reject(
        df,
        ~df["valid"].isin(["yes", "no", ""]),
        "valid",
        path,
        lambda v: f"valid {v!r} is not yes, no or empty",
        "Write yes where the source treats the number as real, no where it says it is invalid",
    )
    return _split(df, spent_units())


@cache
def corpus() -> pd.DataFrame:
    """The shipped corpus (loaded once; do not modify the frame in place)."""
    return load_corpus()
