"""The team's own wording: texts the shipped tables leave unread, and teaching the reader.

The shipped tables read most carriers' texts, not all of them: a carrier the tables have
never seen writes its own jargon, and such a scan reads ``unknown`` until somebody says what
it means. ``unread(events)`` lists those texts in a team's scans, most frequent first;
``teach(text, milestone)`` adds a row to the team's wording table
(``toolkit.tracking.phrases.team_wording_path()``, a CSV in the phrase tables' columns plus
``analyst`` and ``taught_at``), checks that the text now reads as taught and makes every
reader in the process use it at once (other processes see it within seconds).

A taught row ranks above every shipped row and no precedence row changes it, so teach the
words that carry the whole meaning ("nicht zugestellt", not "zugestellt"). By default the
words are the whole text; shorter words also read the carrier's other texts that contain
them. ``forget(words)`` removes a row. ``explain(text)`` names the row that decided.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from toolkit.errors import InputError
from toolkit.model import CARRIERS, DOMESTIC_CARRIERS, MILESTONES, Milestone
from toolkit.privacy import mask_text
from toolkit.tracking import phrases as ph

__all__ = ["UNREAD_COLUMNS", "forget", "reread", "teach", "team_wording", "unread"]

UNREAD_COLUMNS: tuple[str, ...] = (
    "description",
    "carrier",
    "scans",
    "parcels",
    "example_parcel",
    "example_number",
    "last_seen",
)
_LETTER = re.compile(r"[^\W\d_]")  # a letter of any script
_LONG_NUMBER = re.compile(r"\d{7,}")
_MAX_WORDS = 300  # characters: a taught row is a carrier's phrase, not a page


def _path(path: str | Path | None) -> Path:
    chosen = Path(path) if path is not None else ph.team_wording_path()
    if chosen is None:
        raise InputError(
            "there is no team wording table: $TOOLKIT_TEAM_WORDING is set but empty",
            None,
            "Set TOOLKIT_TEAM_WORDING to a file path (or unset it to use var/team_wording.csv)",
        )
    return chosen


def _rows(path: Path) -> list[dict[str, str]]:
    """The team table's rows as written (validated by loading it)."""
    if not path.is_file():
        return []
    ph.load_team_wording(path)  # a hand-edited file that no longer reads fails here, named
    text = path.read_text(encoding="utf-8-sig")
    return [
        {c: (row.get(c) or "") for c in ph.TEAM_COLUMNS}
        for row in csv.DictReader(io.StringIO(text, newline=""))
        if any((v or "").strip() for v in row.values())
    ]


_LOCK_WAIT = 30.0  # seconds a teaching waits for another one on the same table


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold the table's lock (``<table>.lock`` beside it) while its rows are read, changed and
    written, so that analysts teaching at once on a shared table each keep their row. The
    lock goes with the process that holds it; on a system without ``fcntl`` there is none."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    lock = path.with_name(path.name + ".lock")
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock, "a")  # noqa: SIM115 - held for the duration of the block
    except OSError as exc:
        raise InputError(
            f"the team wording table cannot be locked ({exc.strerror})",
            str(lock),
            "Check the folder exists and you may write to it",
        ) from None
    with handle:
        deadline = time.monotonic() + _LOCK_WAIT
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise InputError(
                        f"another teaching has held the team wording table for over "
                        f"{_LOCK_WAIT:.0f} s",
                        str(lock),
                        "Try again in a moment; if it persists, look for a stuck notebook "
                        "using the same table",
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    """Write the table whole, through a temporary file, so a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".team_wording.", suffix=".csv", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=ph.TEAM_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def team_wording(path: str | Path | None = None) -> pd.DataFrame:
    """The team's taught rows as a table (empty, with its columns, when there are none)."""
    chosen = _path(path)
    return pd.DataFrame(_rows(chosen), columns=list(ph.TEAM_COLUMNS))


def _carrier(carrier: object) -> str | None:
    if carrier is None or (isinstance(carrier, str) and not carrier.strip()):
        return None
    code = ph.carrier_key(carrier)
    if code not in CARRIERS:
        raise InputError(
            f"carrier {carrier!r} is not a carrier code the reader knows",
            None,
            "Leave it out to teach the words for every carrier, or use one of: "
            + ", ".join(sorted(CARRIERS)),
        )
    return code


def _same(got: str, want: str, carrier: str | None) -> bool:
    """A domestic carrier's transit reads as domestic transit: that is what was taught."""
    if got == want:
        return True
    return (
        want == Milestone.IN_TRANSIT
        and got == Milestone.DOMESTIC_IN_TRANSIT
        and carrier in DOMESTIC_CARRIERS
    )


def teach(
    text: str,
    milestone: str,
    *,
    words: str | None = None,
    carrier: str | None = None,
    analyst: str = "",
    path: str | Path | None = None,
    source_carrier: str | None = None,
) -> ph.Reading:
    """Teach the reader that ``text`` (from ``carrier``, or any carrier) means ``milestone``.

    ``words`` (default: the whole text) are the part of the text that carries the meaning;
    texts containing them read the same from now on. Teaching the same words (and carrier)
    again replaces the earlier row. The text must then read as taught from the carrier it
    came from (``source_carrier``, default ``carrier``). Returns how the text now reads.
    """
    if not isinstance(text, str) or not ph.normalize_text(text):
        raise InputError("the text to teach is empty", None, "Pick a scan text first")
    if milestone not in MILESTONES:
        raise InputError(
            f"milestone {milestone!r} is not one of the reader's milestones",
            None,
            "Use one of: " + ", ".join(MILESTONES),
        )
    words = (words if words is not None else text).strip()
    needle = ph.normalize_text(words)
    if len(_LETTER.findall(needle)) < 2:
        raise InputError(
            f"the words to teach {words!r} hold fewer than two letters",
            None,
            "Keep the words that say what happened: so few would read a great many texts",
        )
    if len(words) > _MAX_WORDS:
        raise InputError(
            f"the words to teach are {len(words)} characters long",
            None,
            f"Keep the part that says what happened (at most {_MAX_WORDS} characters)",
        )
    if needle not in ph.normalize_text(text):
        raise InputError(
            f"the words {words!r} do not occur in the text {text!r}",
            None,
            "Copy the words from the text itself (case, spacing and full-width signs do not "
            "matter)",
        )
    number = _LONG_NUMBER.search(needle)
    if number:
        raise InputError(
            f"the words to teach hold the number {number.group(0)}",
            None,
            "A phone, tracking or hub number matches this one scan only (and a phone is "
            "personal data): keep the words around it",
        )
    code = _carrier(carrier)
    seen_from = _carrier(source_carrier) if source_carrier is not None else code
    table = _path(path)
    with _locked(table):
        rows = [
            r
            for r in _rows(table)
            if (ph.normalize_text(r["pattern"]), r["carrier"].casefold() or None) != (needle, code)
        ]
        rows.append(
            {
                "pattern": words,
                "kind": "substr",
                "milestone": milestone,
                "priority": str(ph.TEAM_PRIORITY),
                "carrier": code or "",
                "lang": "",
                "example": mask_text(text.strip()),  # the table is shared: phones masked
                "analyst": analyst.strip(),
                "taught_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            }
        )
        taught = ph.team_phrases(((r, i) for i, r in enumerate(rows, start=2)), table)
        shipped, parts, precedence = ph.shipped_tables()
        matcher = ph.PhraseMatcher((*shipped, *taught), parts, precedence)
        reading = matcher.read(text, seen_from)
        if not _same(reading.milestone, milestone, seen_from):
            # another of the team's rows outranks these words for this text (one for this
            # carrier, or a longer one)
            decided = reading.event
            raise InputError(
                f"after teaching, the text still reads {reading.milestone!r}",
                f"{decided.table} line {decided.row}" if decided is not None else None,
                "Another taught phrase of the team's matches this text first (one taught for its "
                "carrier, or a longer one): teach the same words for this carrier, or forget "
                "that phrase first",
            )
        _write(table, rows)
    if path is None:
        ph._DEFAULT.install(matcher)
    return reading


def forget(words: str, carrier: str | None = None, *, path: str | Path | None = None) -> bool:
    """Remove the taught row of these words (and carrier); False when there was none."""
    table = _path(path)
    key = (ph.normalize_text(words or ""), _carrier(carrier))
    with _locked(table):
        rows = _rows(table)
        kept = [
            r
            for r in rows
            if (ph.normalize_text(r["pattern"]), r["carrier"].casefold() or None) != key
        ]
        if len(kept) == len(rows):
            return False
        _write(table, kept)
    if path is None:
        ph._DEFAULT.clear()
    return True


def reread(events: pd.DataFrame) -> pd.Series:
    """Each scan's milestone read again from its text, carrier and provider code (the
    events' own ``milestone`` column was read when they were fetched)."""
    if events is None or events.empty or "description" not in events.columns:
        return pd.Series([], dtype="string", index=getattr(events, "index", None))
    carriers = events["carrier"] if "carrier" in events.columns else None
    statuses = events["raw_status"] if "raw_status" in events.columns else None
    out = ph.classify_many(events["description"], carriers, statuses)
    out.index = events.index
    return out


def unread(events: pd.DataFrame, limit: int | None = None) -> pd.DataFrame:
    """The scan texts the reader leaves ``unknown``, one row per text and carrier: how many
    scans and parcels carry it, one scan to look at (its parcel and tracking number) and when
    the text was last seen (``time_utc``), most scans first."""
    columns = list(UNREAD_COLUMNS)
    if events is None or events.empty or "description" not in events.columns:
        return pd.DataFrame(columns=columns)
    milestone = reread(events)
    text = events["description"].astype("string").fillna("").str.strip()
    mask = milestone.eq(Milestone.UNKNOWN.value).to_numpy() & text.ne("").to_numpy()
    if not mask.any():
        return pd.DataFrame(columns=columns)

    def column(name: str) -> pd.Series:
        if name in events.columns:
            return events[name].astype("string").fillna("")[mask]
        return pd.Series("", index=events.index[mask], dtype="string")

    seen = (
        pd.to_datetime(events["time_utc"], utc=True, errors="coerce")[mask]
        if "time_utc" in events.columns
        else pd.Series(pd.NaT, index=events.index[mask], dtype="datetime64[ns, UTC]")
    )
    frame = pd.DataFrame(
        {
            "description": text[mask],
            "carrier": column("carrier"),
            "parcel": column("parcel_id"),
            "number": column("tracking_number"),
            "seen": seen,
        }
    )
    table = (
        frame.groupby(["description", "carrier"], sort=False, dropna=False)
        .agg(
            scans=("parcel", "size"),
            parcels=("parcel", "nunique"),
            example_parcel=("parcel", "first"),
            example_number=("number", "first"),
            last_seen=("seen", "max"),
        )
        .reset_index()
        .sort_values(
            ["scans", "parcels", "description"], ascending=[False, False, True], kind="stable"
        )
        .reset_index(drop=True)
    )
    return table.head(limit) if limit is not None else table
