"""The demo data generator: reproducible, realistic, and honest about what can be seen."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit.errors import InputError, MissingColumnsError
from toolkit.model import CARRIERS, CATEGORIES, MILESTONES, PARCEL_COLUMNS
from toolkit.tracking.numbers import parse
from toolkit.world import demo

AS_OF = pd.Timestamp(demo.DEFAULT_AS_OF)
CATEGORY_SHARE = {
    "delivered": 0.35,
    "moving": 0.20,
    "awaiting_clearance": 0.10,
    "handover_not_synced": 0.10,
    "number_invalid": 0.06,
    "number_not_found": 0.04,
    "customs_hold": 0.06,
    "silent_too_long": 0.05,
    "returned_or_exception": 0.04,
}


@pytest.fixture(scope="module")
def world() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The committed set, generated afresh."""
    return demo.generate(2000, 7)


@pytest.fixture(scope="module")
def scans(world) -> pd.DataFrame:
    """The world's events with their time in UTC, read as the contract reads them."""
    _, events = world
    return events.assign(utc=_utc(events))


@pytest.fixture(scope="module")
def view(world) -> pd.DataFrame:
    parcels, events = world
    return demo.observable_events(parcels, events)


def _utc(events: pd.DataFrame) -> pd.Series:
    """time_local as UTC: its offset if given, otherwise the carrier's zone."""
    text = events["time_local"]
    has_offset = text.str.contains(r"(?:[+-]\d\d:\d\d|Z)$", regex=True)
    out = pd.Series(pd.NaT, index=events.index, dtype="datetime64[ns, UTC]")
    out[has_offset] = pd.to_datetime(text[has_offset], format="ISO8601", utc=True)
    for carrier, rows in events[~has_offset].groupby("carrier").groups.items():
        naive = pd.to_datetime(text[rows], format="ISO8601")
        out[rows] = naive.dt.tz_localize(CARRIERS[carrier].tz).dt.tz_convert("UTC")
    assert out.notna().all()
    return out


def _by_category(parcels: pd.DataFrame, category: str) -> pd.Series:
    return parcels.loc[parcels["true_category"] == category, "parcel_id"]


# --- reproducibility ---------------------------------------------------------------------


def test_same_seed_writes_identical_files_and_another_seed_does_not(tmp_path):
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        demo.write(*demo.generate(300, seed), tmp_path / name)
    for file in ("parcels.csv", "events.csv"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()
        assert (tmp_path / "a" / file).read_bytes() != (tmp_path / "c" / file).read_bytes()


def test_committed_set_is_what_the_generator_writes_and_is_small(world, tmp_path):
    paths = demo.write(*world, tmp_path)
    committed = [demo.DEMO_DIR / "parcels.csv", demo.DEMO_DIR / "events.csv"]
    assert sum(p.stat().st_size for p in committed) < 5 * 1024 * 1024
    for made, kept in zip(paths, committed, strict=True):
        assert made.read_bytes() == kept.read_bytes(), (
            f"{kept} differs from generate(2000, 7): run `make demo` and commit the result"
        )


def test_file_columns(world):
    parcels, events = world
    assert tuple(parcels.columns) == (*PARCEL_COLUMNS, *demo.EXTRA_PARCEL_COLUMNS)
    assert tuple(events.columns) == demo.EVENT_FILE_COLUMNS
    assert parcels["parcel_id"].is_unique
    assert set(events["parcel_id"]) <= set(parcels["parcel_id"])
    assert (parcels["as_of"] == "2026-11-20T04:00:00Z").all()


# --- the mix -------------------------------------------------------------------------------


def test_categories_are_the_toolkit_ones_in_the_intended_mix(world):
    parcels, events = world
    assert set(parcels["true_category"]) == set(CATEGORIES)
    assert set(events["true_milestone"]) <= set(MILESTONES)
    share = parcels["true_category"].value_counts(normalize=True)
    for category, expected in CATEGORY_SHARE.items():
        assert share[category] == pytest.approx(expected, abs=0.01), category
    for scenario, category in zip(parcels["scenario"], parcels["true_category"], strict=True):
        assert demo.SCENARIO_CATEGORY[scenario] == category


def test_lanes_routes_and_carriers_vary(world):
    parcels, events = world
    assert set(parcels["origin_country"]) >= {"US", "GB", "DE", "JP", "KR", "AU"}
    assert set(parcels["route"]) == {"postal", "commercial"}
    assert parcels["destination_province"].nunique() >= 10
    domestic = set(events.loc[events["leg"] == "domestic", "carrier"])
    assert domestic >= {"ems", "chinapost", "sf", "yto", "zto", "sto", "yunda", "jd"}
    assert set(events.loc[events["leg"] == "international", "carrier"]) >= {
        "usps",
        "royalmail",
        "deutschepost",
        "japanpost",
        "koreapost",
        "auspost",
        "ups",
        "fedex",
        "dhl",
        "yunexpress",
    }
    assert events["description"].str.contains(r"[\u4e00-\u9fff]").mean() > 0.3
    assert events["description"].str.contains(r"^[ -~]+$").mean() > 0.3


def test_recipients_look_like_chinese_recipients(world):
    parcels, _ = world
    assert parcels["recipient_phone"].str.fullmatch(r"1[3-9]\d{9}").all()
    assert parcels["recipient_name"].str.fullmatch(r"[\u4e00-\u9fff]{2,3}").all()
    assert (
        parcels["recipient_address"]
        .str.startswith(tuple(set(parcels["destination_province"])))
        .all()
    )
    shipped = pd.to_datetime(parcels["shipped_at"], format="ISO8601", utc=True)
    assert parcels["shipped_at"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d").all()
    assert ((AS_OF - shipped) < pd.Timedelta(days=70)).all()
    assert (shipped < AS_OF).all()


# --- numbers -------------------------------------------------------------------------------


def test_numbers_are_valid_for_their_carriers_except_the_mistyped(world):
    parcels, _ = world
    for row in parcels.itertuples():
        true = parse(row.true_international_number)
        assert true.valid is not False and row.international_carrier in true.candidates, row
        if row.true_category == "number_invalid":
            assert parse(row.international_number).valid is False, row.international_number
        else:
            assert row.international_number == row.true_international_number
        if row.true_domestic_number:
            dom = parse(row.true_domestic_number)
            assert dom.valid is not False and dom.candidates, row.true_domestic_number
    s10 = parcels["true_international_number"].str.fullmatch(r"[A-Z]{2}\d{9}[A-Z]{2}")
    assert parse(parcels.loc[s10, "true_international_number"].iloc[0]).valid is True


def test_mistyped_numbers_are_one_edit_away(world):
    parcels, _ = world
    bad = parcels[parcels["true_category"] == "number_invalid"]
    assert len(bad) == 120
    kinds = set()
    for typed, true, scenario in zip(
        bad["international_number"], bad["true_international_number"], bad["scenario"], strict=True
    ):
        diff = [i for i, (a, b) in enumerate(zip(typed, true, strict=True)) if a != b]
        if len(diff) == 1:
            kind = "digit"
        else:
            i, j = diff
            assert j == i + 1 and typed[i] == true[j] and typed[j] == true[i], (typed, true)
            kind = "transposition"
        assert scenario == f"mistyped_{kind}"
        kinds.add(kind)
    assert kinds == {"digit", "transposition"}


def test_domestic_number_is_given_only_when_linked(world):
    parcels, _ = world
    filled = parcels["domestic_number"] != ""
    assert (filled == (parcels["domestic_carrier"] != "")).all()
    assert (
        parcels.loc[filled, "domestic_number"] == parcels.loc[filled, "true_domestic_number"]
    ).all()
    unlinked = parcels["true_category"] == "handover_not_synced"
    assert not filled[unlinked].any()
    assert (parcels.loc[unlinked, "true_domestic_number"] != "").all()


# --- times ---------------------------------------------------------------------------------


def test_scans_are_ordered_per_parcel_and_before_as_of(scans):
    assert (scans["utc"] <= AS_OF).all()
    step = scans.groupby("parcel_id", sort=False)["utc"].diff().dropna()
    assert (step >= pd.Timedelta(0)).all()


def test_time_formats_follow_each_carrier(scans):
    domestic = scans["leg"] == "domestic"
    assert scans.loc[domestic, "time_local"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").all()
    ups = scans["carrier"] == "ups"
    assert (
        scans.loc[ups, "time_local"].str.fullmatch(r"\d{4}-\d\d-\d\dT[\d:]{8}[+-]\d\d:\d\d").all()
    )
    japan = scans["carrier"] == "japanpost"
    assert scans.loc[japan, "time_local"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d").all()


def test_door_step_scans_happen_in_working_hours(scans):
    door = scans["true_milestone"].isin(["out_for_delivery", "delivered", "available_for_pickup"])
    local = pd.to_datetime(scans.loc[door, "time_local"], format="ISO8601")
    hour = local.dt.hour + local.dt.minute / 60
    assert ((hour >= 8) & (hour <= 22)).all()


def test_transit_and_clearance_take_realistic_time(scans, world):
    parcels, _ = world
    delivered = scans[scans["parcel_id"].isin(_by_category(parcels, "delivered"))]
    first = delivered.groupby("parcel_id")["utc"].min()
    done = delivered[delivered["true_milestone"] == "delivered"].groupby("parcel_id")["utc"].max()
    days = ((done - first).dt.total_seconds() / 86400).dropna()
    assert 5 < days.median() < 25
    arrived = (
        scans[scans["true_milestone"] == "arrived_destination"].groupby("parcel_id")["utc"].min()
    )
    cleared = scans[scans["true_milestone"] == "customs_cleared"].groupby("parcel_id")["utc"].min()
    clearance = ((cleared - arrived).dt.total_seconds() / 86400).dropna()
    assert 1 <= clearance.median() <= 4 and clearance.max() > 4


# --- what happened, and what shows -----------------------------------------------------------


def test_duplicate_scans_differ_only_in_a_fill_in_field(world):
    _, events = world
    same = ["parcel_id", "tracking_number", "time_local", "description"]
    dup = events[events.duplicated(same, keep=False)]
    share = events.duplicated(same).mean()
    assert 0.015 < share < 0.04
    for _, pair in dup.groupby(same):
        assert len(pair) == 2
        first, second = pair.iloc[0], pair.iloc[1]
        assert (first["location"] != second["location"]) or (first["source"] != second["source"])


def test_unlinked_handover_hides_the_domestic_scans(world, view):
    parcels, events = world
    ids = _by_category(parcels, "handover_not_synced")
    domestic = events[(events["leg"] == "domestic") & events["parcel_id"].isin(ids)]
    assert domestic["parcel_id"].nunique() == len(ids)
    assert not view[view["parcel_id"].isin(ids) & (view["leg"] == "domestic")].size
    intl = events[events["parcel_id"].isin(ids) & (events["leg"] == "international")]
    hidden = set(parcels.loc[parcels["parcel_id"].isin(ids), "true_domestic_number"])
    assert not any(number in text for text in intl["description"] for number in hidden)
    last = intl.groupby("parcel_id")["true_milestone"].last()
    assert last.isin(["handed_over", "customs_cleared"]).all()


def test_mistyped_and_unknown_numbers_show_nothing(world, view):
    parcels, events = world
    mistyped = _by_category(parcels, "number_invalid")
    unknown = _by_category(parcels, "number_not_found")
    assert events["parcel_id"].isin(mistyped).sum() > 5 * len(mistyped)
    assert not view["parcel_id"].isin(mistyped).any()
    assert not events["parcel_id"].isin(unknown).any()


def test_linked_parcels_show_their_domestic_scans(world, view):
    parcels, _ = world
    ids = _by_category(parcels, "delivered")
    seen = view[view["parcel_id"].isin(ids)]
    assert set(seen["parcel_id"]) == set(ids)
    assert set(seen.loc[seen["true_milestone"] == "delivered", "parcel_id"]) == set(ids)
    via_text = parcels["parcel_id"].isin(ids) & (parcels["domestic_number"] == "")
    via_text &= parcels["true_domestic_number"] != parcels["true_international_number"]
    assert via_text.sum() > 50  # linked only by the handover text, and still in view


def test_each_category_leaves_its_evidence(world, view):
    parcels, _ = world
    seen = view.assign(utc=_utc(view))
    last = seen.groupby("parcel_id").last()
    age = AS_OF - last["utc"]

    def of(category: str) -> pd.DataFrame:
        return last[last.index.isin(_by_category(parcels, category))].assign(age=age)

    moving = of("moving")
    assert (moving["age"] < pd.Timedelta(days=2)).all()
    assert not moving["true_milestone"].isin(["delivered", "customs_hold", "exception"]).any()
    silent = of("silent_too_long")
    assert (silent["age"] > pd.Timedelta(days=5)).all()
    hold = of("customs_hold")
    assert (hold["true_milestone"] == "customs_hold").all()
    waiting = of("awaiting_clearance")
    assert (
        waiting["true_milestone"]
        .isin(["arrived_destination", "customs_clearance", "customs_cleared", "handed_over"])
        .all()
    )
    assert (waiting["age"] < pd.Timedelta(days=4)).all()
    unlinked = of("handover_not_synced")
    assert (unlinked["age"] > pd.Timedelta(days=2)).all()
    returned = of("returned_or_exception")
    assert (
        returned["true_milestone"]
        .isin(["exception", "delivery_failed", "returning", "returned"])
        .all()
    )


def test_observable_events_reads_the_linked_number_column(world):
    parcels, events = world
    linked = parcels[
        (parcels["true_category"] == "delivered")
        & (parcels["domestic_number"] == "")
        & (parcels["true_domestic_number"] != parcels["true_international_number"])
    ].iloc[0]
    mine = events[events["parcel_id"] == linked["parcel_id"]].copy()
    handover = mine["true_milestone"] == "handed_over"
    mine["linked_number"] = np.where(handover, linked["true_domestic_number"], None)
    mine.loc[handover, "description"] = "Handed over to the local carrier"  # no number in text
    seen = demo.observable_events(parcels, mine)
    assert (seen["leg"] == "domestic").any()
    mine["linked_number"] = None
    assert not (demo.observable_events(parcels, mine)["leg"] == "domestic").any()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(min_value=0, max_value=80), seed=st.integers(min_value=0, max_value=10**6))
def test_any_size_and_seed_keeps_the_invariants(n, seed):
    parcels, events = demo.generate(n, seed, as_of="2027-03-01T00:00:00+08:00")
    assert len(parcels) == n and parcels["parcel_id"].is_unique
    assert set(events["parcel_id"]) <= set(parcels["parcel_id"])
    assert set(parcels["true_category"]) <= set(CATEGORIES)
    if len(events):
        assert (_utc(events) <= pd.Timestamp("2027-02-28T16:00:00Z")).all()
    view = demo.observable_events(parcels, events)
    assert len(view) <= len(events)
    unlinked = set(parcels.loc[parcels["true_category"] == "handover_not_synced", "parcel_id"])
    assert unlinked <= set(events.loc[events["leg"] == "domestic", "parcel_id"])
    assert not unlinked & set(view.loc[view["leg"] == "domestic", "parcel_id"])


# --- interface -----------------------------------------------------------------------------


def test_cli_writes_csv_and_parquet(tmp_path):
    assert (
        demo.main(["--parcels", "40", "--seed", "3", "--out", str(tmp_path / "csv"), "--quiet"])
        == 0
    )
    made = demo.write(*demo.generate(40, 3), tmp_path / "api")
    for path in made:
        assert (tmp_path / "csv" / path.name).read_bytes() == path.read_bytes()
    assert (
        demo.main(
            [
                "--parcels",
                "40",
                "--seed",
                "3",
                "--out",
                str(tmp_path / "pq"),
                "--format",
                "parquet",
                "--quiet",
            ]
        )
        == 0
    )
    from_parquet = pd.read_parquet(tmp_path / "pq" / "events.parquet").fillna("")
    from_csv = pd.read_csv(tmp_path / "csv" / "events.csv", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(from_parquet, from_csv, check_dtype=False)


@pytest.mark.slow
def test_cli_runs_as_a_module_and_explains_bad_input(tmp_path):
    ok = subprocess.run(
        [sys.executable, "-m", "toolkit.world.demo", "--parcels", "25", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert re.search(r"wrote 25 parcels and \d+ events", ok.stdout)
    assert (tmp_path / "parcels.csv").exists() and (tmp_path / "events.csv").exists()
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "toolkit.world.demo",
            "--as-of",
            "2026-11-20 04:00",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert "has no time zone" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"parcels": -1}, "parcels must be"),
        ({"parcels": 2.5}, "parcels must be"),
        ({"seed": -3}, "seed must be"),
        ({"as_of": "yesterday"}, "cannot read the as_of"),
    ],
)
def test_bad_arguments_say_what_to_do(kwargs, message):
    with pytest.raises(InputError, match=message):
        demo.generate(**{"parcels": 5, **kwargs})


def test_write_and_observable_events_name_missing_columns(world, tmp_path):
    parcels, events = world
    with pytest.raises(MissingColumnsError, match="description"):
        demo.observable_events(parcels, events.drop(columns="description"))
    with pytest.raises(MissingColumnsError, match="true_category"):
        demo.write(parcels.drop(columns="true_category"), events, tmp_path)


def test_load_demo_gives_the_contract_and_the_view():
    parcels, events = demo.load_demo()
    _, world = demo.load_demo(observable=False)
    from toolkit.model import validate_events, validate_parcels

    validate_parcels(parcels)
    validate_events(events)
    assert 0 < len(events) < len(world)
    unlinked = parcels.loc[parcels["true_category"] == "handover_not_synced", "parcel_id"]
    assert not events[events["parcel_id"].isin(unlinked) & (events["leg"] == "domestic")].size
    assert world[world["parcel_id"].isin(unlinked) & (world["leg"] == "domestic")].size
