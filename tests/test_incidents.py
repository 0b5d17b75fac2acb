"""Lane incidents: the detector (toolkit.incidents) and the incidents the demo world injects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.diagnosis import incidents
from toolkit.errors import InputError, MissingColumnsError
from toolkit.model import EVENT_COLUMNS, PARCEL_COLUMNS, empty_events, empty_parcels
from toolkit.tracking.normalize import normalize
from toolkit.world import demo

N, SEED = 12_000, 5
PLAN = [("customs backlog", 50), ("handover backlog", 50), ("hub stall", 50)]
AS_OF = pd.Timestamp(demo.DEFAULT_AS_OF)


def _analyst_view(parcels: pd.DataFrame, raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The parcels and the scans an analyst sees, in the contract's types."""
    events = normalize(demo.observable_events(parcels, raw))[list(EVENT_COLUMNS)]
    table = parcels[list(PARCEL_COLUMNS)].replace("", None)
    table["shipped_at"] = pd.to_datetime(table["shipped_at"], utc=True, format="ISO8601")
    return table, events


@pytest.fixture(scope="module")
def injected():
    parcels, raw, truth = demo.generate(N, SEED, incidents=PLAN)
    table, events = _analyst_view(parcels, raw)
    return parcels, raw, truth, table, events


@pytest.fixture(scope="module")
def clean():
    return _analyst_view(*demo.generate(N, SEED))


def _first_found(truth_row, parcels, events, hours=range(0, 84, 12)):
    """The first report of an injected incident, with ``now`` stepping by 12 hours from its
    start: (hours after the start, the row), or None."""
    start = pd.Timestamp(truth_row["start"])
    ids = set(truth_row["parcel_ids"].split())
    for h in hours:
        found = incidents.detect(events, parcels, start + pd.Timedelta(hours=h))
        for _, row in found.iterrows():
            mine = len(ids & set(row["parcel_ids"]))
            if row["kind"] == truth_row["kind"] and mine >= 0.5 * row["parcels"]:
                return h, row
    return None


@pytest.mark.parametrize("which", range(len(PLAN)))
def test_an_injected_incident_is_found_with_its_kind_place_and_start(injected, which):
    _, _, truth, parcels, events = injected
    want = truth.iloc[which]
    got = _first_found(want, parcels, events)
    assert got is not None, f"{want['kind']} at {want['where']} was not reported"
    hours, row = got
    assert hours <= 72
    assert want["place"] in row["where"] and row["carrier"] == want["carrier"]
    assert abs(row["start"] - pd.Timestamp(want["start"])) <= pd.Timedelta(days=1)
    # the row reads on its own: counts, usual against now, the place, a lane
    assert row["parcels"] == len(row["parcel_ids"]) >= incidents.MIN_PARCELS
    assert want["place"] in row["evidence"] and "usual" in row["evidence"]
    assert " → " in row["lane"] and row["unit"]
    assert row["start"].tzinfo is not None and str(row["start"].tz) == "UTC"
    assert pd.isna(row["expected_end"]) or row["expected_end"] > row["start"]


def test_no_incident_in_a_world_without_any(clean):
    # The demo world's unlinked handovers are all less than 14 days old at as_of (older ones
    # would be losses), so a `now` more than about 5 days before as_of sees them begin, at
    # every handover place at once but not evenly: a real change in those places' data.
    parcels, events = clean
    for days_back in (0, 1.5, 3, 4.5):
        found = incidents.detect(events, parcels, AS_OF - pd.Timedelta(days=days_back))
        assert found.empty, found[["kind", "where", "parcels", "p_value"]].to_string()


def test_diagnoses_given_give_the_same_incidents(injected):
    from toolkit.diagnosis.diagnose import diagnose_all

    _, _, truth, parcels, events = injected
    now = pd.Timestamp(truth.iloc[0]["start"]) + pd.Timedelta(days=2)
    diagnoses = diagnose_all(events, parcels, now)
    own = incidents.detect(events, parcels, now)
    given = incidents.detect(events, parcels, now, diagnoses=diagnoses)
    assert list(own["where"]) == list(given["where"])


def test_missing_columns_say_which(injected):
    _, _, _, parcels, events = injected
    with pytest.raises(MissingColumnsError, match="location"):
        incidents.detect(events.drop(columns=["location"]), parcels, AS_OF)
    with pytest.raises(MissingColumnsError, match="parcel_id"):
        incidents.detect(events, parcels.drop(columns=["parcel_id"]), AS_OF)
    with pytest.raises(MissingColumnsError, match="category"):
        incidents.detect(events, parcels, AS_OF, diagnoses=pd.DataFrame({"parcel_id": []}))
    with pytest.raises(InputError, match="DataFrame"):
        incidents.detect([], parcels, AS_OF)


def test_empty_or_short_data_gives_no_incident_and_the_columns(injected):
    found = incidents.detect(empty_events(), empty_parcels(), AS_OF)
    assert found.empty and tuple(found.columns) == incidents.COLUMNS
    _, _, _, parcels, events = injected
    # a few days of scans are no history: nothing to compare with
    recent = events[events["time_utc"] > AS_OF - pd.Timedelta(days=3)]
    assert incidents.detect(recent, parcels, AS_OF).empty
    # before any scan
    assert incidents.detect(events, parcels, pd.Timestamp("2020-01-01", tz="UTC")).empty


def test_the_old_flat_name_is_the_module():
    import toolkit.incidents

    assert toolkit.incidents is incidents and toolkit.incidents.detect is incidents.detect


def test_place_names_read_chinese_and_english_alike():
    assert incidents.place_name("上海") == "Shanghai"
    assert incidents.place_name("SHANGHAI, CHINA") == "Shanghai"
    assert incidents.place_name("Shanghai - CHINA MAINLAND") == "Shanghai"
    assert incidents.place_name("SHANGHAI CN") == "Shanghai"
    assert incidents.place_name("") == "" and incidents.place_name(None) == ""


# ------------------------------------------------------------------ the injected truth


def test_the_truth_names_what_was_injected(injected):
    parcels, raw, truth, _, _ = injected
    assert list(truth.columns) == list(demo.INCIDENT_COLUMNS)
    assert [(k, int(n)) for k, n in zip(truth["kind"], truth["parcels"], strict=True)] == PLAN
    ids = [row.split() for row in truth["parcel_ids"]]
    assert [len(i) for i in ids] == [n for _, n in PLAN]
    every = [i for row in ids for i in row]
    assert len(every) == len(set(every)) and set(every) <= set(parcels["parcel_id"])
    # the stalled parcels show nothing past their place after the start
    past = {
        "customs backlog": ("customs_cleared", "handed_over", "delivered"),
        "handover backlog": ("domestic_in_transit", "out_for_delivery", "delivered"),
        "hub stall": ("out_for_delivery", "delivered"),
    }
    for row, members in zip(truth.itertuples(), ids, strict=True):
        own = raw[raw["parcel_id"].isin(members)]
        assert not own["true_milestone"].isin(past[row.kind]).any(), row.kind


def test_other_parcels_are_those_of_the_world_without_incidents(injected):
    parcels, raw, truth, _, _ = injected
    plain_parcels, plain_raw = demo.generate(N, SEED)
    stalled = set(" ".join(truth["parcel_ids"]).split())
    keep = ~raw["parcel_id"].isin(stalled)
    plain_keep = ~plain_raw["parcel_id"].isin(stalled)
    assert raw[keep].reset_index(drop=True).equals(plain_raw[plain_keep].reset_index(drop=True))
    others = ~parcels["parcel_id"].isin(stalled)
    assert (
        parcels[others].reset_index(drop=True).equals(plain_parcels[others].reset_index(drop=True))
    )


def test_a_customs_backlog_holds_only_parcels_it_stopped(injected):
    """A parcel held by customs on its own, or one that never gets past customs anyway, is
    not the backlog's: in the world without incidents each of its parcels has no hold and
    goes past customs."""
    _, _, truth, _, _ = injected
    _, plain_raw = demo.generate(N, SEED)
    members = truth.loc[truth["kind"] == "customs backlog", "parcel_ids"].iloc[0].split()
    own = plain_raw[plain_raw["parcel_id"].isin(members)]
    assert not own["true_milestone"].eq("customs_hold").any()
    beyond = ("customs_cleared", "handed_over", "domestic_in_transit", "delivered",
              "returning", "returned", "exception")  # fmt: skip
    moved_on = set(own.loc[own["true_milestone"].isin(beyond), "parcel_id"])
    assert moved_on == set(members)


def test_a_count_cycles_kinds_and_sizes_and_bad_plans_are_refused():
    plan = demo.incident_plan(5)
    assert [k for k, _ in plan] == [*demo.INCIDENT_KINDS, demo.INCIDENT_KINDS[0]]
    assert [n for _, n in plan] == [10, 25, 50, 10, 25]
    assert demo.incident_plan("customs:25,hub:10") == (("customs backlog", 25), ("hub stall", 10))
    assert demo.incident_plan(None) == () and demo.incident_plan(0) == ()
    for bad in ("customs", "teleport:10", [("customs backlog", 1)], 3.5):
        with pytest.raises(InputError):
            demo.incident_plan(bad)


def test_the_command_line_writes_incidents_csv(tmp_path):
    code = demo.main(
        ["--parcels", "3000", "--seed", "5", "--incidents", "customs:10", "--out", str(tmp_path),
         "--quiet"]
    )  # fmt: skip
    assert code == 0
    truth = pd.read_csv(tmp_path / "incidents.csv")
    assert list(truth.columns) == list(demo.INCIDENT_COLUMNS)
    assert truth["kind"].tolist() == ["customs backlog"] and truth["parcels"].tolist() == [10]
    ids = truth["parcel_ids"].iloc[0].split()
    written = pd.read_csv(tmp_path / "parcels.csv", dtype=str)
    assert set(ids) <= set(written["parcel_id"])
    _, _, api_truth = demo.generate(3000, 5, incidents="customs:10")
    assert api_truth["parcel_ids"].tolist() == truth["parcel_ids"].tolist()
    # without the option there is no truth file
    plain = tmp_path / "plain"
    assert demo.main(["--parcels", "50", "--out", str(plain), "--quiet"]) == 0
    assert not (plain / "incidents.csv").exists()


def test_stays_and_tests_are_sound_on_small_cases():
    assert incidents._binom_sf(0, 10, 0.3) == 1.0
    assert incidents._binom_sf(11, 10, 0.3) == 0.0
    assert incidents._binom_sf(10, 10, 0.5) == pytest.approx(0.5**10)
    assert incidents._binom_sf(3, 5, 0.5) == pytest.approx(0.5)
    assert incidents._poisson_cdf(0, 2.0) == pytest.approx(np.exp(-2.0))
    rejected = incidents._bh(np.array([0.001, 0.02, 0.04, 0.5]), 0.05)
    assert rejected.tolist() == [True, True, False, False]


# ------------------------------------------------------------------ carrier outages


@pytest.fixture(scope="module")
def outage():
    parcels, raw, truth = demo.generate(N, SEED, incidents=[("carrier not answering", 25)])
    table, events = _analyst_view(parcels, raw)
    return truth, table, events


def test_a_carrier_that_stops_publishing_is_found_as_one_on_its_port_lane(outage):
    truth, parcels, events = outage
    want = truth.iloc[0]
    got = _first_found(want, parcels, events, hours=range(0, 60, 12))
    assert got is not None, f"{want['where']} was not reported as a carrier not answering"
    hours, row = got
    assert hours <= 48 and row["carrier"] == want["carrier"]
    # named by the port its silent parcels came through, as the outage was injected
    port = want["where"].rsplit("parcels from ", 1)[1].rstrip(")")
    assert row["where"].endswith(f"its parcels from {port}"), row["where"]
    assert abs(row["start"] - pd.Timestamp(want["start"])) <= pd.Timedelta(days=1)
    # its parcels are the silent ones (at least half; those with no visible domestic scan
    # cannot be attributed to the carrier)
    mine = set(row["parcel_ids"]) & set(want["parcel_ids"].split())
    assert len(mine) >= max(incidents.MIN_PARCELS, 0.5 * row["parcels"])
    assert row["parcels"] >= incidents.MIN_PARCELS and "usual" in row["evidence"]


NOW = pd.Timestamp("2026-11-20T00:00:00Z")


def _row(kind: int, carrier: str, ids: range, beyond: float = 1.0, hub=None) -> dict:
    return {"kind": incidents.KINDS[kind], "carrier": carrier, "where": f"{kind}",
            "parcel_ids": tuple(f"P{i}" for i in ids), "parcels": len(ids),
            "start": NOW - pd.Timedelta(days=1.5), "_beyond": beyond, "_hub": hub}  # fmt: skip


def _merge(rows: list[dict]) -> list[dict]:
    return incidents._one_per_incident(rows, NOW.value)


def test_a_carrier_alarm_and_its_place_alarms_are_one_incident():
    carrier, hub = incidents.CARRIER, incidents.HUB
    # silent only where a hub stalled: the hub's incident, the carrier alarm echoes it
    echo = _merge([_row(carrier, "sf", range(30)), _row(hub, "sf", range(28))])
    assert [r["kind"] for r in echo] == ["hub stall"]
    # silent beyond the port's city too: the carrier stopped answering, the hub is part of it
    silent = _merge([_row(carrier, "sf", range(30), beyond=1e-4), _row(hub, "sf", range(40))])
    assert [r["kind"] for r in silent] == ["carrier not answering"]
    # another carrier's hub, or a hub holding other parcels, is its own incident
    other = _merge(
        [_row(carrier, "sf", range(30), beyond=1e-4), _row(hub, "zto", range(20)),
         _row(hub, "sf", range(40, 60))]
    )  # fmt: skip
    assert sorted(r["carrier"] for r in other) == ["sf", "sf", "zto"]
    # a hub holding few of the carrier's parcels does not silence the carrier alarm
    few = _merge([_row(carrier, "sf", range(30)), _row(hub, "sf", range(25, 60))])
    assert sorted(r["kind"] for r in few) == ["carrier not answering", "hub stall"]


def _usual_lengths(n: int) -> np.ndarray:
    """Stay lengths of a synthetic hub (ns): half a day to a day and a half, median a day."""
    return ((0.5 + (np.arange(n) * 7 % 24) / 24) * incidents.NS_PER_DAY).astype(np.int64)


def _hub_stays(newcomers: str) -> dict:
    """A hub's stays over three weeks, half a day to a day and a half each (median a day),
    one arrival an hour; the parcels there when its carrier went silent 1.5 days before
    ``NOW`` never leave. After that, ``newcomers`` say what the hub does with the parcels
    that come: 'leave' (as usual), 'stay' (a stalled hub) or 'none' (no arrival scans)."""
    day = incidents.NS_PER_DAY
    now, silent = NOW.value, NOW.value - int(1.5 * day)
    begin = np.arange(now - 21 * day, now, day // 24, dtype=np.int64)
    end = begin + _usual_lengths(len(begin))
    end[(begin < silent) & (end > silent)] = incidents._NEVER
    later = begin >= silent
    if newcomers == "stay":
        end[later] = incidents._NEVER
    elif newcomers == "leave":
        end[later & (end > now)] = incidents._NEVER
    keep = ~later if newcomers == "none" else np.ones(len(begin), bool)
    return {"begin": begin[keep], "end": end[keep], "group": np.full(keep.sum(), 7, np.int64)}


def test_a_silent_carrier_is_told_from_a_stalled_hub_by_the_parcels_that_come_after():
    """The carrier's parcels went silent at its port city's hub. If parcels that came to
    the hub since then leave at the usual pace (or none come at all: its scans stopped),
    the carrier stopped answering; if they come and stay, the hub stalled."""
    silent = NOW.value - int(1.5 * incidents.NS_PER_DAY)
    assert incidents._newcomers_flow(_hub_stays("leave"), 7, silent, NOW.value) is True
    assert incidents._newcomers_flow(_hub_stays("none"), 7, silent, NOW.value) is True
    assert incidents._newcomers_flow(_hub_stays("stay"), 7, silent, NOW.value) is False
    carrier, hub = incidents.CARRIER, incidents.HUB
    for newcomers, kind in [("leave", "carrier not answering"), ("none", "carrier not answering"),
                            ("stay", "hub stall")]:  # fmt: skip
        rows = [_row(carrier, "sf", range(30)),
                _row(hub, "sf", range(28), hub=(_hub_stays(newcomers), 7))]  # fmt: skip
        assert [r["kind"] for r in _merge(rows)] == [kind], newcomers


def test_the_two_tests_of_a_carrier_keep_its_silence_beyond_the_port():
    carrier = incidents.CARRIER
    overdue = {**_row(carrier, "sf", range(20)), "p_value": 1e-6}
    deficit = {**_row(carrier, "sf", range(10, 30), beyond=1e-4), "p_value": 1e-3}
    (one,) = incidents._best_per_place([deficit, overdue])
    assert one["parcels"] == 30 and one["_beyond"] == 1e-4


def test_a_stalled_place_lists_the_parcels_that_waited_past_its_usual_stay():
    """A hub that stopped letting parcels through: its incident lists the parcels that have
    waited longer than most stays there take, not the ones that only just came in and
    would still be waiting on any day."""
    day = incidents.NS_PER_DAY
    now = pd.Timestamp("2026-11-20T00:00:00Z").value
    stop = now - int(1.5 * day)
    hour = day // 24
    begin = np.arange(now - 20 * day, now, hour, dtype=np.int64)
    # stays of half a day to a day and a half (median a day) until the hub stopped
    end = begin + _usual_lengths(len(begin))
    end[end > stop] = incidents._NEVER
    stays = {
        "begin": begin,
        "end": end,
        "group": np.full(len(begin), 7, np.int64),
        "kind": incidents.HUB,
    }
    (alarm,) = incidents._deficit_groups(stays, now)
    assert alarm["group"] == 7 and alarm["overdue"] == 0
    stuck = set(alarm["stuck_rows"].tolist())
    waiting = np.flatnonzero(end == incidents._NEVER)
    recent = {int(i) for i in waiting if begin[i] > now - int(0.9 * day)}
    assert recent and not stuck & recent
    # came in since shortly before the stop and waited past the usual day (those that had
    # waited longer than any usual stay when the window began are lost on their own)
    past_usual = {
        int(i) for i in waiting if stop - int(0.4 * day) <= begin[i] <= now - int(1.1 * day)
    }
    assert len(past_usual) >= incidents.MIN_PARCELS and past_usual <= stuck


def test_a_stopped_place_is_measured_against_the_pace_the_other_places_keep_now():
    """When every other hub lets parcels through twice as fast as in its past (a data-wide
    change), a hub that stopped is expected to have let through about twice what its own
    past says: the pace of the day, in either direction."""
    day = incidents.NS_PER_DAY
    now = NOW.value
    hour = day // 24
    begin, end, group = [], [], []
    for g in range(6):
        b = np.arange(now - 20 * day, now, hour, dtype=np.int64) + g * 97_000_000
        b = b[b < now]
        length = _usual_lengths(len(b))
        fast = b >= now - 5 * day  # lately the other hubs take half as long
        e = b + np.where(fast & (g > 0), length // 2, length)
        if g == 0:  # this hub stopped a day and a half ago
            e[e > now - int(1.5 * day)] = incidents._NEVER
        e[e > now] = incidents._NEVER
        begin.append(b), end.append(e), group.append(np.full(len(b), g, np.int64))
    stays = {"begin": np.concatenate(begin), "end": np.concatenate(end),
             "group": np.concatenate(group), "kind": incidents.HUB}  # fmt: skip
    alarms = {a["group"]: a for a in incidents._deficit_groups(stays, now)}
    assert set(alarms) == {0}, sorted(alarms)
    alone = {"begin": begin[0], "end": end[0], "group": group[0], "kind": incidents.HUB}
    (own,) = incidents._deficit_groups(alone, now)  # its own past only
    assert alarms[0]["usual"] >= 1.5 * own["usual"]
    assert alarms[0]["p"] < own["p"]
