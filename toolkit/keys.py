"""Carrier API keys from the environment or a .env file, kept out of every output."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

ENV_NAMES: dict[str, str] = {
    "seventeentrack": "SEVENTEENTRACK_API_KEY",
    "kuaidi100_key": "KUAIDI100_KEY",
    "kuaidi100_customer": "KUAIDI100_CUSTOMER",
    "aftership": "AFTERSHIP_API_KEY",
}
MASK = "****"


class Secret:
    """A key that never shows its value in repr, str, f-strings or pickles."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        if not isinstance(value, str) or not value.strip():
            raise ValueError("a Secret needs a non-empty string")
        object.__setattr__(self, "_value", value.strip())

    def reveal(self) -> str:
        """The key itself, for building a request and nothing else."""
        return self._value

    def __setattr__(self, name, value):
        raise AttributeError("Secret is read-only")

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self):
        raise TypeError("a Secret cannot be pickled")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))


@dataclass(frozen=True)
class Keys:
    """The keys found for each service; None where a service has none (sandbox)."""

    seventeentrack: Secret | None = None
    kuaidi100_key: Secret | None = None
    kuaidi100_customer: Secret | None = None
    aftership: Secret | None = None

    @property
    def kuaidi100(self) -> bool:
        """True when both Kuaidi100 values (key and customer id) are set."""
        return self.kuaidi100_key is not None and self.kuaidi100_customer is not None

    def secrets(self) -> list[Secret]:
        """Every key that is set."""
        return [
            s
            for s in (
                self.seventeentrack,
                self.kuaidi100_key,
                self.kuaidi100_customer,
                self.aftership,
            )
            if s is not None
        ]


def load_keys(environ: Mapping[str, str] | None = None, dotenv: str | Path | None = ".env") -> Keys:
    """Keys from the environment, then from a .env file for names the environment lacks."""
    env = dict(os.environ if environ is None else environ)
    file_values: dict[str, str | None] = {}
    if dotenv is not None and Path(dotenv).is_file():
        from dotenv import dotenv_values

        file_values = dict(dotenv_values(dotenv))
    found: dict[str, Secret | None] = {}
    for field, name in ENV_NAMES.items():
        value = env.get(name) or file_values.get(name) or ""
        found[field] = Secret(value) if value.strip() else None
    return Keys(**found)


MIN_REDACT = 6  # shorter values are not keys and would mangle ordinary words


# A URL inside any text: scheme://... up to whitespace, a quote or an angle bracket.
_URL = re.compile(r"(?i)\b[a-z][a-z0-9+.\-]*://[^\s'\"<>`]+")
# Trailing characters that close the sentence around a URL rather than belong to it.
_URL_TAIL = ".,;:!?)]}"
# A name=value pair of a query string or fragment (also ;-separated, as some drivers write).
_PARAM = re.compile(r"([?&#;])([^=&#;?]*)=([^&#;]*)")
# Parameter names whose values are secrets: passwords, keys, tokens, secrets, signatures.
_SECRET_PARAM = re.compile(r"(?i)pass|pwd|secret|token|key|sig|auth|credential|session|cookie")


def _userinfo_end(rest: str) -> int:
    """Where the user:password@ part of a URL (after its scheme://) ends, or -1 if it has none."""
    stop = min((i for i in (rest.find("?"), rest.find("#")) if i != -1), default=len(rest))
    at = rest.rfind("@", 0, stop)
    if at == -1 or ":" not in rest[:at]:
        return -1
    host, _, after = rest[:at].partition(":")
    if "/" in host or re.match(r"\d+/", after):  # an @ in the path of host[:port]/...
        return -1
    return at


def _url_parts(url: str) -> tuple[str, str | None, str, list[tuple[int, int]]]:
    """(scheme://user, password or None, the rest, spans of secret query values in the rest)."""
    scheme, _, rest = url.partition("://")
    head, password = f"{scheme}://", None
    at = _userinfo_end(rest)
    if at != -1:
        user, _, password = rest[:at].partition(":")
        head, rest = f"{head}{user}:", rest[at:]
    spans = [m.span(3) for m in _PARAM.finditer(rest) if _SECRET_PARAM.search(m.group(2))]
    return head, password, rest, [s for s in spans if s[1] > s[0]]


def _redact_url_match(match: re.Match) -> str:
    url = match.group(0)
    kept = len(url) - len(url.rstrip(_URL_TAIL))
    url, tail = (url[:-kept], url[-kept:]) if kept else (url, "")
    head, password, rest, spans = _url_parts(url)
    for start, end in reversed(spans):
        rest = rest[:start] + MASK + rest[end:]
    return head + (MASK if password is not None else "") + rest + tail


def redact_url(text: object) -> str:
    """The text with the secrets of every URL in it replaced by ****: the password of
    ``user:password@`` and query values named like a password, key, token, secret or
    signature (``?password=``, ``api_key=``, ``sig=``...)."""
    return _URL.sub(_redact_url_match, str(text))


def url_secrets(text: object) -> list[str]:
    """The secret values redact_url hides in the URLs of a text, as written and decoded."""
    from urllib.parse import unquote

    found: list[str] = []
    for match in _URL.finditer(str(text)):
        _head, password, rest, spans = _url_parts(match.group(0).rstrip(_URL_TAIL))
        values = ([password] if password else []) + [rest[a:b] for a, b in spans]
        for value in values:
            found += [value, unquote(value), unquote(value.replace("+", " "))]
    return list(dict.fromkeys(found))


def redact(text: object, secrets: Iterable[Secret | str | None], *, urls: bool = True) -> str:
    """The text with every occurrence of the given secrets, and (unless urls=False) the
    secrets of any URL in it (see redact_url), replaced by ****."""
    out = redact_url(text) if urls else str(text)
    for s in secrets:
        value = s.reveal() if isinstance(s, Secret) else s
        if value and len(value) >= MIN_REDACT:
            out = out.replace(value, MASK)
    return out
