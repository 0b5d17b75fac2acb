"""Masking of recipient personal data for anything meant for partners.

One path for every partner-facing text (partner report, partner-safe findings export, and
any rendering of carrier text for a partner): recipient_masker (built once per parcel) or,
for text about several parcels, combined_masker; mask_text where no recipient is known.
Table columns of recipient data are masked by mask_personal.
"""

from __future__ import annotations

import functools
import operator
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import pandas as pd

from toolkit.model import PERSONAL_COLUMNS, text_isin

MASK = "****"
# Keep the address down to its city (市, else a prefecture 州/盟, else the province); mask the rest.
_ADDRESS_KEEP = [
    re.compile(p) for p in (r"^.{0,16}?市", r"^.{0,16}?[州盟]", r"^.{0,8}?(?:省|自治区)")
]
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*")


def phone_last4(phone: object) -> str | None:
    """Last four digits of a phone number, or None when it has fewer than four digits."""
    if not isinstance(phone, str):
        return None
    digits = "".join(ch for ch in phone if ch.isdigit())
    return digits[-4:] if len(digits) >= 4 else None


def mask_phone(phone: object) -> str:
    """138****1234: the first three and last four digits of a mobile, **** between."""
    if not isinstance(phone, str) or not phone.strip():
        return ""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) >= 11:
        return f"{digits[-11:-8]}{MASK}{digits[-4:]}"
    if len(digits) >= 4:
        return f"{MASK}{digits[-4:]}"
    return MASK


def mask_name(name: object) -> str:
    """张* for Chinese names, W* L* for Latin ones: the first character of each part."""
    if not isinstance(name, str) or not name.strip():
        return ""
    name = name.strip()
    if _LATIN_WORD.fullmatch(name.split()[0]):
        return " ".join(f"{part[0]}*" for part in name.split())
    return name[0] + "*" * max(1, min(len(name) - 1, 2))


def mask_address(address: object) -> str:
    """广东省深圳市****: province and city kept, street and number masked."""
    if not isinstance(address, str) or not address.strip():
        return ""
    for pattern in _ADDRESS_KEEP:
        m = pattern.match(address.strip())
        if m and m.group(0) != address.strip():
            return f"{m.group(0)}{MASK}"
    return MASK


_MASKERS = {
    "recipient_name": mask_name,
    "recipient_phone": mask_phone,
    "recipient_address": mask_address,
}


def mask_personal(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of a table with every recipient personal column masked (others untouched)."""
    out = df.copy()
    for col in PERSONAL_COLUMNS:
        if col in out.columns:
            out[col] = out[col].map(_MASKERS[col]).astype("string")
    return out


# ---------------------------------------------------------------- masking inside free text
#
# Carrier texts quote a recipient however the courier typed it: +86 or 0086 glued to the
# number, digits spaced, dotted or in brackets, full-width digits, zero-width spaces, the
# name in traditional characters, in pinyin in any case and order, "张先生", the address cut
# down to its building and room. Matching reads a folded text (NFKC, invisible characters
# dropped, accents off Latin letters) and, for a recipient's own data, a compact form of it
# (simplified characters, lower case, separators dropped); each character remembers where
# it came from, so a match is replaced in the text as written and the rest stays as the
# carrier wrote it.

# Invisible characters a copied text may carry inside a number or a name (Unicode Cf).
_INVISIBLE = (
    "\u00ad\u061c\u180e\u200b\u200c\u200d\u200e\u200f"
    "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\ufeff"
)
# Characters that folding changes even in NFKC text: invisible ones, accented Latin letters.
_NOT_FOLDED = re.compile(f"[{_INVISIBLE}\u0300-\u036f\u00c0-\u024f\u1e00-\u1eff]")
# What people put between the digits of a number or the parts of a name or an address.
_SEPARATORS = " \t\n\r\x0b\x0c-‐‑‒–—―.·•・‧/\\_,、()[]{}#'’"
_DIGITS_ZH = dict(zip("〇零一二三四五六七八九", "00123456789", strict=True))


@functools.lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    """One character as matching reads it: NFKC, invisible ones dropped, Latin accents off."""
    if ch in _INVISIBLE or unicodedata.category(ch) == "Cf":
        return ""
    out = unicodedata.normalize("NFKC", ch)
    if not out.isascii():
        bare = "".join(c for c in unicodedata.normalize("NFD", out) if not unicodedata.combining(c))
        if bare.isascii():  # ü is then u, as pinyin without its marks is mostly typed
            out = bare
    return out


@functools.lru_cache(maxsize=1)
def _tables() -> dict[str, Any]:
    """Character maps, one character for one, each with a regex finding the characters it
    changes (a regex scan is quicker than str.translate on Chinese text):
    fold, _fold_char where it gives one other character (full-width forms, the ideographic
    space, accented Latin letters); view, traditional to simplified characters (OpenCC t2s)
    and Chinese digits to digits."""
    from opencc import OpenCC

    fold = {}
    for code in range(0x80, 0x10000):
        ch = chr(code)
        if unicodedata.category(ch) not in ("Cs", "Cn"):
            folded = _fold_char(ch)
            if len(folded) == 1 and folded != ch:
                fold[ch] = folded
    han = [chr(c) for c in (*range(0x3400, 0x4DC0), *range(0x4E00, 0xA000))]
    simple = OpenCC("t2s").convert("\n".join(han)).split("\n")
    view = {t: s for t, s in zip(han, simple, strict=True) if t != s and len(s) == 1}
    view.update(_DIGITS_ZH)

    def finder(chars: Iterable[str]) -> re.Pattern:
        return re.compile(f"[{''.join(re.escape(c) for c in chars)}]")

    return {
        "fold": fold.__getitem__,
        "fold_re": finder(fold),
        "view": view.__getitem__,
        "view_re": finder(view),
        "sep_re": finder(_SEPARATORS),
    }


def _fold(text: str) -> tuple[str, list[int] | None]:
    """The text as matching reads it and, unless each character folds to exactly one, the
    index in the text of each of its characters."""
    if text.isascii():
        return text, None
    t = _tables()
    folded = t["fold_re"].sub(lambda m: t["fold"](m.group()), text)
    if unicodedata.is_normalized("NFKC", folded) and not _NOT_FOLDED.search(folded):
        return folded, None
    parts: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        folded = _fold_char(ch)
        parts.append(folded)
        index.extend([i] * len(folded))
    return "".join(parts), index


def _view(text: str) -> str:
    """Folded text in simplified characters, Chinese digits as digits, Latin in lower case
    (one character for one)."""
    t = _tables()
    if t["view_re"].search(text):
        text = t["view_re"].sub(lambda m: t["view"](m.group()), text)
    lower = text.lower()
    if len(lower) != len(text):  # a few non-Latin capitals lengthen: lower Latin ones only
        lower = "".join(c.lower() if c.isascii() else c for c in text)
    return lower


def _compact(text: str) -> str:
    """The view of a folded text without separators."""
    return _view(_tables()["sep_re"].sub("", text))


_Span = tuple[int, int, str]  # start, end, what replaces it
# a pattern, what to replace each match with (None: leave it), and a quick test on a text
# that must pass for the pattern to be worth running
_Rule = tuple[re.Pattern, Callable[[re.Match], "_Span | None"], Callable[[str], bool]]
_PHONE_CUE = re.compile(r"1[^0-9]{0,3}[3-9]")


def _replace(text: str, index: list[int] | None, spans: list[_Span]) -> str:
    """Text with the spans (in its folded form) replaced; overlapping ones replaced as one."""
    if not spans:
        return text
    if index is not None:
        spans = [(index[a], index[b - 1] + 1, r) for a, b, r in spans]
    spans.sort(key=lambda s: (s[0], -s[1]))
    merged: list[_Span] = []
    for a, b, r in spans:
        if merged and a < merged[-1][1]:  # overlapping: the longer one's mask for both
            la, lb, lr = merged[-1]
            merged[-1] = (la, max(lb, b), lr if lb - la >= b - a else r)
        else:
            merged.append((a, b, r))
    out, pos = [], 0
    for a, b, r in merged:
        out += [text[pos:a], r]
        pos = b
    out.append(text[pos:])
    return "".join(out)


def _rule_spans(folded: str, rules: Iterable[_Rule]) -> list[_Span]:
    spans = []
    for pattern, handler, cue in rules:
        if not cue(folded):
            continue
        for m in pattern.finditer(folded):
            span = handler(m)
            if span is not None and span[1] > span[0]:
                spans.append(span)
    return spans


# Mainland mobile numbers however written: +86 / 0086 / (86) / 86 before them, digits
# spaced, dashed, dotted or bracketed. A digit right before or after means a longer number.
_PHONE_SEP = r"[\s\-‐‑–—.·•/\\()\[\]]"
_PHONE_IN_TEXT = re.compile(
    rf"(?<![0-9])(?:(?:\+|00)\s?\(?\s?86\s?\)?{_PHONE_SEP}{{0,3}}|\(\s?86\s?\){_PHONE_SEP}{{0,3}}"
    rf"|86{_PHONE_SEP}{{0,3}})?(1{_PHONE_SEP}{{0,3}}[3-9](?:{_PHONE_SEP}{{0,3}}[0-9]){{9}})(?![0-9])"
)


def _phone_in_text(m: re.Match) -> _Span:
    digits = "".join(ch for ch in m.group(1) if ch.isdigit())
    return m.start(), m.end(), mask_phone(digits)


# Who signed for a parcel, as carriers print it: "签收人：张三", "签收人是张三", "Signed for by:
# J SMITH". A name needs a separator after the label, so "收件人不在" is left alone.
_SIGNER_ZH = re.compile(
    r"((?:签收人|收件人|收货人|代收人|簽收人|收貨人)\s*(?:[:：]|是|为|為)\s*[:：]?\s*)"
    r"([\u3400-\u9fff·]{2,4})"
)
_NOT_A_NAME_ZH = (
    "本人", "他人", "家人", "家属", "同事", "朋友", "邻居", "前台", "门卫", "保安", "物业",
    "驿站", "快递", "丰巢", "代收", "菜鸟", "公司", "单位", "收发", "门岗", "邮件", "信报",
    "智能", "已", "未", "不",
)  # fmt: skip
_SIGNER_EN = re.compile(
    r"\b((?:signed\s+(?:for\s+)?by|received\s+by\s*:)\s*[:：]?\s*)"
    r"([A-Za-z][A-Za-z.'\-]*(?:[ ]+[A-Za-z][A-Za-z.'\-]*){0,2})",
    re.IGNORECASE,
)
_NOT_A_NAME_EN = {
    "recipient", "customer", "receiver", "reception", "receptionist", "front", "mailroom",
    "neighbour", "neighbor", "agent", "self", "the", "a", "an", "resident", "security",
    "concierge", "household", "addressee", "family", "none", "n/a", "na",
}  # fmt: skip


def _signer_zh(m: re.Match) -> _Span | None:
    who = m.group(2)
    if _view(who).startswith(_NOT_A_NAME_ZH):
        return None
    return m.start(2), m.end(2), mask_name(who)


def _signer_en(m: re.Match) -> _Span | None:
    who = m.group(2)
    if who.split()[0].lower() in _NOT_A_NAME_EN:
        return None
    return m.start(2), m.end(2), " ".join(f"{w[0]}*" for w in who.split())


_IN_ANY_TEXT: tuple[_Rule, ...] = (
    (_PHONE_IN_TEXT, _phone_in_text, lambda t: _PHONE_CUE.search(t) is not None),
    (_SIGNER_ZH, _signer_zh, lambda t: "人" in t),
    (_SIGNER_EN, _signer_en, lambda t: "y" in t or "Y" in t),
)


def _not_text(text: object) -> str:
    return "" if text is None or pd.isna(text) else str(text)


def mask_text(text: object) -> str:
    """Free text with mainland mobile numbers (138****1234, however spaced, prefixed or
    written in full-width digits) and signers' names (签收人：张*, signed by: J* S*) masked."""
    if not isinstance(text, str):
        return _not_text(text)
    _, index, _, spans = _read(text)
    return _replace(text, index, list(spans))


@functools.lru_cache(maxsize=32768)
def _read(text: str) -> tuple[str, list[int] | None, str, tuple[_Span, ...]]:
    """A text folded, the index of its characters (None: the same), its compact form and
    the spans mask_text masks in it. Carrier texts repeat a lot: each is read once."""
    folded, index = _fold(text)
    return folded, index, _compact(folded), tuple(_rule_spans(folded, _IN_ANY_TEXT))


# ---------------------------------------------------------------- one recipient's data

# A literal to find in the compact form: (text, characters of a title before the name that
# stay, replacement (None: the initials of what was found), may follow a +86 prefix, where
# the text must have had a separator (0: nowhere))
_Item = tuple[str, int, "str | None", bool, int]
# Items are looked for only in texts where their cue occurs.
_Group = tuple[str, tuple[_Item, ...]]

# The building and room of an address, and of a text that quotes it (in the view: simplified,
# lower case): 5栋302, 8号楼1203室, B座 1203, 3号楼2单元1203, 12-3-1203, 8#1203, 1203室,
# Room 1203, Building 8 Room 1203.
_BUILDING_ROOM = re.compile(
    r"(?<![a-z])(?:building|bldg|block|blk|tower)\.?\s*#?\s*(?P<b3>[0-9a-z]{1,4})(?![0-9a-z])"
    r"[\s,]*(?:unit\s*[0-9]{1,2}[\s,]*)?(?:room|rm|flat|apt|unit|#)\.?\s*#?\s*"
    r"(?P<r3>[0-9]{2,5})(?![0-9])"
    r"|(?<![a-z])(?:room|rm|flat|apt)\.?\s*#?\s*(?P<r4>[0-9]{3,5})(?![0-9])"
    r"|(?<![0-9a-z])(?:(?P<b>[0-9]{1,4}|[0-9]{1,3}[a-z])\s*"
    r"(?:号楼|号栋|号幢|栋|幢|座|楼|号院|号|#|[\s\-‐–—/]){1,2}"
    r"|(?P<b2>[a-z]{1,2}[0-9]{0,2})\s*(?:号楼|号栋|号幢|栋|幢|座|楼|号院|#|[\-‐–—]))\s*"
    r"(?:(?P<u>[0-9]{1,2})\s*(?:单元|[\s\-‐–—/])\s*)?"
    r"(?:[0-9]{1,2}\s*(?:楼|层|f)\s*)?"
    r"(?P<r>[a-z]?[0-9]{2,5})(?:\s*(?:室|房|号))?(?![0-9])"
    r"|(?<![0-9a-z])(?P<r2>[a-z]?[0-9]{3,5})\s*(?:室|房)"
)


def _room_matches(view: str) -> Iterator[re.Match]:
    """Every building-and-room or room quoted in a text's view, overlapping ones included
    (in 9号12栋1300 both 9号12 and 12栋1300 are read)."""
    pos = 0
    while (m := _BUILDING_ROOM.search(view, pos)) is not None:
        yield m
        pos = m.start() + 1


def _rooms_in(view: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, room) of every building-and-room or room quoted in a text's view."""
    for m in _room_matches(view):
        yield m.start(), m.end(), m.group("r") or m.group("r2") or m.group("r3") or m.group("r4")


def building_rooms(address: object) -> list[tuple[str, str]]:
    """(building, room) of each building-and-room an address gives, read as the masking
    reads it: 8栋1203室 and 8号楼 1203 give ('8', '1203'), B座1203 ('b', '1203'), Building 8
    Room 1203 ('8', '1203'). Lower case; a room with no building is left out."""
    text = _text_value(address)
    if not text:
        return []
    pairs = (
        (m.group("b") or m.group("b2") or m.group("b3"), m.group("r") or m.group("r3"))
        for m in _room_matches(_view(_fold(text)[0]))
    )
    return list(dict.fromkeys((b, r) for b, r in pairs if b and r))


class RecipientMasker:
    """Masks one or more recipients' names, phones and addresses in any spelling, then what
    mask_text masks. Built once per recipient (recipient_masker), called on each text."""

    __slots__ = ("_groups", "_rooms")

    def __init__(
        self,
        groups: Iterable[_Group] = (),
        rooms: Iterable[str] = (),
    ) -> None:
        self._groups = tuple(groups)
        self._rooms = frozenset(rooms)  # rooms of three digits or more

    def __call__(self, text: object) -> str:
        if not isinstance(text, str):
            return _not_text(text)
        folded, index, compact, found = _read(text)
        spans = list(found)
        c2f: list[int] | None = None
        for cue, items in self._groups:
            if cue not in compact:
                continue
            for literal, skip, replacement, phone, gap in items:
                start = compact.find(literal)
                while start >= 0:
                    if c2f is None:
                        c2f = [i for i, ch in enumerate(folded) if ch not in _SEPARATORS]
                    span = _found(
                        folded, compact, c2f, start, literal, skip, replacement, phone, gap
                    )
                    if span is not None:
                        spans.append(span)
                    start = compact.find(literal, start + 1)
        if self._rooms and any(r in compact for r in self._rooms):
            spans += [(a, b, MASK) for a, b, r in _rooms_in(_view(folded)) if r in self._rooms]
        return _replace(text, index, spans)

    def __add__(self, other: RecipientMasker) -> RecipientMasker:
        """One masker for the recipients of both (a text about several parcels)."""
        return RecipientMasker(
            self._groups + other._groups,
            self._rooms | other._rooms,
        )

    def __repr__(self) -> str:  # what it looks for is recipient data: never show it
        return f"<RecipientMasker of {sum(len(i) for _, i in self._groups)} form(s)>"


def _alnum_class(ch: str) -> str:
    return "digit" if ch in "0123456789" else "letter" if ch.isascii() and ch.isalpha() else ""


def _found(
    folded: str,
    compact: str,
    c2f: list[int],
    start: int,
    literal: str,
    skip: int,
    replacement: str | None,
    phone: bool,
    gap: int = 0,
) -> _Span | None:
    """The span (in the folded text) of a literal found in the compact form, or None where it
    is only part of a longer word or number."""
    a, b = c2f[start], c2f[start + len(literal) - 1] + 1
    first, last = _alnum_class(literal[0]), _alnum_class(literal[-1])
    if first and a > 0 and _alnum_class(folded[a - 1]) == first:
        prefix = compact[:start]
        if not (phone and prefix.endswith("86")):
            return None
        p = start - 4 if prefix.endswith("0086") else start - 2
        a = c2f[p]
        if a > 0 and folded[a - 1] == "+":
            a -= 1
        elif a > 0 and _alnum_class(folded[a - 1]) == "digit":
            return None
    if last and b < len(folded) and _alnum_class(folded[b]) == last:
        return None
    if gap and c2f[start + gap] == c2f[start + gap - 1] + 1:  # written as one word
        return None
    if skip:
        a = c2f[start + skip]
    if replacement is None:
        replacement = " ".join(f"{w[0].upper()}*" for w in _LATIN_WORD.findall(folded[a:b]))
    return a, b, replacement


def combined_masker(maskers: Iterable[Callable[[object], str]]) -> Callable[[object], str]:
    """One masking function for text about several parcels: every named recipient's data and
    what mask_text masks, in one pass (mask_text alone when there is no recipient)."""
    own = [m for m in maskers if isinstance(m, RecipientMasker)]
    return functools.reduce(operator.add, own) if own else mask_text


def _text_value(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and len(value.strip()) >= 2 else None


def _one(literal: str, replacement: str | None = MASK, *, phone: bool = False) -> _Group:
    return literal, ((literal, 0, replacement, phone, 0),)


# ---- phones


def _phone_groups(phone: object) -> list[_Group]:
    """The recipient's number however written (with or without +86/0086, separators,
    brackets, full-width or Chinese digits); a landline also without its area code."""
    phone = unicodedata.normalize("NFKC", phone) if isinstance(phone, str) else ""
    digits = "".join(ch for ch in phone if ch in "0123456789")
    for prefix in ("0086", "86"):
        if len(digits) == 11 + len(prefix) and digits.startswith(prefix):
            digits = digits[len(prefix) :]
    if len(digits) < 7:
        return []
    numbers = [digits[-11:]]
    if digits.startswith("0") and len(digits) >= 10:  # landline: area code, then 7-8 digits
        numbers.append(digits[3:] if digits[1] in "12" else digits[4:])
    return [_one(n, mask_phone(n), phone=True) for n in numbers]


# ---- names

_COMPOUND_SURNAMES = (
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "长孙",
    "宇文", "司徒", "夏侯", "轩辕", "端木", "独孤", "南宫", "西门", "百里", "呼延", "澹台",
    "公冶", "太史", "申屠", "钟离", "万俟", "闻人", "赫连", "单于", "司空", "濮阳", "第五",
)  # fmt: skip
_HONORIFICS_ZH = ("先生", "女士", "小姐", "太太", "夫人")
_TITLES_EN = ("mr", "mrs", "ms", "miss", "mx", "madam", "madame", "dr")
# Places a scan text names in pinyin (provinces, cities, districts and hubs). A recipient's
# name whose pinyin spells one of them (吴熙: Wu Xi, as Wuxi) is masked in pinyin only where
# written as two words, so that "Arrived at Wuxi hub" stays as written.
_PLACES_ZH = """
北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南
广东 海南 四川 贵州 云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门
石家庄 唐山 秦皇岛 邯郸 邢台 保定 张家口 承德 沧州 廊坊 衡水 太原 大同 阳泉 长治 晋城 朔州
晋中 运城 忻州 临汾 吕梁 呼和浩特 包头 乌海 赤峰 通辽 鄂尔多斯 呼伦贝尔 沈阳 大连 鞍山 抚顺
本溪 丹东 锦州 营口 阜新 辽阳 盘锦 铁岭 朝阳 葫芦岛 长春 四平 辽源 通化 白山 松原 白城 延吉
哈尔滨 齐齐哈尔 鸡西 鹤岗 双鸭山 大庆 伊春 佳木斯 七台河 牡丹江 黑河 绥化 南京 无锡 徐州
常州 苏州 南通 连云港 淮安 盐城 扬州 镇江 泰州 宿迁 杭州 宁波 温州 嘉兴 湖州 绍兴 金华 衢州
舟山 台州 丽水 义乌 合肥 芜湖 蚌埠 淮南 马鞍山 淮北 铜陵 安庆 黄山 滁州 阜阳 宿州 六安 亳州
池州 宣城 福州 厦门 莆田 三明 泉州 漳州 南平 龙岩 宁德 南昌 景德镇 萍乡 九江 新余 鹰潭 赣州
吉安 宜春 抚州 上饶 济南 青岛 淄博 枣庄 东营 烟台 潍坊 济宁 泰安 威海 日照 临沂 德州 聊城
滨州 菏泽 郑州 开封 洛阳 平顶山 安阳 鹤壁 新乡 焦作 濮阳 许昌 漯河 三门峡 南阳 商丘 信阳
周口 驻马店 武汉 黄石 十堰 宜昌 襄阳 鄂州 荆门 孝感 荆州 黄冈 咸宁 随州 恩施 长沙 株洲 湘潭
衡阳 邵阳 岳阳 常德 张家界 益阳 郴州 永州 怀化 娄底 广州 韶关 深圳 珠海 汕头 佛山 江门 湛江
茂名 肇庆 惠州 梅州 汕尾 河源 阳江 清远 东莞 中山 潮州 揭阳 云浮 南宁 柳州 桂林 梧州 北海
防城港 钦州 贵港 玉林 百色 贺州 河池 来宾 崇左 海口 三亚 儋州 成都 自贡 攀枝花 泸州 德阳
绵阳 广元 遂宁 内江 乐山 南充 眉山 宜宾 广安 达州 雅安 巴中 资阳 贵阳 六盘水 遵义 安顺 毕节
铜仁 昆明 曲靖 玉溪 保山 昭通 丽江 普洱 临沧 大理 拉萨 西安 铜川 宝鸡 咸阳 渭南 延安 汉中
榆林 安康 商洛 兰州 嘉峪关 金昌 白银 天水 武威 张掖 平凉 酒泉 庆阳 定西 陇南 西宁 银川
石嘴山 吴忠 固原 中卫 乌鲁木齐 克拉玛依 吐鲁番 哈密 喀什 伊宁 库尔勒 阿克苏 台北 高雄 台中
浦东 闵行 宝安 龙岗 南山 福田 罗湖 白云 天河 海淀 丰台 顺义 昌平 大兴 通州 萧山 余杭 江宁
虹桥 浦西 黄埔 番禺 花都 龙华 光明 坪山 嘉定 松江 青浦 奉贤 金山 崇明 虹口 杨浦 普陀 徐汇
长宁 静安 黄浦 武侯 锦江 青羊 金牛 成华 双流 郫都 滨江 西湖 拱墅 上城 鼓楼 玄武 秦淮 建邺
栖霞 江北 渝北 九龙坡 南岸 沙坪坝 江岸 江汉 硚口 汉阳 武昌 洪山 张江 陆家嘴 王府井 中关村
望京 亦庄 前海 蛇口 昆山 江阴 常熟 张家港 晋江 石狮 虎门 长安 天府 首都 新郑 双流 萧山
"""
_MAX_FORMS = 24  # pinyin spellings of one name part (readings of its characters combined)


@functools.lru_cache(maxsize=1)
def _pinyin_syllables() -> frozenset[str]:
    """Every toneless pinyin syllable (ü as v), from pypinyin's dictionary."""
    from pypinyin.pinyin_dict import pinyin_dict

    out = set()
    for readings in pinyin_dict.values():
        for r in readings.split(","):
            out.add(_toneless(r))
    return frozenset(s for s in out if s.isascii() and s.isalpha())


def _toneless(reading: str) -> str:
    """A pinyin reading without its tone mark, ü written v (lǚ: lv)."""
    bare = unicodedata.normalize("NFD", reading).replace("u\u0308", "v")
    return "".join(c for c in bare if not unicodedata.combining(c))


@functools.lru_cache(maxsize=8192)
def _readings(ch: str) -> frozenset[str]:
    """The pinyin readings of a Han character (toneless, ü as v; at most three)."""
    from pypinyin.pinyin_dict import pinyin_dict

    readings = pinyin_dict.get(ord(ch), "").split(",")[:3]
    out = {_toneless(r) for r in readings if r}
    return frozenset(r for r in out if r.isascii() and r.isalpha())


def _syllables(word: str) -> list[str] | None:
    """A Latin word split into the fewest pinyin syllables, or None if it is not pinyin."""
    word = word.lower().replace("'", "").replace("’", "").replace("-", "")
    known = _pinyin_syllables()
    best: list[list[str] | None] = [[]] + [None] * len(word)
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - 6), end):
            head = best[start]
            if (
                head is not None
                and word[start:end] in known
                and (best[end] is None or len(head) + 1 < len(best[end]))
            ):
                best[end] = [*head, word[start:end]]
    return best[len(word)]


@functools.lru_cache(maxsize=1)
def _place_pinyin() -> frozenset[str]:
    """_PLACES_ZH and China's divisions as the gloss names them (toolkit.gloss: 和平 →
    Heping), in pinyin, lower case, glued (wuxi, xian, beijing, heping)."""
    from pypinyin import lazy_pinyin

    from toolkit.tracking.gloss import division_names

    places = [*_PLACES_ZH.split(), *(bare for _, bare, _ in division_names())]
    glued = ["".join(lazy_pinyin(p)).replace("ü", "v") for p in places]
    return frozenset(glued + [p.replace("v", "u") for p in glued])


def spells_a_place(word: str) -> bool:
    """Whether a word (any case) is the pinyin of a place scan texts name (Wuxi, Dongying)."""
    return word.lower().replace("ü", "v") in _place_pinyin()


def _spellings(part: list[set[str]]) -> list[str]:
    """The ways a name part (readings of each character) is spelled, ü as v, u or yu."""
    forms = [""]
    for readings in part:
        variants = {r.replace("v", x) for r in readings for x in ("v", "u", "yu")}
        forms = [f + v for f in forms for v in sorted(variants)][:_MAX_FORMS]
    return forms


def _pinyin_groups(surname: list[set[str]], given: list[set[str]]) -> list[_Group]:
    """A name in pinyin: whole in either order, any case, spaced or glued (Zhang Wei, WEI
    ZHANG, zhangwei, Zhang Xiao-Ming); the surname with the given name's initials (Zhang W.,
    Zhang X.M., X.M. Zhang) or after an English title (Mr Zhang)."""
    if not surname or not given:
        return []
    places = _place_pinyin()
    givens = _spellings(given)
    initials = {"".join(g[0] for g in combo) for combo in _initial_combos(given)}
    initials |= {i[0] for i in initials}
    groups = []
    for s in _spellings(surname):
        # a name that spells a place (Jing Zhou, Jingzhou) only where written in two words
        items = [
            (w, 0, None, False, len(a) if w in places else 0)
            for g in givens
            for a, w in ((s, s + g), (g, g + s))
        ]
        # initials only apart from the surname (He T., T. He): glued, they spell words of
        # carriers' English (t+he "the", he+r "her", ma+y "may", a+li "Ali")
        items += [(s + i, 0, None, False, len(s)) for i in initials]
        items += [(i + s, 0, None, False, len(i)) for i in initials]
        items += [(t + s, len(t), None, False, 0) for t in _TITLES_EN]
        groups.append((s, tuple(items)))
    return groups


def _initial_combos(given: list[set[str]]) -> list[tuple[str, ...]]:
    combos: list[tuple[str, ...]] = [()]
    for readings in given:
        combos = [(*c, r) for c in combos for r in sorted(readings)][:_MAX_FORMS]
    return combos


def _han_name_groups(han: str, name: str) -> list[_Group]:
    """A Chinese name in simplified or traditional characters, spaced or not, in pinyin, and
    its surname with 先生, 女士, 小姐 or an English title."""
    simple = _compact(han)
    n = 2 if len(simple) >= 3 and simple.startswith(_COMPOUND_SURNAMES) else 1
    masked = mask_name(name if _HAN.fullmatch(name) else han)
    items = [(simple, 0, masked, False, 0)]
    items += [(simple[:n] + h, 0, masked, False, 0) for h in _HONORIFICS_ZH]
    groups: list[_Group] = [(simple[:n], tuple(items))]
    readings = [_readings(ch) for ch in _view(han)]
    if all(readings):
        groups += _pinyin_groups(readings[:n], readings[n:])
    return groups


def _latin_name_groups(words: list[str]) -> list[_Group]:
    """A Latin name: whole in any case and spacing; a pinyin one also in either order, glued
    or with initials, or after a title; another one also its last word (three letters or
    more) alone."""
    lower = [w.lower() for w in words]
    groups: list[_Group] = []
    if len(words) > 1 or len(words[0]) >= 3:
        groups.append(_one("".join(lower), mask_name(" ".join(words))))
    split = [_syllables(w) for w in lower]
    if all(split) and sum(len(s) for s in split) <= 5 and len(words) <= 3:
        parts = [[{s} for s in syllables] for syllables in split]  # type: ignore[union-attr]
        if len(parts) == 1:  # one word: its surname is its first syllable, or its last
            parts = [[s] for s in parts[0]]
        # surname first (as Chinese write it) or last (as an English form does)
        for surname, given in ((parts[0], parts[1:]), (parts[-1], parts[:-1])):
            groups += _pinyin_groups(surname, [s for p in given for s in p])
    else:
        # the surname (the last word) alone, as in "Left with SMITH"; a first name alone is
        # too often someone else's (John Lewis & Partners)
        surname = lower[-1]
        if len(surname) >= 3:
            groups.append(_one(surname, f"{surname[0].upper()}*"))
    return groups


_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")


def _name_groups(name: object) -> list[_Group]:
    name = _text_value(name)
    if not name:
        return []
    folded = _fold(name)[0]
    han = "".join(_HAN.findall(folded))
    groups = _han_name_groups(han, name) if len(han) >= 2 else []
    words = _LATIN_WORD.findall(folded)
    if words:
        groups += _latin_name_groups(words)
    return groups


# ---- addresses

_DISTRICT_END = re.compile(r"(?:区|县|旗|镇|乡|街道)")
_STREET_NUMBER = re.compile(r"^.*?(?:路|街|道|巷|里|大街|大道)[0-9]+(?:号|弄)")


def _address_parts(address: object) -> tuple[list[_Group], set[str]]:
    """The whole address, the part mask_address hides and what follows each district, town
    or street-office name in it (as literals); its rooms (numbers of three digits or more
    after a building or before 室)."""
    address = _text_value(address)
    if not address:
        return [], set()
    masked = mask_address(address)
    kept = masked[: -len(MASK)] if masked.endswith(MASK) else ""
    rest = _fold(address[len(kept) :].strip())[0]
    view = _view(rest)
    tails = [rest] + [rest[m.end() :] for m in _DISTRICT_END.finditer(view)]
    # each also without 室 at its end, and cut after its street number (科技园路9号)
    tails += [t[:-1] for t in tails if t.endswith(("室", "房"))]
    tails += [t[: m.end()] for t in tails if (m := _STREET_NUMBER.search(_view(t)))]
    items = [(_compact(_fold(address)[0]), 0, masked, False, 0)]
    items += [(c, 0, MASK, False, 0) for c in dict.fromkeys(map(_compact, tails)) if len(c) >= 4]
    # looked for only in texts holding the shortest, when every other one holds it
    cue = min((i[0] for i in items), key=len)
    if all(cue in i[0] for i in items):
        groups = [(cue, tuple(items))]
    else:
        groups = [(i[0], (i,)) for i in items]
    rooms = {r for *_, r in _rooms_in(_view(_fold(address)[0])) if sum(map(str.isdigit, r)) >= 3}
    return groups, rooms


def recipient_masker(
    name: object = None, phone: object = None, address: object = None
) -> RecipientMasker:
    """A function masking this recipient's data wherever and however a text quotes it, then
    what mask_text masks.

    Name: whole, in simplified or traditional characters, spaced, in pinyin in any case,
    order and spacing, with the given name's initials (Zhang W.), the surname with 先生,
    女士, 小姐 or Mr/Ms; a Latin name that is not pinyin also its last word alone.
    Phone: with or without +86/0086, separators, brackets, full-width or Chinese digits.
    Address: whole, the part mask_address hides, the street and number without their
    district, and the building and room alone (8栋1203, B座 1203, 1203室).
    """
    groups, rooms = _address_parts(address)
    return RecipientMasker(groups + _name_groups(name) + _phone_groups(phone), rooms)


def recipient_maskers(
    parcels: pd.DataFrame, parcel_ids: Iterable[object]
) -> dict[str, RecipientMasker]:
    """recipient_masker for each of these parcels found in the parcels table, by parcel id."""
    wanted = {str(p) for p in parcel_ids if isinstance(p, str) or not pd.isna(p)}
    rows = parcels[text_isin(parcels["parcel_id"], wanted)]
    columns = [rows.get(c, pd.Series(None, index=rows.index)) for c in PERSONAL_COLUMNS]
    return {
        str(pid): recipient_masker(name, phone, address)
        for pid, name, phone, address in zip(rows["parcel_id"], *columns, strict=True)
    }


def mask_recipient_texts(
    texts: pd.Series, parcel_ids: pd.Series, maskers: Mapping[str, Callable[[object], str]]
) -> pd.Series:
    """Each text masked for the recipient of its own parcel (maskers from recipient_maskers;
    mask_text alone for parcels without one), as strings."""
    out = [maskers.get(str(pid), mask_text)(t) for pid, t in zip(parcel_ids, texts, strict=True)]
    return pd.Series(out, index=texts.index, dtype="string")
