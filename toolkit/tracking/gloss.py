"""An offline English rendering of a scan text, for readers who do not read Chinese.

``gloss(text)`` turns ``【北京国际邮件互换局】已到达`` into "Arrived at Beijing International
Mail Exchange Office" without any online service:

- **Chinese** (and kanji-only Japanese) texts are cut into known terms by longest match
  against two tables: ``data/gloss_terms.csv`` (the scan vocabulary: verbs, nouns, the
  courtesy formulas, the place suffixes such as 转运中心 or 互换局, and the role words that
  introduce a person) and ``data/gloss_places.csv`` (provinces, cities, districts, airports,
  customs, countries, carriers), then China's prefecture- and county-level divisions
  (``data/gloss_divisions.csv``, see ``_divisions``). A run of characters none of these
  knows is read from its neighbours: after a role word (快递员, 签收人, 交给), before a
  phone number, or between 由/的 and a scan or delivery verb (由X扫描) it is a person and
  is masked as the report masks names (``Z* X*``); inside brackets, before a place suffix,
  after a place or after a verb of motion it is a place and is romanised in pinyin
  ("浦江" → "Pujiang"); otherwise it stays in pinyin and the gloss is marked incomplete.
  Verbs of motion take their place: "到达【X】" and "【X】到达" both read "arrived at X".
- **Other origin-post languages** (German, French, Spanish, Dutch, Russian, Korean,
  Japanese with kana): the text's reading (``toolkit.tracking.phrases``) names its
  milestone, and the gloss is that milestone in plain English, with the customs direction
  when the text gives one.
- **English** texts are returned as they are.

Phone numbers are masked first (``privacy.mask_text``). Results are cached by distinct
text; ``gloss_many`` glosses a column.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

import pandas as pd

from toolkit.privacy import mask_name, mask_text

__all__ = [
    "Gloss",
    "gloss",
    "gloss_many",
    "gloss_parts",
    "glosses_beside",
    "romanise",
    "with_english",
]

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_TAGS = re.compile(r"<[^>]{0,40}>")
_OPEN = {"【": "", "〖": "", "[": "[", "［": "["}
_CLOSE = {"】": "", "〗": "", "]": "]", "］": "]"}
# A phone number just after a run of characters: the run is a person's name.
_PHONE_AFTER = re.compile(
    r"^\s*[/(（:：,，【\[\s]?\s*(?:电话|手机|手机号)?\s*[:：,，]?\s*(?:\+?\d[\d*\s-]{5,}|\*{1,3})"
)
_NAME_MAX = 4
# a short unknown run between these words is a person: "由 X 扫描" (scanned by X), "的 X
# 正在派件" (X is delivering)
_BEFORE_PERSON = frozenset({"由", "的"})
_PERSON_ACTS = frozenset({"扫描", "正在派件", "正在派送", "派件中", "派送中", "已收件"})

# Each milestone in plain English, for texts read by meaning rather than word by word.
MILESTONE_GLOSS: dict[str, str] = {
    "info_received": "Shipment information received",
    "accepted": "Accepted by the carrier",
    "departed_origin": "Departed the origin country",
    "in_transit": "In transit",
    "arrived_destination": "Arrived in the destination country",
    "customs_clearance": "Customs clearance in progress",
    "customs_hold": "Held by customs",
    "customs_cleared": "Cleared customs",
    "handed_over": "Handed over to the delivery carrier",
    "domestic_in_transit": "In transit in the destination country",
    "out_for_delivery": "Out for delivery",
    "delivery_failed": "Delivery attempt failed",
    "available_for_pickup": "Ready for collection",
    "delivered": "Delivered",
    "returning": "Being returned to the sender",
    "returned": "Returned to the sender",
    "exception": "Problem reported by the carrier",
}


@dataclass(frozen=True)
class Gloss:
    """A text's English rendering and how it was made.

    ``complete`` is False when part of the text could not be rendered (a run of Chinese
    left in pinyin, or a foreign text whose milestone is unknown); ``places`` are the
    places found, as (original, English) pairs; ``how`` is ``"words"`` (term by term),
    ``"reading"`` (from the milestone) or ``"as is"`` (English)."""

    text: str
    english: str
    complete: bool
    places: tuple[tuple[str, str], ...] = ()
    how: str = "words"


@dataclass(frozen=True)
class _Term:
    english: str
    role: str  # word, verb, suffix, role, skip, punct, place
    prep: str = ""


@dataclass
class _Tok:
    kind: str  # term kinds above, or latin, open, close, name, unk
    en: str
    src: str
    prep: str = ""


def _data(name: str) -> list[dict[str, str]]:
    path = resources.files("toolkit.tracking").joinpath("data", name)
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


# The generic part that ends a division's official name, and its English (市 is left out:
# "Hangzhou", not "Hangzhou City"). Autonomous counties and prefectures are not taken: their
# names carry the peoples' names, which scans leave out.
_DIVISION_SUFFIXES = (
    ("林区", "Forest District"),
    ("特区", "Special District"),
    ("新区", "New Area"),
    ("地区", "Prefecture"),
    ("区", "District"),
    ("县", "County"),
    ("旗", "Banner"),
    ("盟", "League"),
    ("市", ""),
)


def _covered(word: str, terms: dict[str, _Term]) -> bool:
    """Whether ``word`` splits wholly into terms already known (then it is read as those)."""
    ends = {0}
    for i in range(1, len(word) + 1):
        if any(j in ends and word[j:i] in terms for j in range(i)):
            ends.add(i)
    return len(word) in ends


@functools.lru_cache(maxsize=1)
def division_names() -> tuple[tuple[str, str, str], ...]:
    """China's prefecture- and county-level divisions (``data/gloss_divisions.csv``) as
    (official name, bare name, English of the generic part): ("和平区", "和平", "District").
    Autonomous ones and those whose bare name is a single character are left out."""
    path = resources.files("toolkit.tracking").joinpath("data", "gloss_divisions.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    out = []
    for row in rows:
        name = row["name"]
        if "自治" in name:
            continue
        found = next(
            ((suffix, english) for suffix, english in _DIVISION_SUFFIXES if name.endswith(suffix)),
            None,
        )
        if found is not None and len(name) - len(found[0]) >= 2:
            out.append((name, name[: -len(found[0])], found[1]))
    return tuple(out)


def _divisions(terms: dict[str, _Term]) -> dict[str, _Term]:
    """``division_names`` as places: the official name with its English generic part
    (和平区 → "Heping District") and the bare name scans mostly use (和平 → "Heping"). A
    name whose bare part splits into terms the tables know is left to them (苏州工业园区 is
    苏州 + 工业园区); a bare name that begins with a place suffix (市中 would swallow the 市
    of 沈阳市中转场) is taken only with its generic part."""
    suffix_chars = {k for k, t in terms.items() if len(k) == 1 and t.role == "suffix"}
    out: dict[str, _Term] = {}
    for name, stem, english in division_names():
        if _covered(stem, terms):  # 苏州工业园区: read as 苏州 + 工业园区 by the tables
            continue
        stem_en = romanise(stem)
        out.setdefault(name, _Term(f"{stem_en} {english}".strip(), "place"))
        if stem[0] not in suffix_chars:
            out.setdefault(stem, _Term(stem_en, "place"))
    return out


@functools.lru_cache(maxsize=1)
def _lexicon() -> tuple[dict[str, _Term], int]:
    """Every known term and place, by its (simplified) characters, and the longest length."""
    terms: dict[str, _Term] = {}
    for row in _data("gloss_places.csv"):
        terms[row["han"]] = _Term(row["english"], "place")
    for row in _data("gloss_terms.csv"):
        terms[row["term"]] = _Term(row["english"], row["role"], row["prep"])
    for key, term in _divisions(terms).items():  # the tables' own rows come first
        terms.setdefault(key, term)
    for key in list(terms):  # traditional-script scans are simplified before lookup
        simple = _simplify(key)
        terms.setdefault(simple, terms[key])
    return terms, max(len(k) for k in terms)


@functools.lru_cache(maxsize=1)
def _converter():
    from toolkit.tracking.phrases import t2s_converter  # the reader's, so one is loaded

    return t2s_converter()


def _simplify(text: str) -> str:
    return _converter().convert(text)


def romanise(han: str) -> str:
    """A place name in pinyin, written as one word with apostrophes where syllables would
    run together: 宝安 → "Bao'an", 浦江 → "Pujiang"."""
    from pypinyin import lazy_pinyin

    out = ""
    for i, syllable in enumerate(lazy_pinyin(han, v_to_u=True)):
        if i and syllable[:1] in "aoe":
            out += "'"
        out += syllable
    return out[:1].upper() + out[1:]


def _person(han: str) -> str:
    """A person's name masked as the report masks Latin names: 郑学超 → "Z* X*"."""
    from pypinyin import lazy_pinyin

    syllables = lazy_pinyin(han)
    surname, given = syllables[0], "".join(syllables[1:])
    return mask_name(f"{surname.capitalize()} {given.capitalize()}".strip())


def _tokens(text: str) -> list[_Tok]:
    terms, longest = _lexicon()
    out: list[_Tok] = []
    i, n = 0, len(text)

    def match_at(j: int) -> str | None:
        for size in range(min(longest, n - j), 0, -1):
            if text[j : j + size] in terms:
                return text[j : j + size]
        return None

    while i < n:
        ch = text[i]
        if ch in _OPEN:
            out.append(_Tok("open", _OPEN[ch], ch))
            i += 1
        elif ch in _CLOSE:
            out.append(_Tok("close", _CLOSE[ch], ch))
            i += 1
        elif _HAN.match(ch) or ch in "。，；：、！？“”（）~":
            term = match_at(i)
            if term is not None:
                t = terms[term]
                out.append(_Tok(t.role, t.english, term, t.prep))
                i += len(term)
                continue
            j = i + 1
            while j < n and _HAN.match(text[j]) and match_at(j) is None:
                j += 1
            if _HAN.match(ch):
                out.append(_Tok("unk", "", text[i:j]))
            else:
                out.append(_Tok("latin", text[i:j], text[i:j]))
            i = j
        else:
            j = i + 1
            while (
                j < n
                and not _HAN.match(text[j])
                and text[j] not in _OPEN
                and text[j] not in _CLOSE
                and text[j] not in "。，；：、！？“”（）~"
            ):
                j += 1
            out.append(_Tok("latin", text[i:j], text[i:j]))
            i = j
    return out


def _neighbour(toks: list[_Tok], i: int, step: int) -> _Tok | None:
    """The nearest token before (step -1) or after (+1) that is not blank or a separator."""
    j = i + step
    while 0 <= j < len(toks):
        t = toks[j]
        if t.kind in ("skip", "open", "close") or (
            t.kind == "latin" and not t.src.strip(" :：-,，")
        ):
            j += step
            continue
        return t
    return None


def _classify_unknown(toks: list[_Tok]) -> None:
    """Decide what each unknown run is from its neighbours: a person, a place or unknown."""
    depth = 0
    for i, t in enumerate(toks):
        if t.kind == "open":
            depth += 1
        elif t.kind == "close":
            depth = max(0, depth - 1)
        if t.kind != "unk":
            continue
        prev, nxt = _neighbour(toks, i, -1), _neighbour(toks, i, +1)
        after = "".join(x.src for x in toks[i + 1 : i + 3])
        if len(t.src) <= _NAME_MAX and (
            (prev is not None and prev.kind == "role")
            or _PHONE_AFTER.match(after)
            or (  # 由曾某某扫描, 的何某某正在派件: who scanned or delivers
                i > 0
                and toks[i - 1].src in _BEFORE_PERSON
                and nxt is not None
                and nxt.src in _PERSON_ACTS
                and 2 <= len(t.src) <= 3
            )
        ):
            t.kind, t.en = "name", _person(t.src)
        elif (
            depth
            or (nxt is not None and nxt.kind in ("suffix", "place"))
            or (prev is not None and prev.kind in ("place", "suffix"))
            or (prev is not None and prev.kind == "verb" and prev.prep)
            or (nxt is not None and nxt.kind == "verb" and nxt.prep)
        ):
            t.kind, t.en = "placeword", romanise(t.src)
        else:
            t.en = romanise(t.src).lower()


def _merge_places(toks: list[_Tok]) -> list[_Tok]:
    """Adjacent place parts (known places, suffixes, romanised runs) as one place."""
    out: list[_Tok] = []
    for t in toks:
        if t.kind in ("place", "suffix", "placeword"):
            if out and out[-1].kind == "placegroup":
                last = out[-1]
                last.en = " ".join(x for x in (last.en, t.en) if x)
                last.src += t.src
                continue
            out.append(_Tok("placegroup", t.en, t.src))
        else:
            out.append(t)
    return out


def _compose(toks: list[_Tok]) -> str:
    """The English words in order, verbs of motion joined to their place."""
    pieces: list[str] = []
    pending_place: int | None = None  # index in pieces of a place that opened its clause
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.kind == "skip":
            i += 1
            continue
        if t.kind == "verb" and t.prep:
            j = i + 1
            while j < len(toks) and (
                toks[j].kind in ("skip", "open")
                or (toks[j].kind == "latin" and not toks[j].src.strip())
            ):
                j += 1
            if j < len(toks) and toks[j].kind == "placegroup":
                pieces.append(f"{t.en} {t.prep} {toks[j].en}")
                if j + 1 < len(toks) and toks[j + 1].kind == "close":
                    j += 1
                pending_place = None
                i = j + 1
                continue
            if pending_place is not None and pending_place == len(pieces) - 1:
                place = pieces.pop()
                pieces.append(f"{t.en} {t.prep} {place}")
                pending_place = None
                i += 1
                continue
            pieces.append(t.en)
            i += 1
            continue
        if t.kind == "placegroup":
            if not [p for p in pieces if p.strip(" []")] or (
                pieces and pieces[-1] in (",", ";", ".")
            ):
                pending_place = len(pieces)
            pieces.append(t.en)
        elif t.kind == "close" and not t.en:
            pass  # 】 leaves the place before it free to join a verb after it
        elif t.kind == "latin":
            if t.en.strip():
                pieces.append(t.en.strip())
        elif t.en:
            pieces.append(t.en)
        i += 1
    text = " ".join(p for p in pieces if p)
    text = re.sub(r"\s+([,.;:!?)\]/])", r"\1", text)
    text = re.sub(r"([(\[/])\s+", r"\1", text)
    text = re.sub(r"([,.;:!?])(?:\s*[,.;:!?])+", r"\1", text)
    text = re.sub(r"\s{2,}", " ", text).strip(" ,;")
    return text[:1].upper() + text[1:]


def _gloss_han(text: str) -> Gloss:
    clean = _simplify(unicodedata.normalize("NFKC", _TAGS.sub("", mask_text(text))))
    toks = _tokens(clean)
    _classify_unknown(toks)
    places = tuple((t.src, t.en) for t in toks if t.kind in ("place", "placeword") and t.en)
    merged = _merge_places(toks)
    groups = tuple((t.src, t.en) for t in merged if t.kind == "placegroup" and t.en)
    complete = not any(t.kind == "unk" for t in toks)
    return Gloss(text, _compose(merged), complete, places + groups, "words")


_CYR = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        [
            "a",
            "b",
            "v",
            "g",
            "d",
            "e",
            "e",
            "zh",
            "z",
            "i",
            "y",
            "k",
            "l",
            "m",
            "n",
            "o",
            "p",
            "r",
            "s",
            "t",
            "u",
            "f",
            "kh",
            "ts",
            "ch",
            "sh",
            "shch",
            "",
            "y",
            "",
            "e",
            "yu",
            "ya",
        ],
        strict=True,
    )
)


def _translit(word: str) -> str:
    out = "".join(_CYR.get(ch.lower(), ch) for ch in word)
    return out[:1].upper() + out[1:]


def _gloss_reading(text: str, carrier: str | None) -> Gloss:
    from toolkit.tracking.phrases import explain

    reading = explain(text, carrier)
    sentence = MILESTONE_GLOSS.get(reading.milestone)
    if sentence is None:
        return Gloss(text, "", False, (), "reading")
    directions = {p.value for p in reading.parts if p.part == "direction"}
    if reading.milestone.startswith("customs") and len(directions) == 1:
        side = next(iter(directions))
        if side in ("import", "export"):
            sentence = f"{side.capitalize()} customs: {sentence[0].lower()}{sentence[1:]}"
    places: tuple[tuple[str, str], ...] = ()
    if _CYRILLIC.search(text):
        words = re.findall(r"(?<![.!?]\s)(?<!^)\b[А-ЯЁ][а-яё]{2,}(?:-[А-ЯЁ][а-яё]+)?", text)
        places = tuple((w, _translit(w)) for w in words)
        if places:
            sentence += " (" + ", ".join(en for _, en in places) + ")"
    return Gloss(text, sentence, True, places, "reading")


@functools.lru_cache(maxsize=65536)
def _gloss_cached(text: str, carrier: str | None) -> Gloss:
    if not text.strip():
        return Gloss(text, "", True, (), "as is")
    if _HAN.search(text) and not _KANA.search(text):
        return _gloss_han(text)
    if _KANA.search(text) or _HANGUL.search(text) or _CYRILLIC.search(text):
        return _gloss_reading(text, carrier)
    from toolkit.tracking.phrases import TEAM_TABLE, explain

    reading = explain(text, carrier)
    lang = reading.event.lang if reading.event is not None else ""
    if lang and lang != "en":
        return _gloss_reading(text, carrier)
    foreign = bool(re.search(r"[^\x00-\x7f’‘“”–—…·°€£™®©]", text))
    if foreign and reading.event is not None and reading.event.table == TEAM_TABLE:
        return _gloss_reading(text, carrier)  # the team taught it; its language is not known
    return Gloss(text, text, not foreign, (), "as is")


def _forget_glosses() -> None:
    _gloss_cached.cache_clear()


def _follow_the_reader() -> None:
    """Empty the cache when the reader changes: glosses of non-Chinese texts are readings."""
    from toolkit.tracking.phrases import on_reader_change

    on_reader_change(_forget_glosses)


_follow_the_reader()


def gloss_parts(text: object, carrier: str | None = None) -> Gloss:
    """The English rendering of one scan text with how it was made (see ``Gloss``)."""
    if not isinstance(text, str):
        text = "" if text is None or (pd.api.types.is_scalar(text) and pd.isna(text)) else str(text)
    return _gloss_cached(text, carrier)


def gloss(text: object, carrier: str | None = None) -> str:
    """An English rendering of a scan text: Chinese term by term with places named or
    romanised and people masked, other origin-post languages by meaning, English as is.
    Never raises; an empty or missing text glosses to ""."""
    return gloss_parts(text, carrier).english


def gloss_many(texts: Iterable[object], carriers: Iterable[object] | None = None) -> pd.Series:
    """``gloss`` for a column of texts, each distinct (text, carrier) rendered once."""
    index = texts.index if isinstance(texts, pd.Series) else None
    texts = pd.Series(list(texts), index=index, dtype=object)
    if carriers is None:
        keys = [(t, None) for t in texts]
    else:
        keys = list(zip(texts, carriers, strict=True))
    done: dict[tuple, str] = {}
    for key in keys:
        if key not in done:
            text, carrier = key
            done[key] = gloss(text, None if carrier is None or pd.isna(carrier) else str(carrier))
    return pd.Series([done[k] for k in keys], index=texts.index, dtype=object)


def glosses_beside(texts: pd.Series, carriers: pd.Series | None = None) -> pd.Series | None:
    """The gloss of each text where it says something the text does not ("" where the text
    is already English or empty), or None when no text of the column needs one: what the
    tables and hovers show beside the original."""
    if texts is None or len(texts) == 0:
        return None
    english = gloss_many(texts, carriers)
    original = texts.astype(object).where(texts.notna(), "").astype(str)
    english = english.where(english.ne(original.to_numpy()) & english.ne(""), "")
    return english if english.ne("").any() else None


def with_english(events: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """The columns to show, with an "in English" column beside the description when any
    scan text is not English (the offline gloss; the original stays)."""
    shown = events[cols]
    if "description" not in cols:
        return shown
    english = glosses_beside(events["description"], events.get("carrier", None))
    if english is None:
        return shown
    at = cols.index("description") + 1
    return shown.reindex(columns=[*cols[:at], "in English", *cols[at:]]).assign(
        **{"in English": english.to_numpy()}
    )
