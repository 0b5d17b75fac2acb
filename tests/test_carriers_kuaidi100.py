"""Kuaidi100 client against recorded poll/query.do answers."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import parse_qs

import httpx
import pytest
from carrier_fakes import FakeClock, FakeKuaidi100, reply

from toolkit.keys import Secret
from toolkit.tracking.carriers import Kuaidi100Client, Query
from toolkit.tracking.carriers.kuaidi100 import phone_tail, sign

KEY = Secret("test-k100-key")
CUSTOMER = Secret("TESTCUSTOMER0001")


def client(handler, **options) -> Kuaidi100Client:
    clock = FakeClock()
    options.setdefault("cache_dir", False)
    return Kuaidi100Client(
        KEY,
        CUSTOMER,
        transport=httpx.MockTransport(handler),
        clock=clock,
        sleep=clock.sleep,
        **options,
    )


def form_of(request) -> dict:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def q(number, carrier, phone=None):
    return Query(number, "P1", carrier, phone, "domestic")


def test_sign_is_upper_case_md5_of_param_key_customer():
    param = '{"com":"yuantong","num":"YT9693083639795"}'
    assert sign(param, "testkey", "TESTCUSTOMER") == "AD6AD77E9C389B78E1A3A97E52384EEE"


def test_form_fields_are_signed_over_the_exact_param_sent():
    fake = FakeKuaidi100()
    client(fake).track([q("SF1402233445566", "sf", "+86 138-0013-5678")])
    (request,) = fake.requests
    assert request.url == "https://poll.kuaidi100.com/poll/query.do"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = form_of(request)
    assert form["customer"] == "TESTCUSTOMER0001"
    expected = hashlib.md5((form["param"] + "test-k100-key" + "TESTCUSTOMER0001").encode())
    assert form["sign"] == expected.hexdigest().upper()
    param = json.loads(form["param"])
    assert param["com"] == "shunfeng" and param["num"] == "SF1402233445566"
    assert param["phone"] == "5678"  # only the last four digits leave the machine
    assert param["resultv2"] == "1"


def test_in_transit_events_are_read_in_the_carriers_local_time():
    res = client(FakeKuaidi100()).track([q("75891234567890", "zto")])
    assert res.errors == []
    assert len(res.events) == 4
    latest = res.events[0]
    assert latest["carrier"] == "zto" and latest["leg"] == "domestic"
    assert latest["time_local"] == "2026-03-11 06:52:17"
    assert latest["time_utc"] is None  # no offset given: normalize assumes Asia/Shanghai
    assert latest["description"] == "【广州市】快件已到达 【广州中心】"
    assert latest["location"] == "广东,广州市"
    assert latest["raw_status"] == "在途"
    assert latest["status_milestone"] == ""
    assert res.events[-1]["status_milestone"] == "accepted"  # 揽收
    assert {r["source"] for r in res.events} == {"kuaidi100"}


def test_sf_with_phone_is_delivered():
    res = client(FakeKuaidi100()).track([q("SF1402233445566", "sf", "13800135678")])
    milestones = [r["status_milestone"] for r in res.events]
    assert milestones[0] == "delivered" and milestones[1] == "out_for_delivery"


def test_sf_without_phone_asks_for_it_without_spending_a_query():
    fake = FakeKuaidi100()
    res = client(fake).track([q("SF1402233445566", "sf")])
    assert fake.requests == []
    assert res.errors[0].error == "needs_phone"
    assert "last four digits" in res.errors[0].message


def test_sf_with_a_wrong_phone_gets_the_services_phone_error():
    res = client(FakeKuaidi100(phone="5678")).track([q("SF1402233445566", "sf", "1111")])
    assert res.errors[0].error == "needs_phone"
    assert "did not accept" in res.errors[0].message


def test_other_carrier_asking_for_a_phone_is_reported():
    res = client(lambda r: reply("kuaidi100_sf_needs_phone")).track([q("75891234567890", "zto")])
    assert res.errors[0].error == "needs_phone"
    assert "recipient_phone" in res.errors[0].message


def test_customs_states_map_to_customs_milestones():
    res = client(FakeKuaidi100()).track([q("1100087654321", "ems")])
    assert [r["status_milestone"] for r in res.events] == [
        "customs_clearance",
        "customs_clearance",
        "",
    ]
    assert res.events[0]["raw_status"] == "清关中"


def test_refused_and_returned_parcels():
    res = client(FakeKuaidi100()).track([q("YT7512345678901", "yto")])
    assert [r["status_milestone"] for r in res.events] == [
        "returned",
        "returning",
        "delivery_failed",
        "out_for_delivery",
    ]


def test_latest_event_without_status_name_takes_the_waybill_state():
    body = {
        "message": "ok",
        "state": "3",
        "status": "200",
        "ischeck": "1",
        "nu": "75891234567890",
        "com": "zhongtong",
        "data": [
            {"time": "2026-03-12 15:47:09", "context": "已签收", "ftime": "2026-03-12 15:47:09"},
            {"time": "2026-03-11 15:47:09", "context": "运输中", "ftime": "2026-03-11 15:47:09"},
        ],
    }
    res = client(lambda r: httpx.Response(200, json=body)).track([q("75891234567890", "zto")])
    assert res.events[0]["status_milestone"] == "delivered"
    assert res.events[0]["raw_status"] == "state 3"
    assert res.events[1]["raw_status"] == ""


@pytest.mark.parametrize(
    ("case", "kind", "words"),
    [
        ("kuaidi100_not_found", "not_found", "no record"),
        ("kuaidi100_wrong_company", "carrier_unknown", "check the carrier"),
        ("kuaidi100_bad_sign", "auth", "KUAIDI100_KEY"),
        ("kuaidi100_no_quota", "quota", "top up"),
    ],
)
def test_errors_in_a_200_body(case, kind, words):
    calls = []

    def handler(request):
        calls.append(request)
        return reply(case)

    res = client(handler, max_attempts=3).track([q("75891234567890", "zto")])
    assert res.errors[0].error == kind
    assert words in res.errors[0].message
    assert len(calls) == 1  # none of these is worth a retry


def test_busy_server_is_retried():
    answers = [reply("kuaidi100_server_busy"), reply("kuaidi100_zto_in_transit")]
    res = client(lambda r: answers.pop(0)).track([q("75891234567890", "zto")])
    assert res.errors == []
    assert len(res.events) == 4


def test_a_number_without_a_known_domestic_carrier_is_not_sent():
    fake = FakeKuaidi100()
    res = client(fake).track([q("1234567890", None), q("LZ603184755US", "usps")])
    assert fake.requests == []
    assert {e.error for e in res.errors} == {"carrier_unknown"}


def test_not_found_answers_are_cached_briefly_but_phone_errors_never(tmp_path):
    fake = FakeKuaidi100()
    client(fake, cache_dir=tmp_path).track([q("73100000000001", "zto")])
    client(fake, cache_dir=tmp_path).track([q("73100000000001", "zto")])
    assert len(fake.requests) == 1
    client(fake, cache_dir=tmp_path).track([q("SF1402233445566", "sf", "0000")])
    client(fake, cache_dir=tmp_path).track([q("SF1402233445566", "sf", "5678")])
    assert len(fake.requests) == 3


@pytest.mark.parametrize(
    ("phone", "tail"),
    [("13800135678", "5678"), ("+86 138-0013-5678", "5678"), ("123", ""), (None, "")],
)
def test_phone_tail(phone, tail):
    assert phone_tail(phone) == tail
