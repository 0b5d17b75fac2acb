"""Partner reports: scope, masking, escaping, questions, and the offline HTML file."""

from __future__ import annotations

import base64
import io
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from report_fixtures import (
    EVIL_ID,
    EVIL_IMG,
    EVIL_LEAKS,
    EVIL_RECIPIENT,
    EVIL_SCRIPT,
    FAKE_KEYS,
    INTERNAL_NOTE,
    run_report_command,
    stuck_demo_ids,
    with_evil_parcel,
)

from toolkit.__main__ import main as cli
from toolkit.errors import FileFormatError, InputError, ToolkitError
from toolkit.model import CARRIERS, CATEGORIES
from toolkit.report import (
    DEFAULT_OUT,
    ROOT,
    build_report,
    check_shareable,
    export_for_partner,
    external_references,
)
from toolkit.report.content import MAX_LANES
from toolkit.report.scope import LANGUAGES, read_selection, select_parcels
from toolkit.report.translations import CATEGORY_LABELS
from toolkit.world import demo

MAX_BYTES = 8 * 1024 * 1024


@pytest.fixture(scope="module")
def demo_set():
    parcels, events = demo.load_demo()
    return parcels, events, pd.Timestamp(parcels["as_of"].iloc[0])


@pytest.fixture(scope="module")
def evil_set(demo_set):
    parcels, events, now = demo_set
    parcels, events = with_evil_parcel(parcels, events)
    return parcels, events, now


def report_text(r) -> str:
    """Everything a report shows: its HTML sections and the JSON of every figure."""
    parts = [
        r.header_html(),
        r.summary_html(),
        r.stuck_html(),
        r.timelines_intro_html(),
        r.unread_html(),
        r.questions_html(),
        r.findings_html(),
    ]
    parts += [f.to_json() for f in r.lane_figures()]
    for pid in r.timeline_parcels():
        parts += [r.timeline(pid).to_json(), r.evidence_html(pid)]
    return "\n".join(parts)


# ------------------------------------------------------------------ scope


def test_carrier_scope_takes_parcels_of_either_leg(demo_set):
    parcels, events, _ = demo_set
    sf = select_parcels(parcels, events, carrier="SF")
    on_sf = (parcels["domestic_carrier"] == "sf") | (parcels["international_carrier"] == "sf")
    scanned = set(events.loc[events["carrier"] == "sf", "parcel_id"])
    expected = set(parcels.loc[on_sf.fillna(False), "parcel_id"]) | scanned
    assert set(sf["parcel_id"]) == expected
    assert len(sf) > 20


def test_since_keeps_parcels_shipped_from_that_date(demo_set):
    parcels, events, _ = demo_set
    out = select_parcels(parcels, events, since="2026-11-10")
    assert len(out) and (out["shipped_at"] >= pd.Timestamp("2026-11-10", tz="UTC")).all()
    later = parcels["shipped_at"] >= pd.Timestamp("2026-11-10", tz="UTC")
    assert len(out) == int(later.sum())


def test_a_period_keeps_parcels_shipped_from_since_up_to_until(demo_set):
    parcels, events, now = demo_set
    start, end = pd.Timestamp("2026-11-05", tz="UTC"), pd.Timestamp("2026-11-10", tz="UTC")
    out = select_parcels(parcels, events, since="2026-11-05", until="2026-11-10")
    inside = parcels["shipped_at"].ge(start) & parcels["shipped_at"].lt(end)
    assert set(out["parcel_id"]) == set(parcels.loc[inside, "parcel_id"]) and len(out) > 10
    assert not (out["shipped_at"] == end).any()  # the end day itself is not included
    only_end = select_parcels(parcels, events, until="2026-11-10")
    assert len(only_end) == int(parcels["shipped_at"].lt(end).sum())
    r = build_report(parcels, events, since="2026-11-05", until="2026-11-10", now=now)
    assert "Parcels shipped since 2026-11-05." in r.header_html()
    assert "Parcels shipped before 2026-11-10." in r.header_html()
    with pytest.raises(InputError, match=r"the period ends \(2026-11-01 00:00 UTC\) before"):
        select_parcels(parcels, events, since="2026-11-05", until="2026-11-01")
    with pytest.raises(InputError, match="--until: cannot read the end date 'later'"):
        select_parcels(parcels, events, until="later")


def test_parcels_are_chosen_by_id_or_by_any_of_their_numbers(demo_set):
    parcels, events, _ = demo_set
    a, b = parcels.iloc[0], parcels[parcels["domestic_number"].notna()].iloc[0]
    out = select_parcels(
        parcels,
        events,
        parcel_ids=[a["parcel_id"], " " + b["domestic_number"].lower() + " "],
    )
    assert set(out["parcel_id"]) == {a["parcel_id"], b["parcel_id"]}


def test_unknown_parcels_are_named_not_dropped(demo_set):
    parcels, events, _ = demo_set
    with pytest.raises(InputError, match=r"2 parcel\(s\) are not in the parcels table.*'NOPE1'"):
        select_parcels(parcels, events, parcel_ids=[parcels["parcel_id"].iloc[0], "NOPE1", "X2"])


def test_bad_carrier_date_and_empty_scope_are_toolkit_errors(demo_set):
    parcels, events, _ = demo_set
    with pytest.raises(InputError, match="unknown carrier 'fedx'"):
        select_parcels(parcels, events, carrier="fedx")
    with pytest.raises(InputError, match="cannot read the start date"):
        select_parcels(parcels, events, since="last tuesday")
    with pytest.raises(InputError, match="no parcel matches carrier sf, shipped since 2030"):
        select_parcels(parcels, events, carrier="sf", since="2030-01-01")


@pytest.fixture
def findings_store(demo_set, tmp_path):
    """A store with an open customs finding on two parcels (one on SF), a resolved one on a
    third, and an open finding on a fourth by another analyst; (url, parcel ids)."""
    from toolkit.findings.store import FindingsStore

    parcels, _, _ = demo_set
    on_sf = parcels["domestic_carrier"].eq("sf").fillna(False)
    a = parcels[on_sf].iloc[0]["parcel_id"]
    b, c, d = parcels[~on_sf]["parcel_id"].iloc[:3]
    url = f"sqlite:///{tmp_path / 'findings.sqlite'}"
    with FindingsStore(url) as store:
        store.add([a, b], category="customs_hold", analyst="ana", notes="held for inspection")
        store.add(
            [c],
            category="customs_hold",
            analyst="ana",
            status="resolved",
            notes="released on appeal",
        )
        store.add([d], category="number_invalid", analyst="bo", notes="typo in the number")
    return url, (a, b, c, d)


def test_findings_filter_chooses_the_parcels_of_matching_findings(demo_set, findings_store):
    parcels, events, _ = demo_set
    url, (a, b, c, d) = findings_store

    def chosen(**options):
        return set(select_parcels(parcels, events, findings_url=url, **options)["parcel_id"])

    assert chosen(findings_filter={"status": "open"}) == {a, b, d}
    assert chosen(findings_filter={"category": "customs_hold"}) == {a, b, c}
    assert chosen(findings_filter={"category": "customs_hold", "status": ["open"]}) == {a, b}
    assert chosen(findings_filter={"analyst": "bo"}) == {d}
    assert chosen(findings_filter={"status": ["open", "resolved"], "analyst": ""}) == {a, b, c, d}
    # Every filter narrows: the carrier and the findings together.
    assert chosen(carrier="sf", findings_filter={"status": "open"}) == {a}
    # An empty filter is no filter.
    assert len(chosen(findings_filter={})) == len(parcels)


def test_findings_filter_problems_say_what_to_do(demo_set, findings_store):
    parcels, events, _ = demo_set
    url, _ = findings_store

    def select(wanted, store=url):
        return select_parcels(parcels, events, findings_filter=wanted, findings_url=store)

    with pytest.raises(InputError, match=r"unknown findings filter key\(s\): colour.*Use status"):
        select({"colour": "red"})
    with pytest.raises(InputError, match=r"status 'opn' is not one of the known values.*open"):
        select({"status": "opn"})
    with pytest.raises(InputError, match="no recorded finding matches status waiting"):
        select({"status": "waiting"})
    with pytest.raises(InputError, match="no parcel matches carrier sf, findings with analyst bo"):
        select_parcels(
            parcels, events, carrier="sf", findings_filter={"analyst": "bo"}, findings_url=url
        )
    with pytest.raises(InputError, match="is not a mapping"):
        select("status=open")
    with pytest.raises(
        InputError, match=r"findings filter since.*cannot read the start date 'soon'"
    ):
        select({"since": "soon"})


def test_report_by_findings_lists_only_those_findings(demo_set, findings_store):
    parcels, events, now = demo_set
    url, (a, b, c, d) = findings_store
    r = build_report(
        parcels,
        events,
        now=now,
        findings_url=url,
        findings_filter={"category": "customs_hold", "analyst": "ana"},
    )
    assert set(r.parcels["parcel_id"]) == {a, b, c}
    header = r.header_html()
    assert "Parcels with a recorded finding (category customs_hold)." in header
    assert "ana" not in header  # who recorded it stays in the team
    table = html_table(r.findings_html())
    assert sorted(table["Notes"]) == ["held for inspection", "released on appeal"]
    # what a partner reads: situations and statuses in words, times to the minute
    assert set(table["Situation"]) == {"Held by customs"}
    assert set(table["Status"]) == {"Open", "Resolved"}
    assert table["Updated (UTC)"].str.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}").all()
    zh = build_report(
        parcels, events, now=now, findings_url=url, findings_filter={"analyst": "bo"}, language="zh"
    )
    assert set(zh.parcels["parcel_id"]) == {d}
    assert "有已记录调查结果的包裹。" in zh.header_html() and "bo" not in zh.header_html()
    held = build_report(
        parcels, events, now=now, findings_url=url, findings_filter={"category": "customs_hold"},
        language="zh",
    )  # fmt: skip
    assert "有已记录调查结果（诊断 海关扣留）的包裹。" in held.header_html()
    found = html_table(zh.findings_html())
    assert {"包裹", "诊断", "状态", "备注"} <= set(found.columns)
    assert set(found["状态"]) <= {"处理中", "等待答复", "已解决"} and len(found) == 1


def test_selection_file_as_text_csv_or_parquet(tmp_path, demo_set):
    parcels, _, _ = demo_set
    text = tmp_path / "ids.txt"
    text.write_text("# complaints of Monday\nP0000001\n\nP0000002, P0000003\nP0000001\n")
    assert read_selection(text) == ["P0000001", "P0000002", "P0000003"]
    csv = tmp_path / "export.csv"
    parcels.head(3).to_csv(csv, index=False)
    assert read_selection(csv) == parcels["parcel_id"].head(3).tolist()
    numbers = tmp_path / "numbers.parquet"
    parcels[["international_number"]].head(2).to_parquet(numbers)
    assert read_selection(numbers) == parcels["international_number"].head(2).tolist()


def test_selection_file_problems_say_what_to_do(tmp_path):
    with pytest.raises(FileFormatError, match="does not exist"):
        read_selection(tmp_path / "missing.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing yet\n\n")
    with pytest.raises(InputError, match="names no parcel"):
        read_selection(empty)
    odd = tmp_path / "odd.csv"
    odd.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="no column 'parcel_id'"):
        read_selection(odd)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.from_regex(r"[A-Z]{2}[0-9]{6,12}[A-Z]{0,2}", fullmatch=True), max_size=15),
    st.lists(st.sampled_from(["", "# note", "   "]), max_size=5),
)
def test_selection_text_reads_back_every_id_once(tmp_path_factory, ids, noise):
    path = tmp_path_factory.mktemp("sel") / "ids.txt"
    lines = [*noise, *ids, *ids[:2]]
    path.write_text("\n".join(lines), encoding="utf-8")
    if not ids:
        with pytest.raises(InputError):
            read_selection(path)
    else:
        assert read_selection(path) == list(dict.fromkeys(ids))


# ------------------------------------------------------------------ content


@pytest.fixture(scope="module")
def sf_report(demo_set):
    parcels, events, now = demo_set
    return build_report(parcels, events, carrier="sf", now=now)


def test_questions_are_only_those_addressed_to_the_carrier(sf_report):
    q = sf_report.questions
    assert len(q) > 5
    assert set(q["to"]) <= {"domestic carrier SF Express", "international provider SF Express"}
    # SF asks for the recipient phone's last four digits: they are given, nothing more.
    assert q["facts"].str.contains(r"last four digits: \d{4}").any()
    assert not q["facts"].str.contains(r"(?<![0-9A-Z])1[3-9]\d{9}(?!\d)").any()


class _Cells(HTMLParser):
    """Rows of the first table of a page as lists of cell texts, the header first."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    @classmethod
    def rows_of(cls, page: str) -> list[list[str]]:
        parser = cls()
        parser.feed(page)
        return parser.rows


def html_table(page: str) -> pd.DataFrame:
    parser = _Cells()
    parser.feed(page)
    head, *rows = parser.rows
    return pd.DataFrame(rows, columns=head)


def test_requests_download_as_a_spreadsheet_with_numbers_and_an_answer_column(sf_report):
    link = re.search(
        r'<a class="questions-csv" download="(questions-sf-20261120\.csv)" '
        r'href="data:text/csv;charset=utf-8;base64,([A-Za-z0-9+/=]+)">',
        sf_report.questions_html(),
    )
    assert link, "no spreadsheet link in the questions section"
    raw = base64.b64decode(link.group(2))
    assert raw.startswith(b"\xef\xbb\xbf")
    sheet = pd.read_csv(io.BytesIO(raw), dtype=str, encoding="utf-8-sig", keep_default_na=False)
    q = sf_report.questions
    assert list(sheet.columns) == [
        "Parcel", "International number", "Domestic number", "Request", "Facts", "Answer",
    ]  # fmt: skip
    assert sheet["Parcel"].tolist() == q["parcel_id"].tolist()
    assert sheet["Request"].tolist() == q["question"].tolist()
    assert set(sheet["Answer"]) == {""}
    # SF needs its own waybill number: every row has one, also where only a scan linked it
    assert sheet["Domestic number"].str.startswith("SF").all()
    assert not sheet["Facts"].str.contains(r"(?<![0-9A-Z])1[3-9]\d{9}(?!\d)").any()


UNREAD_ASK = "What does the scan text"


def test_a_carrier_is_asked_what_the_scan_texts_nobody_can_read_mean(demo_set, sf_report):
    parcels, events, now = demo_set
    r = build_report(parcels, events, carrier="dhl", now=now)
    section = r.unread_html()
    assert 'id="unread-texts"' in section and 'href="#unread-texts"' in r.contents_html()
    table = html_table(section[section.index("<table") :])
    assert list(table.columns) == [
        "Scan text",
        "Scans",
        "Parcels",
        "For example",
        "Last seen (UTC)",
    ]
    scans = table["Scans"].astype(int)
    assert scans.is_monotonic_decreasing  # most scans first
    # counted over DHL's scans of the parcels in the report, as written
    text = "Forward destination (DD's expected)"
    own = events[events["parcel_id"].isin(r.parcels["parcel_id"]) & events["carrier"].eq("dhl")]
    row = table[table["Scan text"] == text].iloc[0]
    assert int(row["Scans"]) == int(own["description"].eq(text).sum()) > 10
    example, number = row["For example"].split(" · ")
    scan = own[own["parcel_id"].eq(example) & own["description"].eq(text)].iloc[0]
    assert number == scan["tracking_number"]
    assert row["Last seen (UTC)"] == (
        f"{own.loc[own['description'].eq(text), 'time_utc'].max():%Y-%m-%d %H:%M}"
    )
    # only DHL's texts: another carrier's unread text is not DHL's to explain
    assert "已收货" not in set(table["Scan text"])  # YunExpress writes it
    # each text is a request, with the example parcel's numbers and an answer column
    sheet = r.questions_table()
    asked = sheet[sheet["Request"].str.startswith(UNREAD_ASK)]
    assert len(asked) == len(table)
    first = asked[asked["Request"].str.contains(text, regex=False)].iloc[0]
    assert first["Parcel"] == example and first["International number"] == number
    assert f"seen on {int(row['Scans'])} scans of {int(row['Parcels'])} parcels" in first["Facts"]
    assert first["Answer"] == ""
    assert UNREAD_ASK in r.questions_html()
    # a carrier whose texts all read is asked nothing of the kind, and shown no such section
    assert sf_report.unread_html() == "" and "unread-texts" not in sf_report.contents_html()
    assert not sf_report.questions["question"].str.startswith(UNREAD_ASK).any()


def test_unread_texts_are_escaped_masked_and_the_rest_summed_up(demo_set, monkeypatch):
    from toolkit.report import content

    parcels, events, now = demo_set
    pid = parcels.loc[parcels["international_carrier"].eq("dhl"), "parcel_id"].iloc[0]
    scan = events[events["parcel_id"].eq(pid)].iloc[[0]]
    odd = {EVIL_IMG + " Qqqq 13912345678": 60, "Wwww yyyy": 2}  # text: scans
    extra = pd.concat(
        [scan.assign(description=t, carrier="dhl") for t, n in odd.items() for _ in range(n)]
    )
    events = pd.concat([events, extra.astype(events.dtypes.to_dict())], ignore_index=True)
    monkeypatch.setattr(content, "MAX_UNREAD", 2)
    r = build_report(parcels, events, carrier="dhl", now=now)
    page = r.unread_html() + r.questions_html() + r.questions_table().to_csv()
    assert EVIL_IMG not in page and "13912345678" not in page
    assert "&lt;img src=x onerror=" in r.unread_html() and "139****5678" in r.unread_html()
    table = html_table(r.unread_html()[r.unread_html().index("<table") :])
    texts, total = r.unread_total
    assert len(table) == 2 and texts > 2
    rest = total - table["Scans"].astype(int).sum()
    assert (
        f"The 2 texts seen on the most scans are listed; {texts - 2} more are seen on {rest} "
        "scans." in r.unread_html()
    )
    assert r.questions["question"].str.startswith(UNREAD_ASK).sum() == 2


def test_chinese_report_asks_what_a_scan_text_means_in_chinese(zh_report):
    section = zh_report.unread_html()
    assert "无法识别的扫描描述" in section and "扫描数" in section
    table = html_table(section[section.index("<table") :])
    assert table.columns[0] == "承运商" and "云途物流" in set(table["承运商"])
    asked = zh_report.questions[zh_report.questions["question"].str.startswith("扫描描述")]
    assert len(asked) == len(table)
    assert "扫描描述“已收货”是什么意思？" in asked["question"].iloc[0]


def test_stuck_table_lists_every_parcel_needing_action(sf_report):
    table = html_table(sf_report.stuck_html())
    stuck = sf_report.diagnoses[
        ~sf_report.diagnoses["category"].astype(str).isin(["delivered", "moving"])
    ]
    assert sorted(table["Parcel"]) == sorted(stuck["parcel_id"])
    assert table["Evidence"].str.len().min() > 10


def html_tables(page: str) -> list[pd.DataFrame]:
    """Every table of a page, in order."""
    return [html_table(part) for part in re.split(r"(?=<table)", page) if part.startswith("<table")]


def tables_of(r) -> list[pd.DataFrame]:
    return html_tables(r.stuck_html())


@pytest.fixture(scope="module")
def all_report(demo_set):
    parcels, events, now = demo_set
    return build_report(parcels, events, now=now)


def test_contents_link_to_every_section_and_one_entry_per_carrier(all_report):
    r = all_report
    contents = r.contents_html()
    sections = (r.summary_html, r.lanes_html, r.stuck_html, r.timelines_intro_html)
    sections += (r.unread_html, r.questions_html, r.findings_html)
    page = "\n".join([r.header_html(), contents, *(f() for f in sections)])
    links = re.findall(r'href="#([^"]+)"', contents)
    ids = re.findall(r'id="([^"]+)"', page)
    assert links and set(links) <= set(ids)
    assert {"summary", "lanes", "need-action", "questions", "findings"} <= set(links)
    assert "unread-texts" in links  # the demo's carriers write texts the reader cannot read
    # one contents entry per carrier section, in the sections' order, with their counts
    sections = re.findall(r'<h3 id="(carrier-[^"]+)">([^<]+)</h3>', r.stuck_html())
    carrier_links = [x for x in links if x.startswith("carrier-")]
    assert carrier_links == [anchor for anchor, _ in sections]
    stuck = r.stuck.merge(r.parcels[["parcel_id", "international_carrier"]], on="parcel_id")
    assert len(sections) == stuck["international_carrier"].nunique() > 5
    first = sections[0][1]  # the carrier with the most parcels needing action comes first
    assert f"{first.split(' (')[0]}: {len(tables_of(r)[0])} parcels need action" in contents
    # each section lists exactly the parcels of its carrier; together, every parcel once
    tables = tables_of(r)
    assert len(tables) == len(sections)
    listed = [pid for t in tables for pid in t["Parcel"]]
    assert sorted(listed) == sorted(r.stuck["parcel_id"])
    for (_, heading), table in zip(sections, tables, strict=True):
        assert heading.endswith(f"({len(table):,} parcels)")
        carriers = {n.split(" · ")[-1] for n in table["International number"]}
        assert len(carriers) == 1 and heading.startswith(carriers.pop())


def test_a_carrier_report_lists_its_parcels_in_one_section(sf_report):
    assert len(sf_report.carrier_sections()) == 1
    assert "<h3" not in sf_report.stuck_html()
    assert len(html_tables(sf_report.stuck_html())) == 1


def test_lane_charts_show_the_top_lanes_and_sum_up_the_rest_in_a_sentence(all_report):
    r = all_report
    lanes = r.parcels["lane"].value_counts()
    assert len(lanes) > MAX_LANES  # the demo set has more lanes than the charts draw
    top = set(lanes.index[:MAX_LANES])
    outcomes, heatmap = r.lane_figures()[:2]
    drawn = {y for t in outcomes.data for y in t.y}
    assert drawn == top and not any("other" in y for y in drawn)
    assert set(heatmap.data[0].x) <= top  # every heatmap column is a named top lane
    note = re.search(r'<p class="report-lanes-note">([^<]+)</p>', r.lanes_html()).group(1)
    rest = r.parcels[~r.parcels["lane"].isin(top)]
    rest_stuck = rest["parcel_id"].isin(set(r.stuck["parcel_id"])).sum()
    assert note == (
        f"The charts show the {MAX_LANES} lanes with the most parcels "
        f"({len(r.parcels) - len(rest):,} of {len(r.parcels):,} parcels). "
        f"The other {len(lanes) - MAX_LANES} lanes carry {len(rest):,} parcels, "
        f"{rest_stuck:,} of which need action; the table of parcels that need action lists "
        "them all."
    )


def test_tables_say_situations_in_words_and_times_to_the_minute(all_report):
    r = all_report
    minute = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}"
    labels = set(CATEGORY_LABELS["en"].values())
    stuck = pd.concat(html_tables(r.stuck_html()))
    assert set(stuck["Situation"]) <= labels
    scanned = stuck["Last scan"][stuck["Last scan"] != ""]  # parcels with no scan have none
    assert len(scanned) > 100
    assert scanned.str.match(minute + r" [A-Z]").all()  # no seconds, no offset
    assert not scanned.str.match(r"\S*T\d\d:").any()
    names = {c.name for c in CARRIERS.values()}
    evidence = pd.concat(
        html_table(r.evidence_html(pid).split("</p>", 1)[1])
        for pid in r.timeline_parcels()
        if "<table" in r.evidence_html(pid)
    )
    assert evidence["Time (local)"].str.fullmatch(minute).all()
    assert not evidence["Milestone"].str.contains("_").any()
    assert set(evidence["Carrier"]) <= names


def test_a_parcels_domestic_number_is_the_same_in_every_table(demo_set, sf_report):
    parcels, _, _ = demo_set
    r = sf_report
    stuck = pd.concat(html_tables(r.stuck_html())).set_index("Parcel")
    requests = r.questions_table().set_index("Parcel")
    both = requests.index.intersection(stuck.index).unique()
    assert len(both) > 5
    for pid in both:
        given = set(requests.loc[[pid], "Domestic number"].dropna()) - {""}
        shown = stuck.loc[pid, "Domestic number"].split(" · ")[0]
        assert given <= {shown}, (pid, given, shown)
    # including parcels whose number only a handover scan names
    unknown = set(parcels.loc[parcels["domestic_number"].isna(), "parcel_id"])
    linked = [p for p in both if p in unknown and stuck.loc[p, "Domestic number"].startswith("SF")]
    assert linked


@pytest.fixture(scope="module")
def zh_report(demo_set):
    parcels, events, now = demo_set
    return build_report(parcels, events, now=now, language="zh")


def test_chinese_report_names_carriers_in_chinese(demo_set, zh_report):
    parcels, events, now = demo_set
    zh = zh_report
    contents = zh.contents_html()
    assert "美国邮政：" in contents and "USPS：" not in contents
    assert (
        '<h3 id="carrier-2-usps">美国邮政（' in zh.stuck_html() or "美国邮政（" in zh.stuck_html()
    )
    stuck = pd.concat(html_tables(zh.stuck_html()))
    assert stuck["国际单号"].str.endswith(("邮政", "快递", "物流", "DHL", "UPS", "EMS")).all()
    assert zh.questions["to"].str.contains("美国邮政").any()
    assert not zh.questions["to"].str.contains("USPS|Royal Mail").any()
    sf = build_report(parcels, events, carrier="sf", now=now, language="zh")
    assert sf.title() == "无物流信息包裹：顺丰速运报告"
    assert "SF Express" not in sf.header_html()


def test_personal_data_is_masked_everywhere_in_the_content(demo_set, sf_report):
    parcels, _, _ = demo_set
    text = report_text(sf_report)
    mine = parcels[parcels["parcel_id"].isin(sf_report.parcels["parcel_id"])]
    for phone in mine["recipient_phone"].dropna():
        assert phone not in text
    # Parcels needing action show their recipient masked, as a carrier may need it.
    stuck = mine[mine["parcel_id"].isin(sf_report.stuck["parcel_id"])]
    for phone in stuck["recipient_phone"].dropna():
        assert f"{phone[:3]}****{phone[-4:]}" in text
    for address in mine["recipient_address"].dropna():
        assert address not in text
    names = mine["recipient_name"].dropna()
    assert not any(f"· {n} ·" in text or f">{n} ·" in text for n in names)
    assert "recipient_phone" not in sf_report.parcels.columns


def test_carrier_text_is_escaped_and_phone_numbers_in_it_masked(evil_set):
    parcels, events, now = evil_set
    r = build_report(parcels, events, parcel_ids=[EVIL_ID], now=now)
    text = report_text(r)
    assert EVIL_SCRIPT not in text and EVIL_IMG not in text
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in r.summary_html()
    assert "&lt;img src=x onerror=" in r.evidence_html(EVIL_ID)
    assert EVIL_RECIPIENT["recipient_phone"] not in text
    assert "139****5678" in text
    for value in (*EVIL_RECIPIENT.values(), *EVIL_LEAKS):
        assert value not in text
    # The carrier's own words about the recipient stay readable, masked.
    assert "收件人欧**，电话 139****5678，派送至****，签收人：李**" in r.evidence_html(EVIL_ID)


@pytest.mark.parametrize("category", [str(c) for c in CATEGORIES])
def test_a_report_on_one_parcel_is_that_parcels_page(demo_set, category):
    # What "Export for partner" does for the parcel on screen, whatever its situation.
    parcels, events, now = demo_set
    pid = parcels.loc[parcels["true_category"] == category, "parcel_id"].iloc[0]
    for language in LANGUAGES:
        r = build_report(parcels, events, parcel_ids=[pid], now=now, language=language)
        text = report_text(r)  # every section renders
        header = r.header_html()
        assert r.title().startswith(("Parcel " if language == "en" else "包裹 ") + pid)
        for group_words in ("all carriers", "所有承运商", "The 1 parcels", "1 个包裹"):
            assert group_words not in header
        # no group charts, no contents, no table of parcels: the parcel's own page
        assert r.lane_figures() == [] and r.lanes_html() == ""
        assert r.contents_html() == "" and r.stuck_html() == ""
        facts = dict(row for row in _Cells.rows_of(r.summary_html()))
        situation = "Situation" if language == "en" else "状态"
        assert facts[situation] == r.category_label(category)
        assert facts["Parcel" if language == "en" else "包裹"] == pid
        assert ("Expected delivery" if language == "en" else "预计送达") in facts
        if (events["parcel_id"] == pid).any():
            assert r.timeline_parcels() == [pid]
            assert r.timeline(pid).data
            assert ("Timeline" if language == "en" else "物流轨迹") in text


def test_report_and_widgets_colour_each_category_alike(all_report):
    from toolkit.plots import CATEGORY_COLORS, ageing_histogram

    by_category = all_report.lane_figures()[0]
    shown = {t.name: t.marker.color for t in by_category.data if t.type == "bar"}
    assert shown, "the lane chart has no bars by category"
    for category, colour in CATEGORY_COLORS.items():
        label = all_report.category_label(category)
        if label in shown:
            assert shown[label] == colour, category
    ageing = ageing_histogram(all_report.diagnoses)  # as the triage widget draws it
    assert {t.marker.color for t in ageing.data} <= set(CATEGORY_COLORS.values())


def test_chinese_report_labels(demo_set):
    parcels, events, now = demo_set
    r = build_report(parcels, events, carrier="yto", now=now, language="zh")
    assert "需处理的包裹" in r.stuck_html()
    assert "无物流信息包裹" in r.header_html()
    with pytest.raises(InputError, match="unknown report language 'fr'"):
        build_report(parcels, events, carrier="yto", now=now, language="fr")


def figure_words(fig) -> list[str]:
    """What a reader of a figure sees besides its data: titles, legend, notes, labels."""
    layout = fig.layout
    texts = [layout.legend.title.text if layout.legend and layout.legend.title else None]
    for axis in (layout.xaxis, layout.yaxis):
        texts += [axis.title.text if axis.title else None, *(axis.categoryarray or ())]
    texts += [a.text for a in layout.annotations or ()]
    for trace in fig.data:
        texts += [trace.name, trace.hovertemplate]
        if trace.type in ("box", "bar", "scatter"):
            values = [*(() if trace.x is None else trace.x), *(() if trace.y is None else trace.y)]
            texts += [v for v in values if isinstance(v, str)]
        if getattr(trace, "colorbar", None) is not None and trace.colorbar.title:
            texts.append(trace.colorbar.title.text)
    plain = [re.sub(r"<[^>]+>|%\{[^}]*\}", " ", t) for t in texts if isinstance(t, str)]
    return [w for t in plain for w in re.findall(r"\b[A-Za-z]{3,}\b", t)]


def test_chinese_report_figures_speak_chinese(demo_set):
    from toolkit.model import CARRIERS

    parcels, events, now = demo_set
    r = build_report(parcels, events, carrier="sf", now=now, language="zh", demo=True)
    figures = r.lane_figures() + [r.timeline(pid) for pid in r.timeline_parcels()]
    names = {w for c in CARRIERS.values() for w in re.findall(r"[A-Za-z]+", c.name)}
    allowed = set(CARRIERS) | names | {"UTC"}  # carriers' own names (DHL, UPS) stay
    english = {w for f in figures for w in figure_words(f)} - allowed
    assert not english, english
    # the same figures in English do have words to translate: the check can fail
    en = build_report(parcels, events, carrier="sf", now=now, demo=True)
    assert {w for f in en.lane_figures() for w in figure_words(f)} - allowed
    # renamed lanes and stages keep their order
    timeline = figures[-1]
    lanes = {y for t in timeline.data if t.type == "scatter" and t.y is not None for y in t.y}
    assert set(timeline.layout.yaxis.categoryarray) >= lanes - {None}
    dwell = figures[3]
    assert list(dwell.layout.xaxis.categoryarray) == list(dwell.data[0].x)


def test_chinese_report_asks_and_explains_in_chinese(zh_report, all_report):
    zh, en = zh_report, all_report
    english_word = r"\b[a-z]{3,}\b"  # tracking numbers and carrier names are not lower case
    assert len(zh.questions) == len(en.questions) > 100
    # the carrier's own words quoted in a request (“…”) stay as written
    asked = zh.questions["question"].str.replace(r"“[^”]*”", "", regex=True)
    assert not asked.str.contains(english_word).any()
    assert not zh.questions["facts"].str.contains(english_word).any()
    assert zh.questions["to"].str.startswith(("国际承运商 ", "国内承运商 ")).all()
    assert zh.evidence_text.index.equals(en.evidence_text.index)
    assert not zh.evidence_text.str.contains(english_word).any()
    # the same facts in both: dates and numbers carry over
    digits = r"\d{4}-\d{2}-\d{2}|[A-Z0-9]{10,}"
    for a, b in zip(zh.evidence_text, en.evidence_text, strict=True):
        assert set(re.findall(digits, a)) == set(re.findall(digits, b)), (a, b)
    sample = zh.questions.drop_duplicates("question").head(3)["question"]
    assert sample.str.contains("请").all()
    table = zh.questions_table()
    assert list(table.columns) == ["包裹", "国际单号", "国内单号", "对象", "请求", "信息", "答复"]
    held = zh.stuck[zh.stuck["category"].astype(str) == "customs_hold"]["parcel_id"].iloc[0]
    rows = html_table(zh.evidence_html(held).split("</p>", 1)[1])
    assert set(rows["节点"]) == {"海关扣留"}


# ------------------------------------------------------------------ offline checks


def test_external_references_finds_what_a_page_would_load():
    page = (
        '<html><head><script src="https://cdn.example.com/require.js"></script>'
        '<link rel="stylesheet" href="//fonts.example.com/css">'
        "<style>/* see https://example.com */ @font-face {src: url(https://f.example/x.woff)}"
        '</style></head><body><img src="data:image/png;base64,AAAA"><a href="#top">top</a>'
        '<script>var s = "<img src=\\"https://in.a.string/\\">";</script>'
        '<script type="module">await import("https://cdn.example.com/m.mjs")</script>'
        "</body></html>"
    )
    assert external_references(page) == [
        "https://cdn.example.com/require.js",
        "//fonts.example.com/css",
        "https://f.example/x.woff",
        "https://cdn.example.com/m.mjs",
    ]


def test_a_page_with_a_path_or_key_is_refused_without_printing_the_key():
    with pytest.raises(ToolkitError, match="API key 1") as caught:
        check_shareable("<p>FAKE17KEY-5c2e9a0b7d</p>", {"API key 1": "FAKE17KEY-5c2e9a0b7d"})
    assert "FAKE17KEY" not in str(caught.value)
    with pytest.raises(ToolkitError, match=r"reference to https://x\.example/a\.js"):
        check_shareable('<script src="https://x.example/a.js"></script>', {})


def _chart_page(hover: str) -> str:
    """A page with one chart whose only hover text is this, written as plotly writes it."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=[1], y=[1], hovertext=[hover]))
    return fig.to_html(include_plotlyjs=False, full_html=True)


def test_a_key_or_path_only_in_a_charts_hover_text_is_refused():
    # plotly writes "/" as \u002f in the figure JSON: the check reads what the browser reads
    key = "FAKE/17KEY/5c2e9a0b7d"
    page = _chart_page(f"scan text with {key} in it")
    assert key not in page
    with pytest.raises(ToolkitError, match="API key 1") as caught:
        check_shareable(page, {"API key 1": key})
    assert key not in str(caught.value)
    with pytest.raises(ToolkitError, match="home folder"):
        check_shareable(
            _chart_page("/home/ana/data/parcels.csv"), {"the home folder's path": "/home/ana/"}
        )
    # character references and percent-escapes in attributes are decoded too
    with pytest.raises(ToolkitError, match="temporary folder"):
        check_shareable(
            '<a title="&#x2f;tmp&#47;toolkit-report-x">x</a>',
            {"the temporary folder's path": "/tmp/toolkit-report-x"},
        )
    with pytest.raises(ToolkitError, match="temporary folder"):
        check_shareable(
            '<a href="#%2Ftmp%2Ftoolkit-report-x">x</a>',
            {"the temporary folder's path": "/tmp/toolkit-report-x"},
        )


RECIPIENTS = pd.DataFrame(
    {
        "parcel_id": ["P1", "P2"],
        "recipient_name": ["张伟", "Maria Schmidt"],
        "recipient_phone": ["+86 138-1234-5678", "0755 8888 1234"],
        "recipient_address": ["广东省深圳市南山区科技园路8栋1203室", None],
    }
)


@pytest.mark.parametrize(
    ("text", "who"),
    [
        ("签收人 張偉", "name of parcel P1"),  # traditional characters
        ("delivered to ZHANG WEI", "name of parcel P1"),  # pinyin, any case
        ("delivered to Wei Zhang", "name of parcel P1"),  # pinyin, given name first
        ("call maria  schmidt", "name of parcel P2"),
        ("电话 +86 138 1234 5678", "phone of parcel P1"),
        ("电话 0086-13812345678", "phone of parcel P1"),
        ("电话 １３８．１２３４．５６７８", "phone of parcel P1"),  # full-width, dots
        ("电话 138\u200b1234\u200b5678", "phone of parcel P1"),  # zero-width spaces
        ("tel (0755) 8888-1234", "phone of parcel P2"),
        ("tel +86 755 88881234", "phone of parcel P2"),
        ("地址 南山区科技园路８栋１２０３室", "address of parcel P1"),  # full-width digits
        ("地址 南山区科技园路8栋1203&#23460;", "address of parcel P1"),  # a character reference
    ],
)
def test_recipient_data_in_any_common_spelling_is_refused(text, who):
    from toolkit.report import personal_data

    personal = personal_data(RECIPIENTS)
    with pytest.raises(ToolkitError, match=f"the recipient {who}") as caught:
        check_shareable(f"<p>{text}</p>", {}, personal)
    for value in ("张伟", "13812345678", "1203", "Schmidt"):
        assert value not in str(caught.value)
    with pytest.raises(ToolkitError, match=f"the recipient {who}"):  # inside a chart's JSON
        check_shareable(_chart_page(text), {}, personal)


def test_a_place_that_spells_a_recipients_name_passes_the_check():
    from toolkit.report import personal_data

    personal = personal_data(pd.DataFrame({"parcel_id": ["P3"], "recipient_name": ["董英"]}))
    check_shareable("<p>Arrived at DONGYING sorting center</p>", {}, personal)
    with pytest.raises(ToolkitError, match="recipient name of parcel P3"):
        check_shareable("<p>Left with Dong Ying</p>", {}, personal)


def test_masked_recipient_data_and_ordinary_numbers_pass_the_check():
    from toolkit.report import personal_data

    page = _chart_page(
        "签收人：张* 电话 138****5678 广东省深圳市**** 2026-11-02 13:40 SF1234567890123"
    )
    page += "<p>Maria S* called; 12 parcels, 1.5 days, id 9913812345678, 75588881234567</p>"
    check_shareable(page, {}, personal_data(RECIPIENTS))


# ------------------------------------------------------------------ rendered files


@pytest.fixture(scope="module")
def exported(evil_set, tmp_path_factory):
    """A partner export of a few troubled parcels and the evil one, with keys set and a finding."""
    from toolkit.findings.store import FindingsStore

    parcels, events, now = evil_set
    tmp = tmp_path_factory.mktemp("export")
    url = f"sqlite:///{tmp / 'findings.sqlite'}"
    with FindingsStore(url) as store:
        store.add(
            [EVIL_ID],
            category="customs_hold",
            analyst="ana",
            notes=f"Asked the provider; buyer {EVIL_RECIPIENT['recipient_phone']} informed",
            internal_notes=INTERNAL_NOTE,
        )
    ids = [EVIL_ID, *stuck_demo_ids(parcels)]
    with pytest.MonkeyPatch.context() as mp:
        for name, value in FAKE_KEYS.items():
            mp.setenv(name, value)
        path = export_for_partner(ids, parcels, events, tmp / "out", now=now, findings_url=url)
    return path, ids, url


@pytest.mark.slow
def test_export_writes_one_offline_html_file(exported):
    path, _, _ = exported
    assert path.parent.name == "out" and path.suffix == ".html"
    assert list(path.parent.iterdir()) == [path]
    page = path.read_text(encoding="utf-8")
    assert path.stat().st_size < MAX_BYTES
    assert external_references(page) == []
    assert not re.search(r"<(?:script|link|img|iframe)\b[^>]*(?:src|href)=\"https?://", page)
    # plotly.js is inline exactly once, and every chart is embedded.
    assert page.count("* plotly.js v") == 1
    assert page.count('class="plotly-graph-div"') >= 4
    assert "require.min.js" not in page and "MathJax.js" not in page


@pytest.mark.slow
def test_export_hides_code_parameters_paths_keys_and_internal_notes(exported):
    path, _, url = exported
    page = path.read_text(encoding="utf-8")
    assert "report.load(" not in page and "setup_notebook" not in page
    assert "parcels_path" not in page and "findings_url" not in page
    assert str(ROOT) not in page and str(Path.home()) + "/" not in page
    assert "/tmp/" not in page and url not in page and "toolkit-report-" not in page
    for value in FAKE_KEYS.values():
        assert value not in page
    assert INTERNAL_NOTE not in page and "INTERNAL-ONLY" not in page
    # The finding itself is there, with the buyer's phone masked.
    assert "Asked the provider; buyer 139****5678 informed" in page


@pytest.mark.slow
def test_export_masks_recipients_and_escapes_carrier_text(exported, evil_set):
    path, ids, _ = exported
    parcels, _, _ = evil_set
    page = path.read_text(encoding="utf-8")
    mine = parcels[parcels["parcel_id"].isin(ids)]
    assert len(mine) == len(ids)
    for col in ("recipient_name", "recipient_phone", "recipient_address"):
        for value in mine[col].dropna():
            assert value not in page, f"{col} {value!r} reached the report"
    for leak in EVIL_LEAKS:  # the same, as the carrier wrote it in its scans
        assert leak not in page
    assert EVIL_SCRIPT not in page and EVIL_IMG not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    for pid in ids:
        assert pid in page


@pytest.fixture(scope="module")
def exported_one(evil_set, tmp_path_factory):
    """The partner export of the evil parcel alone, with keys set and its finding recorded."""
    from toolkit.findings.store import FindingsStore

    parcels, events, now = evil_set
    tmp = tmp_path_factory.mktemp("export-one")
    url = f"sqlite:///{tmp / 'findings.sqlite'}"
    with FindingsStore(url) as store:
        store.add(
            [EVIL_ID],
            category="customs_hold",
            analyst="ana",
            notes="Asked the provider for the release documents",
            internal_notes=INTERNAL_NOTE,
        )
    with pytest.MonkeyPatch.context() as mp:
        for name, value in FAKE_KEYS.items():
            mp.setenv(name, value)
        return export_for_partner(
            [EVIL_ID], parcels, events, tmp / "out", now=now, findings_url=url
        )


@pytest.mark.slow
def test_export_of_one_parcel_is_that_parcels_page(exported_one, evil_set):
    parcels, _, _ = evil_set
    page = exported_one.read_text(encoding="utf-8")
    assert exported_one.name.startswith(f"partner-report-{EVIL_ID}-")
    carrier = CARRIERS[parcels.set_index("parcel_id").loc[EVIL_ID, "international_carrier"]]
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1).strip()
    assert title == f"Parcel {EVIL_ID}: tracking report for {carrier.name}"
    for group in (
        "all carriers",
        "The 1 parcels",
        '<nav class="report-contents',
        "by lane",
        "gone dark",
    ):
        assert group not in page
    assert page.count('class="plotly-graph-div"') == 1  # its timeline, no group chart
    assert ">The parcel</h2>" in page and ">Timeline</h2>" in page
    assert ">Finding recorded</h2>" in page and "Asked the provider" in page
    assert f"Questions for {carrier.name}" in page
    assert f'download="questions-{EVIL_ID}-' in page  # the spreadsheet is named after it
    # the same safety as every report: offline, masked, escaped, no internal notes
    assert external_references(page) == [] and len(page.encode()) < MAX_BYTES
    assert INTERNAL_NOTE not in page and EVIL_SCRIPT not in page and EVIL_IMG not in page
    for value in (*EVIL_RECIPIENT.values(), *EVIL_LEAKS, *FAKE_KEYS.values()):
        assert value not in page


def test_export_needs_parcels_and_says_so(demo_set, tmp_path):
    parcels, events, _ = demo_set
    with pytest.raises(InputError, match="no parcel to export"):
        export_for_partner([], parcels, events, tmp_path)
    with pytest.raises(InputError, match="not in the parcels table: 'NOPE'"):
        export_for_partner(["NOPE"], parcels, events, tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert not DEFAULT_OUT.is_absolute()  # out/ of the working folder, installed or not


@pytest.mark.slow
def test_the_whole_demo_sets_report_is_offline_masked_and_under_8_mb(whole_demo_report):
    path = whole_demo_report
    assert path.stat().st_size < MAX_BYTES
    page = path.read_text(encoding="utf-8")
    assert external_references(page) == []
    parcels, _ = demo.load_demo()
    phones = set(parcels["recipient_phone"].dropna())
    assert not phones & set(re.findall(r"(?<!\d)1[3-9]\d{9}(?!\d)", page))
    assert not any(a in page for a in parcels["recipient_address"].dropna())
    assert str(path.parent) not in page


@pytest.mark.skipif(os.name != "posix", reason="Unix sockets are POSIX only")
def test_report_kernel_talks_over_unix_sockets_in_the_private_folder(tmp_path):
    from toolkit.report.render import _kernel_manager

    km = _kernel_manager(str(tmp_path))(kernel_name="python3")
    assert km.transport == "ipc"
    assert km.ip.startswith(str(tmp_path))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--carrier", "nope"], "unknown carrier 'nope'"),
        (["--since", "someday"], "cannot read the start date 'someday'"),
        (["--parcels", "/nonexistent/ids.txt"], "the parcels file does not exist"),
        (["--events", "x.csv"], "--parcels-table and --events go together"),
        (["--finding-status", "opn"], "status 'opn' is not one of the known values"),
        (["--since", "2026-11-10", "--until", "2026-11-01"], "the period ends (2026-11-01"),
        (["--finding-category", "customs_hold"], "no recorded finding matches category"),
    ],
)
def test_cli_errors_are_toolkit_messages_with_exit_2(tmp_path, capsys, args, message):
    assert cli(["report", *args, "--out", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_python_m_toolkit_report_errors_are_toolkit_messages_with_exit_2(tmp_path):
    done = run_report_command("--carrier", "nope", "--out", str(tmp_path))
    assert done.returncode == 2
    assert "unknown carrier 'nope'" in done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_cli_report_for_one_carrier_from_a_parcels_file(tmp_path, demo_set):
    parcels, _, _ = demo_set
    ids = tmp_path / "complaints.txt"
    chosen = parcels[parcels["domestic_carrier"] == "sf"]["parcel_id"].head(3).tolist()
    ids.write_text("\n".join([*chosen, parcels["parcel_id"].iloc[0]]))
    done = run_report_command(
        "--carrier", "sf", "--parcels", str(ids), "--language", "zh", "--out", str(tmp_path / "o")
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # only the file's path is printed; no kernel warnings
    assert Path(done.stdout.strip()).parent == tmp_path / "o"
    page = Path(done.stdout.strip()).read_text(encoding="utf-8")
    assert "顺丰速运" in page and "无物流信息包裹" in page
    # The named parcel SF does not carry is left out, and the report says so.
    assert "发件方指定的 4 个包裹中的 3 个" in page
    assert str(ids) not in page


@pytest.mark.slow
def test_cli_report_from_exported_tables_and_a_bad_row_named(tmp_path):
    parcels = pd.read_csv(ROOT / "data/demo/parcels.csv", dtype=str, keep_default_na=False)
    events = pd.read_csv(ROOT / "data/demo/events.csv", dtype=str, keep_default_na=False)
    sf = parcels[parcels["domestic_carrier"] == "sf"]
    scans = events[events["parcel_id"].isin(sf["parcel_id"])]
    sf.to_csv(tmp_path / "parcels.csv", index=False, encoding="utf-8-sig")  # as Excel saves it
    scans.to_csv(tmp_path / "events.csv.gz", index=False)
    tables = ["--parcels-table", str(tmp_path / "parcels.csv")]
    done = run_report_command(
        *tables, "--events", str(tmp_path / "events.csv.gz"), "--carrier", "sf",
        "--out", str(tmp_path / "o"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    page = Path(done.stdout.strip()).read_text(encoding="utf-8")
    assert "SF Express" in page and "Demo data" not in page
    assert f"<b>Parcels</b>: {len(sf):,}</li>" in page
    for col in ("recipient_name", "recipient_phone", "recipient_address"):
        assert not any(v in page for v in sf[col] if len(v) > 1)

    broken = scans.copy()
    broken.iloc[3, broken.columns.get_loc("time_local")] = "yesterday-ish"
    broken.to_csv(tmp_path / "broken.csv", index=False)
    done = run_report_command(
        *tables, "--events", str(tmp_path / "broken.csv"), "--out", str(tmp_path / "b")
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "broken.csv" in done.stderr and "line(s) 5" in done.stderr
    assert "'yesterday-ish'" in done.stderr and "ISO 8601" in done.stderr
    assert not (tmp_path / "b").exists()


@pytest.mark.slow
def test_cli_report_on_parcels_with_open_findings(tmp_path, findings_store):
    url, (a, b, c, d) = findings_store
    done = run_report_command(
        "--finding-status",
        "open",
        "--finding-category",
        "customs_hold",
        "--finding-category",
        "number_invalid",
        "--findings-url",
        url,
        "--out",
        str(tmp_path / "o"),
    )
    assert done.returncode == 0, done.stderr
    page = Path(done.stdout.strip()).read_text(encoding="utf-8")
    assert a in page and b in page and d in page and c not in page
    assert (
        "Parcels with a recorded finding (status open, category customs_hold or number_invalid)"
        in page
    )
    assert "held for inspection" in page and "typo in the number" in page
    assert "released on appeal" not in page


def test_english_reports_give_chinese_scans_in_english_beside_the_original(all_report, zh_report):
    def evidence(r) -> pd.DataFrame:
        return pd.concat(
            html_table(r.evidence_html(pid).split("</p>", 1)[-1])
            for pid in r.evidence["parcel_id"].unique()
            if "<table" in r.evidence_html(pid)
        )

    en = evidence(all_report)
    chinese = en["Description"].str.contains(r"[\u4e00-\u9fff]")
    assert chinese.any() and "In English" in en.columns
    assert en.loc[chinese, "In English"].str.fullmatch(r"[ -~’…≈·]+").all()  # original kept too
    assert not en.loc[chinese, "In English"].str.contains(r"[\u4e00-\u9fff]").any()
    assert "英文" not in evidence(zh_report).columns
