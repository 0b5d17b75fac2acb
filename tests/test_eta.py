"""Arrival estimates: Kaplan-Meier, censoring, conditioning on waited time, lane fallback."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.diagnosis.diagnose import diagnose, diagnose_all, fit_eta
from toolkit.diagnosis.eta import NO_TIME, NS_PER_DAY, STAGES, EtaModel, GroupedKM, kaplan_meier
from toolkit.errors import InputError
from toolkit.model import EVENT_DTYPES
from toolkit.policy import DEFAULT_CONFIG

NOW = pd.Timestamp("2026-11-20 12:00", tz="UTC")


def test_kaplan_meier_matches_a_hand_computed_table():
    # times 1,2,2+,3,4+,5 (+ = still in transit): S = 5/6, 4/6, 4/6*2/3, same, 0
    km = kaplan_meier([1, 2, 2, 3, 4, 5], [1, 1, 0, 1, 0, 1])
    assert km["time"].tolist() == [1, 2, 3, 4, 5]
    assert km["at_risk"].tolist() == [6, 5, 3, 2, 1]
    assert km["events"].tolist() == [1, 1, 1, 0, 1]
    np.testing.assert_allclose(km["survival"], [5 / 6, 4 / 6, 4 / 9, 4 / 9, 0.0])


def test_censored_parcels_keep_the_curve_up():
    # ignoring censoring would put the median at 2; with it, fewer than half are known delivered
    km = GroupedKM(np.zeros(4, int), np.array([2.0, 9, 9, 9]), np.array([1, 0, 0, 0], bool), 1)
    assert km.survival(np.array([0]), np.array([20.0]))[0] == pytest.approx(0.75)
    assert np.isnan(km.time_to_reach(np.array([0]), np.array([0.5]))[0])


def test_conditioning_on_the_time_already_waited():
    km = GroupedKM(np.zeros(6, int), np.arange(1.0, 7), np.ones(6, bool), 1)
    # unconditional median: S(3) = 0.5
    assert km.conditional_quantile(np.array([0]), np.array([0.0]), 0.5)[0] == 3
    # having waited 4 days, 2 of 6 remain: half of them arrive by day 5
    assert km.conditional_quantile(np.array([0]), np.array([4.0]), 0.5)[0] == 5
    assert km.conditional_quantile(np.array([0]), np.array([4.0]), 0.9)[0] == 6
    # waited longer than any delivered parcel: no estimate
    assert np.isnan(km.conditional_quantile(np.array([0]), np.array([7.0]), 0.5)[0])


def test_groups_are_independent():
    km = GroupedKM(np.array([0, 0, 1, 1, 1]), np.array([1.0, 2, 10, 20, 30]), np.ones(5, bool), 2)
    got = km.conditional_quantile(np.array([0, 1, 1]), np.array([0.0, 0.0, 15.0]), 0.5)
    assert got.tolist() == [1, 20, 20]


def _naive_km(durations, observed, t):
    s = 1.0
    for u in sorted(set(durations)):
        if u > t:
            break
        at_risk = sum(d >= u for d in durations)
        events = sum(d == u and o for d, o in zip(durations, observed, strict=True))
        s *= 1 - events / at_risk
    return s


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.booleans(), st.integers(0, 2)), min_size=1, max_size=40
    ),
    st.lists(st.integers(0, 70).map(lambda x: x / 2), min_size=1, max_size=5),
)
def test_grouped_km_agrees_with_a_plain_loop(rows, queries):
    group = np.array([r[2] for r in rows])
    dur = np.array([float(r[0]) for r in rows])
    obs = np.array([r[1] for r in rows])
    km = GroupedKM(group, dur, obs, 3)
    for g in range(3):
        sel = group == g
        for t in queries:
            want = _naive_km(dur[sel].tolist(), obs[sel].tolist(), t) if sel.any() else 1.0
            got = km.survival(np.array([g]), np.array([t]))[0]
            assert got == pytest.approx(want, abs=1e-12)
    assert np.all(np.diff(km.s)[np.diff(km.g) == 0] <= 1e-15)
    assert ((km.s >= 0) & (km.s <= 1)).all()


def test_bad_durations_are_refused():
    with pytest.raises(InputError, match="durations"):
        GroupedKM(np.zeros(2, int), np.array([1.0, -1.0]), np.ones(2, bool), 1)


# ---------------------------------------------------------------- lane fallback


def _history(lanes: list[tuple[str, str, str, int, float]]) -> tuple[np.ndarray, ...]:
    """Stage times for parcels that entered 'origin' 30 days ago: (lane, count, days to deliver)."""
    start = NOW.value - 30 * NS_PER_DAY
    rows = []
    for origin, carrier, province, count, days in lanes:
        rows += [(origin, carrier, province, days)] * count
    n = len(rows)
    sf = np.full((n, len(STAGES)), NO_TIME, np.int64)
    sf[:, STAGES.index("origin")] = start
    delivered = np.array([start + int(r[3] * NS_PER_DAY) for r in rows], np.int64)
    lanes_df = pd.DataFrame(
        [r[:3] for r in rows],
        columns=["origin_country", "international_carrier", "destination_province"],
    )
    return sf, delivered, np.full(n, NOW.value), lanes_df


def _predict(model: EtaModel, origin: str, carrier: str, province: str) -> pd.Series:
    lanes = pd.DataFrame(
        [[origin, carrier, province]],
        columns=["origin_country", "international_carrier", "destination_province"],
    )
    out = model.predict(np.array([STAGES.index("origin")]), np.array([NOW.value]), lanes, NOW)
    return out.iloc[0]


def test_thin_lanes_fall_back_to_coarser_groups():
    sf, deliv, end, lanes = _history(
        [
            ("US", "usps", "Guangdong", 40, 5.0),  # enough on its own
            ("US", "usps", "Tibet", 5, 20.0),  # thin: falls back to US x usps
            ("US", "ups", "Tibet", 35, 2.0),  # US x ups thin? no: 35 parcels
            ("JP", "japanpost", "Beijing", 10, 7.0),
            ("JP", "ems", "Beijing", 25, 3.0),  # JP lanes only enough together
        ]
    )
    model = EtaModel.from_stage_times(sf, deliv, end, lanes)
    own = _predict(model, "US", "usps", "Guangdong")
    assert own["eta_level"] == 0 and own["eta_n"] == 40
    assert own["eta_low"] == pd.Timestamp("2026-11-25")
    thin = _predict(model, "US", "usps", "Tibet")
    assert thin["eta_level"] == 1 and thin["eta_n"] == 45
    jp = _predict(model, "JP", "japanpost", "Beijing")
    assert jp["eta_level"] == 2 and jp["eta_n"] == 35
    nowhere = _predict(model, "FR", "laposte", "Hunan")
    assert nowhere["eta_level"] == 3 and nowhere["eta_n"] == 115


def test_no_estimate_with_a_reason_when_history_is_thin():
    sf, deliv, end, lanes = _history([("US", "usps", "Guangdong", 12, 5.0)])
    got = _predict(EtaModel.from_stage_times(sf, deliv, end, lanes), "US", "usps", "Guangdong")
    assert got["eta_level"] == -1 and pd.isna(got["eta_low"])
    assert "too little history" in got["eta_reason"] and "30" in got["eta_reason"]


def test_config_sets_how_much_history_is_enough():
    sf, deliv, end, lanes = _history([("US", "usps", "Guangdong", 12, 5.0)])
    cfg = DEFAULT_CONFIG.__class__(eta_min_parcels=10, eta_min_delivered=5)
    got = _predict(EtaModel.from_stage_times(sf, deliv, end, lanes, cfg), "US", "usps", "Guangdong")
    assert got["eta_level"] == 0 and got["eta_n"] == 12


# ---------------------------------------------------------------- through diagnose


def _events(pid: str, rows) -> list[dict]:
    out = []
    for days, milestone, leg in rows:
        t = NOW - pd.Timedelta(days=days)
        out.append(
            {
                "parcel_id": pid,
                "tracking_number": pid,
                "carrier": "usps" if leg == "international" else "yto",
                "leg": leg,
                "time_utc": t,
                "time_local": str(t),
                "tz_assumed": False,
                "location": None,
                "description": "scan",
                "raw_status": None,
                "milestone": milestone,
                "source": "test",
            }
        )
    return out


def test_estimate_counts_from_the_current_stage_and_censors_parcels_in_transit():
    rows = []
    # 30 delivered: arrived 40 days ago, released after 2 days, delivered 4 days after release;
    # 30 still waiting 20 days after release (censored): the estimate ignores nothing
    for i in range(30):
        rows += _events(
            f"D{i}",
            [
                (40, "arrived_destination", "international"),
                (38, "customs_cleared", "international"),
                (34, "delivered", "domestic"),
            ],
        )
    for i in range(30):
        rows += _events(
            f"W{i}",
            [
                (22, "arrived_destination", "international"),
                (20, "customs_cleared", "international"),
            ],
        )
    rows += _events(
        "Q", [(3, "arrived_destination", "international"), (1, "customs_cleared", "international")]
    )
    ev = pd.DataFrame(rows).astype(EVENT_DTYPES)
    parcels = pd.DataFrame({"parcel_id": ["Q"], "international_number": ["Q"]})
    out = diagnose_all(ev, parcels, NOW).iloc[0]
    # stage 'released' entered 1 day ago; half of released parcels deliver 4 days after release
    assert out["stage"] == "released"
    assert out["eta_low"] == pd.Timestamp("2026-11-23")
    # only half of all released parcels are delivered so far: no 90% date
    assert pd.isna(out["eta_high"])
    d = diagnose(ev, NOW, parcels.iloc[0])
    assert d.eta.low.isoformat() == "2026-11-23" and d.eta.high is None
    assert d.eta.text() == "2026-11-23 or later"
    assert "or later" in d.buyer_message("en") and "或之后" in d.buyer_message("zh")
    # a parcel that waited beyond every delivered one gets no estimate, with the reason
    late = pd.DataFrame(_events("L", [(12, "customs_cleared", "international")])).astype(
        EVENT_DTYPES
    )
    model = fit_eta(ev, None, NOW)
    d = diagnose(late, NOW, {"parcel_id": "L", "international_number": "L"}, eta_model=model)
    assert d.eta is None and "waited" in d.eta_reason


def test_no_estimate_for_returned_or_unknown_numbers():
    ev = pd.DataFrame(
        _events("R", [(5, "accepted", "international"), (2, "returning", "international")])
    ).astype(EVENT_DTYPES)
    d = diagnose(ev, NOW)
    assert d.category == "returned_or_exception" and d.eta is None
    assert "returned" in d.eta_reason


def test_parcel_eta_is_the_estimate_diagnose_gives_and_needs_a_lane_model():
    from toolkit.diagnosis.diagnose import parcel_eta
    from toolkit.world import demo

    parcels, events = demo.load_demo()
    now = pd.Timestamp(parcels["as_of"].iloc[0])
    model = fit_eta(events, parcels, now)
    seen = {}
    for cat, rows in parcels.groupby("true_category"):
        for _, p in rows.head(3).iterrows():
            got = parcel_eta(p, events, now, model)
            assert got == diagnose(events, now, p, eta_model=model).eta, p["parcel_id"]
            seen[cat] = seen.get(cat, False) or got is not None
    assert seen["moving"] and seen["awaiting_clearance"] and not seen["delivered"]
    with pytest.raises(InputError, match="fitted lane model"):
        parcel_eta(parcels.iloc[0], events, now, None)


def test_curves_answer_the_same_when_asked_again_and_after_pickling():
    import pickle

    rng = np.random.default_rng(5)
    group = rng.integers(0, 40, 5000)
    km = GroupedKM(group, rng.exponential(4, 5000), rng.random(5000) < 0.8, 40)
    ask_g, waited = rng.integers(0, 40, 300), rng.random(300) * 6
    first = km.conditional_quantile(ask_g, waited, 0.8)
    assert np.array_equal(km.conditional_quantile(ask_g, waited, 0.8), first, equal_nan=True)
    again = pickle.loads(pickle.dumps(km))
    assert np.array_equal(again.conditional_quantile(ask_g, waited, 0.8), first, equal_nan=True)
    # the searched keys are made once for the curves, not once per question
    assert km._reach_key() is km._reach_key()
    assert np.isfinite(first).mean() > 0.5


def _history_input(n: int, words: int, seed: int):
    """Per-parcel stage times, deliveries, ends and lanes (some lanes unknown)."""
    rng = np.random.default_rng(seed)
    day = NS_PER_DAY
    base = NOW.value - 120 * day
    stage_first = np.full((n, len(STAGES)), NO_TIME, np.int64)
    for j in range(len(STAGES)):
        seen = rng.random(n) < 0.7
        stage_first[seen, j] = base + (j * 3 + rng.random(seen.sum()) * 20) * day
    delivered = np.where(rng.random(n) < 0.6, base + rng.integers(40, 110, n) * day, NO_TIME)
    end = np.full(n, NOW.value, np.int64)

    def lane(prefix: str) -> list:
        picked = rng.integers(0, words, n)
        return [None if p % 11 == 0 else f"{prefix}{p}" for p in picked]

    lanes = pd.DataFrame(
        {"origin_country": lane("o"), "international_carrier": lane("c"),
         "destination_province": lane("p")}
    )  # fmt: skip
    return stage_first, delivered, end, lanes


@pytest.mark.parametrize("one_key", [True, False])
def test_history_counts_are_sorted_and_any_split_merges_to_the_whole(one_key, monkeypatch):
    """Counts come sorted (stage, lane words in order, unknown first, minutes) so that merging
    and fitting only merge sorted runs; where the lane vocabularies are too large for one
    integer key the rows are ordered column by column, with the same result."""
    from toolkit.diagnosis import eta

    EtaHistory = eta.EtaHistory
    if not one_key:
        monkeypatch.setattr(eta, "_ONE_KEY", 2)
    stage_first, delivered, end, lanes = _history_input(12_000, 40, 3)
    whole = EtaHistory.of(stage_first, delivered, end, lanes)
    cuts = [0, 1_000, 7_000, 12_000]
    pieces = [
        EtaHistory.of(stage_first[a:b], delivered[a:b], end[a:b], lanes.iloc[a:b])
        for a, b in itertools.pairwise(cuts)
    ]
    merged = EtaHistory.merge(pieces[::-1])
    assert merged.parcels == whole.parcels == 12_000
    pd.testing.assert_frame_equal(merged.counts, whole.counts)
    counts = whole.counts
    for col in ("origin_country", "international_carrier", "destination_province"):
        words_seen = list(counts[col].cat.categories)
        assert words_seen == sorted(words_seen) and counts[col].isna().any()
    order = [counts["stage"].to_numpy()]
    order += [counts[c].cat.codes.to_numpy() for c in lanes.columns]
    order += [counts["minutes"].to_numpy()]
    rows = list(zip(*order, strict=True))
    assert rows == sorted(set(rows))  # sorted, one row per (stage, lanes, minutes)
    # the counts themselves, against a plain group-by of one row per parcel and stage
    parcel, stage = np.nonzero(stage_first != NO_TIME)
    stop = np.where(delivered != NO_TIME, delivered, end)[parcel]
    days = np.maximum(stop - stage_first[parcel, stage], 0) / NS_PER_DAY
    plain = lanes.iloc[parcel].reset_index(drop=True).fillna("?")
    plain["stage"] = stage
    plain["minutes"] = np.rint(days * 1440).astype(int)
    plain["delivered"] = (delivered[parcel] != NO_TIME).astype(int)
    keys = ["stage", *lanes.columns, "minutes"]
    want = plain.groupby(keys)["delivered"].agg(["size", "sum"]).reset_index()
    got = counts.astype({c: object for c in lanes.columns}).fillna("?")
    got = got.sort_values(keys).reset_index(drop=True)
    assert got[keys].astype(str).equals(want[keys].astype(str))
    assert got["parcels"].tolist() == want["size"].tolist()
    assert got["delivered"].tolist() == want["sum"].tolist()


@pytest.mark.parametrize("one_key", [True, False])
def test_each_lane_level_is_fitted_as_on_its_own_counts(one_key, monkeypatch):
    """The levels are fitted one after the other, each sort reusing the order of the finer
    one; every level's curves equal those fitted from its own counts directly, parcels whose
    finer lane is unknown included where their coarser lane is known (also where the lane
    keys are too sparse to carry the minutes in one integer)."""
    from toolkit.diagnosis import eta
    from toolkit.diagnosis.eta import LEVELS, EtaHistory, _level_keys

    if not one_key:
        monkeypatch.setattr(eta, "_ONE_KEY", 2)
    history = EtaHistory.of(*_history_input(6_000, 5, 8))
    model = EtaModel.from_history(history)
    counts = history.counts
    codes = {c: counts[c].cat.codes.to_numpy(np.int64) for c in counts.columns[1:4]}
    sizes = {c: len(counts[c].cat.categories) for c in codes}
    stage = counts["stage"].to_numpy(np.int64)
    for cols, (uniq, km) in zip(LEVELS, model._levels, strict=True):
        key = _level_keys(stage, codes, sizes, cols)
        keep = key >= 0
        want_uniq, group = np.unique(key[keep], return_inverse=True)
        want = GroupedKM.from_counts(
            group,
            counts["minutes"].to_numpy()[keep],
            counts["parcels"].to_numpy()[keep],
            counts["delivered"].to_numpy()[keep],
            len(want_uniq),
        )
        assert np.array_equal(uniq, want_uniq)
        for name in ("n", "delivered", "g", "t", "s", "at_risk", "events"):
            assert np.array_equal(getattr(km, name), getattr(want, name)), (cols, name)
    # rows whose finest lane is unknown count at the coarser levels
    assert model._levels[1][1].n.sum() > model._levels[0][1].n.sum()


def test_many_parcels_at_once_get_what_each_gets_on_its_own():
    # predict searches the curves in curve order: every parcel must still get its own answer
    rng = np.random.default_rng(3)
    spec = [("US", "usps", "Guangdong", 60, 5.0), ("US", "usps", "Tibet", 5, 20.0),
            ("JP", "ems", "Beijing", 40, 3.0), ("DE", "dhl", "Hunan", 50, 9.0)]  # fmt: skip
    sf, deliv, end, lanes = _history(spec)
    deliv = deliv + rng.integers(0, 6 * NS_PER_DAY, len(deliv))  # spread curves
    model = EtaModel.from_stage_times(sf, deliv, end, lanes)
    n = 300
    pick = rng.integers(0, len(spec), n)
    asked = pd.DataFrame(
        [spec[i][:3] for i in pick],
        columns=["origin_country", "international_carrier", "destination_province"],
    )
    asked.loc[::7, "destination_province"] = "Xizang"  # unknown: a coarser level answers
    stage = np.full(n, STAGES.index("origin"))
    entered = NOW.value - rng.integers(0, 12 * NS_PER_DAY, n)
    together = model.predict(stage, entered, asked, NOW)
    assert together["eta_low"].nunique() > 5 and (together["eta_level"] > 0).any()
    for i in range(0, n, 7):
        alone = model.predict(stage[i : i + 1], entered[i : i + 1], asked.iloc[[i]], NOW)
        pd.testing.assert_series_equal(
            together.iloc[i], alone.iloc[0], check_names=False, obj=f"parcel {i}"
        )
