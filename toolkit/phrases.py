"""Event-text classification: the phrase table, its loader, and the matcher.

Every carrier scan text (Chinese, English or mixed) is mapped to one milestone
by the rules in ``toolkit/data/phrases.csv``. Each rule is a ``substr`` (plain
text) or ``regex`` pattern with a milestone, a priority, and optionally the one
carrier whose texts it is limited to. When several rules match a text, the
highest priority wins; ties go to a carrier-specific rule, then to the longer
pattern, then to the earlier row.

Texts and ``substr`` patterns are compared after normalisation: Unicode NFKC
(full-width letters, digits and punctuation become half-width), case folding,
and runs of whitespace collapsed to one space. ``regex`` patterns are matched
case-insensitively against the normalised text, so write them with half-width
punctuation.

Priority bands used by the shipped table (higher wins):

====  ==========================================================
10    generic transit words (arrived, departed, 到达, 发往...)
20    accepted (揽收, picked up...)
25    information received (label created, 待揽收...)
30    departed origin country / arrived in destination country
35    generic delivery words (派送, 派件, 配送)
36    "waiting to be delivered" (等待派送...): still in transit
38    generic customs words (海关, customs)
40    customs clearance in progress
50    customs cleared / released
52    handed over to a domestic carrier (转国内, new number...)
55    customs hold (查验, 扣关, duties to pay...)
60    out for delivery (正在派送, with delivery courier...)
70    available for pickup (驿站, 快递柜, 代收, access point...)
75    exception (问题件, lost, damaged...)
80    delivered (已签收, 妥投, delivered...)
85    delivery failed (未妥投, 派送失败, 拒收, attempted...)
90    returning (退回, return to sender...)
95    returned (已退回, 退回妥投, returned to sender...)
====  ==========================================================

Rows above a band's number override a more general phrase of another band
(e.g. "delivered to destination airport" is an arrival, not a delivery).

Decisions worth knowing:

- A locker or station that *receives* the parcel ("快件已被【丰巢】代收",
  "已放入菜鸟驿站") is ``available_for_pickup``; any text that says the parcel
  was signed for ("已签收", "代签收", even at a locker) is ``delivered``.
- "拒收" alone is ``delivery_failed``; with a return ("拒收，退回") it is
  ``returning``. "已退回" and "退回妥投" are ``returned``.
- A generic ``in_transit`` result for a domestic carrier (see
  ``toolkit.model.DOMESTIC_CARRIERS``) is reported as ``domestic_in_transit``.
- A rule with a carrier applies only when that carrier is given (toolkit code
  or Kuaidi100 company code); rules without one apply to every text.
- Export-side scans (USPS ISC, export hub, export scan, dispatch from the
  outward office of exchange) are ``departed_origin``; mere arrival at an
  outward office is ``in_transit``. Departure from the inward office of
  exchange is ``handed_over`` (the destination post takes the parcel), and
  "Held at inward office of exchange" is ``customs_hold``.
- Texts that only make sense with a location ("Departed", "Arrived at Sort
  Facility") stay generic ``in_transit``; the text alone cannot tell which
  country the facility is in.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.errors import FileFormatError, InputError, SchemaError
from toolkit.model import CARRIERS, DOMESTIC_CARRIERS, MILESTONES, Milestone

PHRASE_COLUMNS: tuple[str, ...] = (
    "pattern",
    "kind",
    "milestone",
    "priority",
    "carrier",
    "lang",
    "example",
)
KINDS: tuple[str, ...] = ("substr", "regex")
UNKNOWN = Milestone.UNKNOWN.value

_WHITESPACE = re.compile(r"\s+")
_KUAIDI100_TO_CODE = {c.kuaidi100: code for code, c in CARRIERS.items() if c.kuaidi100}


def normalize_text(text: str) -> str:
    """Text in the form phrases are matched against: NFKC, case-folded, single-spaced."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _WHITESPACE.sub(" ", folded).strip()


def carrier_key(carrier: object) -> str | None:
    """The toolkit carrier code for a code or Kuaidi100 company code; None when not a string."""
    if not isinstance(carrier, str):
        return None
    key = carrier.strip().casefold()
    if not key:
        return None
    return key if key in CARRIERS else _KUAIDI100_TO_CODE.get(key, key)


@dataclass(frozen=True)
class Phrase:
    """One rule of the phrase table."""

    pattern: str
    kind: str
    milestone: str
    priority: int
    carrier: str | None = None
    lang: str = ""
    example: str = ""
    row: int = 0  # line number in the table file, for messages


def _compile(pattern: str, kind: str, where: str | None) -> Callable[[str], bool]:
    """The match test for one rule, or a SchemaError naming the row."""
    if kind == "substr":
        needle = normalize_text(pattern)
        if not needle:
            raise SchemaError(
                "the pattern is blank after normalisation",
                where,
                "Give the phrase some visible text",
                columns=["pattern"],
            )
        return lambda text: needle in text
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise SchemaError(
            f"the regex {pattern!r} does not compile ({exc})",
            where,
            "Fix the regular expression, or use kind 'substr' for plain text",
            columns=["pattern"],
        ) from None
    return lambda text: compiled.search(text) is not None


def _parse_row(raw: dict[str, str], where: str, line: int) -> Phrase:
    """One validated Phrase from a CSV row."""
    values = {k: raw.get(k, "").strip() for k in PHRASE_COLUMNS}
    if not values["pattern"]:
        raise SchemaError(
            "the pattern is empty",
            where,
            "Fill in the phrase or delete the row",
            columns=["pattern"],
        )
    kind = values["kind"].casefold()
    if kind not in KINDS:
        raise SchemaError(
            f"kind {values['kind']!r} is not one of {', '.join(KINDS)}",
            where,
            "Use 'substr' for plain text or 'regex' for a regular expression",
            columns=["kind"],
            rows=[line],
        )
    milestone = values["milestone"]
    if milestone not in MILESTONES:
        raise SchemaError(
            f"milestone {milestone!r} is not a known milestone",
            where,
            f"Allowed values: {', '.join(MILESTONES)}",
            columns=["milestone"],
            rows=[line],
        )
    try:
        priority = int(values["priority"])
    except ValueError:
        raise SchemaError(
            f"priority {values['priority']!r} is not a whole number",
            where,
            "Give an integer; higher wins when several phrases match",
            columns=["priority"],
            rows=[line],
        ) from None
    carrier = values["carrier"].casefold() or None
    if carrier is not None and carrier not in CARRIERS:
        raise SchemaError(
            f"carrier {values['carrier']!r} is not a known carrier code",
            where,
            f"Leave it blank for every carrier, or use one of: {', '.join(sorted(CARRIERS))}",
            columns=["carrier"],
            rows=[line],
        )
    _compile(values["pattern"], kind, where)  # reject a bad pattern here, naming the line
    return Phrase(
        pattern=values["pattern"],
        kind=kind,
        milestone=milestone,
        priority=priority,
        carrier=carrier,
        lang=values["lang"],
        example=values["example"],
        row=line,
    )


def default_phrases_path() -> Path:
    """Path of the phrase table shipped with the toolkit."""
    return Path(str(resources.files("toolkit").joinpath("data", "phrases.csv")))


def _read_table(path: str | Path | None) -> tuple[str, str]:
    """The table's text and the name to use in messages."""
    if path is None:
        resource = resources.files("toolkit").joinpath("data", "phrases.csv")
        return resource.read_text(encoding="utf-8-sig"), "phrases.csv"
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8-sig"), path.name
    except FileNotFoundError:
        raise FileFormatError(
            "the phrase table does not exist", str(path), "Check the path"
        ) from None
    except UnicodeDecodeError as exc:
        raise FileFormatError(
            f"the phrase table is not UTF-8 text ({exc.reason} at byte {exc.start})",
            str(path),
            "Save it as UTF-8 CSV",
        ) from None


def load_phrases(path: str | Path | None = None) -> tuple[Phrase, ...]:
    """Read and validate a phrase table (the shipped one when path is None)."""
    text, name = _read_table(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in PHRASE_COLUMNS if c not in header]
    if missing:
        raise SchemaError(
            f"the phrase table lacks the column(s) {', '.join(repr(c) for c in missing)}",
            name,
            f"The header must be: {','.join(PHRASE_COLUMNS)}",
            columns=missing,
        )
    phrases: list[Phrase] = []
    seen: dict[tuple[str, str, str | None], Phrase] = {}
    end = reader.line_num  # the header's last line
    for fields in reader:
        line, end = end + 1, reader.line_num  # a quoted field may span lines: name the first
        if not any(f.strip() for f in fields):
            continue  # a blank line carries no rule
        where = f"{name}, line {line}"
        if len(fields) > len(header):
            raise SchemaError(
                f"the row has {len(fields)} fields, the header {len(header)}",
                where,
                "Put double quotes around a pattern or example that contains a comma",
                rows=[line],
            )
        raw = dict(zip(header, fields, strict=False))
        phrase = _parse_row(raw, where, line)
        key = (phrase.kind, normalize_text(phrase.pattern), phrase.carrier)
        earlier = seen.get(key)
        if earlier is not None and earlier.milestone != phrase.milestone:
            raise SchemaError(
                f"pattern {phrase.pattern!r} is also on line {earlier.row} with milestone "
                f"{earlier.milestone!r}, here with {phrase.milestone!r}",
                where,
                "Keep one of the two rows",
                columns=["pattern", "milestone"],
                rows=[earlier.row, line],
            )
        seen[key] = phrase
        phrases.append(phrase)
    if not phrases:
        raise FileFormatError("the phrase table has no rules", name, "Add at least one row")
    return tuple(phrases)


_Rule = tuple[Phrase, Callable[[str], bool]]


def _rank_key(phrase: Phrase) -> tuple[int, int, int, int]:
    return (-phrase.priority, 0 if phrase.carrier else 1, -len(phrase.pattern), phrase.row)


class PhraseMatcher:
    """Classifies event texts with a phrase table; results are cached per text and carrier."""

    def __init__(self, phrases: Iterable[Phrase], cache_size: int = 1 << 16):
        self.phrases: tuple[Phrase, ...] = tuple(sorted(phrases, key=_rank_key))
        rules = [
            (p, _compile(p.pattern, p.kind, f"phrase on line {p.row}" if p.row else None))
            for p in self.phrases
        ]
        self._general = tuple(r for r in rules if r[0].carrier is None)
        self._by_carrier: dict[str, tuple[_Rule, ...]] = {}
        for code in {p.carrier for p in self.phrases if p.carrier}:
            self._by_carrier[code] = tuple(
                r for r in rules if r[0].carrier is None or r[0].carrier == code
            )
        self._match_str = lru_cache(maxsize=cache_size)(self._match_uncached)

    def __repr__(self) -> str:
        return f"PhraseMatcher({len(self.phrases)} phrases)"

    def _match_uncached(self, text: str, carrier: str | None) -> Phrase | None:
        normalized = normalize_text(text)
        if not normalized:
            return None
        rules = self._by_carrier.get(carrier, self._general) if carrier else self._general
        for phrase, test in rules:  # ordered best first: the first hit wins
            if test(normalized):
                return phrase
        return None

    def match(self, description: object, carrier: object = None) -> Phrase | None:
        """The rule that decides this text's milestone, or None when no rule matches."""
        if not isinstance(description, str):
            return None
        return self._match_str(description, carrier_key(carrier))

    def classify(self, description: object, carrier: object = None) -> str:
        """Milestone for one event text; 'unknown' for unmatched, empty or non-text input."""
        if not isinstance(description, str):
            return UNKNOWN
        key = carrier_key(carrier)
        phrase = self._match_str(description, key)
        if phrase is None:
            return UNKNOWN
        if phrase.milestone == Milestone.IN_TRANSIT and key in DOMESTIC_CARRIERS:
            return Milestone.DOMESTIC_IN_TRANSIT.value
        return phrase.milestone

    def classify_many(
        self,
        descriptions: pd.Series | Sequence[object],
        carriers: pd.Series | Sequence[object] | None = None,
    ) -> pd.Series:
        """Milestones for many texts, carriers aligned by position; each distinct pair is classified once."""
        desc = descriptions if isinstance(descriptions, pd.Series) else pd.Series(descriptions)
        index = desc.index
        values = desc.to_numpy(dtype=object)
        if carriers is not None:
            carr = carriers if isinstance(carriers, pd.Series) else pd.Series(carriers)
            if len(carr) != len(values):
                raise InputError(
                    f"got {len(values)} descriptions but {len(carr)} carriers",
                    "classify_many",
                    "Pass one carrier per description (the same length), or none",
                )
            carrier_values = carr.to_numpy(dtype=object)
        else:
            carrier_values = None
        out = self._classify_array(values, carrier_values)
        return pd.Series(out, index=index, dtype="string", name="milestone")

    def _classify_array(self, values: np.ndarray, carriers: np.ndarray | None) -> np.ndarray:
        if len(values) == 0:
            return np.array([], dtype=object)
        try:
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
            if carriers is None:
                labels = np.array([self.classify(u) for u in uniques] + [UNKNOWN], dtype=object)
                return labels[codes]  # code -1 (missing text) picks the trailing 'unknown'
            ccodes, cuniques = pd.factorize(carriers, use_na_sentinel=True)
        except TypeError:  # unhashable cells: classify one by one
            cs = carriers if carriers is not None else [None] * len(values)
            return np.array([self.classify(v, c) for v, c in zip(values, cs, strict=True)])
        width = len(cuniques) + 1
        pair = codes.astype(np.int64) * width + (ccodes + 1)
        pair_codes, pair_uniques = pd.factorize(pair)
        labels = np.empty(len(pair_uniques), dtype=object)
        for i, p in enumerate(pair_uniques):
            d, c = divmod(int(p), width)
            text = uniques[d] if d >= 0 else None
            labels[i] = self.classify(text, cuniques[c - 1] if c > 0 else None)
        return labels[pair_codes]


@cache
def default_matcher() -> PhraseMatcher:
    """The matcher over the shipped phrase table (loaded once)."""
    return PhraseMatcher(load_phrases())


def classify(description: object, carrier: str | None = None) -> str:
    """Milestone for one event text, Chinese or English; 'unknown' when nothing matches."""
    return default_matcher().classify(description, carrier)


def classify_many(
    descriptions: pd.Series | Sequence[object],
    carriers: pd.Series | Sequence[object] | None = None,
) -> pd.Series:
    """Milestones for a column of event texts (and optional carriers), as a string Series."""
    return default_matcher().classify_many(descriptions, carriers)


def explain(description: object, carrier: str | None = None) -> Phrase | None:
    """The phrase-table rule that decides a text's milestone, or None."""
    return default_matcher().match(description, carrier)
