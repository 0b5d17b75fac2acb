"""The team's own wording: unread texts listed, taught, read at once, forgotten, kept apart."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from toolkit.errors import InputError, SchemaError
from toolkit.tracking import phrases as ph
from toolkit.tracking import wording
from toolkit.tracking.phrases import classify, classify_many, explain

# Texts carriers wrote (the real-scan corpus holds them) that the shipped tables leave unread.
DHL_TEXT = "Forward destination (DD's expected)"
AUSPOST_TEXT = "Contact sender"
YUN_TEXT = "已收货"


@pytest.fixture
def team(tmp_path, monkeypatch):
    """A fresh team table for the test; every reader forgets it afterwards."""
    path = tmp_path / "var" / "team_wording.csv"
    monkeypatch.setenv(ph.TEAM_WORDING_ENV, str(path))
    ph._DEFAULT.clear()
    yield path
    ph._DEFAULT.clear()


def events_frame() -> pd.DataFrame:
    rows = [
        ("P1", "dhl", DHL_TEXT),
        ("P2", "dhl", DHL_TEXT),
        ("P2", "dhl", DHL_TEXT),
        ("P3", "auspost", AUSPOST_TEXT),
        ("P4", "yunexpress", YUN_TEXT),
        ("P4", "yunexpress", "已签收"),
        ("P5", "ups", "Delivered"),
        ("P5", "ups", "  "),
    ]
    return pd.DataFrame(rows, columns=["parcel_id", "carrier", "description"]).assign(raw_status="")


def test_unread_lists_the_unknown_texts_most_scans_first(team):
    table = wording.unread(events_frame())
    assert list(table.columns) == list(wording.UNREAD_COLUMNS)
    assert table["description"].tolist() == [DHL_TEXT, AUSPOST_TEXT, YUN_TEXT]
    first = table.iloc[0]
    assert (first.carrier, first.scans, first.parcels, first.example_parcel) == ("dhl", 3, 2, "P1")
    assert wording.unread(events_frame(), limit=1)["description"].tolist() == [DHL_TEXT]
    assert wording.unread(pd.DataFrame()).empty


def test_teaching_a_text_makes_every_reader_read_it_at_once(team):
    assert classify(DHL_TEXT, "dhl") == "unknown"
    reading = wording.teach(DHL_TEXT, "in_transit", carrier="dhl", analyst="Li Wei")
    assert reading.milestone == "in_transit"
    assert classify(DHL_TEXT, "dhl") == "in_transit"
    assert classify_many(pd.Series([DHL_TEXT, AUSPOST_TEXT]), ["dhl", "auspost"]).tolist() == [
        "in_transit",
        "unknown",
    ]
    # taught for DHL only: the same words from another carrier stay unread
    assert classify(DHL_TEXT, "ups") == "unknown"
    shown = str(explain(DHL_TEXT, "dhl"))
    assert "team's wording" in shown and "team_wording.csv line 2" in shown
    rows = list(csv.DictReader(team.open(encoding="utf-8")))
    assert len(rows) == 1
    row = rows[0]
    assert (row["pattern"], row["milestone"], row["carrier"], row["analyst"]) == (
        DHL_TEXT,
        "in_transit",
        "dhl",
        "Li Wei",
    )
    assert row["priority"] == str(ph.TEAM_PRIORITY) and row["taught_at"].startswith("20")
    assert [t for t in wording.unread(events_frame())["description"]] == [AUSPOST_TEXT, YUN_TEXT]


def test_a_domestic_carriers_taught_transit_reads_as_domestic_transit(team):
    reading = wording.teach("快件已到达夜班仓", "in_transit", carrier="sf")
    assert reading.milestone == "domestic_in_transit"


def test_shorter_words_read_every_text_that_holds_them(team):
    assert classify("Contact sender for details", "auspost") == "unknown"
    wording.teach(AUSPOST_TEXT, "exception", words="contact SENDER")
    assert classify("Contact sender for details", "auspost") == "exception"
    assert classify("Please contact sender", None) == "exception"


def test_taught_words_outrank_the_shipped_tables_and_precedence(team):
    text = "Delivered to neighbour"
    assert classify(text, "ups") == "delivered"
    wording.teach(text, "available_for_pickup", carrier="ups")
    assert classify(text, "ups") == "available_for_pickup"
    assert classify(text, "usps") == "delivered"  # the team said it of UPS only


def test_teaching_the_same_words_again_replaces_the_row(team):
    wording.teach(YUN_TEXT, "in_transit", carrier="yunexpress")
    wording.teach(YUN_TEXT, "accepted", carrier="yunexpress", analyst="second look")
    table = wording.team_wording()
    assert len(table) == 1 and table.iloc[0]["milestone"] == "accepted"
    assert classify(YUN_TEXT, "yunexpress") == "accepted"


def test_forget_removes_a_taught_row(team):
    wording.teach(YUN_TEXT, "accepted", carrier="yunexpress")
    assert wording.forget(YUN_TEXT, "yunexpress") is True
    assert classify(YUN_TEXT, "yunexpress") == "unknown"
    assert wording.forget(YUN_TEXT, "yunexpress") is False
    assert wording.team_wording().empty


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"milestone": "arrived"}, "milestone 'arrived' is not one of"),
        ({"words": "sorted at hub"}, "do not occur in the text"),
        ({"carrier": "acme"}, "carrier 'acme' is not a carrier code"),
        ({"words": " 7! "}, "hold fewer than two letters"),
        ({"text": "   "}, "the text to teach is empty"),
        (
            {"text": "快递员张三(13812345678)正在派件"},
            "hold the number 13812345678.*keep the words around it",
        ),
    ],
)
def test_teach_says_what_is_wrong_and_writes_nothing(team, kwargs, message):
    args = {"text": DHL_TEXT, "milestone": "in_transit", **kwargs}
    text, milestone = args.pop("text"), args.pop("milestone")
    with pytest.raises(InputError, match=message):
        wording.teach(text, milestone, **args)
    assert not team.exists()


def hand_edited(team, *rows: str) -> None:
    """The team table written by hand: its header, then these CSV rows."""
    team.parent.mkdir(parents=True)
    team.write_text("\n".join([",".join(ph.TEAM_COLUMNS), *rows]) + "\n", encoding="utf-8")


def test_a_hand_edited_team_table_that_does_not_read_is_named_with_its_line(team):
    hand_edited(
        team,
        "Crew sweep,substr,in_transit,100,,,Crew sweep 7,,",
        "Night crew,substr,arrived,100,,,Night crew,,",
    )
    with pytest.raises(SchemaError, match=r"team_wording\.csv, line 3: milestone 'arrived'"):
        classify("Night crew", None)


def test_an_empty_setting_means_the_shipped_tables_alone(tmp_path, monkeypatch):
    monkeypatch.setenv(ph.TEAM_WORDING_ENV, "")
    ph._DEFAULT.clear()
    try:
        assert ph.team_wording_path() is None
        assert classify(DHL_TEXT, "dhl") == "unknown"
        with pytest.raises(InputError, match="TOOLKIT_TEAM_WORDING is set but empty"):
            wording.teach(DHL_TEXT, "in_transit")
    finally:
        ph._DEFAULT.clear()


def test_another_process_teaching_shows_after_the_recheck(team, monkeypatch):
    assert classify(AUSPOST_TEXT, "auspost") == "unknown"
    # another notebook writes the table: this process's reader has not rebuilt itself
    wording.teach(AUSPOST_TEXT, "exception", carrier="auspost", path=team)
    monkeypatch.setattr(ph, "_RECHECK_SECONDS", 0.0)
    assert classify(AUSPOST_TEXT, "auspost") == "exception"


def test_reread_reads_the_texts_again_with_the_team_rows(team):
    events = events_frame().assign(milestone="unknown")
    wording.teach(DHL_TEXT, "in_transit", carrier="dhl")
    again = wording.reread(events)
    assert again.index.equals(events.index)
    assert again.tolist()[:4] == ["in_transit"] * 3 + ["unknown"]
    assert again.tolist()[5:7] == ["delivered", "delivered"]


# ------------------------------------------------------------------ the widget

EVIL = '<img src=x onerror="alert(1)">Crew sweep'


def test_widget_lists_unread_texts_escaped_with_their_english(team):
    from toolkit.widgets import WordingTeacher

    events = pd.concat(
        [events_frame(), pd.DataFrame([("P9", "usps", EVIL, "")], columns=events_frame().columns)]
    )
    teacher = WordingTeacher(events, analyst="Li Wei")
    parts = teacher.parts
    assert "4 of 9 scans" not in parts.summary.value  # blank texts are no scans to teach
    assert "6 of 9 scans" in parts.summary.value and "4 texts" in parts.summary.value
    assert "<img" not in parts.table.value and "&lt;img src=x" in parts.table.value
    assert "in English" in parts.table.value and "received" in parts.table.value.lower()
    assert parts.text.options[0][0].startswith(DHL_TEXT + " [dhl] · 3 scans")
    # the first text is picked: its words, carrier choice and reading are filled in
    assert parts.words.value == DHL_TEXT
    assert parts.only_carrier.value is True and parts.only_carrier.description == "only for dhl"
    assert "event word: none found" in parts.reading.value
    assert parts.taught.value == "<i>The team has taught no wording yet.</i>"


def test_widget_teaches_the_picked_text_and_lists_the_rest(team):
    from toolkit.widgets import WordingTeacher

    teacher = WordingTeacher(events_frame().assign(milestone="unknown"), analyst="Li Wei")
    parts = teacher.parts
    parts.text.value = 2  # 已收货 from YunExpress
    assert parts.words.value == YUN_TEXT
    parts.milestone.value = "accepted"
    parts.teach_button.click()
    assert (
        "Taught (for yunexpress): texts containing “已收货” read accepted. 1 scan of 1 parcel "
        "now read differently. teacher.events holds the scans" in parts.message.value
    )
    assert teacher.unread["description"].tolist() == [DHL_TEXT, AUSPOST_TEXT]
    # the scan taught is re-read in the widget's events; the others keep their milestones
    assert teacher.events["milestone"].tolist()[3:5] == ["unknown", "accepted"]
    assert teacher.events["milestone"].isna().sum() == 0
    assert classify(YUN_TEXT, "yunexpress") == "accepted"
    assert "Li Wei" in parts.taught.value and "(1 row," in parts.taught.value


def test_widget_shows_a_bad_teaching_in_its_message_line(team):
    from toolkit.widgets import WordingTeacher

    teacher = WordingTeacher(events_frame())
    parts = teacher.parts
    parts.teach_button.click()
    assert "Choose what the words mean" in parts.message.value
    parts.milestone.value = "in_transit"
    parts.words.value = "sorted at hub"
    parts.teach_button.click()
    assert "do not occur in the text" in parts.message.value
    assert not team.exists()
    assert len(teacher.unread) == 3


def test_widget_with_nothing_unread_says_so(team):
    from toolkit.widgets import WordingTeacher

    teacher = WordingTeacher(events_frame().iloc[5:7])
    assert "Every one of the 2 scans is read" in teacher.parts.summary.value
    assert teacher.parts.text.options == ()
    teacher.parts.teach_button.click()
    assert "Pick a scan text first" in teacher.parts.message.value


def test_widget_beside_a_triage_diagnoses_its_group_again(team):
    from toolkit.widgets import GroupTriage, WordingTeacher
    from toolkit.world import demo

    parcels, events = demo.load_demo()
    triage = GroupTriage(parcels, events, now=pd.Timestamp(parcels["as_of"].iloc[0]))
    first = triage.diagnoses
    teacher = WordingTeacher(triage=triage, analyst="Li Wei")
    parts = teacher.parts
    labels = [label for label, _ in parts.text.options]
    pick = next(i for i, label in enumerate(labels) if label.startswith(DHL_TEXT))
    parts.text.value = pick
    scans = int(((events["description"] == DHL_TEXT) & (events["carrier"] == "dhl")).sum())
    parcel_count = events.loc[events["description"] == DHL_TEXT, "parcel_id"].nunique()
    parts.milestone.value = "in_transit"
    parts.teach_button.click()
    message = parts.message.value
    assert f"{scans} scans of {parcel_count} parcels now read differently" in message, message
    assert "The triage above is diagnosed again" in message
    assert triage.diagnoses is not first
    taught = triage.events[triage.events["description"] == DHL_TEXT]
    assert set(taught["milestone"]) == {"in_transit"}
    assert teacher.events is triage.events
    assert DHL_TEXT not in teacher.unread["description"].tolist()


# ------------------------------------------------------------------ suggestions


def test_known_texts_most_like_a_text_come_with_their_labels():
    from toolkit.tracking.similar import similar

    near = similar("Zending is bij de buren bezorgd")  # PostNL's words in another order
    assert near[0].milestone == "delivered" and near[0].carrier == "postnl"
    assert near[0].score > 0.9 and near[0].source
    assert [s.score for s in near] == sorted((s.score for s in near), reverse=True)
    assert similar("Parcel scooped by the night crew")[0].score < 0.5


def test_similarity_ignores_digits_case_and_counts_the_teams_examples():
    from toolkit.tracking.similar import KnownTexts, Similar, similar

    known = KnownTexts(["Sorted at hub 12", "Left the country"], ["in_transit", "departed_origin"])
    assert known.query("SORTED AT HUB 99", 1)[0].score == 1.0
    assert known.query("sorted", 2)[0].milestone == "in_transit"
    taught = [Similar("Zustellcode QX7", "out_for_delivery", "dhl", "the team's wording", 0.0)]
    top = similar("Zustellcode QX8", 3, taught)[0]
    assert (top.milestone, top.source, top.score) == ("out_for_delivery", "the team's wording", 1.0)


def test_widget_suggests_the_label_of_the_most_similar_known_text(team):
    from toolkit.widgets import WordingTeacher

    events = pd.DataFrame(
        [("P1", "dhl", "Forward destination (DD's expected) <b>!</b>", "")],
        columns=["parcel_id", "carrier", "description", "raw_status"],
    )
    teacher = WordingTeacher(events)
    shown = teacher.parts.similar.value
    assert "Known carrier texts most like it" in shown
    assert "<td>Forward destination (DD&#x27;s expected)</td>" in shown
    assert "<b>!</b>" not in teacher.parts.reading.value + shown
    assert "<b>handed_over</b>" in shown  # DHL's own text's label in the corpus
    assert teacher.parts.milestone.value == ""  # shown, never chosen for the analyst
    assert not team.exists()


def test_the_example_kept_in_the_team_table_is_masked(team):
    text = "快递员张三(13812345678)正在派送，请保持电话畅通"
    wording.teach(text, "out_for_delivery", words="正在派送", carrier="zto")
    kept = team.read_text(encoding="utf-8")
    assert "13812345678" not in kept
    assert "138****5678" in kept
    assert classify(text, "zto") == "out_for_delivery"


def test_the_english_of_a_taught_text_follows_the_teaching(team):
    from toolkit.tracking.gloss import gloss

    text = "Zásilka byla předána sousedovi XYZ"
    before = gloss(text, "ceskaposta")
    wording.teach(text, "delivered", words="předána sousedovi")
    after = gloss(text, "ceskaposta")
    assert after != before and "delivered" in after.lower()


def test_a_carriers_own_taught_row_wins_and_teaching_says_so(team):
    wording.teach(DHL_TEXT, "handed_over", carrier="dhl")
    with pytest.raises(InputError, match=r"still reads 'handed_over'.*matches this text first"):
        wording.teach(DHL_TEXT, "in_transit", words="forward destination", source_carrier="dhl")
    assert len(wording.team_wording()) == 1
    assert classify(DHL_TEXT, "dhl") == "handed_over"
    # taught for every carrier without naming where the text came from: it reads so elsewhere
    wording.teach(DHL_TEXT, "in_transit", words="forward destination")
    assert (classify(DHL_TEXT, "ups"), classify(DHL_TEXT, "dhl")) == ("in_transit", "handed_over")


def test_the_investigator_offers_to_teach_a_scan_it_does_not_know(team, store_url):
    from toolkit.findings.store import FindingsStore
    from toolkit.widgets import ParcelInvestigator
    from toolkit.world import demo

    parcels, events = demo.load_demo()
    now = pd.Timestamp(parcels["as_of"].iloc[0])
    pid = events.loc[events["description"] == YUN_TEXT, "parcel_id"].iloc[0]
    number = parcels.loc[parcels["parcel_id"] == pid, "international_number"].iloc[0]
    inv = ParcelInvestigator(parcels, events, now=now, store=FindingsStore(store_url))
    inv.parts.number.value = number
    inv.parts.investigate_button.click()
    assert inv.diagnosis is not None
    assert inv.parts.unread.layout.display == ""
    assert inv.parts.unread.get_title(0) == "1 scan text the reader does not know: teach it"
    teacher = inv.teacher
    assert teacher.parts.words.value == YUN_TEXT
    teacher.parts.milestone.value = "accepted"
    teacher.parts.teach_button.click()
    assert "The diagnosis is made again with them" in teacher.parts.message.value
    row = inv.events[inv.events["description"] == YUN_TEXT]
    assert set(row["milestone"]) == {"accepted"}
    assert "已收货" in inv.parts.events.value
    assert inv.parts.unread.layout.display == "none"  # nothing left to teach on this parcel
    # the panel follows the parcel shown: one with an unread text, then one without
    unread_ids = set(events.loc[wording.reread(events).eq("unknown").to_numpy(), "parcel_id"])
    for has_unread in (True, False):
        ids = parcels["parcel_id"].isin(unread_ids)
        other = parcels.loc[ids if has_unread else ~ids, "international_number"].iloc[0]
        inv.parts.number.value = other
        inv.parts.investigate_button.click()
        assert inv.parts.unread.layout.display == ("" if has_unread else "none")


@pytest.fixture
def store_url(tmp_path):
    return f"sqlite:///{tmp_path / 'findings.sqlite'}"


def test_a_hand_edited_team_table_with_the_same_words_twice_names_both_lines(team):
    hand_edited(
        team,
        "Crew sweep,substr,in_transit,100,,,Crew sweep 7,,",
        "CREW  sweep,substr,delivered,100,,,Crew sweep,,",
    )
    with pytest.raises(SchemaError, match=r"line 3: pattern 'CREW  sweep' is also on line 2") as e:
        classify("Crew sweep", None)
    assert e.value.rows == [2, 3]


# ------------------------------------------------------------------ partners' answers


def test_unread_gives_an_example_scans_number_and_when_the_text_was_last_seen(team):
    events = events_frame().assign(
        tracking_number=[f"N{i}" for i in range(8)],
        time_utc=pd.to_datetime([f"2026-11-0{i + 1} 10:00" for i in range(8)], utc=True),
    )
    first = wording.unread(events).iloc[0]
    assert (first.example_parcel, first.example_number) == ("P1", "N0")
    assert first.last_seen == pd.Timestamp("2026-11-03 10:00", tz="UTC")


@pytest.fixture(scope="module")
def dhl_requests():
    """The requests of the demo set's DHL report (two unreadable DHL texts among them)."""
    from toolkit.report import build_report
    from toolkit.world import demo

    parcels, events = demo.load_demo()
    report = build_report(parcels, events, carrier="dhl", now=parcels["as_of"].iloc[0])
    return report.questions_table()


def answered(sheet: pd.DataFrame, answers: dict[str, str], column="Request", reply="Answer"):
    """The sheet with these answers (scan text -> answer) filled in, as a partner would."""
    sheet = sheet.copy()
    for text, answer in answers.items():
        sheet.loc[sheet[column].str.contains(f'“{text}”|"{text}"', regex=True), reply] = answer
    return sheet


def test_answers_are_read_from_the_requests_spreadsheet_a_partner_sends_back(
    dhl_requests, tmp_path
):
    from toolkit.io import write_spreadsheet_csv
    from toolkit.report.answers import read_answers

    sheet = answered(
        dhl_requests,
        {
            "Forward destination \\(DD's expected\\)": "Sent on to the destination depot",
            "Payment is received and recorded for shipment related fees": "=Duties paid",
        },
    )
    assert (sheet["Answer"] != "").sum() == 2
    path = write_spreadsheet_csv(sheet, tmp_path / "questions-dhl-20261120.csv")
    table = read_answers(path)
    assert table["description"].tolist() == [
        DHL_TEXT,
        "Payment is received and recorded for shipment related fees",
    ]
    assert set(table["carrier"]) == {"dhl"}  # a one-carrier sheet: its file name says whose
    assert table["answer"].tolist() == ["Sent on to the destination depot", "=Duties paid"]
    # the row a spreadsheet program shows it on (the header is row 1)
    row = int(sheet.index[sheet["Answer"] == "=Duties paid"][0]) + 2
    assert table["row"].iloc[1] == row and set(table["file"]) == {path.name}


def test_answers_in_chinese_saved_by_a_chinese_spreadsheet_program(tmp_path):
    from toolkit.report import build_report
    from toolkit.report.answers import read_answers
    from toolkit.world import demo

    parcels, events = demo.load_demo()
    ids = parcels.loc[parcels["international_carrier"].eq("yunexpress"), "parcel_id"]
    report = build_report(
        parcels, events, parcel_ids=ids.tolist()[:80], now=parcels["as_of"].iloc[0], language="zh"
    )
    sheet = answered(report.questions_table(), {YUN_TEXT: "已收到包裹（揽收）"}, "请求", "答复")
    path = tmp_path / "requests.csv"  # renamed: the carrier comes from the To column
    sheet.to_csv(path, index=False, sep=";", encoding="gb18030")
    table = read_answers([path])
    assert table[["description", "carrier", "answer"]].values.tolist() == [
        [YUN_TEXT, "yunexpress", "已收到包裹（揽收）"]
    ]


def test_answer_files_that_cannot_be_read_say_what_to_do(tmp_path):
    from toolkit.errors import FileFormatError
    from toolkit.report.answers import read_answers

    with pytest.raises(InputError, match="no such file") as missing:
        read_answers(tmp_path / "nowhere.csv")
    assert "requests spreadsheet the partner sent back" in str(missing.value)
    book = tmp_path / "questions-dhl-20261120.xlsx"
    book.write_bytes(b"PK\x03\x04")
    with pytest.raises(FileFormatError, match="save it as CSV"):
        read_answers(book)
    other = tmp_path / "parcels.csv"
    other.write_text("parcel_id,Request\nP1,Where is it?\n", encoding="utf-8")
    with pytest.raises(FileFormatError, match=r"no Answer column \(its columns: parcel_id, "):
        read_answers(other)


def test_widget_shows_what_the_partner_says_a_text_means(team, dhl_requests, tmp_path):
    from toolkit.io import write_spreadsheet_csv
    from toolkit.widgets import WordingTeacher

    sheet = answered(dhl_requests, {"Forward destination \\(DD's expected\\)": EVIL + " at depot"})
    path = write_spreadsheet_csv(sheet, tmp_path / "questions-dhl-20261120.csv")
    teacher = WordingTeacher(events_frame(), answers=path)
    parts = teacher.parts
    assert "Partners answered <b>1</b> of them." in parts.summary.value
    assert "<th>partner's answer</th>" in parts.table.value
    assert "<img" not in parts.table.value + parts.answer.value
    # the DHL text is picked first: the answer shows beside it, escaped, with where it was read
    assert parts.words.value == DHL_TEXT
    assert "DHL Express answered</b> (questions-dhl-20261120.csv, row " in parts.answer.value
    assert "&lt;img src=x" in parts.answer.value and "at depot" in parts.answer.value
    parts.text.value = 1  # Australia Post's text: nobody answered it
    assert parts.answer.value == ""
    # a bad path typed in the box is a message; the answers read stay
    parts.answers_path.value = str(tmp_path / "missing.csv")
    parts.answers_button.click()
    assert "no such file" in parts.message.value
    parts.text.value = 0
    assert "at depot" in parts.answer.value and len(teacher.answers) == 1


def test_analysts_teaching_at_the_same_time_on_a_shared_table_both_keep_their_rows(tmp_path):
    """Each teaching reads the table, checks the new row (a fraction of a second) and writes
    the table whole: two at once must not write over each other's row."""
    import threading

    shared = tmp_path / "shared" / "team_wording.csv"
    texts = [(f"Qzx sorted at depot {c}", c) for c in "ABCDEF"]
    start = threading.Barrier(len(texts))
    errors = []

    def teach(text):
        start.wait()
        try:
            wording.teach(text, "in_transit", path=shared, analyst=text[-1])
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=teach, args=(t,)) for t, _ in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    taught = wording.team_wording(shared)
    assert sorted(taught["pattern"]) == sorted(t for t, _ in texts)
    assert not any(p.name.startswith(".team_wording.") for p in shared.parent.iterdir())


def test_a_teaching_that_cannot_get_the_table_says_so_and_writes_nothing(tmp_path, monkeypatch):
    import fcntl

    shared = tmp_path / "team_wording.csv"
    monkeypatch.setattr(wording, "_LOCK_WAIT", 0.2)
    with open(tmp_path / "team_wording.csv.lock", "a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # another analyst's teaching, stuck
        with pytest.raises(InputError, match="another teaching has held the team wording") as e:
            wording.teach("Qzx sorted at depot", "in_transit", path=shared)
        assert "team_wording.csv.lock" in str(e.value) and "Try again" in str(e.value)
    assert not shared.exists()
    wording.teach("Qzx sorted at depot", "in_transit", path=shared)  # free again
    assert len(wording.team_wording(shared)) == 1


def test_the_partners_answer_read_as_a_milestone_is_offered_never_chosen(
    team, dhl_requests, tmp_path
):
    from toolkit.io import write_spreadsheet_csv
    from toolkit.widgets import WordingTeacher

    sheet = answered(
        dhl_requests,
        {"Forward destination \\(DD's expected\\)": "Sent on to the destination depot"},
    )
    path = write_spreadsheet_csv(sheet, tmp_path / "questions-dhl-20261120.csv")
    teacher = WordingTeacher(events_frame(), answers=[path])
    parts = teacher.parts
    assert "The answer's words read as <b>in_transit</b>" in parts.answer.value
    assert parts.milestone.value == ""  # the analyst chooses
    assert parts.use_answer_button.layout.display == ""
    parts.use_answer_button.click()
    assert parts.milestone.value == "in_transit"
    parts.teach_button.click()
    assert "Taught (for dhl)" in parts.message.value
    assert classify(DHL_TEXT, "dhl") == "in_transit"
    # a text nobody answered offers nothing
    assert parts.words.value == AUSPOST_TEXT and parts.answer.value == ""
    assert parts.use_answer_button.layout.display == "none"


def test_an_answer_about_a_masked_text_belongs_to_the_text_as_the_team_has_it(team, tmp_path):
    """The report showed the partner the text with the recipient masked; the team's scans
    hold it whole: the answer still shows beside it, and beside no other text."""
    from toolkit.privacy import recipient_masker
    from toolkit.report.answers import asks_about
    from toolkit.widgets import WordingTeacher

    text = "Qzx 收件人张伟，电话 13912345678，地址南山区科技园路1号2栋301室"
    shown = recipient_masker("张伟", "13912345678", "广东省深圳市南山区科技园路1号2栋301室")(text)
    assert "张伟" not in shown and "13912345678" not in shown
    assert asks_about(shown, text)
    assert not asks_about(shown, text.replace("Qzx", "Wvy"))
    assert not asks_about("****", text) and not asks_about("张*", text)
    request = pd.DataFrame(
        {
            "Request": [
                f'What does the scan text "{shown}" mean: which step of the parcel\'s '
                "journey does it record?"
            ],
            "Answer": ["Held at the station for the recipient to collect"],
        }
    )
    request.to_csv(tmp_path / "questions-zto-20261120.csv", index=False)
    events = pd.DataFrame(
        [("P1", "zto", text), ("P2", "zto", text.replace("Qzx", "Wvy"))],
        columns=["parcel_id", "carrier", "description"],
    ).assign(raw_status="")
    teacher = WordingTeacher(events, answers=tmp_path / "questions-zto-20261120.csv")
    assert "Partners answered <b>1</b> of them." in teacher.parts.summary.value
    rows = teacher.unread["description"].tolist()
    teacher.parts.text.value = rows.index(text)
    assert "Held at the station for the recipient to collect" in teacher.parts.answer.value
    teacher.parts.text.value = rows.index(text.replace("Qzx", "Wvy"))
    assert teacher.parts.answer.value == ""
