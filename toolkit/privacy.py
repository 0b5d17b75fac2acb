"""Masking of recipient personal data for anything meant for partners."""

from __future__ import annotations

import re

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


def mask_text(text: object) -> str:
    """Free text with any mainland mobile number in it masked as 138****1234."""
    if not isinstance(text, str):
        return "" if text is None or (not isinstance(text, str) and pd.isna(text)) else str(text)
    return _PHONE_IN_TEXT.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)
