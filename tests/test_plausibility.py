"""toolkit.tracking.plausibility and its use in track(): answers that cannot belong to the parcel.

The traces in tests/data/kuaidi100_real_traces.json are real Kuaidi100 traces copied from
public sources (named per trace in the file). Each one alone is an ordinary parcel and must
stay plausible; together, in one answer, they are what a bogus number returns: scans of
several unrelated parcels.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pandas as pd
import pytest
from carrier_fakes import FakeServices

import toolkit
from toolkit.keys import Keys, Secret
from toolkit.policy import PLAUSIBLE_EARLY_SCAN_DAYS
from toolkit.tracking.carriers import ERROR_KINDS
from toolkit.tracking.plausibility import implausible, is_placeholder, placeholder_kind, reasons
from toolkit.widgets import NUMBER_FAILURES, ParcelInvestigator
from toolkit.world import demo

DATA = Path(__file__).parent / "data" / "kuaidi100_real_traces.json"
TRACES = json.loads(DATA.read_text(encoding="utf-8"))["traces"]
KUAIDI100_COM = {"sf": "shunfeng", "yto": "yuantong", "yunda": "yunda", "zto": "zhongtong"}
# The number a wrong Kuaidi100 answer was reported for (github.com/uuk020/logistics/issues/12).
BOGUS = "75155689993986"
KEYS = Keys(
    seventeentrack=Secret("test-17track-key"),
    kuaidi100_key=Secret("test-kuaidi100-key"),
    kuaidi100_customer=Secret("TESTCUSTOMER0001"),
    aftership=Secret("test-aftership-key"),
)


def answer(traces: list[dict], number: str, carrier: str) -> dict:
    """A Kuaidi100 poll/query.do body carrying these traces' scans, newest first."""
    scans = sorted((s for t in traces for s in t["scans"]), key=lambda s: s["time"], reverse=True)
    return {
        "message": "ok",
        "nu": number,
        "ischeck": "1",
        "condition": "F00",
        "com": KUAIDI100_COM[carrier],
        "status": "200",
        "state": "3",
        "data": [
            {
                "time": s["time"],
                "ftime": s["time"],
                "context": s["context"],
                "location": s.get("location", ""),
            }
            for s in scans
        ],
    }


class Kuaidi100Answers:
    """A fake Kuaidi100 that gives one recorded body to every query, and counts them."""

    def __init__(self, body: dict):
        self.body = body
        self.asked: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/poll/query.do":
            return httpx.Response(404, json={"message": "not here"})
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        self.asked.append(json.loads(form["param"])["num"])
        return httpx.Response(200, json=self.body)


def track_domestic(body: dict, number: str, carrier: str, **parcel: object):
    fake = Kuaidi100Answers(body)
    parcels = pd.DataFrame(
        [
            {
                "parcel_id": "P1",
                "domestic_number": number,
                "domestic_carrier": carrier,
                "recipient_phone": "13800001234",  # SF shows scans only with the last four
                **parcel,
            }
        ]
    )
    events, errors = toolkit.track(
        parcels, keys=KEYS, transport=httpx.MockTransport(fake), cache_dir=False, progress=False
    )
    return events, errors, fake


@pytest.fixture(scope="module")
def trace_events() -> dict[str, pd.DataFrame]:
    """Each real trace tracked on its own: number -> its events."""
    out = {}
    for t in TRACES:
        events, errors, _ = track_domestic(answer([t], t["number"], t["carrier"]), **_who(t))
        assert errors.empty, errors.to_dict("records")
        out[t["number"]] = events
    return out


def _who(trace: dict) -> dict:
    return {"number": trace["number"], "carrier": trace["carrier"]}


def combined(trace_events: dict[str, pd.DataFrame], number: str = BOGUS) -> pd.DataFrame:
    """All real traces as the events of one number, the way a bogus number's answer reads."""
    events = pd.concat(trace_events.values(), ignore_index=True)
    return events.assign(tracking_number=number).sort_values("time_utc", ignore_index=True)


# ---------------------------------------------------------------- ordinary traces


@pytest.mark.parametrize("trace", TRACES, ids=[t["number"] for t in TRACES])
def test_every_real_trace_is_plausible_on_its_own(trace, trace_events):
    events = trace_events[trace["number"]]
    assert len(events) == len(trace["scans"])
    assert reasons(events, number=trace["number"]) == []
    first = events["time_utc"].min()
    # shipped the same day, or recorded as shipped a few days after the pick-up
    for later in (0, 1, PLAUSIBLE_EARLY_SCAN_DAYS - 1):
        assert (
            reasons(events, number=trace["number"], shipped_at=first + pd.Timedelta(later, "D"))
            == []
        )


def test_the_demo_data_set_stays_plausible():
    parcels, events = demo.load_demo()
    assert (
        implausible(events, dict(zip(parcels["parcel_id"], parcels["shipped_at"], strict=True)))
        == {}
    )


def test_the_sample_carrier_answers_stay_plausible():
    events, errors, _ = _fake_services_run(["LZ603184755US", "75891234567890", "YT7512345678901"])
    assert not (errors["error"] == "implausible_answer").any()
    assert len(events) > 10


# ------------------------------------------------------------- implausible answers


def test_an_answer_of_several_parcels_names_cities_deliveries_and_pickups(trace_events):
    events = combined(trace_events)
    said = reasons(events, number=BOGUS)
    assert len(said) == 3, said
    cities, deliveries, pickups = said
    assert cities.startswith(f"{len(events)} scans in 7 different delivery cities (")
    for city in ("重庆", "合肥", "南京", "杭州", "广州", "北京"):
        assert city in cities
    assert "…" in cities  # seven cities, six named
    assert deliveries.startswith("6 delivery scans")
    assert pickups.startswith(f"{(events['milestone'] == 'accepted').sum()} pick-up scans")


def test_two_unrelated_traces_are_not_yet_enough(trace_events):
    two = pd.concat([trace_events["765698489802"], trace_events["821148818417"]])
    assert reasons(two.assign(tracking_number=BOGUS), number=BOGUS) == []


def test_scans_long_before_shipping_are_named_with_their_dates(trace_events):
    events = trace_events["121231231231"]  # first scan 2017-07-26 in Zhengzhou
    said = reasons(events, number="121231231231", shipped_at="2017-09-05T00:00:00Z")
    assert said == ["first scan 2017-07-26, 40 days before the parcel was shipped on 2017-09-05"]


def test_pre_advice_before_shipping_is_not_counted(trace_events):
    events = trace_events["3991233058401"].copy()
    label = events.iloc[[0]].assign(
        milestone="info_received", time_utc=events["time_utc"].min() - pd.Timedelta(30, "D")
    )
    events = pd.concat([label, events], ignore_index=True)
    assert reasons(events, number="3991233058401", shipped_at=events["time_utc"].iloc[1]) == []


PLACEHOLDERS = [
    "1111111111",
    "0000000000000",
    "1234567890",
    "123456789012",
    "9876543210",
    "RR123456785CN",  # a run of consecutive digits before the check digit
    "1212121212",
    "EZ1000000001",
    "9499907123456123456781",
    "SHIPPO_DELIVERED",
    "YT9383342193097",
]
REAL = [t["number"] for t in TRACES] + [
    "75891234567890",
    "SF1402233445566",
    "RR205774935DE",
    "LZ603184755US",
    "1Z5R89390357567127",
    "11111",  # too short to judge
]


@pytest.mark.parametrize("number", PLACEHOLDERS)
def test_placeholder_numbers_are_recognised(number):
    assert is_placeholder(number)
    assert placeholder_kind(number)


@pytest.mark.parametrize("number", REAL)
def test_real_numbers_are_not_placeholders(number):
    assert not is_placeholder(number)


def test_a_real_trace_under_a_placeholder_number_is_implausible(trace_events):
    events = trace_events["807209844896"]
    said = reasons(events, number="1234567890")
    assert said and said[0].startswith("1234567890 is not a real parcel's number")
    assert "consecutive digits" in said[0]


# ----------------------------------------------------------------------- track()


def test_track_sets_an_implausible_kuaidi100_answer_aside(trace_events):
    body = answer(TRACES, BOGUS, "zto")
    events, errors, fake = track_domestic(body, BOGUS, "zto")
    assert fake.asked == [BOGUS]
    assert events.empty
    assert "implausible_answer" in ERROR_KINDS
    assert errors[["tracking_number", "parcel_id", "service", "error"]].to_dict("records") == [
        {
            "tracking_number": BOGUS,
            "parcel_id": "P1",
            "service": "kuaidi100",
            "error": "implausible_answer",
        }
    ]
    message = errors["message"].iloc[0]
    n = sum(len(t["scans"]) for t in TRACES)
    assert f"the {n} scans Kuaidi100 gave for {BOGUS} cannot all belong to this parcel" in message
    assert "7 different delivery cities" in message and "6 delivery scans" in message
    assert "Check the number with the sender" in message and "ZTO Express" in message


def test_a_shipping_date_after_the_scans_sets_a_real_trace_aside():
    trace = TRACES[0]
    body = answer([trace], trace["number"], trace["carrier"])
    events, errors, _ = track_domestic(body, **_who(trace), shipped_at="2019-04-12")
    assert events.empty
    assert list(errors["error"]) == ["implausible_answer"]
    assert re.search(
        r"first scan 2017-07-26, \d+ days before the parcel was shipped on 2019-04-12",
        errors["message"].iloc[0],
    )
    # shipped when the scans began: kept
    events, errors, _ = track_domestic(body, **_who(trace), shipped_at="2017-07-26 08:00")
    assert errors.empty and len(events) == len(trace["scans"])


def _fake_services_run(numbers, **parcel):
    """track() against the recorded sample answers (tests/fixtures/carriers)."""
    fake = FakeServices()
    parcels = pd.DataFrame(
        [
            {"parcel_id": f"P{i}", "international_number": n, "recipient_phone": "138 0013 5678"}
            | parcel
            for i, n in enumerate(numbers)
        ]
    )
    events, errors = toolkit.track(
        parcels, keys=KEYS, transport=fake.transport(), cache_dir=False, progress=False
    )
    return events, errors, fake


def test_links_of_a_set_aside_answer_are_not_followed():
    events, errors, fake = _fake_services_run(["LZ603184755US"])
    assert fake.kuaidi100.requests  # normally the last-mile number is asked for
    shipped = events["time_utc"].min() + pd.Timedelta(60, "D")
    events, errors, fake = _fake_services_run(["LZ603184755US"], shipped_at=shipped)
    assert events.empty
    assert fake.kuaidi100.requests == []
    assert list(errors["error"]) == ["implausible_answer"]


# ----------------------------------------------------------------------- widget


def test_the_investigator_shows_a_set_aside_answer_and_does_not_call_it_moving(tmp_path):
    from toolkit.findings.store import FindingsStore

    fake = Kuaidi100Answers(answer(TRACES, BOGUS, "zto"))
    inv = ParcelInvestigator(
        now=pd.Timestamp("2026-12-01", tz="UTC"),
        store=FindingsStore(f"sqlite:///{tmp_path / 'findings.sqlite'}"),
        track_options={"transport": httpx.MockTransport(fake), "keys": KEYS, "cache_dir": False},
    )
    assert "implausible_answer" in NUMBER_FAILURES
    inv.parts.number.value = BOGUS
    inv.parts.investigate_button.click()
    shown = inv.parts.message.value
    assert "could not be tracked" not in shown
    assert f"{BOGUS}: answer set aside" in shown
    assert "7 different delivery cities" in shown
    assert inv.diagnosis is not None and inv.diagnosis.category != "moving"
    assert inv.events.empty
