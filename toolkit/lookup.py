"""Find a parcel's events and record from any of its tracking numbers."""

from __future__ import annotations

import pandas as pd

from toolkit.numbers import parse


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
    out = events[events["parcel_id"].astype(str).isin(ids)]
    return out.sort_values(["parcel_id", "time_utc"], kind="stable").reset_index(drop=True)
