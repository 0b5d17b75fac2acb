"""The report scope: checked once into a ReportScope, passed along as it is."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from toolkit.errors import InputError
from toolkit.findings.store import FindingsStore
from toolkit.report import ReportScope, build_report, select_parcels
from toolkit.report import scope as scope_module
from toolkit.world import demo


@pytest.fixture(scope="module")
def demo_set():
    parcels, events = demo.load_demo()
    return parcels, events


@pytest.fixture
def store_url(demo_set, tmp_path):
    parcels, _ = demo_set
    url = f"sqlite:///{tmp_path / 'findings.sqlite'}"
    with FindingsStore(url) as store:
        store.add(list(parcels["parcel_id"].iloc[:3]), category="customs_hold", analyst="ana")
    return url


def test_the_values_are_read_into_one_scope(demo_set):
    parcels, events = demo_set
    number = parcels["international_number"].dropna().iloc[5]
    scope = ReportScope.check(
        parcels,
        events,
        carrier=" SF ",
        since="2026-11-01",
        until="2026-11-20T08:00+08:00",
        parcel_ids=[parcels["parcel_id"].iloc[0], number],
        language="zh",
    )
    assert scope.carrier == "sf" and scope.language == "zh"
    assert scope.since == pd.Timestamp("2026-11-01", tz="UTC")
    assert scope.until == pd.Timestamp("2026-11-20", tz="UTC")  # 08:00 in Beijing
    # the named numbers are resolved to their parcels at check time
    assert scope.selected == {parcels["parcel_id"].iloc[0], parcels["parcel_id"].iloc[5]}
    assert scope.now == pd.Timestamp(parcels["as_of"].iloc[0])
    assert "carrier sf" in scope.describe() and "2 named parcel(s)" in scope.describe()


def test_the_scope_survives_the_trip_into_the_notebook(demo_set, store_url):
    parcels, events = demo_set
    scope = ReportScope.check(
        parcels,
        events,
        since="2026-11-01",
        parcel_ids=list(parcels["parcel_id"].iloc[:5]),
        findings_filter={"category": "customs_hold", "since": "2026-01-01"},
        findings_url=store_url,
    )
    values = scope.to_parameters()
    assert json.loads(json.dumps(values)) == values  # plain values a parameter cell can hold
    assert ReportScope.from_parameters(values) == scope
    assert scope.with_findings == set(parcels["parcel_id"].iloc[:3])


def test_a_scope_parameter_that_render_report_did_not_write_is_refused():
    with pytest.raises(InputError, match="scope parameter is not one that render_report wrote"):
        ReportScope.from_parameters({"carrier": "sf"})


def test_a_checked_scope_is_not_checked_again(demo_set, monkeypatch):
    """build_report with a scope selects and reports without reading the values again."""
    parcels, events = demo_set
    scope = ReportScope.check(parcels, events, carrier="sf", since="2026-11-01")

    def checked_again(*args, **kwargs):
        raise AssertionError("the scope was checked a second time")

    for name in ("check_carrier", "parse_period", "check_findings_filter", "match_selection"):
        monkeypatch.setattr(scope_module, name, checked_again)
    report = build_report(parcels, events, scope)
    assert report.carrier == "sf" and len(report.parcels) == len(scope.select(parcels, events))


def test_a_scope_and_its_values_together_are_refused(demo_set):
    parcels, events = demo_set
    scope = ReportScope.check(parcels, events, carrier="sf")
    with pytest.raises(TypeError, match="a scope or its values, not both"):
        build_report(parcels, events, scope, carrier="ems")


def test_select_parcels_is_check_then_select(demo_set):
    parcels, events = demo_set
    options = {"carrier": "ems", "since": "2026-11-03"}
    direct = select_parcels(parcels, events, **options)
    scoped = ReportScope.check(parcels, events, **options).select(parcels, events)
    pd.testing.assert_frame_equal(direct, scoped)
    with pytest.raises(InputError, match="no parcel matches carrier ems, shipped since 2030"):
        select_parcels(parcels, events, carrier="ems", since="2030-01-01")
