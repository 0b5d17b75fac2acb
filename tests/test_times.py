"""The one reader of single times (toolkit.times.to_utc) and the places that use it."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from toolkit.errors import InputError
from toolkit.times import to_utc, utc_now

UTC_MIDNIGHT = pd.Timestamp("2026-03-01", tz="UTC")


@pytest.mark.parametrize(
    "value",
    ["2026-03-01T08:00+08:00", pd.Timestamp("2026-03-01 08:00", tz="Asia/Shanghai"),
     dt.datetime(2026, 3, 1, tzinfo=dt.UTC)],
)  # fmt: skip
def test_a_time_with_a_zone_is_read_the_same_everywhere(value):
    assert to_utc(value) == UTC_MIDNIGHT
    assert to_utc(value, naive="utc") == UTC_MIDNIGHT
    assert utc_now(value) == UTC_MIDNIGHT


def test_a_time_without_a_zone_is_refused_or_taken_as_utc_as_the_caller_says():
    with pytest.raises(InputError, match="the now '2026-03-01' has no time zone"):
        to_utc("2026-03-01", "now")
    assert to_utc("2026-03-01", naive="utc") == UTC_MIDNIGHT


def test_empty_and_unreadable_values_are_refused_or_none_as_the_caller_says():
    for empty in (None, "", "  ", pd.NaT, float("nan")):
        assert to_utc(empty, empty="none") is None
        with pytest.raises(InputError, match="the since is empty"):
            to_utc(empty, "since")
    with pytest.raises(InputError, match="cannot read the since 'yesterday' as a time") as caught:
        to_utc("yesterday", "since", "findings filter", hint="Use a date")
    assert caught.value.where == "findings filter" and "Use a date" in str(caught.value)
    assert to_utc("yesterday", unreadable="none") is None


def test_every_reader_of_a_single_time_agrees():
    from toolkit import plots
    from toolkit.findings.schema import _check_time
    from toolkit.findings.store import _since
    from toolkit.tracking.plausibility import _utc as answer_time

    def chart_time(value, name):  # how the charts read now and a shipping time
        return plots.to_utc(value, name)

    from toolkit.report.scope import parse_since, report_now

    aware = "2026-03-01T08:00+08:00"
    assert parse_since(aware) == report_now(aware, pd.DataFrame()) == UTC_MIDNIGHT
    assert chart_time(aware, "now") == answer_time(aware) == UTC_MIDNIGHT
    assert _since(aware, "query") == _check_time("created_at", aware, "add") == UTC_MIDNIGHT
    # where people type dates (a period, a filter), a date is its midnight UTC
    assert parse_since("2026-03-01") == _since("2026-03-01", "query") == UTC_MIDNIGHT
    # where a program hands a moment (now, a finding's time), a zone is required
    for strict in (lambda v: chart_time(v, "now"), lambda v: _check_time("at", v, "add")):
        with pytest.raises(InputError, match="no time zone"):
            strict("2026-03-01")
