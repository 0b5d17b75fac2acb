"""toolkit.track: routing, last-mile following, parcels input, errors table, sandbox label."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qs

import pandas as pd
import pytest
from carrier_fakes import FakeServices

import toolkit
import toolkit.tracking.numbers
from toolkit.errors import InputError, MissingColumnsError
from toolkit.keys import Keys, Secret
from toolkit.model import CARRIERS, DOMESTIC_CARRIERS, EVENT_COLUMNS, validate_events

KEYS = Keys(
    seventeentrack=Secret("test-17track-key"),
    kuaidi100_key=Secret("test-kuaidi100-key"),
    kuaidi100_customer=Secret("TESTCUSTOMER0001"),
    aftership=Secret("test-aftership-key"),
)


def run(numbers, fake=None, **options):
    fake = fake or FakeServices()
    options.setdefault("keys", KEYS)
    options.setdefault("cache_dir", False)
    options.setdefault("progress", False)
    events, errors = toolkit.track(numbers, transport=fake.transport(), **options)
    return events, errors, fake


def kuaidi100_numbers(fake) -> list[str]:
    out = []
    for r in fake.kuaidi100.requests:
        form = parse_qs(r.content.decode())
        out.append(json.loads(form["param"][0])["num"])
    return out


def test_last_mile_number_is_followed_to_kuaidi100_under_the_same_parcel():
    events, errors, fake = run("LZ603184755US", phones={"LZ603184755US": "138 0013 5678"})
    validate_events(events)
    assert errors.empty
    sf = events[events["tracking_number"] == "SF1402233445566"]
    assert len(sf) == 5
    assert set(sf["parcel_id"]) == {"LZ603184755US"}
    assert set(sf["leg"]) == {"domestic"} and set(sf["carrier"]) == {"sf"}
    assert set(sf["source"]) == {"kuaidi100"}
    assert sf["milestone"].iloc[-1] == "delivered"
    # the link came twice (misc_info and the handover text) but was asked for once
    assert kuaidi100_numbers(fake) == ["SF1402233445566"]
    assert list(events.columns[: len(EVENT_COLUMNS)]) == list(EVENT_COLUMNS)
    assert events["time_utc"].is_monotonic_increasing


def test_aftership_last_mile_is_followed_too():
    events, errors, fake = run(["LY339026143US"], services="aftership")
    assert errors.empty
    customs = events[events["raw_status"] == "InTransit_006"].iloc[0]
    assert customs["time_utc"] == pd.Timestamp("2026-03-06 03:05", tz="UTC")  # Shanghai time
    assert bool(customs["tz_assumed"]) is True
    assert not events.loc[events["raw_status"] == "InTransit_005", "tz_assumed"].any()
    zto = events[events["tracking_number"] == "75891234567890"]
    assert len(zto) == 4 and set(zto["parcel_id"]) == {"LY339026143US"}
    assert fake.seventeen.requests == []
    assert kuaidi100_numbers(fake) == ["75891234567890"]


def test_follow_false_stops_at_the_international_leg():
    events, _errors, fake = run("LZ603184755US", follow=False)
    assert fake.kuaidi100.requests == []
    assert set(events["tracking_number"]) == {"LZ603184755US"}


def test_domestic_numbers_go_straight_to_kuaidi100():
    events, _errors, fake = run(["75891234567890", "YT7512345678901"])
    assert fake.seventeen.requests == []
    assert sorted(kuaidi100_numbers(fake)) == ["75891234567890", "YT7512345678901"]
    assert set(events["leg"]) == {"domestic"}
    assert set(events["carrier"]) == {"zto", "yto"}


def test_parcels_table_gives_parcel_ids_domestic_numbers_and_phones():
    parcels = pd.DataFrame(
        {
            "parcel_id": ["ORD-1", "ORD-2", "ORD-3"],
            "international_number": ["RR205774935DE", "LZ603184755US", None],
            "domestic_number": ["1100087654321", None, None],
            "domestic_carrier": ["ems", None, None],
            "recipient_phone": [None, "13800135678", None],
        }
    )
    events, errors, fake = run(parcels)
    assert set(events["parcel_id"]) == {"ORD-1", "ORD-2"}
    ord1 = events[events["parcel_id"] == "ORD-1"]
    assert set(ord1["tracking_number"]) == {"RR205774935DE", "1100087654321"}
    ord2 = events[events["parcel_id"] == "ORD-2"]
    assert "SF1402233445566" in set(ord2["tracking_number"])  # phone came from the table
    form = parse_qs(fake.kuaidi100.requests[-1].content.decode())
    assert "13800135678" not in fake.kuaidi100.requests[-1].content.decode()
    assert json.loads(form["param"][0])["phone"] == "5678"
    assert errors.to_dict("records") == [
        {
            "tracking_number": "",
            "parcel_id": "ORD-3",
            "service": "toolkit",
            "error": "invalid_number",
            "message": errors["message"].iloc[0],
        }
    ]


def test_a_parcels_table_without_number_columns_is_refused():
    with pytest.raises(MissingColumnsError, match="international_number"):
        toolkit.track(pd.DataFrame({"parcel_id": ["A"]}), keys=KEYS)


def test_sf_link_without_a_phone_becomes_a_needs_phone_error():
    events, errors, fake = run("LZ603184755US")
    assert fake.kuaidi100.requests == []
    row = errors.set_index("tracking_number").loc["SF1402233445566"]
    assert row["error"] == "needs_phone"
    assert row["parcel_id"] == "LZ603184755US"
    assert len(events[events["tracking_number"] == "LZ603184755US"]) == 7


def test_every_number_of_a_mixed_batch_has_events_or_one_error():
    numbers = ["LZ603184755US", "RR205774935DE", "XX00000000", "CP041277368GB", "LY339026143US"]
    events, errors, _ = run(numbers, follow=False)
    tracked = set(events["tracking_number"])
    failed = list(errors["tracking_number"])
    assert tracked | set(failed) == set(numbers)
    assert not tracked & set(failed)
    assert len(failed) == len(set(failed))
    assert list(errors.columns) == ["tracking_number", "parcel_id", "service", "error", "message"]
    assert all(str(t) == "string" for t in errors.dtypes)
    assert dict(zip(errors["tracking_number"], errors["error"], strict=True)) == {
        "XX00000000": "carrier_unknown",
        "CP041277368GB": "not_found",
        "LY339026143US": "not_found",
    }


def test_a_failed_check_digit_is_still_sent_and_the_error_suggests_the_fix():
    fake = FakeServices(not_found=("LZ603184756US",))
    _events, errors, fake = run("LZ603184756US", fake)
    asked = [e["number"] for e in json.loads(fake.seventeen.requests[0].content)]
    assert asked == ["LZ603184756US"]
    message = errors["message"].iloc[0]
    assert errors["error"].iloc[0] == "not_found"
    assert "LZ603184755US" in message  # the corrected check digit


def test_numbers_are_cleaned_before_they_are_sent():
    events, _errors, _fake = run(" lz 6031 8475 5us ", follow=False)
    assert set(events["tracking_number"]) == {"LZ603184755US"}


def test_without_keys_the_answers_are_labelled_sandbox():
    events, errors, _ = run(["LZ603184755US", "XX00000000"], keys=Keys(), follow=False)
    assert events.attrs["sandbox"] is True and errors.attrs["sandbox"] is True
    assert set(events["source"]) == {"17track·sandbox"}
    assert set(errors["service"]) == {"17track·sandbox"}


def test_with_keys_the_answers_are_not_labelled_sandbox():
    events, _errors, _ = run(["LZ603184755US"], follow=False)
    assert events.attrs["sandbox"] is False
    assert events.attrs["sources"] == ["17track"]


def test_second_call_is_served_from_the_cache(tmp_path):
    fake = FakeServices()
    first, _, _ = run(["LZ603184755US", "RR205774935DE"], fake, cache_dir=tmp_path, follow=False)
    sent = len(fake.seventeen.requests)
    again, _, _ = run(["LZ603184755US", "RR205774935DE"], fake, cache_dir=tmp_path, follow=False)
    assert len(fake.seventeen.requests) == sent
    assert again.attrs["requests"] == 0 and again.attrs["from_cache"] == 2
    pd.testing.assert_frame_equal(first, again)
    run(["LZ603184755US"], fake, cache_dir=tmp_path, refresh=True, follow=False)
    assert len(fake.seventeen.requests) == sent + 2


def test_nothing_to_track_gives_empty_tables_in_the_contract():
    events, errors, _ = run([])
    validate_events(events)
    assert events.empty and errors.empty
    assert {"linked_number", "linked_carrier"} <= set(events.columns)


@pytest.mark.parametrize(
    ("numbers", "options", "words"),
    [
        (12345, {}, "got int"),
        (["LZ603184755US", 7], {}, "item 2"),
        ("LZ603184755US", {"services": "fedex"}, "unknown service"),
        ("LZ603184755US", {"concurrency": 0}, "concurrency"),
    ],
)
def test_bad_arguments_are_explained(numbers, options, words):
    with pytest.raises(InputError, match=words):
        run(numbers, **options)


def test_works_from_inside_a_running_event_loop():
    async def widget_callback():
        return run("LZ603184755US", follow=False)

    events, _errors, _ = asyncio.run(widget_callback())
    assert len(events) == 7


def test_without_keys_or_transport_the_built_in_sandbox_answers():
    events, errors = toolkit.track(["LZ603184755US"], keys=Keys(), cache_dir=False, progress=False)
    assert events.attrs["sandbox"] is True
    assert set(errors["service"]) | set(events["source"]) <= {
        "17track·sandbox",
        "kuaidi100·sandbox",
    }
    assert set(errors["tracking_number"]) | set(events["tracking_number"]) >= {"LZ603184755US"}


# ------------------------------------------------------------------ the named carrier decides


def test_a_named_international_carrier_overrides_a_domestic_looking_format():
    number = "75891234567890"
    looks = toolkit.tracking.numbers.parse(number)
    assert looks.candidates[0] in DOMESTIC_CARRIERS and "fedex" not in looks.candidates
    parcels = pd.DataFrame(
        {
            "parcel_id": ["ORD-9"],
            "international_number": [number],
            "international_carrier": ["FedEx"],
        }
    )
    events, errors, fake = run(parcels, follow=False)
    assert fake.kuaidi100.requests == []  # not re-routed to the domestic service
    sent = [e for r in fake.seventeen.requests for e in json.loads(r.content)]
    assert sent and all(e == {"number": number, "carrier": 100003} for e in sent)
    assert set(events["tracking_number"]) == {number}
    assert set(events["leg"]) == {"international"}
    (row,) = errors.to_dict("records")
    assert row["error"] == "carrier_mismatch" and row["parcel_id"] == "ORD-9"
    message = row["message"]
    assert number in message and "FedEx" in message and "international_carrier" in message
    assert CARRIERS[looks.candidates[0]].name in message  # what the format suggests


def test_a_named_domestic_carrier_goes_to_kuaidi100_even_on_the_international_column():
    parcels = pd.DataFrame(
        {"parcel_id": ["ORD-8"], "international_number": ["YT7512345678901"],
         "international_carrier": ["yto"]}
    )  # fmt: skip
    events, errors, fake = run(parcels)
    assert fake.seventeen.requests == []
    assert kuaidi100_numbers(fake) == ["YT7512345678901"]
    assert errors.empty and set(events["carrier"]) == {"yto"}


def test_a_named_carrier_that_agrees_carries_no_warning():
    parcels = pd.DataFrame(
        {
            "parcel_id": ["ORD-1", "ORD-2"],
            "international_number": ["RR205774935DE", "LZ603184755US"],
            "international_carrier": ["deutschepost", "USPS"],
            "domestic_number": ["1100087654321", None],
            "domestic_carrier": ["ems", None],
            "recipient_phone": [None, "13800135678"],
        }
    )
    _events, errors, _fake = run(parcels)
    assert "carrier_mismatch" not in set(errors["error"])


def test_the_caller_can_name_the_carrier_of_numbers_given_as_text():
    number = "75891234567890"  # a ZTO-looking number the caller knows is FedEx
    events, errors, fake = run([number], carrier="FedEx", follow=False)
    assert fake.kuaidi100.requests == []
    sent = [e for r in fake.seventeen.requests for e in json.loads(r.content)]
    assert sent and all(e == {"number": number, "carrier": 100003} for e in sent)
    assert set(events["tracking_number"]) == {number}
    assert list(errors["error"]) == ["carrier_mismatch"]


@pytest.mark.parametrize(
    ("numbers", "carrier", "words"),
    [
        (["LZ603184755US"], "Acme Parcels", "unknown carrier 'Acme Parcels'"),
        (pd.DataFrame({"international_number": ["LZ603184755US"]}), "usps", "parcels table"),
    ],
)
def test_a_carrier_the_toolkit_cannot_use_is_refused_with_what_to_do(numbers, carrier, words):
    with pytest.raises(InputError, match=words):
        run(numbers, carrier=carrier)
