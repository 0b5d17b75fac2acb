"""Masking of recipient personal data for anything meant for partners."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

import pandas as pd

from toolkit.model import PERSONAL_COLUMNS

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


# Phone numbers inside free text (carrier scans often print the courier's or recipient's).
_PHONE_IN_TEXT = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
# Who signed for a parcel, as carriers print it: "签收人：张三", "签收人是张三", "Signed for by:
# J SMITH". A name needs a separator after the label, so "收件人不在" is left alone.
_SIGNER_ZH = re.compile(
    r"((?:签收人|收件人|收货人|代收人)\s*(?:[:：]|是|为)\s*[:：]?\s*)([\u3400-\u9fff·]{2,4})"
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


def _signer_zh(m: re.Match) -> str:
    who = m.group(2)
    return m.group(0) if who.startswith(_NOT_A_NAME_ZH) else m.group(1) + mask_name(who)


def _signer_en(m: re.Match) -> str:
    who = m.group(2)
    if who.split()[0].lower() in _NOT_A_NAME_EN:
        return m.group(0)
    return m.group(1) + " ".join(f"{w[0]}*" for w in who.split())


def mask_text(text: object) -> str:
    """Free text with mainland mobile numbers (138****1234) and signers' names (签收人：张*,
    signed by: J* S*) masked."""
    if not isinstance(text, str):
        return "" if text is None or (not isinstance(text, str) and pd.isna(text)) else str(text)
    text = _PHONE_IN_TEXT.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)
    text = _SIGNER_ZH.sub(_signer_zh, text)
    return _SIGNER_EN.sub(_signer_en, text)


_DISTRICT_END = re.compile(r"(?:区|县|旗|镇|乡|街道)")


def _text_value(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and len(value.strip()) >= 2 else None


def recipient_masker(
    name: object = None, phone: object = None, address: object = None
) -> Callable[[object], str]:
    """A function masking this recipient's data wherever it turns up in a text, then mask_text.

    The whole name (any case) and, for Latin names, each part of three letters or more; the
    phone's digits however they are spaced or dashed; the whole address, the part of it
    mask_address hides, and the street and number quoted without their district.
    """
    plain: list[tuple[str, str]] = []  # (text, masked) replaced as written
    patterns: list[tuple[str, int, str, str]] = []  # (regex, flags, masked, cue that must occur)
    address = _text_value(address)
    if address:
        masked = mask_address(address)
        plain.append((address, masked))
        kept = masked[: -len(MASK)] if masked.endswith(MASK) else ""
        rest = address[len(kept) :].strip()
        # the hidden part, and what follows each district, town or street-office name in it
        tails = [rest] + [rest[m.end() :] for m in _DISTRICT_END.finditer(rest)]
        plain += [(t.strip(), MASK) for t in tails if len(t.strip()) >= 4]
    name = _text_value(name)
    if name and _LATIN_WORD.fullmatch(name.split()[0]):
        parts = [(name, mask_name(name))]
        parts += [(part, f"{part[0]}*") for part in name.split() if len(part) >= 3]
        patterns += [(rf"\b{re.escape(w)}\b", re.IGNORECASE, m, "") for w, m in parts]
    elif name:
        plain.append((name, mask_name(name)))
    digits = "".join(ch for ch in phone if ch.isdigit()) if isinstance(phone, str) else ""
    if len(digits) >= 7:
        digits = digits[-11:]
        spaced = r"[\s\-]?".join(digits)
        patterns.append((rf"(?<!\d){spaced}(?!\d)", 0, mask_phone(digits), digits[-1]))
    compiled: dict[str, re.Pattern] = {}  # compiled when first needed

    def mask(text: object) -> str:
        if isinstance(text, str):
            for value, masked in plain:
                text = text.replace(value, masked)
            for regex, flags, masked, cue in patterns:
                if cue in text:
                    pattern = compiled.get(regex) or compiled.setdefault(
                        regex, re.compile(regex, flags)
                    )
                    text = pattern.sub(lambda _m, r=masked: r, text)
        return mask_text(text)

    return mask


def recipient_maskers(
    parcels: pd.DataFrame, parcel_ids: Iterable[object]
) -> dict[str, Callable[[object], str]]:
    """recipient_masker for each of these parcels found in the parcels table, by parcel id."""
    wanted = {str(p) for p in parcel_ids if isinstance(p, str) or not pd.isna(p)}
    rows = parcels[parcels["parcel_id"].astype("string").isin(wanted)]
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
