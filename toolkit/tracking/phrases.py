"""Reading carrier scan texts: event words, meaning parts, one precedence table.

A scan text (Chinese, English, or an origin post's own language) is read in three steps,
each driven by a table under ``toolkit/tracking/data/``:

1. **Event words** (``phrases.csv``): what the text says happened, each word or pattern
   with a milestone and a priority. Every word found is a candidate, best first
   (highest priority; ties go to a carrier-specific rule, then the longer pattern, then
   the earlier row).
2. **Meaning parts** (``parts.csv``): the words that change what an event means:
   ``direction`` (import/export), ``side`` (origin/destination country), ``motion``
   (arrive/depart), ``phase`` (announced, started, completed, failed, future, conditional),
   ``customs`` (inspection, hold, duty, documents, release), ``office`` (office of
   exchange, delivery office, local carrier, airline, a sorting centre or depot) and
   ``negation`` (not yet, 未).
3. **Precedence** (``precedence.csv``, read top to bottom, first match wins): a row
   names the event milestone(s) it applies to and the parts that must (or must not) be
   present, and says what the text then means: another milestone, or ``next`` (this
   event word does not hold here, e.g. 妥投 in "预计妥投" or "final delivery office";
   the next candidate with another milestone is tried). With no matching row the event
   word's own milestone stands. This table is the one place where precedence between
   parts is written down.

``explain(text)`` returns the whole :class:`Reading`: the event word that decided, the
parts found, the precedence row applied and the candidates set aside, so an analyst can
see why a text got its milestone.

Texts and ``substr`` patterns are compared after normalisation: Unicode NFKC (full-width
letters, digits and punctuation become half-width), case folding, runs of whitespace
collapsed to one space, and traditional Chinese characters folded to their simplified forms
(patterns too, so 投遞成功 meets a rule written 投递成功); underscores count as spaces
("NOT_HOME" reads as "not home"), and so do the joints of a status code written as one
camel-cased word ("WithDeliveryCourier" reads as "with delivery courier").
``regex`` patterns are matched case-insensitively against the
normalised text, so write them with half-width punctuation. ``{china_carrier}`` in a
``regex`` pattern stands for the names of the carriers that take a parcel over inside
China (``toolkit.model.china_leg_names``: 顺丰, 中通, 邮政, EMS...), so no table repeats them.

**Provider codes.** 17TRACK sub-statuses, AfterShip subtags and Kuaidi100 states are one
opinion each (``status_codes.csv``). :func:`reconcile` weighs that opinion against the
text: a text read from specific words stands, even against a contradicting code (a
"cleared" sub-status on "Import customs clearance started" is overruled); a text read
only from generic words (priority bands 10-12, 35 and 38 below: "arrived", "海关",
"派送") or not read at all takes the code's opinion. The events table keeps the code in
``raw_status``; ``explain(text, raw_status=..., provider=...)`` shows the weighing.

Priority bands of the shipped event-word table (higher wins):

====  ==========================================================
10    generic transit words (arrived, departed, 到达, 发往...)
12    generic transit words that say a little more (prepared for delivery...)
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
- Export-side scans (export customs in any phase, USPS ISC, export hub, dispatch from
  the outward office of exchange, handed to the airline) are ``departed_origin``; mere
  arrival at an outward office is ``in_transit``. Departure from the inward office of
  exchange and "received by the local delivery company" are ``handed_over`` (the
  destination's carrier takes the parcel).
- Texts that only make sense with a location ("Departed", "Arrived at Sort
  Facility") stay generic ``in_transit``; the text alone cannot tell which
  country the facility is in.
"""

from __future__ import annotations

import csv
import html
import io
import os
import re
import re._constants as _sre
import re._parser as _sre_parse
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit import paths
from toolkit.errors import FileFormatError, InputError, SchemaError
from toolkit.model import CARRIERS, DOMESTIC_CARRIERS, MILESTONES, Milestone, china_leg_pattern

PHRASE_COLUMNS: tuple[str, ...] = (
    "pattern",
    "kind",
    "milestone",
    "priority",
    "carrier",
    "lang",
    "example",
)
PART_COLUMNS: tuple[str, ...] = ("pattern", "kind", "part", "value", "lang", "example")
PRECEDENCE_COLUMNS: tuple[str, ...] = ("event", "when", "then", "why", "example")
STATUS_COLUMNS: tuple[str, ...] = ("provider", "code", "milestone", "meaning")
KINDS: tuple[str, ...] = ("substr", "regex")
UNKNOWN = Milestone.UNKNOWN.value
NEXT = "next"

# The meaning parts a text can carry, and the values each can take.
PARTS: dict[str, tuple[str, ...]] = {
    "direction": ("import", "export"),
    "side": ("origin", "destination"),
    "motion": ("arrive", "depart"),
    "phase": ("announced", "started", "completed", "failed", "future", "conditional"),
    "customs": ("inspection", "hold", "duty", "documents", "release"),
    "office": ("exchange", "delivery_office", "local_carrier", "airline", "facility"),
    "negation": ("not_yet",),
}
_KNOWN_PARTS = "Known parts: " + "; ".join(f"{p}: {', '.join(vs)}" for p, vs in PARTS.items())
# Event-word priority bands that carry only a generic meaning: a provider's specific
# status code outweighs a reading that rests on them.
GENERIC_BANDS: frozenset[int] = frozenset({10, 12, 35, 38})

_WHITESPACE = re.compile(r"\s+")
# "Custom's" / "Customs'" (UPS writes both) read as the word customs.
_CUSTOMS_APOSTROPHE = re.compile(r"\bcustom(?:'s|s')(?!\w)")
_KUAIDI100_TO_CODE = {c.kuaidi100: code for code, c in CARRIERS.items() if c.kuaidi100}


# The CJK ideograph blocks (extension A, unified, compatibility) whose traditional forms fold.
_HAN_BLOCKS = ((0x3400, 0x4DC0), (0x4E00, 0xA000), (0xF900, 0xFB00))


@cache
def t2s_converter():
    """OpenCC's traditional-to-simplified converter: the reader folds characters with it, the
    gloss (toolkit.tracking.gloss) whole phrases."""
    from opencc import OpenCC

    return OpenCC("t2s")


def _hant_hans_table() -> dict[int, str]:
    """Each traditional Chinese character and its simplified form, one character for one,
    as OpenCC's t2s converter gives it character by character."""
    chars = [chr(c) for start, end in _HAN_BLOCKS for c in range(start, end)]
    simple = t2s_converter().convert("\n".join(chars)).split("\n")
    return {ord(t): s for t, s in zip(chars, simple, strict=True) if s != t and len(s) == 1}


# Traditional characters read as their simplified forms, in texts and rule patterns alike:
# the rules are written in simplified Chinese, and Taiwan's, Hong Kong's and Macau's posts
# write traditional (投遞成功 reads as 投递成功). A Japanese text and the Japanese rules
# fold the same way, so they still meet. Folding one character at a time keeps a regex
# pattern a regex.
_HANT_HANS = _hant_hans_table()


def fold_chinese(text: str) -> str:
    """``text`` with traditional Chinese characters in their simplified forms."""
    return text.translate(_HANT_HANS)


# A status code written as one camel-cased word (``WithDeliveryCourier``) reads as its words,
# also where a system wrote a hub or an id in brackets around it (``【深圳】WithDeliveryCourier``);
# camel-cased names inside a sentence (FedEx, PaketShop, eCommerce) stay as written.
_CAMEL_CODE = re.compile(r"[A-Za-z]*[a-z][A-Z][a-z][A-Za-z]*")
_CAMEL_JOINT = re.compile(r"(?<=[a-z])(?=[A-Z][a-z])")
_BRACKETED = re.compile(r"【[^】]*】|\[[^\]]*\]|\([^)]*\)|〔[^〕]*〕|（[^）]*）")
_AROUND = " \t.。,，;；:：-"


def normalize_text(text: str) -> str:
    """Text in the form phrases are matched against: NFKC, case-folded, single-spaced,
    traditional Chinese characters in their simplified forms.

    Underscores read as spaces, so status names written as ``OUT_FOR_DELIVERY`` (DHL
    Parcel NL and other status-name APIs) meet the same word rules as "Out for delivery",
    and so does a code that is one camel-cased word (``OutForDelivery``, also with a hub or
    an id in brackets around it);
    "Custom's" and "Customs'" read as "customs".
    """
    text = unicodedata.normalize("NFKC", text)
    code = _BRACKETED.sub(" ", text).strip(_AROUND)
    if _CAMEL_CODE.fullmatch(code):
        text = text.replace(code, _CAMEL_JOINT.sub(" ", code), 1)
    folded = fold_chinese(text.casefold().replace("_", " "))
    folded = _CUSTOMS_APOSTROPHE.sub("customs", folded)
    return _WHITESPACE.sub(" ", folded).strip()


def carrier_key(carrier: object) -> str | None:
    """The toolkit carrier code for a code or Kuaidi100 company code; None when not a string."""
    if not isinstance(carrier, str):
        return None
    key = carrier.strip().casefold()
    if not key:
        return None
    return key if key in CARRIERS else _KUAIDI100_TO_CODE.get(key, key)


def _compile(pattern: str, kind: str, where: str | None) -> Callable[[str], re.Match | bool]:
    """The match test for one rule (a truthy result on a hit), or a SchemaError naming the row."""
    try:
        return _test_for(pattern, kind)
    except _BlankPattern:
        raise SchemaError(
            "the pattern is blank after normalisation",
            where,
            "Give the phrase some visible text",
            columns=["pattern"],
        ) from None
    except re.error as exc:
        raise SchemaError(
            f"the regex {fold_chinese(pattern)!r} does not compile ({exc})",
            where,
            "Fix the regular expression, or use kind 'substr' for plain text",
            columns=["pattern"],
        ) from None


class _BlankPattern(ValueError):
    pass


@cache  # the same rules are compiled again whenever a team's taught rows join the reader
def _test_for(pattern: str, kind: str) -> Callable[[str], re.Match | bool]:
    if kind == "substr":
        needle = normalize_text(pattern)
        if not needle:
            raise _BlankPattern(pattern)
        return lambda text: needle in text
    pattern = fold_chinese(pattern)  # matched against folded texts
    compiled = re.compile(pattern, re.IGNORECASE)
    needles = _required_literals(pattern)
    if not needles:
        return compiled.search
    search = compiled.search

    def test(text: str) -> re.Match | None:
        # The regex can only match where one of its required literals occurs: a cheap
        # substring check first keeps a table of a thousand rules fast.
        return search(text) if any(n in text for n in needles) else None

    return test


# Opcodes of the standard-library regex parser, to find the literals a pattern requires.
_LITERAL, _BRANCH, _GROUP = _sre.LITERAL, _sre.BRANCH, _sre.SUBPATTERN
_REPEATS = (_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", None))


@cache  # asked twice per rule: for its quick test and for its index keys
def _required_literals(pattern: str) -> frozenset[str] | None:
    """Strings one of which every match of the pattern contains (case-folded), or None."""
    try:
        parsed = _sre_parse.parse(pattern, re.IGNORECASE)
    except re.error:  # pragma: no cover - compiled just before
        return None
    found = _needs(list(parsed))
    if not found or any(len(n) < 1 for n in found):
        return None
    return frozenset(found)


def _needs(items: list) -> set[str] | None:
    """Literals one of which a sequence of parsed items requires (None when unknown)."""
    best: set[str] | None = None
    run: list[str] = []

    def close_run() -> None:
        nonlocal best, run
        if run:
            literal = "".join(run).casefold()
            if best is None or len(literal) > min(len(x) for x in best):
                best = {literal}
            run = []

    for op, arg in items:
        if op is _LITERAL:
            run.append(chr(arg))
            continue
        close_run()
        sub: set[str] | None = None
        if op is _GROUP:
            sub = _needs(list(arg[-1]))
        elif op is _BRANCH:
            alternatives = [_needs(list(b)) for b in arg[1]]
            if all(alternatives):
                sub = set().union(*alternatives)
        elif op in _REPEATS and arg[0] >= 1:
            sub = _needs(list(arg[2]))
        if sub and (best is None or min(map(len, sub)) > min(map(len, best))):
            best = sub
    close_run()
    return best


# Reading many texts at once treats their ASCII digits as zeros (tracking numbers, phone
# numbers and counts make most distinct texts of a large set differ only in digits), which
# is exact for every rule that treats all digits alike: one that names no digit itself.
_ZERO_DIGITS = str.maketrans("123456789", "000000000")
_DIGIT_OPS = (_sre.LITERAL, _sre.NOT_LITERAL)
_BACKREFS = (_sre.GROUPREF, _sre.GROUPREF_EXISTS)


@cache
def _names_digits(pattern: str, kind: str) -> bool:
    """True when a rule could tell one ASCII digit from another: a digit written in it (as a
    letter, in a class or a range) or a back-reference. ``\\d``, ``\\w`` and ``.`` do not."""
    if kind == "substr":
        return any("0" <= ch <= "9" for ch in normalize_text(pattern))
    try:
        parsed = _sre_parse.parse(pattern, re.IGNORECASE)
    except re.error:  # pragma: no cover - compiled before
        return True
    return _walk_digits(list(parsed))


def _walk_digits(node: object) -> bool:
    if isinstance(node, _sre_parse.SubPattern):
        node = list(node)
    if not isinstance(node, list | tuple):
        return False
    if len(node) == 2 and isinstance(node[0], _sre._NamedIntConstant):
        op, arg = node
        if op in _DIGIT_OPS:
            return 48 <= arg <= 57
        if op is _sre.RANGE:
            return arg[0] <= 57 and arg[1] >= 48
        if op in _BACKREFS:
            return True
        return _walk_digits(arg)
    return any(_walk_digits(item) for item in node)


# Brackets carriers put hub or station names in, and their closing partners.
_OPENING, _CLOSING = "【[(〔<{", "】])〕>}"
_ANCHOR = re.compile(r"(?<![\[\\])\^|(?<!\\)\$")


def core_text(normalized: str) -> str:
    """A normalised text without the bracketed names and punctuation wrapped around it:
    what ``^`` and ``$`` in a rule are anchored to (a status name stays a status name
    when a hub name is put before it). Linear in the text's length."""
    start, end = 0, len(normalized)
    while True:
        while start < end and not normalized[start].isalnum() and normalized[start] not in _OPENING:
            start += 1
        while (
            end > start
            and not normalized[end - 1].isalnum()
            and normalized[end - 1] not in _CLOSING
        ):
            end -= 1
        moved = False
        if start < end and normalized[start] in _OPENING:
            close = normalized.find(_CLOSING[_OPENING.index(normalized[start])], start + 1, end)
            if close == end - 1:  # the whole text is one bracketed name: keep its inside
                start, end, moved = start + 1, end - 1, True
            elif close >= 0:
                start, moved = close + 1, True
        if end > start and normalized[end - 1] in _CLOSING:
            opening = normalized.rfind(
                _OPENING[_CLOSING.index(normalized[end - 1])], start, end - 1
            )
            if opening > start:
                end, moved = opening, True
        if not moved:
            return normalized[start:end]


def _anchored(pattern: str, kind: str) -> bool:
    return kind == "regex" and _ANCHOR.search(pattern) is not None


def _keys(
    pattern: str, kind: str, common: Mapping[str, int] | None = None
) -> frozenset[str] | None:
    """The one- or two-character keys one of which any text a rule matches contains
    (None: the rule must be tried on every text). Each literal the rule requires gives
    its least common pair of characters (by ``common``, counts over sample texts), so
    that "delivered" is found under "iv", not under the "de" of half the texts."""
    needles = (
        {normalize_text(pattern)} if kind == "substr" else _required_literals(fold_chinese(pattern))
    )
    if not needles:
        return None
    return frozenset(_rarest_pair(n, common or {}) for n in needles)


def _pairs(text: str) -> list[str]:
    """The pairs of adjacent characters of a text, in order."""
    return [text[i : i + 2] for i in range(len(text) - 1)]


def _rarest_pair(needle: str, common: Mapping[str, int]) -> str:
    pairs = _pairs(needle) or [needle]
    return min(pairs, key=lambda pair: common.get(pair, 0))  # first of the rarest


def _pair_counts(texts: Iterable[str]) -> dict[str, int]:
    """In how many of the texts each pair of adjacent characters occurs."""
    counts: dict[str, int] = {}
    for text in texts:
        for pair in set(_pairs(text)):
            counts[pair] = counts.get(pair, 0) + 1
    return counts


class _Index:
    """Rules in rank order, found by the two-character keys a text contains, so that a
    text is tried against the few rules it could match instead of all of them."""

    def __init__(self, keys: Sequence[frozenset[str] | None]):
        self.always = frozenset(i for i, k in enumerate(keys) if k is None)
        self.by_key: dict[str, list[int]] = {}
        for i, k in enumerate(keys):
            for key in k or ():
                self.by_key.setdefault(key, []).append(i)

    def candidates(self, text: str) -> list[int]:
        """Positions of the rules that could match this (normalised) text, in order."""
        keys = set(_pairs(text))
        keys.update(text)
        found = set(self.always)
        for key in keys & self.by_key.keys():
            found.update(self.by_key[key])
        return sorted(found)


# ------------------------------------------------------------------------ table files


def _read_table(path: str | Path | None, default: str, what: str) -> tuple[str, str]:
    """A table's text and the name to use in messages (the shipped file when path is None)."""
    if path is None:
        resource = resources.files("toolkit.tracking").joinpath("data", default)
        return resource.read_text(encoding="utf-8-sig"), default
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8-sig"), path.name
    except FileNotFoundError:
        raise FileFormatError(f"the {what} does not exist", str(path), "Check the path") from None
    except UnicodeDecodeError as exc:
        raise FileFormatError(
            f"the {what} is not UTF-8 text ({exc.reason} at byte {exc.start})",
            str(path),
            "Save it as UTF-8 CSV",
        ) from None


def _table_rows(
    path: str | Path | None,
    default: str,
    columns: Sequence[str],
    what: str,
    read: tuple[str, str] | None = None,
) -> Iterator[tuple[dict[str, str], str, int]]:
    """Each non-blank row of a CSV table as (stripped fields, where, first line number);
    ``read`` is the table's (text, name) when the caller has read it already."""
    text, name = read if read is not None else _read_table(path, default, what)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in columns if c not in header]
    if missing:
        raise SchemaError(
            f"the {what} lacks the column(s) {', '.join(repr(c) for c in missing)}",
            name,
            f"The header must be: {','.join(columns)}",
            columns=missing,
        )
    count = 0
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
        count += 1
        yield {k: raw.get(k, "").strip() for k in columns}, where, line
    if not count:
        raise FileFormatError(f"the {what} has no rules", name, "Add at least one row")


def _check_kind(values: dict[str, str], where: str, line: int) -> str:
    kind = values["kind"].casefold()
    if kind not in KINDS:
        raise SchemaError(
            f"kind {values['kind']!r} is not one of {', '.join(KINDS)}",
            where,
            "Use 'substr' for plain text or 'regex' for a regular expression",
            columns=["kind"],
            rows=[line],
        )
    if not values["pattern"]:
        raise SchemaError(
            "the pattern is empty",
            where,
            "Fill in the phrase or delete the row",
            columns=["pattern"],
        )
    _compile(values["pattern"], kind, where)  # reject a bad pattern here, naming the line
    return kind


def _check_milestone(value: str, column: str, where: str, line: int, extra=()) -> str:
    if value not in MILESTONES and value not in extra:
        allowed = ", ".join((*MILESTONES, *extra))
        raise SchemaError(
            f"milestone {value!r} is not a known milestone",
            where,
            f"Allowed values: {allowed}",
            columns=[column],
            rows=[line],
        )
    return value


# ------------------------------------------------------------------------ event words


@dataclass(frozen=True)
class Phrase:
    """One event word of the phrase table."""

    pattern: str
    kind: str
    milestone: str
    priority: int
    carrier: str | None = None
    lang: str = ""
    example: str = ""
    row: int = 0  # line number in the table file, for messages
    table: str = "phrases.csv"  # the file it comes from

    @property
    def generic(self) -> bool:
        """True for words that say only something general (see GENERIC_BANDS)."""
        return self.priority in GENERIC_BANDS


# A regex pattern may name the carriers that take a parcel over inside China by this
# placeholder instead of listing them (the list lives in toolkit.model.china_leg_names).
CHINA_CARRIER = "{china_carrier}"


def _parse_row(values: dict[str, str], where: str, line: int, table: str) -> Phrase:
    """One validated Phrase from a CSV row."""
    if CHINA_CARRIER in values["pattern"] and values["kind"] == "regex":
        values = {
            **values,
            "pattern": values["pattern"].replace(CHINA_CARRIER, china_leg_pattern()),
        }
    kind = _check_kind(values, where, line)  # a known kind, a pattern, one that compiles
    milestone = _check_milestone(values["milestone"], "milestone", where, line)
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
    return Phrase(
        pattern=values["pattern"],
        kind=kind,
        milestone=milestone,
        priority=priority,
        carrier=carrier,
        lang=values["lang"],
        example=values["example"],
        row=line,
        table=table,
    )


def _shipped(stem: str) -> list[str]:
    """The shipped tables of one kind: ``stem.csv``, then ``stem_*.csv`` (one per language
    or carrier family) in name order."""
    folder = resources.files("toolkit.tracking").joinpath("data")
    extra = sorted(
        f.name
        for f in folder.iterdir()
        if f.name.startswith(stem + "_") and f.name.endswith(".csv")
    )
    return [f"{stem}.csv", *extra]


def _tables(path: str | Path | None, stem: str) -> list[tuple[str | Path | None, str]]:
    """(path, default name) pairs to read: the given file, or every shipped table."""
    if path is not None:
        return [(path, Path(path).name)]
    return [(None, name) for name in _shipped(stem)]


def default_phrases_path() -> Path:
    """Path of the phrase table shipped with the toolkit."""
    return Path(str(resources.files("toolkit.tracking").joinpath("data", "phrases.csv")))


def load_phrases(path: str | Path | None = None) -> tuple[Phrase, ...]:
    """Read and validate a phrase table (every shipped one when path is None)."""
    phrases: list[Phrase] = []
    seen: dict[tuple[str, str, str | None], Phrase] = {}
    for source, name in _tables(path, "phrases"):
        for values, where, line in _table_rows(source, name, PHRASE_COLUMNS, "phrase table"):
            phrase = _parse_row(values, where, line, name)
            key = (phrase.kind, normalize_text(phrase.pattern), phrase.carrier)
            _keep_unique(phrase, key, seen, phrases, where)
    return tuple(phrases)


def _keep_unique(
    phrase: Phrase, key: tuple, seen: dict[tuple, Phrase], phrases: list[Phrase], where: str
) -> None:
    """Add a phrase, unless a row with the same ``key`` gave its words another milestone."""
    earlier = seen.get(key)
    if earlier is not None and earlier.milestone != phrase.milestone:
        place = "line" if earlier.table == phrase.table else f"{earlier.table}, line"
        raise SchemaError(
            f"pattern {phrase.pattern!r} is also on {place} {earlier.row} with milestone "
            f"{earlier.milestone!r}, here with {phrase.milestone!r}",
            where,
            "Keep one of the two rows",
            columns=["pattern", "milestone"],
            rows=[earlier.row, phrase.row],
        )
    seen[key] = phrase
    phrases.append(phrase)


# ------------------------------------------------------------------------ meaning parts


@dataclass(frozen=True)
class Part:
    """One row of the meaning-parts table: a pattern that marks a part with a value."""

    pattern: str
    kind: str
    part: str
    value: str
    lang: str = ""
    example: str = ""
    row: int = 0
    table: str = "parts.csv"


def load_parts(path: str | Path | None = None) -> tuple[Part, ...]:
    """Read and validate a meaning-parts table (every shipped one when path is None)."""
    return tuple(
        part for source, name in _tables(path, "parts") for part in _load_parts_table(source, name)
    )


def _load_parts_table(path: str | Path | None, name: str) -> list[Part]:
    parts: list[Part] = []
    for values, where, line in _table_rows(path, name, PART_COLUMNS, "parts table"):
        kind = _check_kind(values, where, line)
        part_name, value = values["part"], values["value"]
        if value not in PARTS.get(part_name, ()):
            raise SchemaError(
                f"part {part_name}={value!r} is not a known meaning part",
                where,
                _KNOWN_PARTS,
                columns=["part", "value"],
                rows=[line],
            )
        parts.append(
            Part(
                values["pattern"],
                kind,
                part_name,
                value,
                values["lang"],
                values["example"],
                line,
                name,
            )
        )
    return parts


# ------------------------------------------------------------------------ precedence

_TERM = re.compile(r"^(!?)([a-z_]+)(?:(!?=)([a-z_|]+))?$")


@dataclass(frozen=True)
class Condition:
    """One term of a precedence row: a part present (with one of some values) or absent."""

    part: str
    values: frozenset[str] = frozenset()  # empty: any value
    present: bool = True

    def holds(self, found: dict[str, frozenset[str]]) -> bool:
        have = found.get(self.part, frozenset())
        hit = bool(have & self.values) if self.values else bool(have)
        return hit == self.present

    def __str__(self) -> str:
        if not self.values:
            return ("" if self.present else "!") + self.part
        return f"{self.part}{'=' if self.present else '!='}{'|'.join(sorted(self.values))}"


@dataclass(frozen=True)
class Precedence:
    """One row of the precedence table."""

    events: frozenset[str]  # event milestones it applies to; empty: any
    when: tuple[Condition, ...]
    then: str  # a milestone, or NEXT
    why: str
    example: str = ""
    row: int = 0

    def applies(self, milestone: str, found: dict[str, frozenset[str]]) -> bool:
        return (not self.events or milestone in self.events) and all(
            c.holds(found) for c in self.when
        )

    def __str__(self) -> str:
        events = "|".join(sorted(self.events)) or "*"
        when = " & ".join(map(str, self.when))
        return f"{events}{' with ' + when if when else ''} -> {self.then} ({self.why})"


def _parse_condition(term: str, where: str, line: int) -> Condition:
    m = _TERM.match(term.replace(" ", ""))
    problem = None
    if m is None:
        problem = f"the condition {term!r} is not of the form part, !part, part=v|w or part!=v"
    else:
        bang, name, op, values = m.groups()
        if name not in PARTS:
            problem = f"the condition {term!r} names no known part"
        elif bang and op:
            problem = f"the condition {term!r} mixes ! and {op}"
        else:
            wanted = frozenset(values.split("|")) if values else frozenset()
            unknown = sorted(wanted - set(PARTS[name]))
            if unknown:
                problem = f"the condition {term!r} names unknown value(s) {', '.join(unknown)}"
    if problem:
        raise SchemaError(
            problem,
            where,
            _KNOWN_PARTS,
            columns=["when"],
            rows=[line],
        )
    return Condition(name, wanted, present=not bang and op != "!=")


def load_precedence(path: str | Path | None = None) -> tuple[Precedence, ...]:
    """Read and validate a precedence table (the shipped one when path is None)."""
    rows: list[Precedence] = []
    for values, where, line in _table_rows(
        path, "precedence.csv", PRECEDENCE_COLUMNS, "precedence table"
    ):
        events = (
            frozenset()
            if values["event"] in ("", "*")
            else frozenset(e.strip() for e in values["event"].split("|"))
        )
        for e in events:
            _check_milestone(e, "event", where, line)
        when = tuple(
            _parse_condition(t.strip(), where, line) for t in values["when"].split("&") if t.strip()
        )
        then = _check_milestone(values["then"], "then", where, line, extra=(NEXT,))
        rows.append(Precedence(events, when, then, values["why"], values["example"], line))
    return tuple(rows)


# ------------------------------------------------------------------------ provider codes


@dataclass(frozen=True)
class StatusCode:
    """A provider's status code and the milestone it stands for ('' when too generic)."""

    provider: str
    code: str
    milestone: str
    meaning: str = ""


def load_status_codes(path: str | Path | None = None) -> tuple[StatusCode, ...]:
    """Read the providers' status-code table (the shipped one when path is None)."""
    out = []
    for values, where, line in _table_rows(
        path, "status_codes.csv", STATUS_COLUMNS, "status-code table"
    ):
        milestone = values["milestone"]
        if milestone:
            _check_milestone(milestone, "milestone", where, line)
        out.append(
            StatusCode(values["provider"].casefold(), values["code"], milestone, values["meaning"])
        )
    return tuple(out)


@cache
def _status_index() -> dict[tuple[str, str], StatusCode]:
    return {(s.provider, s.code): s for s in load_status_codes()}


def status_code(provider: object, code: object) -> StatusCode | None:
    """The shipped table's entry for a provider's status code (None when not listed)."""
    if not isinstance(code, str) or not code.strip():
        return None
    index = _status_index()
    key = code.strip()
    if isinstance(provider, str) and provider.strip():
        return index.get((provider.strip().casefold(), key))
    hits = {s.milestone: s for (p, c), s in index.items() if c == key}
    return next(iter(hits.values())) if len(hits) == 1 else None


def status_milestone(provider: object, code: object) -> str:
    """The milestone a provider's status code stands for, or '' when it is too generic."""
    entry = status_code(provider, code)
    return entry.milestone if entry else ""


# ------------------------------------------------------------------------ reading


@dataclass(frozen=True)
class FoundPart:
    part: str
    value: str
    matched: str  # the stretch of (normalised) text that marked it
    row: int
    table: str = "parts.csv"


@dataclass(frozen=True)
class Reading:
    """How one text was read: its milestone and everything that decided it."""

    text: str
    carrier: str | None
    milestone: str
    event: Phrase | None  # the event word the reading rests on
    parts: tuple[FoundPart, ...] = ()
    rule: Precedence | None = None  # the precedence row that changed the event's meaning
    set_aside: tuple[tuple[Phrase, Precedence], ...] = ()  # candidates that did not hold
    status: StatusCode | None = None  # a provider's code given with the text
    text_milestone: str = ""  # the text's own reading, before a provider code was weighed
    decided_by: str = "text"  # 'text', 'status code' or 'nothing'

    @property
    def generic(self) -> bool:
        """True when the text's reading rests only on generic words (or on nothing)."""
        return self.event is None or (self.rule is None and self.event.generic)

    def lines(self) -> list[str]:
        """The explanation as plain lines (carrier text quoted as is)."""
        out = [f"{self.text!r} -> {self.milestone}"]
        if self.event is not None:
            e = self.event
            if e.table == TEAM_TABLE:
                out.append(
                    f"  event word: «{e.pattern}» -> {e.milestone} (the team's wording, "
                    f"{TEAM_TABLE} line {e.row}: taught, no precedence row applies)"
                )
            else:
                out.append(
                    f"  event word: «{e.pattern}» -> {e.milestone} ({e.table} line {e.row}, "
                    f"priority {e.priority}{', generic' if e.generic else ''})"
                )
        else:
            out.append("  event word: none found")
        for phrase, rule in self.set_aside:
            out.append(
                f"  set aside: «{phrase.pattern}» -> {phrase.milestone}, because precedence.csv "
                f"line {rule.row}: {rule}"
            )
        if self.parts:
            shown = ", ".join(f"{p.part}={p.value} ({p.matched!r})" for p in self.parts)
            out.append(f"  meaning parts: {shown}")
        if self.rule is not None:
            out.append(f"  precedence.csv line {self.rule.row}: {self.rule}")
        if self.status is not None:
            s = self.status
            opinion = s.milestone or "nothing specific"
            out.append(f"  provider code: {s.provider} {s.code!r} says {opinion}")
            if self.decided_by == "status code":
                out.append(
                    f"  the text alone reads {self.text_milestone}, from "
                    + ("generic words" if self.event else "no words")
                    + ", so the code decides"
                )
            elif s.milestone and s.milestone != self.milestone:
                out.append("  the text's specific words outweigh the code")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def _repr_html_(self) -> str:
        body = "<br>".join(html.escape(line).replace("  ", "&nbsp;&nbsp;") for line in self.lines())
        return f'<div class="toolkit-reading" style="font-family:monospace">{body}</div>'


def reconcile(reading: Reading, status: StatusCode | None) -> Reading:
    """Weigh a provider's status code against the text's reading (see the module notes)."""
    if status is None:
        return reading
    if status.milestone and (reading.milestone == UNKNOWN or reading.generic):
        return replace(
            reading,
            milestone=status.milestone,
            status=status,
            text_milestone=reading.milestone,
            decided_by="status code",
        )
    return replace(reading, status=status, text_milestone=reading.milestone)


_Rule = tuple[Phrase, Callable[[str], object], bool]  # rule, its test, anchored to the core
_PartRule = tuple[Part, Callable[[str], object]]


def _rank_key(phrase: Phrase) -> tuple[int, int, int, str, int]:
    return (
        -phrase.priority,
        0 if phrase.carrier else 1,
        -len(phrase.pattern),
        phrase.table,
        phrase.row,
    )


class PhraseMatcher:
    """Reads event texts with the three tables; results are cached per text and carrier."""

    def __init__(
        self,
        phrases: Iterable[Phrase],
        parts: Iterable[Part] = (),
        precedence: Iterable[Precedence] = (),
        cache_size: int = 1 << 16,
    ):
        self.phrases: tuple[Phrase, ...] = tuple(sorted(phrases, key=_rank_key))
        self.parts: tuple[Part, ...] = tuple(parts)
        self.precedence: tuple[Precedence, ...] = tuple(precedence)
        rules = [
            (
                p,
                _compile(p.pattern, p.kind, f"{p.table}, line {p.row}" if p.row else None),
                _anchored(p.pattern, p.kind),
            )
            for p in self.phrases
        ]
        common = _pair_counts(normalize_text(p.example) for p in self.phrases if p.example)
        keys = {p: _keys(p.pattern, p.kind, common) for p in (*self.phrases, *self.parts)}

        def indexed(chosen: list) -> tuple[tuple, _Index]:
            return tuple(chosen), _Index([keys[r[0]] for r in chosen])

        self._general = indexed([r for r in rules if r[0].carrier is None])
        self._by_carrier: dict[str, tuple[tuple[_Rule, ...], _Index]] = {}
        for code in {p.carrier for p in self.phrases if p.carrier}:
            self._by_carrier[code] = indexed(
                [r for r in rules if r[0].carrier is None or r[0].carrier == code]
            )
        self._part_rules: tuple[tuple[_PartRule, ...], _Index] = indexed(
            [(p, _compile(p.pattern, p.kind, f"{p.table}, line {p.row}")) for p in self.parts]
        )
        self._read_str = lru_cache(maxsize=cache_size)(self._read_uncached)
        # rules that name digits (their compiled tests): a text they match is read as
        # written, never as its zeros; anchored phrases also meet the bracket-free core
        digit_rules = [
            (test, anchored) for p, test, anchored in rules if _names_digits(p.pattern, p.kind)
        ] + [(test, False) for p, test in self._part_rules[0] if _names_digits(p.pattern, p.kind)]
        self._digit_rules = tuple(test for test, _ in digit_rules)
        self._digit_anchored = tuple(test for test, anchored in digit_rules if anchored)
        self._read_key = lru_cache(maxsize=cache_size)(self._read_normalized)

    def __repr__(self) -> str:
        return (
            f"PhraseMatcher({len(self.phrases)} phrases, {len(self.parts)} parts, "
            f"{len(self.precedence)} precedence rows)"
        )

    def _find_parts(self, normalized: str) -> tuple[FoundPart, ...]:
        found: list[FoundPart] = []
        seen: set[tuple[str, str]] = set()
        rules, index = self._part_rules
        for i in index.candidates(normalized):
            part, test = rules[i]
            if (part.part, part.value) in seen:
                continue  # one table's word is enough to show the part
            m = test(normalized)
            if m:
                seen.add((part.part, part.value))
                matched = m.group(0) if isinstance(m, re.Match) else normalize_text(part.pattern)
                found.append(FoundPart(part.part, part.value, matched, part.row, part.table))
        return tuple(found)

    def _read_uncached(self, text: str, carrier: str | None) -> Reading:
        return self._reading(text, normalize_text(text), carrier)

    def _read_normalized(self, normalized: str, carrier: str | None) -> Reading:
        return self._reading(normalized, normalized, carrier)

    def _read_shared(self, text: object, carrier: object) -> Reading:
        """The reading of a text as one of many: its milestone is its digits-as-zeros form's
        (read once for all the texts that share it), unless a rule naming digits matches it;
        the reading's text is that form."""
        if not isinstance(text, str):
            return self.read(text, carrier)
        normalized = normalize_text(text)
        key = normalized.translate(_ZERO_DIGITS)
        if key != normalized and self._digit_rules:
            named = any(test(normalized) or test(key) for test in self._digit_rules) or any(
                test(core_text(normalized)) or test(core_text(key)) for test in self._digit_anchored
            )
            if named:
                key = normalized
        return self._read_key(key, carrier_key(carrier))

    def _reading(self, text: str, normalized: str, carrier: str | None) -> Reading:
        if not normalized:
            return Reading(text, carrier, UNKNOWN, None, decided_by="nothing")
        parts = self._find_parts(normalized) if self.parts else ()
        found: dict[str, frozenset[str]] = {}
        for p in parts:
            found[p.part] = found.get(p.part, frozenset()) | {p.value}
        rules, index = self._by_carrier.get(carrier, self._general) if carrier else self._general
        rejected: set[str] = set()
        set_aside: list[tuple[Phrase, Precedence]] = []
        core = core_text(normalized)
        for i in index.candidates(normalized):  # ordered best first
            phrase, test, anchored = rules[i]
            if phrase.milestone in rejected or not test(core if anchored else normalized):
                continue
            # the team's own words are read as taught: no precedence row changes them
            rule = (
                None
                if phrase.table == TEAM_TABLE
                else next((r for r in self.precedence if r.applies(phrase.milestone, found)), None)
            )
            if rule is not None and rule.then == NEXT:
                rejected.add(phrase.milestone)
                set_aside.append((phrase, rule))
                continue
            milestone = rule.then if rule is not None else phrase.milestone
            if milestone == Milestone.IN_TRANSIT and carrier in DOMESTIC_CARRIERS:
                milestone = Milestone.DOMESTIC_IN_TRANSIT.value
            return Reading(text, carrier, milestone, phrase, parts, rule, tuple(set_aside))
        return Reading(
            text, carrier, UNKNOWN, None, parts, None, tuple(set_aside), decided_by="nothing"
        )

    def read(self, description: object, carrier: object = None) -> Reading:
        """The full reading of one text (milestone, event word, parts, precedence row)."""
        if not isinstance(description, str):
            return Reading(str(description), None, UNKNOWN, None, decided_by="nothing")
        return self._read_str(description, carrier_key(carrier))

    def match(self, description: object, carrier: object = None) -> Phrase | None:
        """The event word this text's reading rests on, or None when no word holds."""
        return self.read(description, carrier).event

    def classify(self, description: object, carrier: object = None) -> str:
        """Milestone for one event text; 'unknown' for unmatched, empty or non-text input."""
        if not isinstance(description, str):
            return UNKNOWN
        return self._read_str(description, carrier_key(carrier)).milestone

    def classify_many(
        self,
        descriptions: pd.Series | Sequence[object],
        carriers: pd.Series | Sequence[object] | None = None,
        statuses: pd.Series | Sequence[object] | None = None,
    ) -> pd.Series:
        """Milestones for many texts, carriers (and providers' status opinions) aligned by
        position; each distinct text and carrier is read once, and texts that differ only
        in their digits (numbers, phones) share one reading where no rule names a digit.

        ``statuses`` holds the milestone a provider's status code stands for ('' or missing
        where it says nothing specific); it is weighed against each text as :func:`reconcile`
        does.
        """
        desc = descriptions if isinstance(descriptions, pd.Series) else pd.Series(descriptions)
        values = desc.to_numpy(dtype=object)
        carrier_values = self._aligned(carriers, len(values), "carriers")
        readings = self._read_array(values, carrier_values)
        milestones = np.array([r.milestone for r in readings], dtype=object)
        status_values = self._aligned(statuses, len(values), "statuses")
        if status_values is not None and len(values):
            status = pd.Series(status_values).fillna("").astype(str).to_numpy(dtype=object)
            weak = np.array([r.generic for r in readings], dtype=bool)
            valid = np.isin(status, MILESTONES)
            take = valid & (status != UNKNOWN) & (weak | (milestones == UNKNOWN))
            milestones = np.where(take, status, milestones)
        return pd.Series(milestones, index=desc.index, dtype="string", name="milestone")

    @staticmethod
    def _aligned(column: object, n: int, name: str) -> np.ndarray | None:
        if column is None:
            return None
        series = column if isinstance(column, pd.Series) else pd.Series(column, dtype=object)
        if len(series) != n:
            raise InputError(
                f"got {n} descriptions but {len(series)} {name}",
                "classify_many",
                f"Pass one of the {name} per description (the same length), or none",
            )
        return series.to_numpy(dtype=object)

    def _read_array(self, values: np.ndarray, carriers: np.ndarray | None) -> np.ndarray:
        """Readings for many texts (object array), each distinct (text, carrier) read once."""
        if len(values) == 0:
            return np.array([], dtype=object)
        nothing = Reading("", None, UNKNOWN, None, decided_by="nothing")
        try:
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
            if carriers is None:
                found = [self._read_shared(u, None) for u in uniques] + [nothing]
                return np.array(found, dtype=object)[codes]  # code -1 (missing) takes 'nothing'
            ccodes, cuniques = pd.factorize(carriers, use_na_sentinel=True)
        except TypeError:  # unhashable cells: read one by one
            cs = carriers if carriers is not None else [None] * len(values)
            out = np.empty(len(values), dtype=object)
            out[:] = [self.read(v, c) for v, c in zip(values, cs, strict=True)]
            return out
        width = len(cuniques) + 1
        pair = codes.astype(np.int64) * width + (ccodes + 1)
        pair_codes, pair_uniques = pd.factorize(pair)
        labels = np.empty(len(pair_uniques), dtype=object)
        for i, p in enumerate(pair_uniques):
            d, c = divmod(int(p), width)
            text = uniques[d] if d >= 0 else None
            labels[i] = self._read_shared(text, cuniques[c - 1] if c > 0 else None)
        return labels[pair_codes]


# ------------------------------------------------------------------------ team wording

# A team's own wording: rows an analyst taught (``toolkit.tracking.wording.teach``) for texts
# the shipped tables do not read, in the phrase tables' columns plus who taught them and
# when. They rank above every shipped row (whose highest priority is 99) and no precedence
# row changes them. The benchmarks measure the shipped tables alone.
TEAM_TABLE = "team_wording.csv"
TEAM_WORDING_ENV = "TOOLKIT_TEAM_WORDING"
TEAM_PRIORITY = 100
TEAM_COLUMNS: tuple[str, ...] = (*PHRASE_COLUMNS, "analyst", "taught_at")
_RECHECK_SECONDS = 2.0  # how often a running reader looks whether the team file changed


def team_wording_path() -> Path | None:
    """Where the team's wording is kept: ``$TOOLKIT_TEAM_WORDING`` (set but empty: nowhere,
    the shipped tables alone), else ``var/team_wording.csv`` in a checkout, else the user's
    data folder."""
    chosen = os.environ.get(TEAM_WORDING_ENV)
    if chosen is not None:
        chosen = chosen.strip()
        return Path(chosen).expanduser() if chosen else None
    if paths.in_checkout():
        return paths.ROOT / "var" / TEAM_TABLE
    return paths.user_data_dir() / TEAM_TABLE


def load_team_wording(path: str | Path | None = None) -> tuple[Phrase, ...]:
    """The team's taught rows (``team_wording_path()`` unless ``path`` is given); none when
    the file does not exist or holds only its header."""
    path = Path(path) if path is not None else team_wording_path()
    if path is None or not path.is_file():
        return ()
    read = _read_table(path, TEAM_TABLE, "team wording table")
    if not any(line.strip() for line in read[0].splitlines()[1:]):
        return ()
    rows = _table_rows(path, TEAM_TABLE, PHRASE_COLUMNS, "team wording table", read)
    return team_phrases(((values, line) for values, _where, line in rows), path)


def team_phrases(
    rows: Iterable[tuple[Mapping[str, str], int]], path: str | Path
) -> tuple[Phrase, ...]:
    """The team's rows, given as (fields, line in ``path``), as phrases: each checked as a
    table row is, and the same words for the same carrier with two meanings named."""
    phrases: list[Phrase] = []
    seen: dict[tuple, Phrase] = {}
    for values, line in rows:
        where = f"{path}, line {line}"
        phrase = _parse_row(dict(values), where, line, TEAM_TABLE)
        _keep_unique(phrase, (normalize_text(phrase.pattern), phrase.carrier), seen, phrases, where)
    return tuple(phrases)


@cache
def shipped_tables() -> tuple[tuple[Phrase, ...], tuple[Part, ...], tuple[Precedence, ...]]:
    """The shipped phrase, parts and precedence tables (read once)."""
    return load_phrases(), load_parts(), load_precedence()


@cache
def shipped_matcher() -> PhraseMatcher:
    """The matcher over the shipped tables alone (built once)."""
    return PhraseMatcher(*shipped_tables())


def _file_stamp(path: Path | None) -> tuple[str, int, int] | None:
    try:
        st = path.stat() if path is not None else None
    except OSError:
        return None
    return None if st is None else (str(path), st.st_mtime_ns, st.st_size)


# Called whenever the default reader changes (a teaching, another process's teaching
# seen): caches of what texts read as (the gloss's) register here to be emptied.
_ON_CHANGE: list[Callable[[], object]] = []


def on_reader_change(callback: Callable[[], object]) -> None:
    """Call ``callback`` whenever the default reader changes (see TEAM_TABLE)."""
    _ON_CHANGE.append(callback)


def _changed() -> None:
    for callback in _ON_CHANGE:
        callback()


class _Default:
    """The reader over the shipped tables and the team's wording, rebuilt when the team
    file changes (looked at every few seconds, so another notebook's teaching shows)."""

    def __init__(self) -> None:
        self.matcher: PhraseMatcher | None = None
        self.stamp: object = None
        self.checked = 0.0

    def get(self) -> PhraseMatcher:
        now = time.monotonic()
        if self.matcher is not None and now - self.checked < _RECHECK_SECONDS:
            return self.matcher
        path = team_wording_path()
        stamp = (path, _file_stamp(path))
        if self.matcher is None or stamp != self.stamp:
            before = self.matcher
            taught = load_team_wording(path) if path is not None else ()
            if taught:
                phrases, parts, precedence = shipped_tables()
                self.matcher = PhraseMatcher((*phrases, *taught), parts, precedence)
            else:
                self.matcher = shipped_matcher()
            self.stamp = stamp
            if before is not None:
                _changed()
        self.checked = now
        return self.matcher

    def install(self, matcher: PhraseMatcher) -> None:
        """Use ``matcher`` from now on (after the team file was written)."""
        path = team_wording_path()
        self.matcher, self.stamp, self.checked = matcher, (path, _file_stamp(path)), 0.0
        _changed()

    def clear(self) -> None:
        self.matcher, self.stamp, self.checked = None, None, 0.0
        _changed()


_DEFAULT = _Default()


def default_matcher() -> PhraseMatcher:
    """The matcher over the shipped tables and the team's wording (see TEAM_TABLE)."""
    return _DEFAULT.get()


def classify(description: object, carrier: str | None = None) -> str:
    """Milestone for one event text, Chinese or English; 'unknown' when nothing matches."""
    return default_matcher().classify(description, carrier)


def classify_many(
    descriptions: pd.Series | Sequence[object],
    carriers: pd.Series | Sequence[object] | None = None,
    statuses: pd.Series | Sequence[object] | None = None,
) -> pd.Series:
    """Milestones for a column of event texts (optional carriers and providers' status
    opinions), as a string Series."""
    return default_matcher().classify_many(descriptions, carriers, statuses)


def explain(
    description: object,
    carrier: str | None = None,
    raw_status: str | None = None,
    provider: str | None = None,
) -> Reading:
    """How a text is read: milestone, deciding event word, meaning parts, precedence row.

    With ``raw_status`` (and ``provider``: 17track, aftership or kuaidi100; guessed from
    the code when not given), the reading also shows how the provider's code was weighed.
    """
    reading = default_matcher().read(description, carrier)
    return reconcile(reading, status_code(provider, raw_status))
