"""Carrier API keys from the environment or a .env file, kept out of every output."""

from __future__ import annotations

import os
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


def redact(text: object, secrets: Iterable[Secret | str | None]) -> str:
    """The text with every occurrence of the given secrets replaced by ****."""
    out = str(text)
    for s in secrets:
        value = s.reveal() if isinstance(s, Secret) else s
        if value and len(value) >= MIN_REDACT:
            out = out.replace(value, MASK)
    return out
