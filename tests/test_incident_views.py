"""Lane incidents where analysts and partners see them: GroupTriage, the investigator's
diagnosis and buyer message, the partner report."""

from __future__ import annotations

import html
import re

import pandas as pd
import pytest

from toolkit.diagnosis.incidents import detect, incident_of
from toolkit.findings.store import FindingsStore
from toolkit.model import EVENT_COLUMNS, PARCEL_COLUMNS
from toolkit.report import build_report
from toolkit.tracking.normalize import normalize
from toolkit.widgets import GroupTriage, ParcelInvestigator
from toolkit.world import demo
from toolkit.world.sandbox.server import SandboxTransport
from toolkit.world.sandbox.world import World

N, SEED = 12_000, 5
PLAN = [("customs backlog", 50), ("handover backlog", 50)]
NOW = pd.Timestamp(demo.DEFAULT_AS_OF)


@pytest.fixture(scope="module")
def world():
    parcels, raw, _truth = demo.generate(N, SEED, incidents=PLAN)
    events = normalize(demo.observable_events(parcels, raw))[list(EVENT_COLUMNS)]
    table = parcels[list(PARCEL_COLUMNS)].replace("", None)
    table["shipped_at"] = pd.to_datetime(table["shipped_at"], utc=True, format="ISO8601")
    found = detect(events, table, NOW)
    assert len(found), "the injected incidents are found at the world's as-of time"
    return parcels, raw, table, events, found


@pytest.fixture
def store(tmp_path):
    return FindingsStore(f"sqlite:///{tmp_path / 'findings.sqlite'}")


def test_triage_shows_open_incidents_above_the_filters_and_a_click_selects_their_parcels(
    world, store, tmp_path
):
    _, _, table, events, found = world
    g = GroupTriage(table, events, now=NOW, store=store, out_dir=tmp_path)
    assert len(g.incidents) == len(found)
    panel = g.parts.incidents.children
    head, buttons = panel[0].value, [c for c in panel if hasattr(c, "on_click")]
    assert f"Open incidents ({len(found)})" in head
    first = found.iloc[0]
    assert buttons[0].description.startswith(f"{first['kind']} · {first['where']}")
    assert f"{int(first['parcels'])} parcel(s) since " in buttons[0].description
    assert buttons[0].tooltip == first["evidence"]
    assert html.escape(first["evidence"]) in panel[-1].value
    buttons[0].click()
    assert g.selected == [str(p) for p in first["parcel_ids"]]
    assert f"<b>{len(first['parcel_ids'])}</b> parcel(s) selected" in g.parts.selected.value
    # the layout puts the incidents above the filters
    order = list(g.layout.children)
    filters = next(i for i, c in enumerate(order) if g.parts.carrier in getattr(c, "children", ()))
    assert order.index(g.parts.incidents) < filters


def test_a_world_without_incidents_shows_no_incident_panel(store, tmp_path):
    parcels, events = demo.load_demo()
    g = GroupTriage(parcels, events, now=pd.Timestamp(parcels["as_of"].iloc[0]), store=store,
                    out_dir=tmp_path)  # fmt: skip
    assert g.incidents.empty and g.parts.incidents.children == ()


def test_the_investigator_tells_a_caught_parcels_buyer_the_delay_is_shared(world, store):
    parcels, raw, table, events, found = world
    first = found.iloc[0]
    pid = str(first["parcel_ids"][0])
    number = table.loc[table["parcel_id"] == pid, "international_number"].iloc[0]
    transport = SandboxTransport(world=World(parcels, raw))
    inv = ParcelInvestigator(
        table,
        events,
        now=NOW,
        store=store,
        track_options={"transport": transport, "sandbox": True, "cache_dir": False},
    )
    inv.parts.number.value = number
    inv.parts.investigate_button.click()
    d = inv.diagnosis
    assert d is not None and d.parcel_id == pid
    assert d.incident is not None and d.incident["kind"] == first["kind"]
    assert any("lane incident" in t for t in d.evidence_text)
    assert "lane incident" in inv.parts.diagnosis.value
    assert "Many parcels on the same route have been delayed since" in d.buyer_message("en")
    assert "同一线路的许多包裹" in d.buyer_message("zh")
    # a parcel of the same world outside every incident is told nothing of the kind
    caught = {str(p) for ids in found["parcel_ids"] for p in ids}
    other = table[~table["parcel_id"].astype(str).isin(caught)].iloc[0]
    assert incident_of(found, other["parcel_id"]) is None


def test_partner_reports_list_the_incidents_of_their_parcels(world):
    _, _, table, events, found = world
    first = found.iloc[0]
    ids = [str(p) for p in first["parcel_ids"]][:8]
    r = build_report(table, events, now=NOW, parcel_ids=ids)
    section = r.incidents_html()
    assert 'id="incidents"' in section and "Lane incidents" in section
    assert html.escape(first["where"]) in section and html.escape(first["evidence"]) in section
    assert 'href="#incidents"' in r.contents_html()
    assert all("lane incident" in str(r.evidence_text[p]) for p in ids if p in r.evidence_text)
    assert "parcel_ids" not in r.incidents.columns  # partners see counts, not other parcels
    zh = build_report(table, events, now=NOW, parcel_ids=ids, language="zh")
    zh_section = zh.incidents_html()
    kinds = {"customs backlog": "清关积压", "handover backlog": "交接积压"}
    assert "线路异常" in zh_section and kinds[first["kind"]] in zh_section
    assert not re.search(r"\bparcels? (let|stuck)\b", zh_section)  # the English evidence stays out


def test_a_report_on_parcels_in_no_incident_has_no_incident_section(world):
    _, _, table, events, found = world
    caught = {str(p) for ids in found["parcel_ids"] for p in ids}
    carriers = set(found["carrier"].astype(str))
    free = table[
        ~table["parcel_id"].astype(str).isin(caught)
        & ~table["international_carrier"].astype(str).isin(carriers)
    ]
    r = build_report(table, events, now=NOW, parcel_ids=list(free["parcel_id"].astype(str)[:5]))
    assert r.incidents_html() == "" and 'href="#incidents"' not in r.contents_html()
