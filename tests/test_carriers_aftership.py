"""AfterShip client against recorded Tracking API answers."""

from __future__ import annotations

import json

import httpx
from carrier_fakes import FakeAfterShip, FakeClock, load, reply

from toolkit.keys import Secret
from toolkit.tracking.carriers import AfterShipClient, Query
from toolkit.tracking.carriers.aftership import VERSION

KEY = Secret("test-aftership-key")


def client(handler, **options) -> AfterShipClient:
    clock = FakeClock()
    options.setdefault("cache_dir", False)
    return AfterShipClient(
        KEY, transport=httpx.MockTransport(handler), clock=clock, sleep=clock.sleep, **options
    )


def test_checkpoints_tags_and_last_mile_are_read():
    fake = FakeAfterShip()
    res = client(fake).track([Query("LY339026143US", "P9")])
    assert res.errors == []
    rows = res.events
    assert len(rows) == 7
    assert rows[0]["carrier"] == "usps" and rows[0]["status_milestone"] == "info_received"
    by_subtag = {r["raw_status"]: r for r in rows}
    assert by_subtag["InTransit_002"]["status_milestone"] == "accepted"
    assert by_subtag["InTransit_004"]["status_milestone"] == "arrived_destination"
    assert by_subtag["InTransit_006"]["status_milestone"] == "customs_clearance"
    assert by_subtag["InTransit_005"]["status_milestone"] == "customs_cleared"
    assert by_subtag["InTransit_001"]["status_milestone"] == ""  # "on the way": the text decides
    # a checkpoint time without an offset is passed on as the courier gave it
    assert by_subtag["InTransit_006"]["time_local"] == "2026-03-06T11:05:00"
    # ...and its UTC time is worked out in the checkpoint country's zone (CHN), flagged assumed
    assert by_subtag["InTransit_006"]["time_utc"] == "2026-03-06T03:05:00+00:00"
    assert by_subtag["InTransit_006"]["tz_assumed"] is True
    assert by_subtag["InTransit_005"]["time_utc"] is None  # offset given: normalize reads it
    assert by_subtag["InTransit_005"]["description"] == "【上海海关】海关放行"
    assert [(link.parcel_id, link.number, link.carrier) for link in res.links] == [
        ("P9", "75891234567890", "zto")
    ]
    (request,) = fake.requests
    assert request.url.path == f"/tracking/{VERSION}/trackings"
    assert request.url.params["tracking_numbers"] == "LY339026143US"
    assert request.headers["as-api-key"] == "test-aftership-key"


def test_pending_tracking_without_checkpoints_is_not_found():
    res = client(FakeAfterShip()).track([Query("EV536190279CN")])
    assert res.errors[0].error == "not_found"
    assert "Pending" in res.errors[0].message


def test_numbers_not_on_the_account_are_created_with_their_slug():
    fake = FakeAfterShip()
    res = client(fake).track([Query("LY339026143US"), Query("RB771204584KR", carrier="koreapost")])
    assert [r.method for r in fake.requests] == ["GET", "POST"]
    assert json.loads(fake.requests[1].content) == {
        "tracking_number": "RB771204584KR",
        "slug": "kpost",
    }
    assert {e.tracking_number: e.error for e in res.errors} == {"RB771204584KR": "not_found"}
    assert len(res.events) == 7


def test_already_existing_tracking_is_read_again():
    tracking = load("aftership_get_trackings")["response"]["json"]["data"]["trackings"][0]
    gets = []

    def handler(request):
        if request.method == "POST":
            return reply("aftership_tracking_already_exists")
        gets.append(request)
        found = [tracking] if len(gets) > 1 else []
        return httpx.Response(200, json={"meta": {"code": 200}, "data": {"trackings": found}})

    res = client(handler).track([Query("LY339026143US")])
    assert len(gets) == 2
    assert res.errors == [] and len(res.events) == 7


def test_courier_and_number_errors_are_per_number():
    res = client(FakeAfterShip()).track(
        [Query("XX00000000"), Query("12-34"), Query("LY339026143US")]
    )
    kinds = {e.tracking_number: e.error for e in res.errors}
    assert kinds == {"XX00000000": "carrier_unknown", "12-34": "invalid_number"}
    assert "4012" in next(e.message for e in res.errors if e.tracking_number == "XX00000000")


def test_invalid_key_is_an_auth_error_for_every_number():
    calls = []

    def handler(request):
        calls.append(request)
        return reply("aftership_auth_error")

    res = client(handler).track([Query("LY339026143US"), Query("EV536190279CN")])
    assert len(calls) == 1
    assert [e.error for e in res.errors] == ["auth", "auth"]
    assert "AFTERSHIP_API_KEY" in res.errors[0].message


def test_rate_limited_answer_is_retried_after_its_retry_after():
    clock = FakeClock()
    fake = FakeAfterShip()
    answers = [reply("aftership_rate_limited")]

    def handler(request):
        return answers.pop(0) if answers else fake(request)

    c = AfterShipClient(
        KEY,
        transport=httpx.MockTransport(handler),
        clock=clock,
        sleep=clock.sleep,
        cache_dir=False,
    )
    res = c.track([Query("LY339026143US")])
    assert res.errors == []
    assert 1.0 in clock.sleeps


def test_courier_detect_gives_toolkit_carrier_codes():
    fake = FakeAfterShip()
    assert client(fake).detect_couriers("LY339026143US") == ["usps"]
    assert json.loads(fake.requests[0].content) == {"tracking_number": "LY339026143US"}
