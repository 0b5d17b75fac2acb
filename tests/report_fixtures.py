"""Data for the partner-report tests: a parcel whose carrier texts try to run script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

EVIL_ID = "PEVIL0001"
EVIL_SCRIPT = "<script>window.__pwned=1</script>"
EVIL_IMG = '<img src=x onerror="window.__pwned=1">'
EVIL_RECIPIENT = {
    "recipient_name": "欧阳娜娜",
    "recipient_phone": "13912345678",
    "recipient_address": "广东省深圳市南山区科技园路1号2栋301室",
}
# What carriers print about the recipient in their own words: the name, the phone spaced
# out, the street without province and city, and who signed.
EVIL_CARRIER_TEXT = (
    "收件人欧阳娜娜，电话 139 1234 5678，派送至南山区科技园路1号2栋301室，签收人：李小四"
)
EVIL_LEAKS = ("欧阳娜娜", "139 1234 5678", "南山区科技园路1号2栋301室", "李小四")
FAKE_KEYS = {
    "SEVENTEENTRACK_API_KEY": "FAKE17KEY-5c2e9a0b7d",
    "KUAIDI100_KEY": "FAKEK100KEY-81f3aa42",
    "KUAIDI100_CUSTOMER": "FAKECUSTOMER-0d9b2e",
    "AFTERSHIP_API_KEY": "FAKEASKEY-77e1c3f0",
}
INTERNAL_NOTE = "INTERNAL-ONLY-7f3c: seller suspects the buyer"


def with_evil_parcel(
    parcels: pd.DataFrame, events: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tables plus a copy of a held parcel whose every scan carries script in its texts."""
    source = parcels[parcels["true_category"] == "customs_hold"].iloc[[0]]
    row = source.assign(parcel_id=EVIL_ID, **EVIL_RECIPIENT).astype(parcels.dtypes.to_dict())
    scans = events[events["parcel_id"] == source["parcel_id"].iloc[0]].copy()
    scans["parcel_id"] = EVIL_ID
    scans["description"] = (
        EVIL_SCRIPT
        + " 收件人电话 "
        + EVIL_RECIPIENT["recipient_phone"]
        + " "
        + EVIL_CARRIER_TEXT
        + " #"
    ) + pd.Series(range(len(scans)), index=scans.index).astype(str)
    scans["location"] = EVIL_IMG
    scans = scans.astype(events.dtypes.to_dict())
    return (
        pd.concat([parcels, row], ignore_index=True),
        pd.concat([events, scans], ignore_index=True),
    )


def stuck_demo_ids(parcels: pd.DataFrame, n: int = 4) -> list[str]:
    """A few demo parcels of different troubled kinds, to report on with the evil one."""
    kinds = ("handover_not_synced", "silent_too_long", "returned_or_exception", "number_invalid")
    ids = [parcels.loc[parcels["true_category"] == k, "parcel_id"].iloc[0] for k in kinds]
    return [str(i) for i in ids[:n]]


def run_report_command(*args: str) -> subprocess.CompletedProcess:
    """``python -m toolkit report ARGS`` from the repository root, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "toolkit", "report", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
