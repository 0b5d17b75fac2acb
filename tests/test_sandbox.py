"""The sandbox answers as 17TRACK, Kuaidi100 and AfterShip do: shapes, behaviour, socket, CLI."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import pandas as pd
import pytest

from toolkit.errors import InputError, MissingColumnsError
from toolkit.world.sandbox import SandboxTransport, World, serve

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "carriers"
KEY = "sandbox-test-key-7c1f9e"

LINKED = "LZ603184755US"  # USPS, handed over to SF under a number the parcels table knows
UNLINKED = "RR205774935DE"  # Deutsche Post, held in customs; its ZTO number is not linked
RETURNED = "CP041277368GB"  # Royal Mail, sent back
SILENT = "EE182940314JP"  # Japan Post, nothing since January
NO_SCANS = "RB771204584KR"  # Korea Post label, no scan yet
SF_NUMBER, ZTO_NUMBER = "SF1402233445566", "75891234567890"
SF_PHONE = "13912345678"

PARCELS = [
    ("P1", LINKED, "usps", SF_NUMBER, "sf", "US", "上海市", SF_PHONE, LINKED, SF_NUMBER),
    (
        "P2",
        UNLINKED,
        "deutschepost",
        None,
        None,
        "DE",
        "北京市",
        "13800001111",
        UNLINKED,
        ZTO_NUMBER,
    ),
    ("P3", RETURNED, "royalmail", None, None, "GB", "广东省", "13700002222", RETURNED, None),
    ("P4", SILENT, "japanpost", None, None, "JP", "四川省", "13600003333", SILENT, None),
    ("P5", NO_SCANS, "koreapost", None, None, "KR", "浙江省", "13500004444", NO_SCANS, None),
]
EVENTS = [
    ("P1", LINKED, "usps", "international", "2026-02-27T20:03:00-05:00", "BROOKLYN, NY",
     "Shipping Label Created, USPS Awaiting Item", "GX", "info_received"),
    ("P1", LINKED, "usps", "international", "2026-02-28T14:10:00-05:00", "BROOKLYN, NY",
     "Accepted at USPS Origin Facility", "OA", "accepted"),
    ("P1", LINKED, "usps", "international", "2026-03-02T18:45:00-05:00", "NEW YORK, NY",
     "Departed, Processed Through Facility ISC NEW YORK NY(USPS)", "EF", "departed_origin"),
    ("P1", LINKED, "chinapost", "international", "2026-03-05 22:30:00", "上海市",
     "【上海国际邮件处理中心】到达寄达地处理中心", "", "arrived_destination"),
    ("P1", LINKED, "chinapost", "international", "2026-03-08 16:20:00", "上海市",
     "【上海海关】海关放行", "", "customs_cleared"),
    ("P1", LINKED, "chinapost", "international", "2026-03-09 09:41:00", "上海市",
     "【上海市】已交国内段快递 顺丰速运，新单号：SF1402233445566", "", "handed_over"),
    ("P1", SF_NUMBER, "sf", "domestic", "2026-03-09 10:06:58", "上海", "[上海市]顺丰速运 已收取快件",
     "", "accepted"),
    ("P1", SF_NUMBER, "sf", "domestic", "2026-03-12 09:02:31", "深圳市", "[深圳市]快件交给陈师傅，正在派送途中",
     "", "out_for_delivery"),
    ("P1", SF_NUMBER, "sf", "domestic", "2026-03-12 15:47:09", "深圳市", "[深圳市]快件已签收，签收人：本人",
     "", "delivered"),
    ("P2", UNLINKED, "deutschepost", "international", "2026-02-25T09:11:00+01:00", "Hamburg, DE",
     "The shipment has been posted by the sender at the retail outlet.", "", "accepted"),
    ("P2", UNLINKED, "chinapost", "international", "2026-03-04 08:15:00", "北京市",
     "【北京国际邮件处理中心】已送交进口海关", "", "customs_clearance"),
    ("P2", UNLINKED, "chinapost", "international", "2026-03-07 14:02:00", "北京市",
     "【北京国际邮件处理中心】海关查验，待补充申报资料", "", "customs_hold"),
    ("P2", ZTO_NUMBER, "zto", "domestic", "2026-03-10 14:12:55", "上海", "【上海市】跨境小包 已揽收",
     "", "accepted"),
    ("P2", ZTO_NUMBER, "zto", "domestic", "2026-03-11 06:52:17", "广州市", "【广州市】快件已到达 【广州中心】",
     "", "domestic_in_transit"),
    ("P3", RETURNED, "royalmail", "international", "2026-02-20T10:00:00+00:00", "London",
     "We've got your item", "", "accepted"),
    ("P3", RETURNED, "royalmail", "international", "2026-03-01T10:00:00+00:00", "London",
     "Item being returned to sender", "", "returning"),
    ("P4", SILENT, "japanpost", "international", "2026-01-05T09:00:00+09:00", "TOKYO",
     "Posting/Collection", "", "accepted"),
]  # fmt: skip


def make_world() -> World:
    """A hand-made world small enough to reason about in each test."""
    parcels = pd.DataFrame(
        PARCELS,
        columns=[
            "parcel_id", "international_number", "international_carrier", "domestic_number",
            "domestic_carrier", "origin_country", "destination_province", "recipient_phone",
            "true_international_number", "true_domestic_number",
        ],
    )  # fmt: skip
    parcels["destination_city"] = parcels["destination_province"]
    events = pd.DataFrame(
        EVENTS,
        columns=[
            "parcel_id", "tracking_number", "carrier", "leg", "time_local", "location",
            "description", "raw_status", "true_milestone",
        ],
    )  # fmt: skip
    return World(parcels, events)


@pytest.fixture
def world() -> World:
    return make_world()


@pytest.fixture
def client(world: World) -> httpx.Client:
    return httpx.Client(transport=SandboxTransport(world=world))


def t17(client: httpx.Client, endpoint: str, numbers: list[str], key: str = KEY) -> httpx.Response:
    return client.post(
        f"https://api.17track.net/track/v2.2/{endpoint}",
        json=[{"number": n} for n in numbers],
        headers={"17token": key} if key else {},
    )


def k100(
    client: httpx.Client,
    param: dict,
    customer: str = "CUSTOMER1",
    key: str = KEY,
    base: str = "https://poll.kuaidi100.com",
) -> dict:
    text = json.dumps(param, separators=(",", ":"), ensure_ascii=False)
    sign = hashlib.md5((text + key + customer).encode()).hexdigest().upper()
    response = client.post(
        f"{base}/poll/query.do", data={"customer": customer, "sign": sign, "param": text}
    )
    assert response.status_code == 200
    return response.json()


AS_BASE = "https://api.aftership.com/tracking/2025-01"


def aftership(client: httpx.Client, method: str, path: str, **kw) -> httpx.Response:
    headers = {"as-api-key": KEY, **kw.pop("headers", {})}
    return client.request(method, AS_BASE + path, headers=headers, **kw)


# ------------------------------------------------------------------ shapes against the fixtures


def shape(value: object) -> object:
    """The key structure of a JSON value: dicts by key, lists by their first item, leaf types."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if value is None:
        return None
    return (
        "number"
        if isinstance(value, int | float) and not isinstance(value, bool)
        else type(value).__name__
    )


def missing_paths(expected: object, actual: object, path: str = "$") -> list[str]:
    """Key paths (and leaf types) present in the fixture but absent or different in the answer."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path} should be an object"]
        out = []
        for key, sub in expected.items():
            if key not in actual:
                out.append(f"{path}.{key} missing")
            else:
                out.extend(missing_paths(sub, actual[key], f"{path}.{key}"))
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path} should be a list"]
        if expected and actual:
            return missing_paths(expected[0], actual[0], f"{path}[0]")
        return []
    if expected is not None and actual is not None and expected != actual:
        return [f"{path} is {actual}, fixture has {expected}"]
    return []


def fixture(name: str) -> dict:
    path = FIXTURES / f"{name}.json"
    if not path.is_file():
        pytest.fail(f"recorded response {path.name} is missing")
    return json.loads(path.read_text(encoding="utf-8"))


def assert_same_shape(name: str, response: httpx.Response, pick=lambda d: d) -> None:
    recorded = fixture(name)["response"]
    assert response.status_code == recorded["status"], name
    problems = missing_paths(shape(pick(recorded["json"])), shape(pick(response.json())))
    assert not problems, f"{name}: " + "; ".join(problems)


def test_17track_register_has_the_documented_shape(client):
    t17(client, "register", [SILENT])
    answer = t17(client, "register", [LINKED, SILENT, "XX00000000", "12-34"])
    assert_same_shape("seventeentrack_register", answer)
    body = answer.json()["data"]
    assert [a["number"] for a in body["accepted"]] == [LINKED]
    codes = {r["number"]: r["error"]["code"] for r in body["rejected"]}
    assert codes == {SILENT: -18019901, "XX00000000": -18019903, "12-34": -18010012}


def test_17track_gettrackinfo_has_the_documented_shape(client):
    t17(client, "register", [LINKED, UNLINKED, NO_SCANS])
    answer = t17(client, "gettrackinfo", [LINKED, UNLINKED, NO_SCANS, "LY339026143US"])
    recorded = fixture("seventeentrack_gettrackinfo")["response"]["json"]["data"]
    body = answer.json()["data"]
    assert answer.status_code == 200 and answer.json()["code"] == 0
    for mine, theirs in [(0, 0), (1, 1), (2, 2)]:
        problems = missing_paths(shape(recorded["accepted"][theirs]), shape(body["accepted"][mine]))
        assert not problems, problems
    assert not missing_paths(shape(recorded["rejected"][0]), shape(body["rejected"][0]))
    assert body["rejected"][0]["error"]["code"] == -18019902


def test_17track_missing_key_gets_its_auth_error(client):
    answer = t17(client, "gettrackinfo", [LINKED], key="")
    assert_same_shape("seventeentrack_auth_error", answer)
    assert answer.json()["code"] == -18010002


@pytest.mark.parametrize(
    ("name", "param", "phone"),
    [
        ("kuaidi100_sf_delivered", {"com": "shunfeng", "num": SF_NUMBER}, "5678"),
        ("kuaidi100_zto_in_transit", {"com": "zhongtong", "num": ZTO_NUMBER}, ""),
        ("kuaidi100_sf_needs_phone", {"com": "shunfeng", "num": SF_NUMBER}, ""),
        ("kuaidi100_not_found", {"com": "zhongtong", "num": "73100000000001"}, ""),
        ("kuaidi100_wrong_company", {"com": "zhongtongg", "num": ZTO_NUMBER}, ""),
    ],
)
def test_kuaidi100_answers_have_the_documented_shape(client, name, param, phone):
    param = {**param, "phone": phone, "resultv2": "1", "show": "0", "order": "desc"}
    text = json.dumps(param)
    sign = hashlib.md5((text + KEY + "C1").encode()).hexdigest().upper()
    answer = client.post(
        "http://localhost/poll/query.do", data={"customer": "C1", "sign": sign, "param": text}
    )
    assert_same_shape(name, answer)


def test_kuaidi100_bad_sign_has_the_documented_shape(client):
    answer = client.post(
        "http://localhost/poll/query.do",
        data={
            "customer": "C1",
            "sign": "not-a-signature",
            "param": json.dumps({"com": "zhongtong"}),
        },
    )
    assert_same_shape("kuaidi100_bad_sign", answer)


def test_aftership_answers_have_the_documented_shape(client):
    created = aftership(client, "POST", "/trackings", json={"tracking_number": NO_SCANS})
    assert_same_shape("aftership_create_tracking", created)
    aftership(client, "POST", "/trackings", json={"tracking_number": LINKED})
    listed = aftership(
        client, "GET", "/trackings", params={"tracking_numbers": f"{LINKED},{NO_SCANS}"}
    )
    assert_same_shape("aftership_get_trackings", listed)
    again = aftership(
        client, "POST", "/trackings", json={"tracking_number": LINKED, "slug": "usps"}
    )
    assert_same_shape("aftership_tracking_already_exists", again)
    detected = aftership(client, "POST", "/couriers/detect", json={"tracking_number": LINKED})
    assert_same_shape("aftership_detect_courier", detected)
    cases = {
        "aftership_bad_courier": (
            "POST",
            "/trackings",
            {"json": {"tracking_number": "XX00000000"}},
        ),
        "aftership_invalid_number": ("POST", "/trackings", {"json": {"tracking_number": "12-34"}}),
        "aftership_not_found": ("GET", "/trackings/" + "f" * 32, {}),
        "aftership_get_trackings_empty": (
            "GET",
            "/trackings",
            {"params": {"tracking_numbers": SILENT}},
        ),
    }
    for name, (method, path, kw) in cases.items():
        assert_same_shape(name, aftership(client, method, path, **kw))
    unauthorised = client.get(AS_BASE + "/trackings", params={"tracking_numbers": LINKED})
    assert_same_shape("aftership_auth_error", unauthorised)


# ------------------------------------------------------------------ what the services say


def test_17track_reports_the_last_mile_only_when_the_link_is_known(client):
    t17(client, "register", [LINKED, UNLINKED])
    accepted = {
        a["number"]: a["track_info"]
        for a in t17(client, "gettrackinfo", [LINKED, UNLINKED]).json()["data"]["accepted"]
    }
    assert accepted[LINKED]["misc_info"]["local_number"] == SF_NUMBER
    assert accepted[LINKED]["misc_info"]["local_provider"] == "SF Express"
    assert accepted[UNLINKED]["misc_info"]["local_number"] is None
    assert (
        accepted[UNLINKED]["latest_status"]["sub_status"] == "InTransit_CustomsRequiringInformation"
    )


def test_17track_events_are_newest_first_in_their_own_words_and_times(client):
    t17(client, "register", [LINKED])
    info = t17(client, "gettrackinfo", [LINKED]).json()["data"]["accepted"][0]["track_info"]
    providers = info["tracking"]["providers"]
    assert [p["provider"]["name"] for p in providers] == ["China Post", "USPS"]
    china = providers[0]["events"]
    assert china[0]["description"] == "【上海市】已交国内段快递 顺丰速运，新单号：SF1402233445566"
    assert [e["time_utc"] for e in china] == sorted((e["time_utc"] for e in china), reverse=True)
    # The Chinese carrier gave no offset: 17TRACK shows Beijing time and leaves the raw zone empty.
    assert china[0]["time_iso"] == "2026-03-09T09:41:00+08:00"
    assert china[0]["time_utc"] == "2026-03-09T01:41:00Z"
    assert china[0]["time_raw"]["timezone"] is None
    usps = providers[1]["events"]
    assert usps[-1]["time_raw"] == {"date": "2026-02-27", "time": "20:03:00", "timezone": "-05:00"}
    assert usps[-1]["sub_status"] == "InfoReceived"
    reached = {m["key_stage"]: m["time_utc"] for m in info["milestone"]}
    assert reached["Departure"] == "2026-03-02T23:45:00Z" and reached["Delivered"] is None


def test_17track_status_follows_the_last_scan(client):
    numbers = [RETURNED, SILENT, NO_SCANS, "EE182940315JP", "EE182940314JP"]
    t17(client, "register", numbers)
    body = t17(client, "gettrackinfo", numbers).json()["data"]
    status = {a["number"]: a["track_info"]["latest_status"]["sub_status"] for a in body["accepted"]}
    assert status == {
        RETURNED: "Exception_Returning",
        SILENT: "Expired_Other",  # in transit, silent for more than 30 days
        NO_SCANS: "NotFound_Other",  # a real label the carrier has not scanned
        "EE182940315JP": "NotFound_InvalidCode",  # check digit fails
    }


def test_17track_needs_registration_and_caps_a_request_at_40_numbers(client):
    rejected = t17(client, "gettrackinfo", [LINKED]).json()["data"]["rejected"]
    assert rejected[0]["error"]["code"] == -18019902
    too_many = t17(client, "register", [f"LZ{n:09d}US" for n in range(41)]).json()
    assert too_many["code"] == -18010014 and not too_many["data"].get("accepted")
    other_key = t17(client, "register", [LINKED], key="another-account").json()["data"]
    assert other_key["accepted"][0]["number"] == LINKED  # registrations belong to one key


def test_kuaidi100_knows_its_own_number_even_when_nobody_linked_it(client):
    answer = k100(client, {"com": "zhongtong", "num": ZTO_NUMBER, "resultv2": "1"})
    assert answer["state"] == "0" and answer["nu"] == ZTO_NUMBER
    assert [row["time"] for row in answer["data"]] == ["2026-03-11 06:52:17", "2026-03-10 14:12:55"]
    assert answer["data"][0]["context"] == "【广州市】快件已到达 【广州中心】"
    oldest_first = k100(client, {"com": "zhongtong", "num": ZTO_NUMBER, "order": "asc"})
    assert oldest_first["data"][0]["time"] == "2026-03-10 14:12:55"
    assert "status" not in oldest_first["data"][0]  # per-event status only with resultv2


@pytest.mark.parametrize(
    ("phone", "code"),
    [("", "408"), ("0000", "408"), ("5678", None), (SF_PHONE, None), ("139-1234-5678", None)],
)
def test_kuaidi100_sf_needs_the_recipient_phone(client, phone, code):
    answer = k100(client, {"com": "shunfeng", "num": SF_NUMBER, "phone": phone, "resultv2": "1"})
    if code:
        assert answer["returnCode"] == code and answer["result"] is False
    else:
        assert answer["state"] == "3" and answer["ischeck"] == "1"
        assert answer["data"][0]["status"] == "签收"


@pytest.mark.parametrize(
    ("param", "code"),
    [
        ({"com": "yuantong", "num": ZTO_NUMBER}, "500"),  # right number, wrong company
        ({"com": "zhongtong", "num": "73100000000001"}, "500"),  # number nobody knows
        ({"com": "nosuchcompany", "num": ZTO_NUMBER}, "400"),
        ({"com": "zhongtong"}, "400"),
    ],
)
def test_kuaidi100_errors_arrive_in_a_200_body(client, param, code):
    assert k100(client, param)["returnCode"] == code


def test_kuaidi100_rejects_a_lower_case_or_missing_signature(client):
    text = json.dumps({"com": "zhongtong", "num": ZTO_NUMBER})
    lower = hashlib.md5((text + KEY + "C1").encode()).hexdigest()
    for form in (
        {"customer": "C1", "sign": lower, "param": text},
        {"sign": lower.upper(), "param": text},
    ):
        answer = client.post("http://x/poll/query.do", data=form).json()
        assert answer["returnCode"] == "503"


def test_aftership_tracks_after_create_with_tags_and_last_mile(client):
    for number in (LINKED, UNLINKED):
        assert (
            aftership(client, "POST", "/trackings", json={"tracking_number": number}).status_code
            == 201
        )
    trackings = aftership(
        client, "GET", "/trackings", params={"tracking_numbers": f"{LINKED},{UNLINKED}"}
    ).json()["data"]["trackings"]
    by_number = {t["tracking_number"]: t for t in trackings}
    linked, unlinked = by_number[LINKED], by_number[UNLINKED]
    assert linked["last_mile"]["tracking_number"] == SF_NUMBER
    assert linked["last_mile"]["slug"] == "sf-express"
    assert unlinked["last_mile"] is None
    assert unlinked["tag"] == "Exception" and unlinked["subtag"] == "Exception_004"
    times = [c["checkpoint_time"] for c in linked["checkpoints"]]
    assert times[0] == "2026-02-27T20:03:00-05:00"  # oldest first, with the courier's offset
    assert times[-1] == "2026-03-09T09:41:00"  # no offset given by the courier: none shown
    one = aftership(client, "GET", f"/trackings/{linked['id']}").json()["data"]
    assert one["tracking_number"] == LINKED and len(one["checkpoints"]) == 6


def test_aftership_detects_couriers_by_number(client):
    def slugs(number: str) -> list[str]:
        data = aftership(
            client, "POST", "/couriers/detect", json={"tracking_number": number}
        ).json()
        return [c["slug"] for c in data["data"]["couriers"]]

    assert slugs(LINKED) == ["usps"]
    assert slugs(NO_SCANS) == ["kpost"]
    assert slugs("1Z999AA10123456784") == ["ups"]
    assert slugs("XX00000000") == []


def test_any_host_works_and_unknown_paths_get_404(world):
    http = httpx.Client(transport=SandboxTransport(world=world))
    for number, base in [
        (LINKED, "https://api.17track.net"),
        (UNLINKED, "http://127.0.0.1:1"),
        (RETURNED, "http://example.invalid"),
    ]:
        answer = http.post(
            f"{base}/track/v2.2/register", json=[{"number": number}], headers={"17token": KEY}
        )
        assert answer.json()["data"]["accepted"][0]["number"] == number
    assert http.get("http://x/nothing/here").status_code == 404
    assert http.post("http://x/track/v9/register").status_code == 404


def test_request_log_names_numbers_but_never_keys(client):
    t17(client, "register", [LINKED, UNLINKED])
    k100(client, {"com": "shunfeng", "num": SF_NUMBER, "phone": "5678"})
    aftership(client, "POST", "/trackings", json={"tracking_number": LINKED})
    log = client._transport.app.log
    assert [e.service for e in log] == ["17track", "kuaidi100", "aftership"]
    assert log[0].numbers == (LINKED, UNLINKED) and log[1].numbers == (SF_NUMBER,)
    assert all(e.status in (200, 201) and e.fault == "ok" for e in log)
    assert KEY not in repr(log) and KEY not in client._transport.app.log_frame().to_csv()


def test_async_clients_are_served_too(world):
    async def run() -> dict:
        async with httpx.AsyncClient(transport=SandboxTransport(world=world)) as http:
            answer = await http.post(
                "https://api.17track.net/track/v2.2/register",
                json=[{"number": LINKED}],
                headers={"17token": KEY},
            )
            return answer.json()

    assert asyncio.run(run())["data"]["accepted"][0]["number"] == LINKED


def test_world_checks_its_tables(world):
    with pytest.raises(MissingColumnsError, match="time_local"):
        World(pd.DataFrame({"parcel_id": [], "domestic_number": [], "recipient_phone": []}),
              pd.DataFrame({"tracking_number": []}))  # fmt: skip
    bad = pd.DataFrame([EVENTS[0]], columns=[
        "parcel_id", "tracking_number", "carrier", "leg", "time_local", "location", "description",
        "raw_status", "true_milestone"])  # fmt: skip
    bad["time_local"] = "yesterday"
    with pytest.raises(InputError, match="yesterday"):
        World(pd.DataFrame({"parcel_id": [], "domestic_number": [], "recipient_phone": []}), bad)
    assert world.lookup(LINKED).link_number == SF_NUMBER
    assert world.lookup(ZTO_NUMBER, "international") is None
    assert world.now == datetime.fromisoformat("2026-03-12T15:47:09+08:00")


# ------------------------------------------------------------------ over a real socket


@pytest.mark.slow
def test_serve_answers_over_a_real_socket(world):
    with serve(port=0, world=world) as server:
        assert server.url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=server.url, timeout=5) as http:
            answer = http.post(
                "/track/v2.2/register", json=[{"number": LINKED}], headers={"17token": KEY}
            )
            assert answer.json()["data"]["accepted"][0]["carrier"] == 21051
            kept_alive = http.get(AS_BASE.replace("https://api.aftership.com", "") + "/trackings")
            assert kept_alive.status_code == 401
        assert [e.path for e in server.app.log] == [
            "/track/v2.2/register",
            "/tracking/2025-01/trackings",
        ]
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/poll/query.do", timeout=1)


@pytest.mark.slow
def test_serve_on_a_busy_port_says_what_to_do(world):
    with serve(port=0, world=world) as server, pytest.raises(InputError, match="another port"):
        serve(port=server.port, world=world)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_command_line_starts_the_sandbox_and_answers(tmp_path, world):
    parcels = pd.DataFrame(PARCELS, columns=[
        "parcel_id", "international_number", "international_carrier", "domestic_number",
        "domestic_carrier", "origin_country", "destination_province", "recipient_phone",
        "true_international_number", "true_domestic_number"])  # fmt: skip
    parcels.to_csv(tmp_path / "parcels.csv", index=False)
    pd.DataFrame(EVENTS, columns=[
        "parcel_id", "tracking_number", "carrier", "leg", "time_local", "location", "description",
        "raw_status", "true_milestone"]).to_csv(tmp_path / "events.csv", index=False)  # fmt: skip
    port = _free_port()
    command = [sys.executable, "-m", "toolkit", "sandbox", "--port", str(port), "--data", str(tmp_path),
               "--latency", "0.01", "--seed", "3"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline, answer = time.monotonic() + 30, None
        while time.monotonic() < deadline and answer is None:
            try:
                answer = k100(
                    httpx.Client(timeout=2),
                    {"com": "zhongtong", "num": ZTO_NUMBER},
                    base=f"http://127.0.0.1:{port}",
                )
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read()
                time.sleep(0.1)
        assert answer is not None and answer["nu"] == ZTO_NUMBER
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert f"http://127.0.0.1:{port}" in out and "Sandbox stopped." in out
    assert "kuaidi100 POST /poll/query.do numbers=1 -> 200 (ok)" in err


@pytest.mark.slow
def test_command_line_rejects_impossible_fault_rates(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "toolkit", "sandbox", "--port", "0", "--rate-5xx", "0.8", "--rate-429", "0.5"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "add up to 1.3" in proc.stderr


# ------------------------------------------------------------------ the demo world


def test_demo_world_serves_every_parcel():
    """Every parcel of the demo set is found (its load time is in bench/track_bulk.py)."""
    demo = pytest.importorskip("toolkit.world.demo")
    directory = Path(demo.DEMO_DIR)
    if not (directory / "events.csv").is_file():
        pytest.skip("the demo data set has not been generated (make demo)")
    loaded = World.from_directory(directory)
    parcels = pd.read_csv(directory / "parcels.csv", dtype=str)
    international = parcels["true_international_number"].dropna()
    assert all(loaded.lookup(n, "international") is not None for n in international)
    handed = parcels["true_domestic_number"].notna()
    new_number = handed & (parcels["true_domestic_number"] != parcels["true_international_number"])
    linked = new_number & parcels["domestic_number"].notna()
    for row in parcels[linked].itertuples():
        assert loaded.lookup(row.true_international_number).link_number == row.true_domestic_number
    for row in parcels[new_number & ~linked].itertuples():
        assert loaded.lookup(row.true_international_number).link_number is None
    for row in parcels[handed].itertuples():  # the domestic carrier knows its own number
        assert loaded.lookup(row.true_domestic_number, "domestic") is not None
