"""Hostile carrier answers: broken Unicode, control characters and unreadable payloads cost
only the number they belong to, never the batch."""

from __future__ import annotations

import copy
import json
from urllib.parse import parse_qs

import httpx
import pandas as pd
import pytest
from carrier_fakes import FakeServices

import toolkit
import toolkit.tracking.normalize
from toolkit.keys import Keys, Secret
from toolkit.safetext import scrub, scrub_json
from toolkit.tracking.normalize import normalize

KEYS = Keys(
    seventeentrack=Secret("test-17track-key"),
    kuaidi100_key=Secret("test-kuaidi100-key"),
    kuaidi100_customer=Secret("TESTCUSTOMER0001"),
    aftership=Secret("test-aftership-key"),
)
LONE = "\ud800"  # half of a UTF-16 pair: valid in JSON as "\ud800", not in UTF-8


class Rewriting(httpx.BaseTransport):
    """The fake services, with one number's answer changed on the wire by `mutate`.

    The body is sent as ASCII JSON, so a lone surrogate travels as the escape "\\ud800",
    as a real service would send it.
    """

    def __init__(self, fake: FakeServices, mutate):
        self.inner = fake.transport()
        self.mutate = mutate

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        body = json.loads(response.content)
        self.mutate(request, body)
        return httpx.Response(
            response.status_code,
            headers={"content-type": "application/json"},
            content=json.dumps(body).encode("ascii"),
        )


def _17track_event(body: dict, number: str) -> dict | None:
    for item in (body.get("data") or {}).get("accepted") or []:
        if item.get("number") == number and "track_info" in item:
            return item["track_info"]["tracking"]["providers"][0]["events"][0]
    return None


def _kuaidi100_event(request: httpx.Request, body: dict, number: str) -> dict | None:
    if request.url.path != "/poll/query.do":
        return None
    param = json.loads(parse_qs(request.content.decode())["param"][0])
    return body["data"][0] if param["num"] == number and body.get("data") else None


def _aftership_checkpoint(body: dict, number: str) -> dict | None:
    for t in (body.get("data") or {}).get("trackings") or []:
        if t.get("tracking_number") == number:
            return t["checkpoints"][0]
    return None


def _track(numbers, fake, mutate, **options):
    options.setdefault("cache_dir", False)
    return toolkit.track(
        numbers,
        transport=Rewriting(fake, mutate),
        keys=KEYS,
        progress=False,
        follow=False,
        **options,
    )


def _aftership_fake() -> FakeServices:
    """AfterShip holding LY339026143US and a second tracking with checkpoints."""
    fake = FakeServices()
    other = copy.deepcopy(fake.aftership.trackings["LY339026143US"])
    other["tracking_number"] = "LZ603184755US"
    fake.aftership.trackings["LZ603184755US"] = other
    return fake


# (services, numbers, the number made hostile, where its first scan sits in the answer,
# the fields holding its description and location there)
CASES = {
    "17track": (
        "17track",
        ["RR205774935DE", "LZ603184755US"],
        "RR205774935DE",
        lambda request, body, n: _17track_event(body, n),
        ("description", "location"),
    ),
    "kuaidi100": (
        "17track",
        ["75891234567890", "YT7512345678901"],
        "75891234567890",
        _kuaidi100_event,
        ("context", "areaName"),
    ),
    "aftership": (
        "aftership",
        ["LY339026143US", "LZ603184755US"],
        "LY339026143US",
        lambda request, body, n: _aftership_checkpoint(body, n),
        ("message", "location"),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_lone_surrogate_in_one_answer_costs_nothing_and_is_counted(case):
    services, numbers, bad, find, (desc_field, loc_field) = CASES[case]
    fake = _aftership_fake() if case == "aftership" else FakeServices()
    seen = {}

    def mutate(request, body):
        ev = find(request, body, bad)
        if ev is not None:
            seen["description"] = ev[desc_field]
            ev[desc_field] = ev[desc_field] + LONE + " tail"
            ev[loc_field] = LONE + ev[loc_field]

    events, errors = _track(numbers, fake, mutate, services=services)

    assert seen, "the fake did not answer for the hostile number"
    assert set(events["tracking_number"]) == set(numbers)  # every number of the call is back
    mine = events[events["tracking_number"] == bad]
    hit = mine[mine["description"].str.startswith(seen["description"])]
    assert len(hit) == 1
    assert hit["description"].iloc[0] == seen["description"] + "\ufffd tail"
    assert hit["location"].iloc[0].startswith("\ufffd")
    rows = errors[errors["tracking_number"] == bad]
    assert list(rows["error"]) == ["text_replaced"]
    message = rows["message"].iloc[0]
    assert "2 characters" in message and "U+FFFD" in message and "kept" in message
    others = errors[errors["tracking_number"] != bad]
    assert "text_replaced" not in set(others["error"])
    # what a notebook does next: write the events out and show them
    events.to_csv(index=False).encode("utf-8")
    events.to_html().encode("utf-8")


def test_control_characters_are_replaced_and_counted_again_from_the_cache(tmp_path):
    def mutate(request, body):
        ev = _17track_event(body, "RR205774935DE")
        if ev is not None:
            ev["description"] = "Zoll\x00pr\x1bfung\x07" + LONE

    fake = FakeServices()
    numbers = ["RR205774935DE", "LZ603184755US"]
    events, errors = _track(numbers, fake, mutate, cache_dir=tmp_path)
    texts = set(events["description"])
    assert "Zoll\ufffdpr\ufffdfung\ufffd\ufffd" in texts
    assert (
        errors.loc[errors["error"] == "text_replaced", "message"].str.contains("4 characters").all()
    )
    # the second run is answered from the cache (no request): the same text, the same count
    before = len(fake.seventeen.requests)
    again, again_errors = toolkit.track(
        numbers, transport=fake.transport(), keys=KEYS, cache_dir=tmp_path, progress=False,
        follow=False,
    )  # fmt: skip
    assert len(fake.seventeen.requests) == before
    assert "Zoll\ufffdpr\ufffdfung\ufffd\ufffd" in set(again["description"])
    assert set(again["tracking_number"]) == set(numbers)
    warned = again_errors[again_errors["error"] == "text_replaced"]
    assert list(warned["tracking_number"]) == ["RR205774935DE"]
    assert "4 characters" in warned["message"].iloc[0]


UNREADABLE = {
    # one scan of the number is not an object: reading its answer raises
    "17track": (
        "17track",
        ["RR205774935DE", "LZ603184755US"],
        "RR205774935DE",
        lambda request, body, n: _17track_providers(body, n),
    ),
    "kuaidi100": (
        "17track",
        ["75891234567890", "YT7512345678901"],
        "75891234567890",
        lambda request, body, n: _kuaidi100_body(request, body, n),
    ),
    "aftership": (
        "aftership",
        ["LY339026143US", "LZ603184755US"],
        "LY339026143US",
        lambda request, body, n: _aftership_tracking(body, n),
    ),
}


def _17track_providers(body, number):
    for item in (body.get("data") or {}).get("accepted") or []:
        if item.get("number") == number and "track_info" in item:
            item["track_info"]["tracking"]["providers"][0]["events"].insert(0, "garbage")


def _kuaidi100_body(request, body, number):
    if _kuaidi100_event(request, body, number) is not None:
        body["data"].insert(0, 42)


def _aftership_tracking(body, number):
    for t in (body.get("data") or {}).get("trackings") or []:
        if t.get("tracking_number") == number:
            t["checkpoints"].insert(0, ["not", "a", "checkpoint"])


@pytest.mark.parametrize("case", list(UNREADABLE))
def test_an_answer_that_cannot_be_read_is_that_numbers_error_alone(case):
    services, numbers, bad, mutate = UNREADABLE[case]
    fake = _aftership_fake() if case == "aftership" else FakeServices()
    events, errors = _track(numbers, fake, lambda r, b: mutate(r, b, bad), services=services)
    good = [n for n in numbers if n != bad]
    assert set(events["tracking_number"]) == set(good)
    rows = errors[errors["tracking_number"] == bad]
    assert list(rows["error"]) == ["malformed_response"]
    message = rows["message"].iloc[0]
    assert "cannot read" in message and "other numbers were tracked" in message
    assert set(errors["tracking_number"]) <= {bad}


def test_scans_that_break_normalising_cost_only_their_number(monkeypatch):
    real = toolkit.tracking.normalize.normalize

    def fragile(frame, **kwargs):
        if (frame["tracking_number"] == "RR205774935DE").any():
            raise OverflowError("a value no column can hold")
        return real(frame, **kwargs)

    monkeypatch.setattr(toolkit.tracking.normalize, "normalize", fragile)
    numbers = ["RR205774935DE", "LZ603184755US", "CP041277368GB"]
    events, errors = _track(numbers, FakeServices(), lambda r, b: None)
    assert set(events["tracking_number"]) == {"LZ603184755US"}
    rows = errors[errors["tracking_number"] == "RR205774935DE"]
    assert list(rows["error"]) == ["malformed_response"]
    assert (
        "17TRACK sent scans for this number that the toolkit cannot read"
        in (rows["message"].iloc[0])
    )
    assert "not_found" in set(errors.loc[errors["tracking_number"] == "CP041277368GB", "error"])


def test_a_17track_batch_with_an_unreadable_item_keeps_the_other_numbers():
    def mutate(request, body):
        if request.url.path.endswith("/gettrackinfo"):
            body["data"]["accepted"].insert(0, "not an object")

    numbers = ["RR205774935DE", "LZ603184755US"]
    events, errors = _track(numbers, FakeServices(), mutate)
    assert set(events["tracking_number"]) == set(numbers)
    assert errors.empty


def test_normalize_replaces_and_counts_what_no_text_can_hold():
    rows = [
        {
            "tracking_number": "RR205774935DE",
            "time_utc": "2026-03-01T10:00:00Z",
            "description": "Bad " + LONE + " text\x00",
            "location": "Hamburg\x1f",
        },
        {
            "tracking_number": "RR205774935DE",
            "time_utc": "2026-03-02T10:00:00Z",
            "description": "Fine",
        },
    ]
    out = normalize(rows)
    assert list(out["description"]) == ["Bad \ufffd text\ufffd", "Fine"]
    assert out["location"].iloc[0] == "Hamburg\ufffd"
    assert out.attrs["text_replaced"] == 3
    clean = normalize(pd.DataFrame(rows[1:]))
    assert clean.attrs["text_replaced"] == 0


def test_scrub_keeps_ordinary_text_and_whitespace():
    assert scrub("上海\t中心\r\n已到达 ✓") == ("上海\t中心\r\n已到达 ✓", 0)
    value = {"a": ["x", 1, None, {"b": "y"}]}
    assert scrub_json(value) == (value, 0) and scrub_json(value)[0] is value
    assert scrub_json({"k" + LONE: [LONE, "\x85"]}) == ({"k\ufffd": ["\ufffd", "\ufffd"]}, 3)
