"""Find a parcel's events and record from any of its tracking numbers; rank corrections."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from toolkit.model import text_isin
from toolkit.tracking.numbers import parse


def parcel_ids_for(number: str, parcels: pd.DataFrame | None, events: pd.DataFrame) -> list[str]:
    """Parcel ids known under a tracking number (international, domestic or linked)."""
    n = parse(number).normalized
    if not n:
        return []
    ids: dict[str, None] = {}
    if parcels is not None and len(parcels):
        for col in ("parcel_id", "international_number", "domestic_number", "order_id"):
            if col in parcels.columns:
                hit = parcels[col].astype("string").str.upper() == n
                ids.update(dict.fromkeys(parcels.loc[hit.fillna(False), "parcel_id"].astype(str)))
    for col in ("tracking_number", "linked_number"):
        if col in events.columns:
            hit = events[col].astype("string").str.upper() == n
            ids.update(dict.fromkeys(events.loc[hit.fillna(False), "parcel_id"].astype(str)))
    return list(ids)


def events_for(number: str, parcels: pd.DataFrame | None, events: pd.DataFrame) -> pd.DataFrame:
    """All events of the parcel(s) known under this number, in time order."""
    ids = parcel_ids_for(number, parcels, events)
    out = events[text_isin(events["parcel_id"], ids)]
    return out.sort_values(["parcel_id", "time_utc"], kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class Correction:
    """A corrected number and what is known about it."""

    number: str
    parcel_id: str | None = None  # the parcel it belongs to in the loaded tables
    has_scans: bool = False  # a carrier service answered with scans for it
    rank: int = 0  # its place among the suggestions by edit likelihood (0 = most likely)

    @property
    def leads_somewhere(self) -> bool:
        return self.parcel_id is not None or self.has_scans

    @property
    def why(self) -> str:
        if self.parcel_id is not None:
            return f"parcel {self.parcel_id} in the parcels table"
        if self.has_scans:
            return "the carrier has scans for it"
        return "passes the check digit; nothing known about it yet"


def rank_corrections(
    suggestions: Iterable[str],
    parcels: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    with_scans: Iterable[str] = (),
) -> list[Correction]:
    """Suggested corrections, those that lead somewhere first.

    A suggestion known in the parcels table or the events (as a parcel's international,
    domestic or linked number) comes first, then one a carrier service has scans for
    (`with_scans`, e.g. from `toolkit.tracking.track.numbers_with_scans`), then the rest; within each
    group the order of `suggestions` (most likely edit first) is kept.
    """
    scanned = {parse(n).normalized for n in with_scans}
    history = events if events is not None else pd.DataFrame()
    found = []
    for rank, number in enumerate(dict.fromkeys(suggestions)):
        ids = parcel_ids_for(number, parcels, history) if number else []
        found.append(Correction(number, ids[0] if ids else None, number in scanned, rank))
    return sorted(found, key=lambda c: (c.parcel_id is None, not c.has_scans, c.rank))
