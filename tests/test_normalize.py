"""Times parsing, normalisation into the events table, and handover links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.errors import (
    InputError,
    MissingColumnsError,
    SchemaError,
    TimeParseError,
    ValueNotAllowedError,
)
from toolkit.model import EVENT_COLUMNS, EVENT_DTYPES
from toolkit.times import format_local, parse_times
from toolkit.tracking.normalize import (
    carrier_code,
    classify,
    extract_handover,
    handover_links,
    normalize,
)

INTL = "LX123456785US"  # a valid UPU S10 number from the US
ZTO = "75891234567890"


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def parse_one(text: str, tz: str = "Asia/Shanghai") -> tuple[pd.Timestamp, bool, bool]:
    times, assumed, bad = parse_times(pd.Series([text]), tz)
    return times.iloc[0], bool(assumed.iloc[0]), bool(bad.iloc[0])


def event(**fields) -> dict:
    row = {"tracking_number": INTL, "description": "Accepted", "time_local": "2026-03-01 10:00"}
    row.update(fields)
    return row


# --- times -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "utc", "assumed"),
    [
        ("2026-03-01T14:05:00+08:00", "2026-03-01 06:05", False),
        ("2026-03-01T06:05:00Z", "2026-03-01 06:05", False),
        ("2026-03-01 14:05:00+0800", "2026-03-01 06:05", False),
        ("2026-03-01T01:05:00-05:00", "2026-03-01 06:05", False),
        ("2026-03-01T14:05:00.250+08:00", "2026-03-01 06:05:00.250", False),
        ("2026-03-01 14:05:00 GMT+8", "2026-03-01 06:05", False),
        ("Sun, 01 Mar 2026 06:05:00 +0000", "2026-03-01 06:05", False),
        ("Mar 1, 2026 1:05 am EST", "2026-03-01 06:05", False),
        ("2026-03-01 14:05:00", "2026-03-01 06:05", True),
        ("2026-03-01 14:05", "2026-03-01 06:05", True),
        ("2026/03/01 14:05:05", "2026-03-01 06:05:05", True),
        ("2026-3-1 9:05", "2026-03-01 01:05", True),
        ("2026年03月01日 14:05", "2026-03-01 06:05", True),
        ("2026年3月1日 下午2:05", "2026-03-01 06:05", True),
        ("2026年3月1日14时05分30秒", "2026-03-01 06:05:30", True),
        ("Mar 1, 2026 2:05 pm", "2026-03-01 06:05", True),
        ("March 1, 2026 2:05 PM", "2026-03-01 06:05", True),
        ("01 Mar 2026 14:05", "2026-03-01 06:05", True),
        ("01-Mar-2026 14:05", "2026-03-01 06:05", True),
        ("20260301140500", "2026-03-01 06:05", True),
        ("1772345100", "2026-03-01 06:05", False),
        ("1772345100000", "2026-03-01 06:05", False),
    ],
)
def test_each_accepted_form_gives_the_instant(text, utc, assumed):
    got, got_assumed, bad = parse_one(text)
    assert not bad
    assert got == ts(utc)
    assert got_assumed is assumed


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "garbage",
        "2026-02-30 10:00",  # no such day
        "2026-03-01 25:00",
        "Mar 1 2026 13:05 pm",  # 13 o'clock pm
        "Marc 1, 2026 2:05",  # not a month
        "2026-03-01 14:05 CST",  # China or US Central: cannot tell
        "01/03/2026 14:05",  # day-first or month-first: cannot tell
        "9999-01-01 00:00",  # beyond what the table can hold
    ],
)
def test_unreadable_or_blank_times_are_flagged_not_guessed(text):
    got, assumed, bad = parse_one(text)
    assert bad and pd.isna(got) and not assumed


def test_results_keep_the_callers_index_and_dtype():
    values = pd.Series(["2026-03-01 14:05", "bad", None], index=[10, 20, 10])
    times, assumed, bad = parse_times(values, "UTC")
    assert str(times.dtype) == "datetime64[ns, UTC]"
    assert list(times.index) == [10, 20, 10]
    assert bad.tolist() == [False, True, True]
    assert assumed.tolist() == [True, False, False]


def test_per_row_zones_and_mixed_forms_in_one_column():
    values = pd.Series(
        ["2026-03-01 09:00", "Mar 1, 2026 9:00 am", "2026年3月1日 09:00", "2026-03-01T09:00+09:00"]
    )
    zones = pd.Series(["America/New_York", "Europe/London", "Asia/Shanghai", "Asia/Shanghai"])
    times, assumed, bad = parse_times(values, zones)
    assert times.tolist() == [
        ts("2026-03-01 14:00"),
        ts("2026-03-01 09:00"),
        ts("2026-03-01 01:00"),
        ts("2026-03-01 00:00"),
    ]
    assert assumed.tolist() == [True, True, True, False]
    assert not bad.any()


@pytest.mark.parametrize(
    ("local", "zone", "utc"),
    [
        ("2026-03-08 02:30", "America/New_York", "2026-03-08 07:00"),  # skipped: moves forward
        ("2026-11-01 01:30", "America/New_York", "2026-11-01 05:30"),  # twice: earlier instant
        ("2026-03-29 01:30", "Europe/London", "2026-03-29 01:00"),  # skipped
        ("2026-10-25 01:30", "Europe/London", "2026-10-25 00:30"),  # twice
    ],
)
def test_clock_change_edges_do_not_raise(local, zone, utc):
    got, assumed, bad = parse_one(local, zone)
    assert (got, assumed, bad) == (ts(utc), True, False)


def test_datetime_columns_are_taken_as_they_are():
    aware = pd.Series(pd.to_datetime(["2026-03-01 14:05"]).tz_localize("Asia/Shanghai"))
    naive = pd.Series(pd.to_datetime(["2026-03-01 14:05"]))
    t1, a1, _ = parse_times(aware, "UTC")
    t2, a2, _ = parse_times(naive, "Asia/Shanghai")
    assert t1.iloc[0] == t2.iloc[0] == ts("2026-03-01 06:05")
    assert (bool(a1.iloc[0]), bool(a2.iloc[0])) == (False, True)


def test_unknown_zone_name_is_an_input_error():
    with pytest.raises(InputError, match="Mars/Olympus"):
        parse_times(pd.Series(["2026-03-01 10:00"]), "Mars/Olympus")


def test_format_local_renders_with_the_zone_offset():
    times = pd.Series([ts("2026-03-01 06:05"), pd.NaT], dtype="datetime64[ns, UTC]")
    text = format_local(times, pd.Series(["Asia/Shanghai", "UTC"]))
    assert text.iloc[0] == "2026-03-01 14:05:00+08:00"
    assert pd.isna(text.iloc[1])
    assert format_local(times[:1], "America/New_York").iloc[0] == "2026-03-01 01:05:00-05:00"


@settings(max_examples=150, deadline=None)
@given(
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2200, 1, 1)),
    st.sampled_from(
        [
            "%Y-%m-%d %H:%M:%S",
            "%Y/%m/%d %H:%M:%S",
            "%Y年%m月%d日 %H:%M:%S",
            "%d %b %Y %H:%M:%S",
            "%b %d, %Y %I:%M:%S %p",
            "%Y-%m-%dT%H:%M:%S+0530",
        ]
    ),
)
def test_written_times_read_back_to_the_same_instant(moment, fmt):
    moment = moment.replace(microsecond=0)
    got, assumed, bad = parse_one(moment.strftime(fmt), "UTC")
    expected = moment - timedelta(hours=5, minutes=30) if "+0530" in fmt else moment
    assert not bad
    assert got == pd.Timestamp(expected.replace(tzinfo=UTC))
    assert assumed is ("+0530" not in fmt)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=8))
def test_any_text_is_parsed_or_flagged_never_raises(texts):
    times, assumed, bad = parse_times(pd.Series(texts, dtype=object), "Asia/Shanghai")
    assert (times.isna() == bad).all()
    assert not (assumed & bad).any()


# --- normalize: fill-ins ------------------------------------------------------------------


def test_missing_fields_are_filled_in():
    ev = normalize(
        [
            {
                "tracking_number": ZTO,
                "description": "已签收，签收人：本人",
                "time_local": "2026-03-05 10:00",
            },
            {
                "tracking_number": "SF1234567890123",
                "description": "x",
                "time_local": "2026-03-05 11:00",
            },
            {"tracking_number": "QQ123", "description": "y", "time_local": "2026-03-05 12:00"},
        ],
        source="upload.csv",
    )
    by_number = ev.set_index("tracking_number")
    assert by_number.loc[ZTO, "parcel_id"] == ZTO
    assert by_number["carrier"].to_dict() == {
        ZTO: "zto",
        "SF1234567890123": "sf",
        "QQ123": "unknown",
    }
    assert by_number.loc[ZTO, "milestone"] == "delivered"
    assert by_number.loc[ZTO, "time_utc"] == ts("2026-03-05 02:00")  # read in Shanghai time
    assert by_number.loc["QQ123", "time_utc"] == ts("2026-03-05 12:00")  # unknown carrier: UTC
    assert ev["tz_assumed"].all()
    assert (ev["location"] == "").all() and (ev["raw_status"] == "").all()
    assert (ev["source"] == "upload.csv").all()
    assert normalize([event()])["source"].iloc[0] == "unknown"


def test_output_has_contract_columns_then_extras_with_contract_dtypes():
    raw = pd.DataFrame(
        [event(order_ref="A-1", _line=7), event(order_ref="A-2", _line=9, description="Departed")]
    )
    ev = normalize(raw)
    assert tuple(ev.columns[: len(EVENT_COLUMNS)]) == EVENT_COLUMNS
    assert list(ev.columns[len(EVENT_COLUMNS) :]) == [
        "order_ref",
        "linked_number",
        "linked_carrier",
    ]
    assert {c: str(ev[c].dtype) for c in EVENT_COLUMNS} == EVENT_DTYPES
    assert ev["order_ref"].tolist() == ["A-1", "A-2"]


def test_given_values_are_kept_and_blank_ones_filled():
    ev = normalize(
        [
            event(milestone="Customs_Hold", location="Shanghai", raw_status="10", source="17track"),
            event(milestone=" ", time_local="2026-03-01 11:00", description="Delivered"),
        ],
        source="file",
    )
    assert ev["milestone"].tolist() == ["customs_hold", "delivered"]
    assert ev["location"].tolist() == ["Shanghai", ""]
    assert ev["source"].tolist() == ["17track", "file"]


def test_local_time_text_is_kept_or_rendered_from_utc():
    ev = normalize(
        [
            {"tracking_number": ZTO, "description": "a", "time_local": "2026年3月1日 14:05"},
            {"tracking_number": ZTO, "description": "b", "time_utc": "2026-03-01T07:00:00Z"},
        ]
    )
    assert ev["time_local"].tolist() == ["2026年3月1日 14:05", "2026-03-01 15:00:00+08:00"]
    assert ev["tz_assumed"].tolist() == [True, False]


def test_time_utc_wins_over_local_and_provided_flags_are_kept():
    ev = normalize(
        [
            {
                "tracking_number": ZTO,
                "description": "a",
                "time_utc": "2026-03-01 06:00:00+00:00",
                "time_local": "2026-03-01 14:00",
                "tz_assumed": "True",
            },
            {
                "tracking_number": ZTO,
                "description": "b",
                "time_utc": "",
                "time_local": "2026-03-01 15:00",
            },
        ]
    )
    assert ev["time_utc"].tolist() == [ts("2026-03-01 06:00"), ts("2026-03-01 07:00")]
    assert ev["tz_assumed"].tolist() == [True, True]
    assert ev["time_local"].tolist() == ["2026-03-01 14:00", "2026-03-01 15:00"]


def test_tz_argument_overrides_the_carriers_zone():
    ev = normalize([event(carrier="zto", time_local="2026-03-01 10:00")], tz="Europe/Berlin")
    assert ev["time_utc"].iloc[0] == ts("2026-03-01 09:00")


@pytest.mark.parametrize(
    ("carrier", "zone_offset_hours"),
    [("zto", 8), ("sf", 8), ("ems", 8), ("usps", -5), ("royalmail", 0), ("japanpost", 9)],
)
def test_local_times_are_read_in_the_carriers_zone(carrier, zone_offset_hours):
    ev = normalize([event(carrier=carrier, time_local="2026-01-15 12:00")])
    assert ev["time_utc"].iloc[0] == ts("2026-01-15 12:00") - pd.Timedelta(hours=zone_offset_hours)
    assert bool(ev["tz_assumed"].iloc[0])


def test_carrier_names_become_codes():
    ev = normalize(
        [
            event(carrier=name, description=f"scan {i}")
            for i, name in enumerate(["SF Express", "中通快递", " ZTO ", "Acme"])
        ]
    )
    assert sorted(ev["carrier"]) == ["acme", "sf", "zto", "zto"]
    assert carrier_code("顺丰") == "sf" and carrier_code("China Post") == "chinapost"
    assert carrier_code("nobody") is None


# --- normalize: legs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "carrier", "given", "leg"),
    [
        (ZTO, "zto", None, "domestic"),
        ("SF1234567890123", "sf", None, "domestic"),
        (INTL, "usps", None, "international"),
        (INTL, "ems", None, "international"),  # a foreign S10 number carried on by EMS
        ("EE123456785CN", "ems", None, "domestic"),  # China Post's own S10 number
        ("EE123456785CN", "ems", "international", "international"),  # the input says so
        (ZTO, "zto", "International", "international"),
        ("YT1234567890123456", "yunexpress", None, "international"),
    ],
)
def test_leg_assignment(number, carrier, given, leg):
    row = event(tracking_number=number, carrier=carrier)
    if given:
        row["leg"] = given
    assert normalize([row])["leg"].iloc[0] == leg


# --- normalize: duplicates and order -------------------------------------------------------


def test_duplicate_scans_keep_the_fuller_row():
    ev = normalize(
        [
            event(description="Arrived  at hub", source="17track"),
            event(description="Arrived at hub ", location="Shanghai", source="kuaidi100"),
            event(description="Arrived at hub", time_local="2026-03-01 10:01"),  # another scan
        ]
    )
    assert len(ev) == 2
    first = ev.iloc[0]
    assert (first["location"], first["source"], first["description"]) == (
        "Shanghai",
        "kuaidi100",
        "Arrived at hub ",
    )


def test_duplicates_with_equal_fill_keep_the_first_given():
    ev = normalize([event(source="a"), event(source="b")])
    assert ev["source"].tolist() == ["a"]


def test_same_scan_under_two_numbers_is_not_a_duplicate():
    ev = normalize([event(), event(tracking_number=ZTO, parcel_id=INTL)])
    assert len(ev) == 2


def test_rows_are_sorted_stably_by_parcel_and_time():
    rows = [
        event(parcel_id="B", description="b2", time_local="2026-03-02 10:00"),
        event(parcel_id="A", description="a2", time_local="2026-03-02 10:00"),
        event(parcel_id="B", description="b1", time_local="2026-03-01 10:00"),
        event(parcel_id="A", description="a-same-1", time_local="2026-03-01 10:00"),
        event(parcel_id="A", description="a-same-2", time_local="2026-03-01 10:00"),
    ]
    ev = normalize(pd.DataFrame(rows, index=[5, 3, 9, 1, 1]))
    assert ev["description"].tolist() == ["a-same-1", "a-same-2", "a2", "b1", "b2"]
    assert list(ev.index) == list(range(5))


def test_normalising_twice_changes_nothing():
    once = normalize(
        [
            event(description="已转交国内段快递，承运商：中通快递，运单号：75891234567890"),
            event(
                tracking_number=ZTO,
                parcel_id=INTL,
                description="快件已揽收",
                time_local="2026-03-02",
            ),
        ],
        source="s",
    )
    pd.testing.assert_frame_equal(normalize(once), once)


# --- handovers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("已转交国内段快递，承运商：中通快递，运单号：75891234567890", ("zto", "75891234567890")),
        ("交国内快递 顺丰速运 SF1234567890123", ("sf", "SF1234567890123")),
        ("转国内 EMS 新单号：1100012345678", ("ems", "1100012345678")),
        (
            "Handed over to the local carrier YTO Express, tracking number YT1234567890123",
            ("yto", "YT1234567890123"),
        ),
        ("Transferred to local carrier (SF Express) SF1402233445566", ("sf", "SF1402233445566")),
        ("last mile tracking number: 75891234567890 (ZTO)", ("zto", "75891234567890")),
        (
            "已交国内快递，单号：75891234567890",
            ("zto", "75891234567890"),
        ),  # carrier from the number
        (
            "Tendered to JD Logistics for final delivery, agent tracking number JD0012345678901",
            ("jd", "JD0012345678901"),
        ),
        (
            "Forwarded to China Post for delivery, domestic number 9812345678901",
            ("chinapost", "9812345678901"),
        ),
        (
            "handed over to local courier, new tracking number sf1402233445566",
            ("sf", "SF1402233445566"),
        ),
        # an STO trace (real-scan corpus): "signed for by: transferred to EMS<number>"
        ("已签收,签收人是: 转EMS1133969112997", ("ems", "1133969112997")),
        ("快件已转邮政，单号9812345678901", ("chinapost", "9812345678901")),
        # the carrier after 转 by its short Chinese name (J&T as 极兔, Best as 百世)
        ("【义乌】包裹已转极兔，单号JT3002232682242", ("jt", "JT3002232682242")),
        ("快件已转百世 单号 50004090806944", ("best", "50004090806944")),
    ],
)
def test_handover_texts_give_carrier_and_new_number(text, expected):
    assert extract_handover(text, INTL) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Arrived at facility 75891234567890",  # a number but no handover
        "【广州】快件转运中，单号75891234567890",  # 转运 is transit, not a handover
        "Handed over to airline",  # a handover but no number
        f"Item {INTL} handed over to local carrier",  # only the parcel's own number
        "",
    ],
)
def test_texts_without_a_new_number_give_nothing(text):
    assert extract_handover(text, INTL) is None


def test_own_number_is_skipped_for_the_new_one():
    text = f"Parcel {INTL} handed over to SF Express, new number SF1402233445566"
    assert extract_handover(text, INTL) == ("sf", "SF1402233445566")


@pytest.mark.parametrize("names_with_digits", [False, True])
def test_a_table_of_handovers_links_each_row_as_that_row_alone(monkeypatch, names_with_digits):
    """Tables repeat wordings with other numbers: each wording is searched once, and every
    row still gets what its own text and own number give (also when a carrier name with a
    digit forbids writing digit runs as one 0)."""
    from toolkit.tracking import normalize as nz

    monkeypatch.setattr(nz, "_ALIAS_DIGITS", names_with_digits)
    texts = [
        "已转交国内段快递，承运商：圆通速递，运单号：YT4655964096724",
        "已转交国内段快递，承运商：圆通速递，运单号：YT4655964096999",
        "已转交国内段快递，承运商：顺丰速运，运单号：SF0852518995156",
        "Forwarded to China Post for delivery, domestic number 9913955314679",
        "Forwarded to China Post for delivery, domestic number 9913955314680",
        "Handed over to SF Express, new number SF1402233445566, courier 13812345678",
        "Handed over to SF Express, new number SF1402233445567, courier 13812345678",
        "转交 EMS 与 顺丰，单号 SF1402233445566",
        "已转交国内段快递，运单号：773039762404825",
        "Item passed to the destination country's delivery company",
        "Arrived at facility 75891234567890",
        None,
    ]
    own = [INTL] * len(texts)
    own[1] = "YT4655964096999"  # its own number is no new one
    own[6] = "sf 1402233445567"  # written loosely, still its own
    descriptions = pd.Series(texts * 3, dtype="string")
    owns = pd.Series(own * 3, dtype="string")
    number, carrier = nz._links(descriptions, owns)
    for i, (text, mine) in enumerate(zip(descriptions, owns, strict=True)):
        alone = extract_handover(text if isinstance(text, str) else None, mine)
        got = (
            None if pd.isna(number[i]) else (None if pd.isna(carrier[i]) else carrier[i], number[i])
        )
        assert got == alone, (i, text)
    assert number.notna().sum() == 3 * 7 and carrier.notna().sum() == 3 * 7
    assert carrier[3] == "chinapost" and carrier[0] == "yto" and pd.isna(number[1])


def test_normalize_adds_linked_columns_and_handover_links_lists_them():
    ev = normalize(
        [
            event(description="Arrived at destination", time_local="2026-03-02 08:00"),
            event(
                description="已转交国内段快递，承运商：中通快递，运单号：75891234567890",
                time_local="2026-03-03 09:00",
            ),
            event(
                description="已转交国内段快递，承运商：中通快递，运单号：75891234567890 (重复推送)",
                time_local="2026-03-03 12:00",
            ),
            event(
                tracking_number=ZTO,
                parcel_id=INTL,
                description="快件已揽收",
                time_local="2026-03-05",
            ),
        ]
    )
    assert str(ev["linked_number"].dtype) == "string"
    assert ev["linked_number"].isna().tolist() == [True, False, False, True]
    assert ev["linked_carrier"].dropna().unique().tolist() == ["zto"]

    links = handover_links(ev)
    assert len(links) == 1
    link = links.iloc[0]
    assert (link["parcel_id"], link["domestic_number"], link["domestic_carrier"]) == (
        INTL,
        ZTO,
        "zto",
    )
    assert link["time_utc"] == ts("2026-03-03 14:00")  # the earliest scan naming it (New York)
    assert link["description"].startswith("已转交国内段快递")
    assert str(links["time_utc"].dtype) == "datetime64[ns, UTC]"


def test_handover_links_works_on_tables_without_linked_columns():
    ev = normalize([event(description="转国内 EMS 新单号：1100012345678")])
    links = handover_links(ev.drop(columns=["linked_number", "linked_carrier"]))
    assert links[["domestic_number", "domestic_carrier"]].iloc[0].tolist() == [
        "1100012345678",
        "ems",
    ]
    assert handover_links(normalize([event()])).empty


def test_classify_is_reexported():
    assert classify("已签收") == "delivered"


# --- normalize: errors ---------------------------------------------------------------------


def test_unreadable_times_name_column_and_rows():
    rows = [event(), event(time_local="tomorrow"), event(), event(time_local="")]
    with pytest.raises(TimeParseError) as info:
        normalize(rows, where="batch 7")
    assert info.value.rows == [2, 4]
    assert info.value.columns == ["time_local"]
    assert "batch 7" in str(info.value) and "'tomorrow'" in str(info.value)


def test_errors_use_the_inputs_own_line_numbers():
    raw = pd.DataFrame([event(_line=4), event(time_local="??", _line=12)])
    with pytest.raises(TimeParseError) as info:
        normalize(raw)
    assert info.value.rows == [12]


def test_unreadable_time_utc_without_local_names_time_utc():
    with pytest.raises(TimeParseError) as info:
        normalize([{"tracking_number": ZTO, "description": "a", "time_utc": "soon"}])
    assert info.value.columns == ["time_utc"]


def test_unknown_milestone_and_leg_are_refused_with_rows():
    with pytest.raises(ValueNotAllowedError) as info:
        normalize([event(milestone="delivered"), event(milestone="teleported")])
    assert info.value.rows == [2] and "teleported" in str(info.value)
    with pytest.raises(ValueNotAllowedError, match="'sideways'"):
        normalize([event(leg="sideways")])
    with pytest.raises(ValueNotAllowedError, match="tz_assumed"):
        normalize([event(time_utc="2026-03-01T00:00Z", tz_assumed="perhaps")])


def test_blank_tracking_numbers_are_refused_with_rows():
    with pytest.raises(SchemaError) as info:
        normalize([event(), event(tracking_number="  "), event(tracking_number=None)])
    assert info.value.rows == [2, 3]


def test_missing_columns_are_named():
    with pytest.raises(MissingColumnsError, match="'description'") as info:
        normalize([{"tracking_number": ZTO, "time_local": "2026-03-01"}], where="upload.csv")
    assert "upload.csv" in str(info.value)
    with pytest.raises(MissingColumnsError, match="time_utc' or 'time_local"):
        normalize([{"tracking_number": ZTO, "description": "x"}])


def test_inputs_that_are_not_tables_are_refused():
    with pytest.raises(InputError):
        normalize("not a table")
    with pytest.raises(InputError, match=r"item\(s\) 2"):
        normalize([event(), "oops"])
    with pytest.raises(InputError, match="more than one column"):
        normalize(
            pd.DataFrame(
                [[INTL, "a", "b"]], columns=["tracking_number", "description", "description"]
            )
        )


def test_empty_input_gives_an_empty_events_table():
    ev = normalize([])
    assert len(ev) == 0 and tuple(ev.columns[: len(EVENT_COLUMNS)]) == EVENT_COLUMNS
    ev = normalize(pd.DataFrame(columns=["tracking_number", "description", "time_local"]))
    assert len(ev) == 0


def test_a_couriers_phone_in_a_delivery_scan_is_not_a_linked_number():
    from toolkit.tracking.normalize import extract_handover, normalize

    text = "快件交给张三，正在派送途中（联系电话：13800001234）"
    assert extract_handover(text) is None
    ev = normalize(
        [
            {
                "tracking_number": "SF1402233445566",
                "carrier": "sf",
                "time_local": "2026-11-10 10:00:00",
                "description": text,
            }
        ]
    )
    assert ev["linked_number"].isna().all()


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("SF Express", "sf"),
        ("s.f. express", "sf"),
        ("sf-express", "sf"),
        ("顺丰速运", "sf"),
        ("shunfeng", "sf"),
        ("中国邮政速递物流", "ems"),
        ("United States Postal Service", "usps"),
        ("DHL Paket", "deutschepost"),
        ("Colissimo", "laposte"),
        ("云途", "yunexpress"),
        ("jtexpress", "jt"),
        ("a carrier nobody knows", None),
    ],
)
def test_every_reader_of_a_carrier_name_resolves_it_the_same_way(name, code):
    import importlib

    from toolkit.model import carrier_code as registry
    from toolkit.tracking.carriers.base import carrier_from_name

    # the event texts, the services' answers and the parcels table all know the same names
    assert registry(name) == carrier_code(name) == carrier_from_name(name) == code
    assert (
        importlib.import_module("toolkit.track").carrier_code is registry
    )  # the parcels table's reader
