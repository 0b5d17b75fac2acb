"""The Markdown table every benchmark prints (the README quotes them as they are)."""

from __future__ import annotations


def table(rows: list[tuple], header: tuple) -> str:
    """Rows under a header as a Markdown table, each column as wide as its widest cell."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    lines = [
        "| " + " | ".join(str(x).ljust(w) for x, w in zip(r, widths, strict=True)) + " |"
        for r in [header, *rows]
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
