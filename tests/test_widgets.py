"""Widgets driven as a user would: set values, read what the widget shows."""

from __future__ import annotations

import pandas as pd
import pytest

from toolkit import demo
from toolkit.numbers import parse
from toolkit.widgets import ParcelPicker


@pytest.fixture(scope="module")
def demo_set():
    parcels, events = demo.load_demo()
    return parcels, events, pd.Timestamp(parcels["as_of"].iloc[0])


def test_picking_a_demo_parcel_shows_its_number_events_and_timeline(demo_set):
    parcels, events, now = demo_set
    delivered = parcels[parcels["true_category"] == "delivered"].iloc[0]
    picker = ParcelPicker(parcels, events, now=now)
    picker._w_demo.value = delivered["international_number"]
    assert picker._w_number.value == delivered["international_number"]
    assert delivered["international_number"] in picker._w_parse.value
    expected = events[events["parcel_id"] == delivered["parcel_id"]]
    assert len(picker.selected) == len(expected) > 3
    # One marker per scan across the milestone traces, and a delivered marker among them.
    assert sum(len(t.x) for t in picker._w_fig.data) == len(expected)
    assert "delivered" in {t.name for t in picker._w_fig.data}
    assert "<table" in picker._w_events.value


def test_a_mistyped_number_shows_the_problem_and_the_correction(demo_set):
    parcels, events, now = demo_set
    picker = ParcelPicker(parcels, events, now=now)
    picker._w_number.value = "rb 4731-2482 8gb"  # true number RB473124829GB
    assert "RB473124828GB" in picker._w_parse.value
    assert "not valid" in picker._w_parse.value
    assert "RB473124829GB" in picker._w_parse.value  # the suggested correction
    assert "No events are known" in picker._w_events.value
    assert picker._w_fig.data == ()


def test_domestic_number_finds_the_same_parcel(demo_set):
    parcels, events, now = demo_set
    linked = parcels[
        (parcels["domestic_number"].fillna("") != "")
        & (parcels["domestic_number"] != parcels["international_number"])
    ].iloc[0]
    picker = ParcelPicker(parcels, events, now=now)
    picker._w_number.value = linked["domestic_number"]
    assert set(picker.selected["parcel_id"]) == {linked["parcel_id"]}
    assert set(picker.selected["leg"]) == {"international", "domestic"}


@pytest.mark.parametrize("text", ["", "   ", "<script>alert(1)</script>", "🙂" * 50, "1" * 500])
def test_any_text_is_shown_without_error_and_escaped(demo_set, text):
    parcels, events, now = demo_set
    picker = ParcelPicker(parcels, events, now=now)
    picker._w_number.value = text
    assert "<script>" not in picker._w_parse.value
    assert picker._w_message.value == ""
    assert parse(text).valid is not True


def test_picker_shows_diagnosis_actions_eta_and_buyer_message(demo_set):
    parcels, events, now = demo_set
    row = parcels[parcels["true_category"] == "handover_not_synced"].iloc[0]
    picker = ParcelPicker(parcels, events, now=now)
    picker._w_demo.value = row["international_number"]
    assert picker.diagnosis.category == "handover_not_synced"
    html = picker._w_diagnosis.value
    assert "Evidence" in html and "Next actions" in html and row["international_number"] in html
    zh = picker._w_buyer.value
    assert "您好" in zh
    picker._w_lang.value = "en"
    assert picker._w_buyer.value != zh and "parcel" in picker._w_buyer.value.lower()
    # Clearing the box clears the diagnosis instead of showing the last one.
    picker._w_number.value = ""
    assert picker.diagnosis is None and picker._w_diagnosis.value == ""
