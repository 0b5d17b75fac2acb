"""Widgets driven as a user would: set values, click buttons, read what the widget shows."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from urllib.parse import unquote

import httpx
import pandas as pd
import pytest

from toolkit.diagnosis.scorecard import GONE_DARK
from toolkit.findings.store import FindingsStore
from toolkit.tracking.numbers import parse
from toolkit.widgets import GroupTriage, ParcelInvestigator
from toolkit.world import demo


@pytest.fixture(scope="module")
def demo_set():
    parcels, events = demo.load_demo()
    return parcels, events, pd.Timestamp(parcels["as_of"].iloc[0])


@pytest.fixture
def store(tmp_path):
    return FindingsStore(f"sqlite:///{tmp_path / 'findings.sqlite'}")


def investigator(demo_set, store, **options) -> ParcelInvestigator:
    parcels, events, now = demo_set
    return ParcelInvestigator(parcels, events, now=now, store=store, **options)


def type_and_investigate(inv: ParcelInvestigator, number: str) -> None:
    """Type a number into the widget and press Investigate, as an analyst does."""
    inv.parts.number.value = number
    inv.parts.investigate_button.click()


def pick_listed(g: GroupTriage, category: str, n: int) -> list[str]:
    """Filter the triage to one category and pick the first ``n`` parcels listed; their ids."""
    g.parts.category.value = (category,)
    picked = [v for _, v in g.parts.parcels.options][:n]
    g.parts.parcels.value = tuple(picked)
    return picked


def first_of(parcels: pd.DataFrame, category: str) -> pd.Series:
    return parcels[parcels["true_category"] == category].iloc[0]


# ------------------------------------------------------------------ ParcelInvestigator


def test_investigating_a_demo_parcel_shows_timeline_diagnosis_checklist_and_message(
    demo_set, store
):
    parcels, _, _ = demo_set
    row = first_of(parcels, "handover_not_synced")
    inv = investigator(demo_set, store)
    inv.parts.demo.value = row["international_number"]
    assert inv.parts.number.value == row["international_number"]
    inv.parts.investigate_button.click()

    assert inv.diagnosis is not None and inv.diagnosis.category == "handover_not_synced"
    assert set(inv.events["parcel_id"]) == {row["parcel_id"]}
    # One marker per tracked scan across the milestone traces.
    markers = sum(len(t.x) for t in inv.parts.fig.data if t.mode == "markers")
    assert markers == len(inv.events) > 3
    assert "arrived destination" in {t.name for t in inv.parts.fig.data}
    html = inv.diagnosis_html
    assert "Evidence" in html and "handover not synced" in html
    assert [c.description for c in inv.parts.actions.children] == [
        a.text() for a in inv.diagnosis.actions
    ]
    assert len(inv.parts.actions.children) >= 2
    zh = inv.parts.buyer.value
    assert "您好" in zh
    inv.parts.lang.value = "en"
    assert inv.parts.buyer.value != zh and "parcel" in inv.parts.buyer.value.lower()
    # No keys in the test environment: the sandbox answered and the widget says so.
    assert "Sandbox data" in inv.parts.sandbox.value
    assert inv.form.parts.category.value == "handover_not_synced"
    assert "No findings recorded" in inv.findings_html


def test_domestic_number_tracks_the_whole_parcel(demo_set, store):
    parcels, _, _ = demo_set
    linked = parcels[
        (parcels["true_category"] == "delivered")
        & parcels["domestic_number"].notna()
        & (parcels["domestic_number"] != parcels["international_number"])
    ].iloc[0]
    inv = investigator(demo_set, store)
    type_and_investigate(inv, linked["domestic_number"])
    assert inv.diagnosis.category == "delivered"
    assert set(inv.events["leg"]) == {"international", "domestic"}
    assert set(inv.events["parcel_id"]) == {linked["parcel_id"]}


def test_a_mistyped_number_offers_corrections_that_can_be_clicked(demo_set, store):
    inv = investigator(demo_set, store)
    inv.parts.number.value = "rb 4731-2482 8gb"  # true number RB473124829GB
    assert "not valid" in inv.parts.parse.value
    buttons = inv.parts.suggestions.children
    assert buttons and buttons[0].description == "RB473124829GB"
    buttons[0].click()
    assert inv.parts.number.value == "RB473124829GB"
    assert "check digit passes" in inv.parts.parse.value
    assert inv.parts.suggestions.children == ()


def _mistyped_s10(parcels: pd.DataFrame) -> tuple[pd.Series, str]:
    """A demo parcel with an S10 number, and that number with one serial digit changed so
    that the likeliest edit (fixing the check digit) is not the true number."""
    from toolkit.tracking.numbers import s10_check_digit

    moving = parcels[parcels["true_category"].isin(["delivered", "moving"])]
    for _, row in moving.iterrows():
        true = str(row["international_number"])
        if parse(true).format != "s10" or parse(true).valid is not True:
            continue
        serial = true[2:10]
        for d in "0123456789":
            typed = serial[:3] + d + serial[4:]
            if d != serial[3] and s10_check_digit(typed) != s10_check_digit(serial):
                return row, true[:5] + d + true[6:]
    raise AssertionError("no S10 number in the demo set")


def test_a_correction_found_in_the_parcels_table_comes_first_and_opens_that_parcel(demo_set, store):
    parcels, _, _ = demo_set
    row, typed = _mistyped_s10(parcels)
    true = row["international_number"]
    assert parse(typed).suggestions[0] != true  # edit likelihood alone ranks it lower
    inv = investigator(demo_set, store)
    inv.parts.number.value = typed
    first = inv.parts.suggestions.children[0]
    assert first.description == f"{true} → {row['parcel_id']}"
    assert "parcels table" in first.tooltip
    first.click()
    assert inv.parts.number.value == true
    assert inv.diagnosis is not None
    assert set(inv.events["parcel_id"]) == {row["parcel_id"]}


def test_without_a_parcels_table_the_correction_the_carrier_has_scans_for_comes_first(
    demo_set, store
):
    parcels, _, now = demo_set
    row, typed = _mistyped_s10(parcels)
    true = row["international_number"]
    inv = ParcelInvestigator(now=now, store=store)
    inv.parts.number.value = typed
    assert inv.parts.suggestions.children[0].description != true
    inv.parts.investigate_button.click()  # not found: the suggestions are checked with the service
    first = inv.parts.suggestions.children[0]
    assert first.description == f"{true} · has scans"
    assert first.button_style == "info"
    assert "Corrections that lead to a parcel" in inv.message


@pytest.mark.parametrize("text", ["", "   ", "<script>alert(1)</script>", "🙂" * 50, "1" * 500])
def test_any_text_ends_in_a_message_or_a_diagnosis_never_an_exception(demo_set, store, text):
    inv = investigator(demo_set, store)
    type_and_investigate(inv, text)
    assert "<script>" not in inv.parts.parse.value + inv.message
    assert parse(text).valid is not True
    if not parse(text).normalized:
        assert "Type a tracking number" in inv.message
        assert inv.diagnosis is None
    else:
        assert inv.diagnosis.category in ("number_invalid", "number_not_found")


def test_a_carrier_failure_is_a_message_in_the_widget(demo_set, store):
    parcels, _, _ = demo_set
    row = first_of(parcels, "delivered")
    failing = httpx.MockTransport(lambda request: httpx.Response(500, text="boom"))
    inv = investigator(demo_set, store, track_options={"transport": failing, "max_attempts": 1})
    type_and_investigate(inv, row["international_number"])
    assert "could not be tracked" in inv.message
    assert "500" in inv.message
    assert inv.diagnosis is None
    assert inv.parts.result.layout.display == "none"
    assert inv.parts.fig.data == ()


def test_unexpected_errors_stop_at_the_widget(demo_set, store):
    class Broken:
        def add(self, **kwargs):
            raise RuntimeError("disk on fire at /secret/path")

        def query(self, **kwargs):
            return pd.DataFrame()

    parcels, _, _ = demo_set
    inv = investigator(demo_set, Broken(), analyst="mei")
    type_and_investigate(inv, first_of(parcels, "customs_hold")["international_number"])
    inv.parts.save_button.click()
    msg = inv.message
    assert "Something went wrong (RuntimeError)" in msg
    assert "/secret/path" not in msg


def test_saving_a_finding_stores_it_and_lists_it(demo_set, store):
    parcels, _, _ = demo_set
    row = first_of(parcels, "handover_not_synced")
    inv = investigator(demo_set, store)
    type_and_investigate(inv, row["international_number"])
    inv.parts.save_button.click()  # no analyst yet: refused, nothing stored
    assert "analyst is empty" in inv.message
    assert store.query(parcel_id=row["parcel_id"]).empty

    inv.parts.actions.children[0].value = True
    f = inv.form
    f.parts.analyst.value = "Mei Chen"
    f.parts.root_cause.value = "domestic number never linked"
    f.parts.buyer.value = True
    f.parts.comp_kind.value = "coupon"
    f.parts.comp_amount.value = 20.0
    f.parts.notes.value = "asked UPS for the domestic waybill"
    inv.parts.save_button.click()
    assert "saved" in inv.saved_message

    found = store.query(parcel_id=row["parcel_id"])
    assert len(found) == 1
    rec = found.iloc[0]
    assert rec["category"] == "handover_not_synced"
    assert rec["analyst"] == "Mei Chen"
    assert list(rec["actions_taken"]) == [inv.parts.actions.children[0].description]
    assert bool(rec["buyer_contacted"]) is True
    assert rec["compensation_kind"] == "coupon"
    assert row["international_number"] in list(rec["tracking_numbers"])
    assert rec["id"] in inv.findings_html
    # Investigating the same parcel later lists the earlier finding.
    again = investigator(demo_set, store)
    type_and_investigate(again, row["international_number"])
    assert rec["id"] in again.findings_html


def download_link(widget) -> tuple[str, str]:
    """(href, download name) of the link the widget's download area shows."""
    (out,) = widget.parts.download.outputs
    html = out["data"]["text/html"]
    m = re.search(r'<a href="([^"]+)" download="([^"]+)"', html)
    assert m, html
    return unquote(m.group(1)), m.group(2)


@pytest.mark.slow
def test_export_for_partner_says_where_the_file_is(demo_set, store, tmp_path, monkeypatch):
    parcels, _, _ = demo_set
    row = first_of(parcels, "silent_too_long")
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    monkeypatch.chdir(notebooks)  # a kernel runs in its notebook's folder
    inv = investigator(demo_set, store, out_dir=notebooks / "exports")
    type_and_investigate(inv, row["international_number"])
    inv.parts.export_button.click()
    (written,) = (notebooks / "exports").glob("*.html")
    assert written.name.endswith("-partner-safe.html")
    assert f"Partner report written: exports/{written.name}" in inv.export_message
    assert "safe to send to the partner" in inv.export_message
    # a link the analyst can click in Lab: relative to the notebook, downloads the file
    assert download_link(inv) == (f"exports/{written.name}", written.name)
    page = written.read_text(encoding="utf-8")  # the parcel's own page, not a group's
    assert f"Parcel {row['parcel_id']}: tracking report for " in page
    assert "all carriers" not in page
    for col in ("recipient_name", "recipient_phone", "recipient_address"):
        assert row[col] not in page
    # a Chinese carrier gets the report in Chinese
    inv.parts.report_lang.value = "zh"
    inv.parts.export_button.click()
    (chinese,) = set((notebooks / "exports").glob("*.html")) - {written}
    assert chinese.name in inv.export_message
    assert download_link(inv)[1] == chinese.name
    page = chinese.read_text(encoding="utf-8")
    assert f"包裹 {row['parcel_id']}：" in page and "请发起查件" in page
    # investigating another parcel clears the old link
    type_and_investigate(inv, first_of(parcels, "customs_hold")["international_number"])
    assert inv.parts.download.outputs == ()


@pytest.mark.slow
def test_the_partner_export_shows_the_delivery_estimate_the_investigator_shows(
    demo_set, store, tmp_path
):
    from toolkit.diagnosis.diagnose import parcel_eta
    from toolkit.report import build_report

    parcels, _, now = demo_set
    row = first_of(parcels, "awaiting_clearance")
    inv = investigator(demo_set, store, out_dir=tmp_path / "reports")
    type_and_investigate(inv, row["international_number"])
    shown = inv.diagnosis.eta
    assert shown is not None and shown.high is None  # "2026-11-27 or later"
    pid = inv.diagnosis.parcel_id
    # the tables, moment and lane model the estimate was made from go to the report
    tables, when, model = (inv.basis[0], inv.basis[1]()), inv.basis[2], inv.basis[3]
    assert when == now and parcel_eta(inv.parcel, inv.events, when, model) == shown
    assert build_report(*tables, parcel_ids=[pid], now=when).eta[pid] == shown
    # (the parcel's own row and scans alone hold too little history for any estimate)
    alone = parcels[parcels["parcel_id"] == pid]
    assert build_report(alone, inv.events, parcel_ids=[pid], now=when).eta.get(pid) != shown
    # and the page written shows it on the parcel's timeline
    inv.parts.export_button.click()
    (page,) = (tmp_path / "reports").glob("*.html")
    text = page.read_text(encoding="utf-8")
    assert "delivery expected from" in text and shown.low.isoformat() in text


# ------------------------------------------------------------------ GroupTriage


@pytest.fixture
def triage(demo_set, store, tmp_path):
    parcels, events, now = demo_set
    return GroupTriage(
        parcels, events, now=now, store=store, out_dir=tmp_path / "exports", analyst="mei"
    )


def summary_counts(g: GroupTriage) -> dict[str, int]:
    """Category -> parcels as the summary table shows them."""
    rows = re.findall(r"<td>([a-z_]+)</td>\s*<td>(\d+)</td>", g.summary_html)
    return {category: int(n) for category, n in rows}


def test_filters_update_summary_and_charts_consistently_with_pandas(triage, demo_set):
    parcels, _, _ = demo_set
    g = triage
    table = g.triage.table
    assert sum(summary_counts(g).values()) == len(parcels)

    carrier = table["carrier"].value_counts().index[0]
    g.parts.carrier.value = (carrier,)
    g.parts.days.value = (3, g.parts.days.max)
    on_leg = (table["carrier"] == carrier) | (table["domestic_carrier"] == carrier)
    not_delivered = table["category"] != "delivered"  # silence counts until delivery
    expected = table[on_leg & not_delivered & table["days_silent"].between(3, 10**9)]
    assert summary_counts(g) == expected["category"].astype(str).value_counts().to_dict()

    # Ageing histogram: one stacked trace per category, bars summing to the stuck parcels.
    stuck = expected[expected["category"] != "delivered"]
    bars = {t.meta: sum(t.y) for t in g.parts.ageing.data}
    assert bars == stuck["category"].astype(str).value_counts().to_dict()
    for trace in g.parts.ageing.data:
        part = stuck[stuck["category"] == trace.meta]
        assert (
            dict(zip(trace.x, trace.y, strict=True)) == part["days_silent"].value_counts().to_dict()
        )

    # Heatmap: one row, the chosen carrier (never a domestic one, so no other international
    # carrier's parcels join it); each cell the gone-dark share of its lane.
    assert not (table["domestic_carrier"] == carrier).any()
    (heat,) = g.parts.heatmap.data
    assert list(heat.y) == [carrier]
    for lane, z in zip(heat.x, heat.z[0], strict=True):
        lane_rows = expected[expected["lane"] == lane]
        if len(lane_rows):
            share = lane_rows["category"].astype(str).isin(GONE_DARK).mean()
            assert z == pytest.approx(share)

    # The list holds the filtered parcels; clearing the filters restores everything.
    assert {v for _, v in g.parts.parcels.options} == set(expected["parcel_id"])
    g.parts.reset_button.click()
    assert sum(summary_counts(g).values()) == len(parcels)


def test_every_message_the_triage_widget_sends_is_json(demo_set, store, monkeypatch):
    """The kernel refuses NaN in widget messages ("Out of range float values are not JSON
    compliant", a red warning under the cell): blank heatmap cells must travel as null."""
    import comm

    sent: list[tuple[str, object]] = []

    def publish(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        sent.append((msg_type, data))

    monkeypatch.setattr(comm.DummyComm, "publish_msg", publish)
    parcels, events, now = demo_set
    g = GroupTriage(parcels, events, now=now, store=store)
    g.parts.category.value = ("customs_hold", "silent_too_long")
    g.parts.days.value = (2, g.parts.days.max)
    g.parts.select_all_button.click()
    g.parts.reset_button.click()
    assert any("_py2js_addTraces" in str(data) for _, data in sent), "no figure data was sent"
    (heat,) = g.parts.heatmap.data
    assert None in [z for row in heat.z for z in row]  # the demo set has empty cells
    for msg_type, data in sent:
        try:
            json.dumps(data, allow_nan=False, default=str)
        except ValueError as exc:
            pytest.fail(f"a {msg_type} message is not JSON: {exc}")


def test_longest_silent_views_leave_out_delivered_and_unscanned_parcels(triage):
    g = triage
    table = g.triage.table.set_index("parcel_id")
    drawn_ids = lane_ids(g)
    assert len(drawn_ids) == g.swimlane_limit  # every lane drawn has scans
    cats = table.loc[drawn_ids, "category"].astype(str)
    assert "delivered" not in set(cats)
    assert table.loc[drawn_ids, "last_scan_utc"].notna().all()  # every lane has scans
    # the demo's longest gaps are delivered parcels: without the rule they would fill the lanes
    longest = table.sort_values("days_silent", ascending=False).head(g.swimlane_limit)
    assert (longest["category"] == "delivered").sum() > g.swimlane_limit // 2
    silent = table[(table["category"] != "delivered") & table["last_scan_utc"].notna()]
    assert (
        table.loc[drawn_ids, "days_silent"].min()
        >= silent["days_silent"].nlargest(g.swimlane_limit).min()
    )
    assert f"of {len(silent):,} parcels not yet delivered" in g.parts.swimlanes.layout.title.text
    # the list puts delivered parcels last, and their entries say no days silent
    listed = [v for _, v in g.parts.parcels.options]
    assert (table.loc[listed, "category"] != "delivered").all()  # 1,300 are not delivered
    g.parts.category.value = ("delivered",)
    for label, pid in g.parts.parcels.options:
        assert label.endswith(table.loc[pid, "lane"]) and not label.endswith(" d")
    assert not lane_ids(g)  # no longest-silent timelines among delivered parcels
    g.parts.category.value = ()

    # the days-silent range runs over parcels not yet delivered...
    undelivered = table[(table["category"] != "delivered") & table["days_known"]]
    assert g.parts.days.max == undelivered["days_silent"].max()  # unscanned: days since shipping
    g.parts.days.value = (10, g.parts.days.max)
    assert "delivered" not in summary_counts(g)
    # ...and takes delivered ones, and their timelines, in when asked
    g.parts.delivered.value = True
    assert g.parts.days.value == (0, table["days_silent"].max())  # the range grows to them
    g.parts.days.value = (10, g.parts.days.max)
    assert summary_counts(g)["delivered"] == int(
        ((table["category"] == "delivered") & (table["days_silent"] >= 10)).sum()
    )
    assert "delivered" in set(table.loc[lane_ids(g), "category"].astype(str))
    assert "parcels with scans" in g.parts.swimlanes.layout.title.text
    g.parts.reset_button.click()
    assert g.parts.delivered.value is False
    assert "delivered" not in set(table.loc[lane_ids(g), "category"].astype(str))


def lane_ids(g: GroupTriage) -> list[str]:
    """Parcel ids whose scans the swimlane figure draws (named in the markers' hover text)."""
    seen: dict[str, None] = {}
    for trace in g.parts.swimlanes.data:
        for text in trace.hovertext if trace.hovertext is not None else ():
            seen.setdefault(re.match(r"<b>([^<]+)</b>", text).group(1), None)
    return list(seen)


def test_the_carrier_filter_offers_domestic_carriers_and_matches_either_leg(triage, demo_set):
    from toolkit.report import select_parcels

    parcels, events, _ = demo_set
    g = triage
    options = dict((v, k) for k, v in g.parts.carrier.options)
    assert {"sf", "ems", "yto", "zto", "sto", "yunda", "jd"} <= set(options)
    assert options["sf"].startswith("SF Express [sf] (")
    g.parts.carrier.value = ("sf",)
    shown = {v for _, v in g.parts.parcels.options}
    assert shown == set(select_parcels(parcels, events, carrier="sf")["parcel_id"])
    table = g.triage.table.set_index("parcel_id").loc[sorted(shown)]
    assert (table["domestic_carrier"] == "sf").all()  # SF carries no parcel internationally
    assert sum(summary_counts(g).values()) == len(shown) == int(options["sf"][:-1].split("(")[1])


def test_one_finding_for_several_parcels(triage, store):
    g = triage
    g.parts.category.value = ("customs_hold",)
    g.parts.select_all_button.click()
    chosen = list(g.selected)
    assert len(chosen) >= 2
    assert g.form.parts.category.value == "customs_hold"
    g.form.parts.root_cause.value = "inspection backlog at the gateway"
    g.form.parts.actions.value = "asked the broker\n\nchased customs  "
    g.parts.save_button.click()
    assert "recorded for" in g.saved_message, g.message
    found = store.query(category="customs_hold")
    assert len(found) == 1
    assert sorted(found.iloc[0]["parcel_ids"]) == sorted(chosen)
    assert list(found.iloc[0]["actions_taken"]) == ["asked the broker", "chased customs"]


def test_nothing_selected_is_a_message(triage, store):
    triage.parts.save_button.click()
    assert "no parcel is selected" in triage.message
    triage.parts.csv_button.click()
    assert "no parcel is selected" in triage.message
    triage.parts.message.value = ""
    triage.parts.partner_button.click()
    assert "no parcel is selected" in triage.message
    assert len(store.query()) == 0


def test_export_csv_writes_the_selection(triage, demo_set, tmp_path):
    parcels, _, _ = demo_set
    g = triage
    picked = pick_listed(g, "number_invalid", 3)
    assert g.selected == picked
    g.parts.csv_button.click()
    (path,) = (tmp_path / "exports").glob("*.csv")
    # the name and the message say it holds recipient data
    assert path.name.endswith("-CONTAINS-RECIPIENT-DATA.csv")
    assert str(path) in g.export_message
    assert "CONTAINS RECIPIENT DATA" in g.export_message
    assert "never send it to a partner" in g.export_message
    href, name = download_link(g)
    assert name == path.name and (Path.cwd() / href).resolve() == path.resolve()
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel then reads the Chinese text
    out = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    assert out["parcel_id"].tolist() == picked
    assert set(out["category"]) == {"number_invalid"}
    # the analyst's own file keeps the recipient data, as written
    names = parcels.set_index("parcel_id").loc[picked, "recipient_name"].tolist()
    assert out["recipient_name"].tolist() == names
    assert out["recipient_phone"].notna().all()


@pytest.mark.slow
def test_export_for_partner_renders_the_selection_masked(triage, demo_set, tmp_path):
    parcels, _, _ = demo_set
    g = triage
    picked = pick_listed(g, "customs_hold", 2)
    g.parts.report_lang.value = "zh"
    g.parts.partner_button.click()
    (path,) = (tmp_path / "exports").glob("*.html")
    assert path.name.endswith("-partner-safe.html")
    assert f"Partner report written: {path}" in g.export_message, g.message
    assert "masked" in g.export_message
    assert download_link(g)[1] == path.name
    html = path.read_text(encoding="utf-8")
    assert "无物流信息包裹" in html and "请说明海关自" in html  # in Chinese, as chosen
    assert all(pid in html for pid in picked)
    others = parcels[~parcels["parcel_id"].isin(picked)]["parcel_id"]
    assert not any(pid in html for pid in others.head(50))
    for _, row in parcels[parcels["parcel_id"].isin(picked)].iterrows():
        assert row["recipient_phone"] not in html
        assert row["recipient_address"] not in html
        assert row["recipient_name"] not in html


def test_exports_go_to_the_exports_folder_of_the_lab_root_by_default(
    demo_set, store, tmp_path, monkeypatch
):
    """Without out_dir the files land in notebooks/exports/, which Lab can offer for download."""
    import toolkit.report.render

    checkout = tmp_path / "checkout"
    (checkout / "notebooks").mkdir(parents=True)
    (checkout / "pyproject.toml").write_text("")
    monkeypatch.setattr(toolkit.report.render, "ROOT", checkout)
    monkeypatch.delenv("TOOLKIT_EXPORT_DIR", raising=False)
    monkeypatch.chdir(checkout / "notebooks")
    parcels, events, now = demo_set
    g = GroupTriage(parcels, events, now=now, store=store)
    pick_listed(g, "customs_hold", 2)
    g.parts.csv_button.click()
    (csv,) = (checkout / "notebooks" / "exports").glob("*.csv")
    assert download_link(g) == (f"exports/{csv.name}", csv.name)
    assert f"written to exports/{csv.name}" in g.export_message


def test_a_csv_without_recipient_columns_is_not_named_as_personal(demo_set, store, tmp_path):
    parcels, events, now = demo_set
    bare = parcels.drop(columns=["recipient_name", "recipient_phone", "recipient_address"])
    g = GroupTriage(bare, events, now=now, store=store, out_dir=tmp_path)
    g.parts.parcels.value = tuple(v for _, v in g.parts.parcels.options[:3])
    g.parts.csv_button.click()
    (csv,) = tmp_path.glob("*.csv")
    assert "RECIPIENT" not in csv.name
    assert "holds no recipient data" in g.export_message


def upload(g: GroupTriage, name: str, content: bytes) -> None:
    g.parts.upload.value = (
        {
            "name": name,
            "type": "text/csv",
            "size": len(content),
            "content": memoryview(content),
            "last_modified": dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
        },
    )


def test_a_bad_csv_upload_names_the_line(store):
    g = GroupTriage(store=store)
    bad = (
        b"parcel_id,international_number,shipped_at\n"
        b"A1,RR029484693AU,2026-11-01 10:00\n"
        b"A2,LX948788516GB,not a date\n"
    )
    upload(g, "complaints.csv", bad)
    msg = g.message
    assert "shipped_at" in msg and "3" in msg and "complaints.csv" in msg
    assert g.triage is None


def test_an_uploaded_csv_is_tracked_and_diagnosed(demo_set, store):
    parcels, _, now = demo_set
    few = parcels.head(12)
    g = GroupTriage(now=now, store=store)
    upload(g, "few.csv", few.to_csv(index=False).encode())
    assert g.triage is not None, g.message
    assert len(g.triage) == 12
    assert "Sandbox data" in g.status
    assert sum(summary_counts(g).values()) == 12


def test_an_upload_with_damaged_bytes_says_how_many_were_replaced(demo_set, store):
    parcels, _, now = demo_set
    content = parcels.head(5).to_csv(index=False).encode()
    content = content.replace(b"\n", b"\xff\n", 2)  # bytes no UTF-8 text holds
    g = GroupTriage(now=now, store=store)
    upload(g, "damaged.csv", content)
    assert g.triage is not None and len(g.triage) == 5, g.message
    msg = g.message
    assert "damaged.csv" in msg and "replaced" in msg, msg


def test_typing_another_number_takes_the_shown_parcel_away(demo_set, store):
    parcels, _, _ = demo_set
    row = first_of(parcels, "customs_hold")
    inv = investigator(demo_set, store)
    type_and_investigate(inv, row["international_number"])
    assert row["parcel_id"] in inv.diagnosis_html and inv.parts.fig.data
    inv.parts.number.value = row["international_number"] + " "  # the same number: it stays
    assert inv.diagnosis is not None
    inv.parts.number.value = "RB473124828GB"
    assert inv.diagnosis is None
    assert inv.parts.result.layout.display == "none"
    assert row["parcel_id"] not in inv.diagnosis_html + inv.parts.events.value
    assert inv.parts.timeline_box.layout.display == "none"


def test_a_number_without_scans_leaves_no_timeline_of_the_parcel_before(demo_set, store):
    parcels, _, _ = demo_set
    row = first_of(parcels, "handover_not_synced")
    inv = investigator(demo_set, store)
    type_and_investigate(inv, row["international_number"])
    assert inv.parts.fig.data and inv.parts.timeline_box.layout.display != "none"
    type_and_investigate(inv, "LX999999995US")
    assert inv.diagnosis is not None and inv.diagnosis.category == "number_not_found"
    assert inv.parts.fig.data == ()
    assert inv.parts.timeline_box.layout.display == "none"
    assert row["parcel_id"] not in inv.parts.events.value + inv.diagnosis_html


def test_saving_confirms_next_to_the_button_and_empties_the_form(demo_set, store):
    parcels, _, _ = demo_set
    row = first_of(parcels, "silent_too_long")
    inv = investigator(demo_set, store, analyst="Mei Chen")
    type_and_investigate(inv, row["international_number"])
    inv.parts.actions.children[0].value = True
    inv.form.parts.root_cause.value = "lost at the gateway"
    inv.form.parts.notes.value = "claim opened"
    inv.form.parts.comp_kind.value = "coupon"
    inv.parts.save_button.click()
    assert "saved" in inv.saved_message and row["parcel_id"] in inv.saved_message
    (saved_row,) = [  # the Save button's row
        box
        for box in inv.layout.children[-1].children
        if inv.parts.save_button in getattr(box, "children", ())
    ]
    assert inv.parts.save_button in saved_row.children and inv.parts.saved in saved_row.children
    form = inv.form
    assert (form.parts.root_cause.value, form.parts.notes.value, form.parts.comp_kind.value) == (
        "",
        "",
        "",
    )
    assert not any(c.value for c in inv.parts.actions.children)
    assert form.parts.analyst.value == "Mei Chen"
    # the next parcel starts without the last confirmation
    type_and_investigate(inv, first_of(parcels, "delivered")["international_number"])
    assert inv.saved_message == ""


def test_long_labels_carry_their_full_text_as_a_tooltip(demo_set, store):
    parcels, _, _ = demo_set
    inv = investigator(demo_set, store)
    type_and_investigate(inv, first_of(parcels, "handover_not_synced")["international_number"])
    for box in inv.parts.actions.children:
        assert box.tooltip == box.description and "toolkit-wrap" in box._dom_classes
    assert inv.parts.export_button.tooltip and inv.parts.export_button.layout.width == "auto"


def test_number_card_marks_need_no_emoji_font(demo_set, store):
    inv = investigator(demo_set, store)
    for number in ("LX123456785US", "LX123456784US"):
        inv.parts.number.value = number
        assert "<svg" in inv.parts.parse.value
        assert not re.search("[\U0001f300-\U0001faff\u2600-\u27bf]", inv.parts.parse.value)


@pytest.mark.parametrize(
    ("number", "shown"),
    [
        ("RX478151548DE", "<b>Deutsche Post</b>, or Yanwen (in China: China Post, under the same"),
        ("EE950677712TW", "<b>Chunghwa Post</b> (in China: EMS, under the same number)"),
        ("LX123456785CN", "<b>China Post</b>, or EMS, Cainiao (AliExpress)"),
        ("1Z12345E020527079", "Carrier: <b>UPS</b>"),
        ("ABCDEFGHIJKL", "Carrier: unknown"),
    ],
)
def test_the_number_card_names_carriers_and_the_leg_china_post_delivers(number, shown):
    from toolkit.widgets.html import parse_html

    assert shown in parse_html(parse(number))
