"""17TRACK client against recorded v2.2 answers."""

from __future__ import annotations

import json

import httpx
import pytest
from carrier_fakes import Fake17Track, FakeClock, load, reply

from toolkit.keys import Secret
from toolkit.tracking.carriers import Query, SeventeenTrackClient

KEY = Secret("test-17track-key")


def client(handler, **options) -> SeventeenTrackClient:
    clock = FakeClock()
    options.setdefault("cache_dir", False)
    return SeventeenTrackClient(
        KEY,
        transport=httpx.MockTransport(handler),
        clock=clock,
        sleep=clock.sleep,
        **options,
    )


def by_number(result, number):
    return [r for r in result.events if r["tracking_number"] == number]


def errors_by_number(result):
    return {e.tracking_number: e for e in result.errors}


def test_events_statuses_and_last_mile_link_are_read():
    fake = Fake17Track()
    res = client(fake).track([Query("LZ603184755US", "P1"), Query("RR205774935DE", "P2")])
    rows = by_number(res, "LZ603184755US")
    assert len(rows) == 7
    assert {r["carrier"] for r in rows} == {"chinapost", "usps"}
    assert all(r["parcel_id"] == "P1" and r["source"] == "17track" for r in rows)
    released = next(r for r in rows if r["raw_status"] == "InTransit_CustomsReleased")
    assert released["status_milestone"] == "customs_cleared"
    assert released["description"] == "【上海海关】海关放行"
    assert released["time_utc"] == "2026-03-08T08:20:00Z"
    assert released["time_local"] == "2026-03-08T16:20:00+08:00"
    handover = next(r for r in rows if "SF1402233445566" in r["description"])
    assert handover["status_milestone"] == ""  # InTransit_Other says nothing: the text decides
    departed = next(r for r in rows if r["raw_status"] == "InTransit_Departure")
    assert departed["status_milestone"] == "departed_origin"
    assert [(link.parcel_id, link.number, link.carrier) for link in res.links] == [
        ("P1", "SF1402233445566", "sf")
    ]
    held = by_number(res, "RR205774935DE")
    assert held[0]["status_milestone"] == "customs_hold"
    assert held[0]["carrier"] == "deutschepost"
    assert res.errors == []


def test_request_shape_token_header_and_json_body():
    fake = Fake17Track()
    client(fake).track([Query("LZ603184755US", carrier="usps")])
    register, info = fake.requests
    assert register.url == "https://api.17track.net/track/v2.2/register"
    assert info.url.path == "/track/v2.2/gettrackinfo"
    assert register.headers["17token"] == "test-17track-key"
    assert json.loads(register.content) == [{"number": "LZ603184755US", "carrier": 21051}]


def test_rejections_become_per_number_errors_and_already_registered_is_fine():
    fake = Fake17Track()
    numbers = ["EE182940314JP", "XX00000000", "12-34", "CP041277368GB", "LY339026143US"]
    res = client(fake).track([Query(n) for n in numbers])
    errors = errors_by_number(res)
    assert errors["XX00000000"].error == "carrier_unknown"
    assert errors["12-34"].error == "invalid_number"
    assert "-18010012" in errors["12-34"].message
    assert errors["CP041277368GB"].error == "not_found"  # NotFound inside a 200 answer
    assert "NotFound" in errors["CP041277368GB"].message
    assert errors["LY339026143US"].error == "not_found"  # -18019902, rejected by gettrackinfo
    assert "EE182940314JP" not in errors  # -18019901 already registered: tracked as usual
    assert by_number(res, "EE182940314JP")
    asked = [e["number"] for e in json.loads(fake.requests[1].content)]
    assert "XX00000000" not in asked and "12-34" not in asked
    assert {e.service for e in res.errors} == {"17track"}


def test_a_hundred_numbers_go_in_three_batches_of_at_most_forty():
    fake = Fake17Track()
    numbers = [f"LZ{i:08d}0US" for i in range(100)]
    res = client(fake, concurrency=1).track([Query(n) for n in numbers])
    sizes = [len(json.loads(r.content)) for r in fake.requests if r.url.path.endswith("/register")]
    assert sizes == [40, 40, 20]
    assert len(fake.requests) == 6
    assert {r["tracking_number"] for r in res.events} == set(numbers)
    assert res.requests == 6


def test_auth_error_reaches_every_number_once_without_retrying():
    calls = []

    def handler(request):
        calls.append(request)
        return reply("seventeentrack_auth_error")

    res = client(handler, max_attempts=4).track([Query("LZ603184755US"), Query("RR205774935DE")])
    assert len(calls) == 1
    assert [e.error for e in res.errors] == ["auth", "auth"]
    assert "SEVENTEENTRACK_API_KEY" in res.errors[0].message
    assert res.events == []


def test_quota_exhausted_is_reported_per_number():
    res = client(lambda r: reply("seventeentrack_quota_exhausted")).track([Query("RB771204584KR")])
    assert res.errors[0].error == "quota"
    assert "quota" in res.errors[0].message


def test_envelope_error_code_fails_the_batch_with_its_meaning():
    body = {"code": -18010001, "data": {"errors": [{"code": -18010001, "message": "IP"}]}}
    res = client(lambda r: httpx.Response(200, json=body)).track([Query("LZ603184755US")])
    assert res.errors[0].error == "auth"
    assert "whitelist" in res.errors[0].message


def test_answer_that_omits_a_number_gives_that_number_an_error():
    fake = Fake17Track()

    def handler(request):
        resp = fake(request)
        if request.url.path.endswith("/gettrackinfo"):
            body = resp.json()
            body["data"]["accepted"] = [
                a for a in body["data"]["accepted"] if a["number"] != "RR205774935DE"
            ]
            return httpx.Response(200, json=body)
        return resp

    res = client(handler).track([Query("LZ603184755US"), Query("RR205774935DE")])
    assert errors_by_number(res)["RR205774935DE"].error == "malformed_response"
    assert by_number(res, "LZ603184755US")


@pytest.mark.parametrize("mangle", ["events-not-a-list", "provider-not-a-dict"])
def test_a_payload_the_parser_cannot_read_hurts_only_its_number(mangle):
    fake = Fake17Track()
    bad = json.loads(json.dumps(load("seventeentrack_gettrackinfo")["response"]["json"]))
    item = bad["data"]["accepted"][1]
    if mangle == "events-not-a-list":
        item["track_info"]["tracking"]["providers"][0]["events"] = 5
    else:
        item["track_info"]["tracking"]["providers"][0] = "oops"

    def handler(request):
        if request.url.path.endswith("/gettrackinfo"):
            return httpx.Response(200, json=bad)
        return fake(request)

    res = client(handler).track([Query("LZ603184755US"), Query("RR205774935DE")])
    assert errors_by_number(res)["RR205774935DE"].error == "malformed_response"
    assert len(by_number(res, "LZ603184755US")) == 7
