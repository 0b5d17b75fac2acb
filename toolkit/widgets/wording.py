"""``WordingTeacher``: the scan texts the reader leaves unread, and teaching it what they mean."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from html import escape
from typing import Any

import ipywidgets as w
import pandas as pd

from toolkit.model import CARRIERS, MILESTONES
from toolkit.tracking import wording
from toolkit.tracking.gloss import with_english
from toolkit.tracking.phrases import classify, explain, normalize_text, team_wording_path
from toolkit.tracking.similar import Similar, similar
from toolkit.widgets.base import _guarded
from toolkit.widgets.html import message_html
from toolkit.widgets.parts import HasParts

_SHOWN = 20  # texts listed in the table; the picker holds up to ``limit``


def _similar_html(near: list[Similar]) -> str:
    """The known texts most like the picked one, escaped, with their labels."""
    if not near:
        return ""
    rows = "".join(
        f"<tr><td>{s.score:.2f}</td><td><b>{escape(s.milestone)}</b></td>"
        f"<td>{escape(s.carrier)}</td><td>{escape(s.text)}</td></tr>"
        for s in near
    )
    return (
        "<div>Known carrier texts most like it (a suggestion, not a reading):</div>"
        '<table style="text-align:left"><tr><th>similarity</th><th>means</th><th>carrier</th>'
        '<th style="text-align:left">text</th></tr>'
        f"{rows}</table>"
    )


def _no_answers() -> pd.DataFrame:
    columns = ("description", "carrier", "answer", "file", "row")  # report.answers' columns
    return pd.DataFrame(columns=list(columns))


def _answer_reads(answer: Any) -> str:
    """The milestone the partner's answer itself reads as (its words are plain language);
    empty when the reader cannot tell."""
    if answer is None:
        return ""
    got = classify(str(answer["answer"]), answer["carrier"] or None)
    return "" if got == "unknown" else got


def _answer_html(answer: Any, reads: str) -> str:
    """What the partner says the picked text means, escaped, where it was read, and what
    its words read as (``reads``, from ``_answer_reads``)."""
    if answer is None:
        return ""
    who = CARRIERS[answer["carrier"]].name if answer["carrier"] in CARRIERS else "The partner"
    said = (
        f"<br><i>The answer's words read as <b>{escape(reads)}</b> (a suggestion: "
        "“Mean what the answer says” puts it in the Means menu).</i>"
        if reads
        else ""
    )
    return (
        '<div style="border-left:4px solid #2e7d32;padding:2px 8px;margin:4px 0">'
        f"<b>{escape(who)} answered</b> ({escape(str(answer['file']))}, row "
        f"{int(answer['row'])}): {escape(str(answer['answer']))}{said}</div>"
    )


def _label(row: Any) -> str:
    """A picker entry: the text (cut), its carrier and how many scans carry it."""
    text = row.description if len(row.description) <= 90 else row.description[:89] + "…"
    carrier = f" [{row.carrier}]" if row.carrier else ""
    return f"{text}{carrier} · {row.scans} scan{'s' if row.scans != 1 else ''}"


class WordingTeacher(HasParts):
    """Lists the scan texts of ``events`` the reader leaves ``unknown`` (most scans first) and
    teaches it what one means: the words that carry the meaning, the milestone, for one
    carrier or all. Taught rows go to the team's wording table
    (``toolkit.tracking.wording``) and are used by every reader at once."""

    def __init__(
        self,
        events: pd.DataFrame | None = None,
        *,
        triage: Any = None,
        on_taught: Callable[[pd.DataFrame], object] | None = None,
        analyst: str = "",
        limit: int = 200,
        answers: str | os.PathLike | Iterable[str | os.PathLike] | None = None,
    ):
        """``events``: the scans to look through (a GroupTriage's own when ``triage`` is given;
        after each teaching the triage diagnoses its group again with the new readings).
        ``on_taught(events)`` is called with the scans re-read after a teaching that changed
        any (the investigator diagnoses its parcel again). ``answers``: requests
        spreadsheets of partner reports that partners sent back answered; what a partner
        says a text means is shown beside it (``read_answers``)."""
        self.limit = int(limit)
        self.triage = triage
        self.on_taught = on_taught
        self._events = events
        self._unread = pd.DataFrame(columns=list(wording.UNREAD_COLUMNS))
        self._answers = _no_answers()
        self._answered: list[Any] = []  # the partner's answer per text listed, or None
        full = w.Layout(width="95%")
        style = {"description_width": "110px"}
        self._w_summary = w.HTML()
        self._w_table = w.HTML()
        self._w_text = w.Dropdown(description="Scan text", options=[], layout=full, style=style)
        self._w_answer = w.HTML()
        self._b_use_answer = w.Button(
            description="Mean what the answer says",
            tooltip="Choose the milestone the partner's answer reads as",
            layout=w.Layout(display="none", width="240px"),
        )
        self._b_use_answer.on_click(self._on_use_answer)
        self._w_reading = w.HTML()
        self._w_similar = w.HTML()
        self._w_words = w.Text(
            description="Words",
            layout=full,
            style=style,
            placeholder="the part of the text that says what happened",
        )
        self._w_milestone = w.Dropdown(
            options=[("— choose —", ""), *((m, m) for m in MILESTONES if m != "unknown")],
            value="",
            description="Means",
            style=style,
        )
        self._w_only_carrier = w.Checkbox(
            description="only for this carrier", value=True, indent=False
        )
        self._w_analyst = w.Text(value=analyst, description="Analyst", style=style)
        self._b_teach = w.Button(description="Teach the reader", button_style="primary")
        self._b_teach.on_click(self._on_teach)
        self._b_look_again = w.Button(
            description="Look again", tooltip="List the unread texts of the scans loaded now"
        )
        self._b_look_again.on_click(self._on_look_again)
        self._w_answers_path = w.Text(
            description="Answers",
            layout=w.Layout(width="60%"),
            style=style,
            placeholder="requests spreadsheet (CSV) a partner sent back answered",
        )
        self._b_answers = w.Button(
            description="Read answers",
            tooltip="Show what the partner says each text means, beside the text",
        )
        self._b_answers.on_click(self._on_read_answers)
        self._w_message = w.HTML()
        self._w_taught = w.HTML()
        self._w_text.observe(self._on_pick, names="value")
        self.layout = w.VBox(
            [
                self._w_summary,
                self._w_table,
                self._w_text,
                self._w_answer,
                self._b_use_answer,
                self._w_reading,
                self._w_similar,
                self._w_words,
                w.HBox([self._w_milestone, self._w_only_carrier]),
                w.HBox([self._w_analyst, self._b_teach, self._b_look_again]),
                w.HBox([self._w_answers_path, self._b_answers]),
                self._w_message,
                self._w_taught,
            ]
        )
        self.load(events)
        if answers is not None:
            self.read_answers(answers)

    @property
    def events(self) -> pd.DataFrame | None:
        """The scans looked through: the triage's current ones when it was given one."""
        if self._events is None and self.triage is not None:
            return getattr(self.triage, "events", None)
        return self._events

    @events.setter
    def events(self, events: pd.DataFrame | None) -> None:
        self._events = events if self.triage is None else None

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.layout)

    def _say(self, text: str, kind: str = "error") -> None:
        self._w_message.value = message_html(text, kind) if text else ""

    @property
    def unread(self) -> pd.DataFrame:
        """The unread texts listed: description, carrier, scans, parcels, example parcel."""
        return self._unread.copy()

    @_guarded
    def load(self, events: pd.DataFrame | None) -> None:
        """Read ``events`` (an events table; None: the triage's) and list the unread texts."""
        self.events = events
        self.refresh()

    def _on_look_again(self, _button=None) -> None:
        self.look_again()

    @_guarded
    def look_again(self) -> None:
        """List the unread texts again (after the triage loaded other scans)."""
        self.refresh()
        self._say("")

    @property
    def answers(self) -> pd.DataFrame:
        """The partners' answers read (``toolkit.report.answers.ANSWER_COLUMNS``)."""
        return self._answers.copy()

    def _on_read_answers(self, _button=None) -> None:
        path = self._w_answers_path.value.strip()
        if not path:
            self._say("Give the path of the spreadsheet the partner sent back.", "warning")
            return
        self.read_answers(path)

    @_guarded
    def read_answers(self, paths: str | os.PathLike | Iterable[str | os.PathLike]) -> None:
        """Read partners' answered requests spreadsheets; their answers about the texts listed
        show beside each (a later answer to the same text replaces an earlier one)."""
        from toolkit.report.answers import read_answers

        new = read_answers(paths)
        both = pd.concat([self._answers, new], ignore_index=True)
        self._answers = both.iloc[::-1].drop_duplicates(["description", "carrier"]).iloc[::-1]
        self.refresh()
        listed = sum(a is not None for a in self._answered)
        files = ", ".join(dict.fromkeys(new["file"])) or "the file"
        self._say(
            f"Read {len(new):,} answer{'s' if len(new) != 1 else ''} from {files}; "
            f"{listed:,} of the texts listed here {'has' if listed == 1 else 'have'} one.",
            "ok" if len(new) else "warning",
        )

    def _answer_for(self, row: Any) -> Any:
        """The partner's answer about this text of this carrier (the report showed the text
        with recipient data masked), or None."""
        if self._answers.empty:
            return None
        from toolkit.report.answers import asks_about

        a = self._answers
        carrier = a["carrier"].isin({row.carrier, ""}) if row.carrier else a["carrier"].eq("")
        text = [asks_about(shown, row.description) for shown in a["description"]]
        found = a[carrier & pd.Series(text, index=a.index, dtype=bool)]
        return None if found.empty else found.iloc[-1]

    def refresh(self) -> None:
        events = self.events
        self._unread = wording.unread(events, limit=self.limit)
        total = 0 if events is None else len(events)
        unread = self._unread
        if total == 0:
            self._w_summary.value = "<i>No scans loaded.</i>"
        elif unread.empty:
            self._w_summary.value = (
                f"<b>Every one of the {total:,} scans is read.</b> Nothing to teach here."
            )
        else:
            scans = int(unread["scans"].sum())
            self._w_summary.value = (
                f"<b>{scans:,} of {total:,} scans</b> ({scans / total:.1%}) carry one of "
                f"<b>{len(unread):,} texts</b> the reader does not know; they read "
                "<code>unknown</code> and count for no milestone. Pick one, say what it means."
            )
        self._answered = answered = [self._answer_for(r) for r in unread.itertuples()]
        if any(a is not None for a in answered):
            n = sum(a is not None for a in answered)
            self._w_summary.value += f" Partners answered <b>{n:,}</b> of them."
        shown = unread.head(_SHOWN)
        if any(a is not None for a in answered[:_SHOWN]):
            shown = shown.assign(
                partner_answer=[a["answer"] if a is not None else "" for a in answered[:_SHOWN]]
            )
        self._w_table.value = self._table_html(shown)
        options = [(_label(r), i) for i, r in enumerate(unread.itertuples(index=False))]
        self._w_text.options = options
        self._w_text.value = 0 if options else None
        self._on_pick()
        self._show_taught()

    @staticmethod
    def _table_html(table: pd.DataFrame) -> str:
        if table.empty:
            return ""
        columns = ["description", "carrier", "scans", "parcels", "example_parcel"]
        shown = with_english(table, columns + [c for c in ("partner_answer",) if c in table])
        names = {"example_parcel": "e.g. parcel", "partner_answer": "partner's answer"}
        return shown.rename(columns=names).to_html(
            index=False, escape=True, na_rep="", justify="left"
        )

    def _picked(self) -> Any:
        i = self._w_text.value
        return None if i is None or self._unread.empty else self._unread.iloc[int(i)]

    def _picked_answer(self) -> Any:
        """The partner's answer about the picked text (found when the texts were listed)."""
        i = self._w_text.value
        return None if i is None or i >= len(self._answered) else self._answered[int(i)]

    @_guarded
    def _on_pick(self, _change=None) -> None:
        row = self._picked()
        if row is None:
            self._w_answer.value = ""
            self._b_use_answer.layout.display = "none"
            self._w_reading.value = ""
            self._w_words.value = ""
            self._w_only_carrier.disabled = True
            return
        self._w_words.value = row.description
        known = row.carrier in CARRIERS
        self._w_only_carrier.disabled = not known
        self._w_only_carrier.value = known
        self._w_only_carrier.description = (
            f"only for {row.carrier}" if known else "for every carrier"
        )
        answer = self._picked_answer()
        reads = _answer_reads(answer)
        self._w_answer.value = _answer_html(answer, reads)
        self._b_use_answer.layout.display = "" if reads else "none"
        self._w_reading.value = explain(row.description, row.carrier or None)._repr_html_()
        # shown beside the choice, never chosen for the analyst: for the texts the tables
        # leave unread the nearest known text's label is right less than half the time
        self._w_similar.value = _similar_html(similar(row.description, 3, self._taught_examples()))
        self._w_milestone.value = ""
        self._say("")

    @staticmethod
    def _taught_examples() -> list[Similar]:
        where = team_wording_path()
        if where is None:
            return []
        table = wording.team_wording(where)
        return [
            Similar(r.example, r.milestone, r.carrier, "the team's wording", 0.0)
            for r in table.itertuples(index=False)
            if r.example
        ]

    @_guarded
    def _on_use_answer(self, _button=None) -> None:
        reads = _answer_reads(self._picked_answer())
        if reads:
            self._w_milestone.value = reads

    def _on_teach(self, _button=None) -> None:
        self.teach()

    @_guarded
    def teach(self) -> None:
        """Teach the picked text's words as the chosen milestone (the Teach button)."""
        row = self._picked()
        if row is None:
            self._say("Pick a scan text first.", "warning")
            return
        carrier = row.carrier if (self._w_only_carrier.value and row.carrier in CARRIERS) else None
        words = self._w_words.value
        milestone = self._w_milestone.value
        if not milestone:
            self._say("Choose what the words mean (the Means menu), then teach.", "warning")
            return
        before = wording.reread(self.events).to_numpy(dtype=object)
        reading = wording.teach(
            row.description,
            milestone,
            words=words,
            carrier=carrier,
            analyst=self._w_analyst.value,
            source_carrier=row.carrier if row.carrier in CARRIERS else None,
        )
        changed = self._apply(before)
        self.refresh()
        who = f"for {carrier}" if carrier else "for every carrier"
        scans = int(changed.sum())
        parcels = (
            self.events["parcel_id"][changed].nunique()
            if scans and "parcel_id" in self.events.columns
            else 0
        )
        if not scans:
            then = ""
        elif self.triage is not None:
            then = "The triage above is diagnosed again with them."
        elif self.on_taught is not None:
            then = "The diagnosis is made again with them."
        else:
            then = "teacher.events holds the scans with their new readings: diagnose them again."
        self._say(
            f"Taught ({who}): texts containing “{normalize_text(words)}” read "
            f"{reading.milestone}. {scans:,} scan{'s' if scans != 1 else ''} of {parcels:,} "
            f"parcel{'s' if parcels != 1 else ''} now read differently. {then}".strip(),
            "ok",
        )

    def _apply(self, before: Any) -> Any:
        """Give the scans whose reading the teaching changed their new milestone (the others
        keep theirs, e.g. milestones a file gave); diagnose the triage's group again."""
        after = wording.reread(self.events).to_numpy(dtype=object)
        changed = before != after
        if changed.any():
            events = self.events.copy()
            if "milestone" in events.columns:
                milestone = events["milestone"].to_numpy(dtype=object).copy()
                milestone[changed] = after[changed]
            else:
                milestone = after
            events["milestone"] = pd.Series(milestone, index=events.index, dtype="string")
            if self.triage is not None:
                self.triage.load(self.triage.parcels, events, self.triage.now)
            else:
                self.events = events
                if self.on_taught is not None:
                    self.on_taught(events)
        return changed

    def _show_taught(self) -> None:
        where = team_wording_path()
        if where is None:
            self._w_taught.value = (
                "<i>No team wording table: TOOLKIT_TEAM_WORDING is set but empty.</i>"
            )
            return
        table = wording.team_wording(where)
        if table.empty:
            self._w_taught.value = "<i>The team has taught no wording yet.</i>"
            return
        shown = table[["pattern", "milestone", "carrier", "analyst", "taught_at"]].rename(
            columns={"pattern": "words"}
        )
        self._w_taught.value = (
            f"<details><summary>The team's wording ({len(table)} row{'s' if len(table) != 1 else ''}, "
            f"{escape(str(where))})</summary>"
            + shown.to_html(index=False, escape=True, na_rep="", justify="left")
            + "</details>"
        )
