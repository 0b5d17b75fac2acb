"""Tracking numbers: clean-up, format and check-digit validation, carrier candidates."""

from __future__ import annotations

S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)


def s10_check_digit(serial: str) -> int:
    """UPU S10 check digit for an 8-digit serial (weights 8,6,4,2,3,5,9,7; 10->0, 11->5)."""
    total = sum(int(d) * w for d, w in zip(serial, S10_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: 0, 11: 5}.get(check, check)
