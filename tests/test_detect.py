"""Carrier detection: the sandbox's detection endpoints, each client's detect(), and track()
routing ambiguous numbers by the carrier a service detects."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pandas as pd
import pytest

from toolkit.errors import CarrierError
from toolkit.keys import Keys, Secret
from toolkit.model import CARRIERS, DOMESTIC_CARRIERS, empty_parcels
from toolkit.tracking.carriers import AfterShipClient, Kuaidi100Client, SeventeenTrackClient
from toolkit.tracking.carriers.base import RequestFailed
from toolkit.tracking.numbers import parse
from toolkit.tracking.track import detect_carrier, track
from toolkit.world.sandbox import Faults, SandboxTransport, World

KEY = "detect-test-key-5b2e81"
K100_AUTO = "https://www.kuaidi100.com/autonumber/auto"
T17 = "https://api.17track.net/track/v2.2"
AS_DETECT = "https://api.aftership.com/tracking/2025-01/couriers/detect"

USPS_NUMBER = "LZ603184755US"  # an S10 number: its format names the carrier
UNKNOWN = "9988776655443"  # well-formed, but no carrier in the world holds it
# Numbers that may fit several Chinese carriers; the first one the current formats find
# ambiguous (with a second plausible carrier to stand for the truth) is used.
AMBIGUOUS_TRIES = (
    "5512345678901",
    "1012345678901",
    "3012345678901",
    "551234567890",
    "731234567890",
    "268123456789",
)


def _trackable_without_phone(code: str) -> bool:
    c = CARRIERS.get(code)
    return c is not None and code in DOMESTIC_CARRIERS and bool(c.kuaidi100) and not c.needs_phone


def _pick_ambiguous() -> tuple[str, str]:
    """A number parse() ranks with more than one carrier, and a true carrier that is not
    its first guess (so a right answer can only come from detection)."""
    for number in AMBIGUOUS_TRIES:
        tn = parse(number)
        if tn.valid is False or len(tn.candidates) < 2 or tn.candidates[0] not in DOMESTIC_CARRIERS:
            continue
        others = [c for c in tn.candidates[1:] if _trackable_without_phone(c)]
        if others:
            return number, others[0]
    pytest.fail("none of the sample numbers is ambiguous between Chinese carriers any more")


AMBIGUOUS, TRUE_CARRIER = _pick_ambiguous()
# Looks Chinese domestic (ZTO-like), but the analyst says FedEx carries it.
DOMESTIC_LOOKING = "75891234567890"


def make_world() -> World:
    parcels = pd.DataFrame(
        [
            ("P1", USPS_NUMBER, "usps", AMBIGUOUS, None, "13900001111"),
            ("P2", DOMESTIC_LOOKING, "fedex", None, None, "13900002222"),
        ],
        columns=[
            "parcel_id", "international_number", "international_carrier", "domestic_number",
            "domestic_carrier", "recipient_phone",
        ],
    )  # fmt: skip
    events = pd.DataFrame(
        [
            ("P1", USPS_NUMBER, "usps", "international", "2026-03-01T10:00:00-05:00",
             "NEW YORK, NY", "Accepted at USPS Origin Facility", "accepted"),
            ("P1", AMBIGUOUS, TRUE_CARRIER, "domestic", "2026-03-09 10:06:58", "上海",
             "【上海市】快件已揽收", "accepted"),
            ("P1", AMBIGUOUS, TRUE_CARRIER, "domestic", "2026-03-10 18:30:00", "杭州市",
             "【杭州市】快件已签收，签收人：本人", "delivered"),
            ("P2", DOMESTIC_LOOKING, "fedex", "international", "2026-03-02T08:00:00-06:00",
             "MEMPHIS, TN", "Picked up", "accepted"),
            ("P2", DOMESTIC_LOOKING, "fedex", "international", "2026-03-03T21:00:00-06:00",
             "MEMPHIS, TN", "Departed FedEx hub", "departed_origin"),
        ],
        columns=[
            "parcel_id", "tracking_number", "carrier", "leg", "time_local", "location",
            "description", "true_milestone",
        ],
    )  # fmt: skip
    return World(parcels, events)


@pytest.fixture
def world() -> World:
    return make_world()


@pytest.fixture
def transport(world) -> SandboxTransport:
    return SandboxTransport(world=world)


@pytest.fixture
def http(transport) -> httpx.Client:
    return httpx.Client(transport=transport)


def recorded_answer(name: str) -> dict:
    path = Path(__file__).parent / "fixtures" / "carriers" / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8"))["response"]


def sandbox_options(transport, **extra) -> dict:
    return dict(transport=transport, sandbox=True, cache_dir=False, progress=False, **extra)


def test_the_picked_number_is_ambiguous():
    tn = parse(AMBIGUOUS)
    assert len(tn.candidates) > 1 and TRUE_CARRIER in tn.candidates
    assert tn.candidates[0] != TRUE_CARRIER
    looks = parse(DOMESTIC_LOOKING)
    assert looks.candidates and looks.candidates[0] in DOMESTIC_CARRIERS
    assert "fedex" not in looks.candidates


# ------------------------------------------------------------------ sandbox endpoints


def test_kuaidi100_autonumber_names_the_true_company_in_the_documented_shape(http, transport):
    answer = http.post(K100_AUTO, data={"num": AMBIGUOUS, "key": KEY})
    assert answer.status_code == 200
    body = answer.json()
    assert isinstance(body, list) and len(body) == 1
    recorded = recorded_answer("kuaidi100_autonumber")["json"][0]
    assert set(recorded) <= set(body[0])
    assert body[0]["comCode"] == CARRIERS[TRUE_CARRIER].kuaidi100
    assert body[0]["lengthPre"] == len(AMBIGUOUS)
    # the SDKs send the fields in the query string: answered the same way
    again = http.get(K100_AUTO, params={"num": AMBIGUOUS, "key": KEY})
    assert again.json() == body
    # the log names the number, never the key
    entry = transport.app.log[0]
    assert entry.service == "kuaidi100" and entry.numbers == (AMBIGUOUS,)
    assert KEY not in repr(transport.app.log)


def test_kuaidi100_autonumber_unknown_number_key_and_bad_input(http):
    assert http.post(K100_AUTO, data={"num": UNKNOWN, "key": KEY}).json() == []
    no_key = http.post(K100_AUTO, data={"num": AMBIGUOUS})
    recorded = recorded_answer("kuaidi100_autonumber_no_key")
    assert no_key.status_code == recorded["status"]
    assert no_key.json() == recorded["json"]
    bad = http.post(K100_AUTO, data={"num": "12-34", "key": KEY}).json()
    assert bad["returnCode"] == "201" and bad["result"] is False


def test_17track_register_without_a_carrier_assigns_one(http):
    numbers = [USPS_NUMBER, UNKNOWN]
    answer = http.post(
        f"{T17}/register", json=[{"number": n} for n in numbers], headers={"17token": KEY}
    )
    data = answer.json()["data"]
    (accepted,) = data["accepted"]
    assert accepted["number"] == USPS_NUMBER and accepted["carrier"] == 21051
    assert "origin" in accepted
    (rejected,) = data["rejected"]
    assert rejected["number"] == UNKNOWN and rejected["error"]["code"] == -18019903
    refused = http.post(f"{T17}/register", json=[{"number": USPS_NUMBER}])
    assert refused.status_code == 401 and refused.json()["code"] == -18010002


def test_aftership_detect_knows_the_world_and_not_unknown_numbers(http):
    known = http.post(AS_DETECT, json={"tracking_number": AMBIGUOUS}, headers={"as-api-key": KEY})
    slugs = [c["slug"] for c in known.json()["data"]["couriers"]]
    assert len(slugs) == 1 and slugs[0] != ""
    unknown = http.post(AS_DETECT, json={"tracking_number": UNKNOWN}, headers={"as-api-key": KEY})
    assert unknown.status_code == 200
    assert unknown.json()["data"] == {"total": 0, "couriers": []}
    refused = http.post(AS_DETECT, json={"tracking_number": AMBIGUOUS})
    assert refused.status_code == 401 and refused.json()["meta"]["code"] == 401


# ------------------------------------------------------------------ clients


def test_each_client_detects_against_the_sandbox(transport):
    options = dict(sandbox=True, transport=transport, cache_dir=False)
    with Kuaidi100Client(**options) as k100:
        assert k100.detect(AMBIGUOUS) == [TRUE_CARRIER]
        assert k100.detect(UNKNOWN) == []
        assert k100.detect("12-34") == []  # not a number Kuaidi100 recognises
    with SeventeenTrackClient(**options) as t17:
        assert t17.detect(USPS_NUMBER) == ["usps"]
        # registered now: asked again, the carrier is read back from gettrackinfo
        assert t17.detect(USPS_NUMBER) == ["usps"]
        assert t17.detect(UNKNOWN) == []
    with AfterShipClient(**options) as aftership:
        assert aftership.detect(USPS_NUMBER) == ["usps"]
        assert aftership.detect(AMBIGUOUS) == [TRUE_CARRIER]
        assert aftership.detect(UNKNOWN) == []


def test_detection_answers_are_cached(transport, tmp_path):
    with Kuaidi100Client(sandbox=True, transport=transport, cache_dir=tmp_path) as k100:
        assert k100.detect(AMBIGUOUS) == [TRUE_CARRIER]
        assert k100.detect(AMBIGUOUS) == [TRUE_CARRIER]
        assert k100.requests_sent == 1


def test_detection_failures_raise_with_the_key_scrubbed():
    key = Secret("live-key-0a9f3c")
    seen: list[httpx.Request] = []

    def quota(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, json={"returnCode": "601", "message": "key已过期", "result": False}
        )

    k100 = Kuaidi100Client(
        key, Secret("CUSTOMER"), transport=httpx.MockTransport(quota), cache_dir=False
    )
    with k100, pytest.raises(RequestFailed) as caught:
        k100.detect(AMBIGUOUS)
    assert caught.value.kind == "quota" and "live-key" not in caught.value.message
    # the key travels in the form body, never in the URL
    assert "live-key" not in str(seen[0].url)
    assert parse_qs(seen[0].content.decode())["key"] == ["live-key-0a9f3c"]


# ------------------------------------------------------------------ track()


def test_an_ambiguous_number_is_routed_to_the_detected_carrier(transport):
    events, errors = track(AMBIGUOUS, **sandbox_options(transport))
    assert errors.empty, errors.to_dict("records")
    assert set(events["carrier"]) == {TRUE_CARRIER}
    assert set(events["leg"]) == {"domestic"}
    assert events["milestone"].iloc[-1] == "delivered"
    paths = [e.path for e in transport.app.log]
    assert paths.count("/autonumber/auto") == 1


def test_detection_is_asked_once_per_distinct_ambiguous_number_only(transport):
    parcels = pd.DataFrame(
        {
            "parcel_id": ["A", "B", "C"],
            "international_number": [AMBIGUOUS, AMBIGUOUS, USPS_NUMBER],
        }
    )
    events, _errors = track(parcels, **sandbox_options(transport, follow=False))
    detections = [e for e in transport.app.log if e.path == "/autonumber/auto"]
    assert [e.numbers for e in detections] == [(AMBIGUOUS,)]
    assert set(events.loc[events["tracking_number"] == AMBIGUOUS, "parcel_id"]) == {"A", "B"}


def test_a_named_carrier_is_not_second_guessed_by_detection(transport):
    parcels = pd.DataFrame(
        {
            "parcel_id": ["A"],
            "international_number": [AMBIGUOUS],
            "international_carrier": [TRUE_CARRIER],
        }
    )
    events, errors = track(parcels, **sandbox_options(transport))
    assert not any(e.path == "/autonumber/auto" for e in transport.app.log)
    assert set(events["carrier"]) == {TRUE_CARRIER}
    assert "carrier_mismatch" not in set(errors["error"])


class _FailDetection(httpx.BaseTransport):
    """Detection requests meet a sandbox that always fails; the rest a healthy one."""

    def __init__(self, world: World, faults: Faults):
        self.healthy = SandboxTransport(world=world)
        self.failing = SandboxTransport(world=world, faults=faults)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        detecting = request.url.path in ("/autonumber/auto", "/tracking/2025-01/couriers/detect")
        return (self.failing if detecting else self.healthy).handle_request(request)


@pytest.mark.parametrize(
    "faults",
    [Faults(rate_5xx=1.0), Faults(rate_429=1.0, retry_after=0), Faults(rate_malformed=1.0)],
)
def test_a_failed_detection_falls_back_to_the_format_without_losing_the_number(world, faults):
    transport = _FailDetection(world, faults)
    _events, errors = track(AMBIGUOUS, **sandbox_options(transport, max_attempts=1))
    assert transport.failing.app.log, "detection was not asked"
    # tracked under the format's first guess: no scans for that carrier, but a row says so
    asked = [e for e in transport.healthy.app.log if e.path == "/poll/query.do"]
    assert [e.numbers for e in asked] == [(AMBIGUOUS,)]
    assert list(errors["tracking_number"]) == [AMBIGUOUS]
    assert list(errors["error"]) == ["not_found"]


def test_detect_carrier_for_notebooks(transport, world):
    assert detect_carrier(AMBIGUOUS, sandbox=True, transport=transport) == [TRUE_CARRIER]
    assert detect_carrier(USPS_NUMBER, sandbox=True, transport=transport) == ["usps"]
    assert detect_carrier(USPS_NUMBER, services="aftership", sandbox=True, transport=transport) == [
        "usps"
    ]
    assert detect_carrier(UNKNOWN, sandbox=True, transport=transport) == []
    failing = SandboxTransport(world=world, faults=Faults(rate_5xx=1.0))
    with pytest.raises(CarrierError, match="could not detect"):
        detect_carrier(AMBIGUOUS, sandbox=True, transport=failing, max_attempts=1)


def test_a_live_detector_is_preferred_over_the_sandbox():
    """With only an AfterShip key, AfterShip is asked even for a number that may be Chinese."""
    seen: list[str] = []

    def aftership(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        body = {"meta": {"code": 200}, "data": {"total": 1, "couriers": [{"slug": "sto"}]}}
        return httpx.Response(200, json=body)

    keys = Keys(aftership=Secret("as-live-key"))
    found = detect_carrier(
        AMBIGUOUS, services="aftership", keys=keys, transport=httpx.MockTransport(aftership)
    )
    assert found == ["sto"] and seen == ["/tracking/2025-01/couriers/detect"]


# ------------------------------------------------------------------ widgets


@pytest.mark.parametrize("number", [DOMESTIC_LOOKING, "73001234567890"])
def test_the_investigator_shows_a_mismatch_as_a_warning_beside_the_diagnosis(
    transport, tmp_path, number
):
    """With scans or without (then the diagnosis says why), the warning never hides it."""
    from toolkit.findings.store import FindingsStore
    from toolkit.widgets import ParcelInvestigator

    parcels = empty_parcels()
    parcels.loc[0, ["parcel_id", "international_number", "international_carrier"]] = [
        "P2",
        number,
        "fedex",
    ]
    parcels.loc[0, ["origin_country", "shipped_at"]] = ["US", pd.Timestamp("2026-03-01", tz="UTC")]
    inv = ParcelInvestigator(
        parcels,
        now=pd.Timestamp("2026-03-05", tz="UTC"),
        store=FindingsStore(f"sqlite:///{tmp_path / 'findings.sqlite'}"),
        track_options=sandbox_options(transport),
    )
    assert "fedex" not in parse(number).candidates
    inv.parts.number.value = number
    inv.parts.investigate_button.click()
    assert "carrier_mismatch" in set(inv.errors["error"])
    assert inv.diagnosis is not None and inv.parts.result.layout.display == ""
    if number == DOMESTIC_LOOKING:
        assert list(inv.errors["error"]) == ["carrier_mismatch"]
        assert set(inv.events["carrier"]) == {"fedex"}
    else:
        assert inv.events.empty and inv.diagnosis.category == "number_not_found"
    assert (
        "Warning" in inv.parts.message.value
        and "could not be tracked" not in inv.parts.message.value
    )


@pytest.mark.slow
def test_the_localhost_server_answers_detection_by_path(world):
    from toolkit.world.sandbox import serve

    with serve(port=0, world=world) as server:
        found = detect_carrier(AMBIGUOUS, sandbox=True, base_url=server.url, cache_dir=False)
        events, errors = track(
            AMBIGUOUS, sandbox=True, base_url=server.url, cache_dir=False, progress=False
        )
        paths = [e.path for e in server.app.log]
    assert found == [TRUE_CARRIER]
    assert errors.empty and set(events["carrier"]) == {TRUE_CARRIER}
    assert paths == ["/autonumber/auto", "/autonumber/auto", "/poll/query.do"]
