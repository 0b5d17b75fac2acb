"""What a carrier partner report shows: the parcels in scope, masked, with diagnoses and questions.

``load`` (or ``build_report``) selects the parcels (carrier on either leg, shipping period,
named ids or numbers, recorded findings matching a filter), diagnoses them and keeps only
what a partner may see: recipient fields masked, phone numbers in carrier text masked, no
analyst-only notes. The section methods of ``PartnerReport`` return escaped HTML or plotly
figures for the report notebook.
"""

from __future__ import annotations

import base64
import html
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from toolkit.model import (
    CATEGORIES,
    PERSONAL_COLUMNS,
    Category,
    text_isin,
)
from toolkit.plots import CATEGORY_COLORS
from toolkit.privacy import (
    mask_address,
    mask_name,
    mask_phone,
    mask_recipient_texts,
    mask_text,
    recipient_maskers,
)
from toolkit.report.scope import (
    ReportScope,
    describe_findings_filter,
    load_tables,
    no_findings_store,
)
from toolkit.report.translations import (
    CATEGORY_LABELS,
    FINDING_COLUMNS_EN,
    FINDING_COLUMNS_ZH,
    FINDING_STATUS_EN,
    FINDING_STATUS_ZH,
    INCIDENT_KINDS,
    TEXT,
    capital,
    carrier_label,
    eta_text,
    facts_text,
    figure_in_chinese,
    milestone_label,
    who_label,
)
from toolkit.tracking.gloss import glosses_beside

STUCK: tuple[str, ...] = tuple(
    c for c in CATEGORIES if c not in (Category.DELIVERED, Category.MOVING)
)


MAX_TIMELINES = 12  # timelines drawn for the longest-silent parcels; the table lists all


GROUP_FIGURES: tuple[str, ...] = ("gone_dark", "ageing", "dwell")


MAX_LANES = 12  # lanes drawn in the lane figures (most parcels first); a sentence sums the rest


MAX_UNREAD = 20  # scan texts the reader cannot read, asked about (most scans first)


_ISO_MINUTE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?")


def minute_text(value: object) -> str:
    """A time as 'YYYY-MM-DD HH:MM': timestamps (in UTC when tz-aware) and ISO text, whose
    seconds, fractions and offset are left off; other text unchanged, missing values empty."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, pd.Timestamp):
        if pd.isna(value):
            return ""
        t = value.tz_convert("UTC") if value.tzinfo is not None else value
        return f"{t:%Y-%m-%d %H:%M}"
    text = str(value)
    m = _ISO_MINUTE.match(text)
    return f"{m.group(1)} {m.group(2)}" if m else text


def report_eta(diagnosis) -> object:
    """The delivery estimate the report shows for a parcel (an object with ``text()``), or None.

    The one place the report takes a parcel's ETA from: swap it here to use another estimate.
    """
    return diagnosis.eta


def _domestic_link(parcels: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Each parcel's domestic number and carrier as far as known: the parcels table's, else
    the one its latest handover scan names, else those of its latest domestic scan."""

    def given(col: str) -> pd.Series:
        if col not in parcels.columns:
            return pd.Series(pd.NA, index=parcels.index, dtype="string")
        v = parcels[col].astype("string").str.strip()
        return v.where(v != "")

    out = pd.DataFrame(
        {
            "parcel_id": parcels["parcel_id"],
            "domestic_number": given("domestic_number"),
            "domestic_carrier": given("domestic_carrier"),
        }
    )
    ev = events.sort_values("time_utc", kind="stable")
    sources = [(ev[ev["leg"].astype("string") == "domestic"], "tracking_number", "carrier")]
    if "linked_number" in ev.columns:
        sources.insert(0, (ev[ev["linked_number"].notna()], "linked_number", "linked_carrier"))
    for rows, number, carrier in sources:
        last = rows.groupby("parcel_id", observed=True).tail(1).set_index("parcel_id")
        for col, src in (("domestic_number", number), ("domestic_carrier", carrier)):
            if src in last.columns:
                found = out["parcel_id"].map(last[src]).astype("string")
                out[col] = out[col].fillna(found)
    return out


def _masked_events(
    events: pd.DataFrame, maskers: Mapping[str, Callable[[object], str]]
) -> pd.DataFrame:
    """Events with the carrier texts (description, location) masked: the recipient's own name,
    phone and address wherever they appear, any mobile number and any signer's name."""
    out = events.copy()
    for col in ("description", "location"):
        out[col] = mask_recipient_texts(out[col], out["parcel_id"], maskers)
    return out


def _recipient(parcels: pd.DataFrame) -> pd.Series:
    parts = pd.DataFrame(
        {
            "name": parcels["recipient_name"].map(mask_name),
            "phone": parcels["recipient_phone"].map(mask_phone),
            "address": parcels["recipient_address"].map(mask_address),
        }
    )
    return parts.apply(lambda r: " · ".join(p for p in r if p), axis=1).astype("string")


def _addressed_to(who: str, carrier: str | None) -> bool:
    if carrier is None:
        return who.startswith(("international provider", "domestic carrier"))
    name = carrier_label(carrier)
    return who in (f"international provider {name}", f"domestic carrier {name}")


def _lane(parcels: pd.DataFrame) -> pd.Series:
    origin = parcels["origin_country"].astype("string").fillna("?")
    dest = parcels["destination_province"].astype("string").fillna("?")
    return (origin + " → " + dest).astype("string")


def _day_or_time(t: pd.Timestamp) -> str:
    """A UTC date, with its time unless it is midnight."""
    return f"{t:%Y-%m-%d}" if t == t.normalize() else f"{t:%Y-%m-%d %H:%M} UTC"


@dataclass(repr=False)
class PartnerReport:
    """What a partner report shows: masked parcels in scope, diagnoses, questions, evidence."""

    carrier: str | None
    since: pd.Timestamp | None
    now: pd.Timestamp
    language: str
    parcels: pd.DataFrame  # in scope; personal fields replaced by the masked recipient column
    events: pd.DataFrame  # scans of those parcels, carrier text masked
    diagnoses: pd.DataFrame  # one row per parcel in scope
    evidence: pd.DataFrame  # evidence scans of parcels that need action (masked)
    evidence_text: pd.Series  # parcel_id -> evidence in words (masked)
    questions: pd.DataFrame  # parcel_id, to, question, facts: what the carrier is asked
    eta: dict
    findings: pd.DataFrame | None = None  # partner-safe findings of these parcels
    named: int | None = None  # parcels named by ids or numbers, before the other filters
    findings_filter: dict | None = None  # the findings the parcels were chosen by
    demo: bool = False
    until: pd.Timestamp | None = None  # end of the shipping period (not included)
    # lane incidents (toolkit.incidents.detect) on this carrier's lanes, parcel ids left out
    incidents: pd.DataFrame | None = None
    # the addressed carrier's scan texts the reader leaves unknown (wording.unread, masked)
    unread: pd.DataFrame | None = None
    unread_total: tuple[int, int] = (0, 0)  # texts and scans, listed or not

    def __repr__(self) -> str:
        return (
            f"PartnerReport(carrier={self.carrier!r}, parcels={len(self.parcels)}, "
            f"need_action={int(self.diagnoses['category'].isin(STUCK).sum())})"
        )

    def t(self, key: str, **values: object) -> str:
        """A label in the report's language."""
        return TEXT[self.language][key].format(**values)

    def category_label(self, category: object) -> str:
        """A diagnosis category in words, in the report's language."""
        return CATEGORY_LABELS[self.language].get(str(category), str(category))

    @property
    def single(self) -> bool:
        """True when the report is about one parcel (the partner export of a parcel)."""
        return len(self.diagnoses) == 1

    @property
    def who(self) -> str:
        """The carrier(s) the report addresses, in words: those of the parcel in a one-parcel
        report without a carrier."""
        if self.carrier is None and self.single:
            row = self.parcels.iloc[0]
            names = [
                carrier_label(str(row[c]), self.language)
                for c in ("international_carrier", "domestic_carrier")
                if c in row.index and pd.notna(row[c]) and str(row[c]).strip()
            ]
            if names:
                return " / ".join(dict.fromkeys(names))
        return carrier_label(self.carrier, self.language) or self.t("all_carriers")

    def title(self) -> str:
        """The report's title: the carrier's (or all carriers') report, or the parcel's."""
        if self.single:
            return self.t("parcel_title", id=self.diagnoses["parcel_id"].iloc[0], who=self.who)
        return self.t("title", who=self.who)

    @property
    def stuck(self) -> pd.DataFrame:
        """Diagnoses of the parcels that need action, the longest silent first."""
        d = self.diagnoses[self.diagnoses["category"].astype(str).isin(STUCK)]
        return d.sort_values(
            ["days_since_last_scan", "parcel_id"], ascending=[False, True], na_position="last"
        )

    def carrier_sections(self) -> list[tuple[str, str, pd.DataFrame]]:
        """(anchor id, carrier name, diagnoses) of the parcels needing action per international
        carrier, the carrier with most first; one section without a split when the report is
        for one carrier."""
        stuck = self.stuck
        if self.carrier is not None:
            return [("need-action-" + _slug(self.carrier), self.who, stuck)]
        carrier = (
            self.parcels.set_index("parcel_id")["international_carrier"]
            .astype("string")
            .str.strip()
            .str.lower()
            .reindex(stuck["parcel_id"])
            .fillna("")
            .to_numpy()
        )
        counts = pd.Series(carrier, dtype=object).value_counts(sort=False)
        order = sorted(counts.index, key=lambda c: (-counts[c], c == "", c))
        return [
            (
                f"carrier-{i + 1}-{_slug(code)}",
                carrier_label(code, self.language) if code else self.t("unknown_carrier"),
                stuck[carrier == code],
            )
            for i, code in enumerate(order)
        ]

    # ---- sections, each one escaped HTML or plotly figures

    def heading_html(self, key: str) -> str:
        """A section heading in the report's language, with the anchor the contents link to."""
        return f'<h2 id="{SECTION_IDS.get(key, key)}">{html.escape(self.t(key))}</h2>'

    def header_html(self) -> str:
        """Title, date of the data, scope and the masking note."""
        e = html.escape
        lines = [self.t("as_of", now=f"{self.now:%Y-%m-%d %H:%M}")]
        if self.since is not None:
            lines.append(self.t("scope_since", since=_day_or_time(self.since)))
        if self.until is not None:
            lines.append(self.t("scope_until", until=_day_or_time(self.until)))
        if self.named is not None and not self.single:
            n = len(self.diagnoses)
            key = "scope_selection" if n == self.named else "scope_selection_some"
            lines.append(self.t(key, n=n, m=self.named))
        if self.findings_filter is not None:
            what = describe_findings_filter(
                self.findings_filter, public=True, language=self.language
            )
            lines.append(
                self.t("scope_findings_of", what=what) if what else self.t("scope_findings")
            )
        lines.append(self.t("masked"))
        banner = '<p class="report-demo">' + e(self.t("demo")) + "</p>" if self.demo else ""
        return (
            f'<h1 class="report-title">{e(self.title())}</h1>'
            + "".join(f"<p>{e(line)}</p>" for line in lines)
            + banner
        )

    def contents_html(self) -> str:
        """The list of sections, with one link per carrier's parcels needing action; empty
        in a one-parcel report."""
        if self.single:
            return ""
        e = html.escape

        def item(key: str, inner: str = "") -> str:
            return f'<li><a href="#{SECTION_IDS[key]}">{e(self.t(key))}</a>{inner}</li>'

        sections = self.carrier_sections() if len(self.stuck) else []
        carriers = "".join(
            f'<li><a href="#{anchor}">{e(self.t("by_carrier", name=name, n=len(rows)))}</a></li>'
            for anchor, name, rows in sections
        )
        items = [
            item("summary"),
            item("lanes"),
            item("stuck_title", f'<ul class="report-carriers">{carriers}</ul>' if carriers else ""),
        ]
        if self.timeline_parcels():
            items.append(item("timelines"))
        if self.incidents is not None and len(self.incidents):
            items.insert(1, item("incidents"))
        if self.unread is not None and len(self.unread):
            items.append(item("unread"))
        items += [item("questions_all"), item("findings")]
        return (
            f'<nav class="report-contents"><h2>{e(self.t("contents"))}</h2>'
            f"<ul>{''.join(items)}</ul></nav>"
        )

    def summary_html(self) -> str:
        """Counts: parcels, parcels needing action, and parcels per situation; in a one-parcel
        report, that parcel's numbers, situation, last scan and expected delivery."""
        e = html.escape
        if self.single:
            pid = self.diagnoses["parcel_id"].iloc[0]
            row = self._parcel_rows(self.diagnoses).iloc[0]
            eta = self.eta.get(pid)
            row[self.t("eta")] = eta_text(eta, self.language) if eta else self.t("no_eta")
            cells = "".join(
                f"<tr><th>{e(str(k))}</th><td>{e(str(v))}</td></tr>" for k, v in row.items()
            )
            return (
                f'<h2 id="{SECTION_IDS["the_parcel"]}">{e(self.t("the_parcel"))}</h2>'
                f'<table class="report-table report-parcel"><tbody>{cells}</tbody></table>'
            )
        counts = (
            self.diagnoses["category"].astype(str).value_counts().reindex(CATEGORIES, fill_value=0)
        )
        counts = counts[counts > 0]
        table = pd.DataFrame(
            {
                self.t("category"): [self.category_label(c) for c in counts.index],
                self.t("count"): counts.to_numpy(),
                self.t("share"): [f"{v / max(1, len(self.diagnoses)):.0%}" for v in counts],
            }
        )
        silence = self.stuck["days_since_last_scan"].median()
        key = [
            (self.t("parcels"), f"{len(self.diagnoses):,}"),
            (self.t("stuck"), f"{len(self.stuck):,}"),
        ]
        if pd.notna(silence):
            key.append((self.t("median_silence"), f"{silence:.1f}"))
        facts = "".join(f"<li><b>{e(k)}</b>: {e(v)}</li>" for k, v in key)
        return (
            self.heading_html("summary")
            + f"<ul>{facts}</ul>"
            + table.to_html(index=False, escape=True, classes="report-table")
        )

    def _lanes(self) -> tuple[pd.Series, list[str]]:
        """Each parcel's lane (indexed by parcel id) and the lanes drawn: those with the most
        parcels, at most MAX_LANES."""
        lane = pd.Series(_lane(self.parcels).to_numpy(), index=self.parcels["parcel_id"])
        order = lane.value_counts()  # most parcels first, ties in order of appearance
        return lane, list(order.index[:MAX_LANES])

    def lanes_html(self) -> str:
        """The lanes heading and, when not every lane is drawn, what the others hold; empty
        in a one-parcel report."""
        if self.single:
            return ""
        e = html.escape
        lane, shown = self._lanes()
        head = self.heading_html("lanes")
        rest = ~lane.isin(shown)
        if not rest.any():
            return head
        stuck_ids = set(self.stuck["parcel_id"])
        rest_ids = lane.index[rest.to_numpy()]
        text = (
            self.t("lanes_shown", k=len(shown), n=int((~rest).sum()), total=len(lane))
            + " "
            + self.t(
                "lanes_rest",
                m=lane[rest].nunique(),
                rest=int(rest.sum()),
                rest_stuck=sum(pid in stuck_ids for pid in rest_ids),
            )
        )
        return head + f'<p class="report-lanes-note">{e(text)}</p>'

    def lane_figures(self) -> list[go.Figure]:
        """Per-lane figures for the lanes with the most parcels (situations of the parcels,
        share gone dark), then the ageing and dwell figures of all parcels; none in a
        one-parcel report."""
        if self.single:
            return []
        lane, shown = self._lanes()
        d = self.diagnoses.assign(lane=self.diagnoses["parcel_id"].map(lane))
        d = d[d["lane"].isin(shown)]
        counts = d.groupby(["lane", "category"], observed=True).size().unstack(fill_value=0)
        outcomes = go.Figure()
        for cat in [c for c in CATEGORIES if c in counts.columns]:
            outcomes.add_trace(
                go.Bar(
                    y=counts.index,
                    x=counts[cat],
                    name=html.escape(self.category_label(cat)),
                    orientation="h",
                    marker_color=CATEGORY_COLORS[cat],
                )
            )
        outcomes.update_layout(
            barmode="stack",
            title=html.escape(self.t("lane_outcomes")),
            xaxis_title=html.escape(self.t("count")),
            yaxis={"categoryorder": "array", "categoryarray": shown[::-1]},
            height=max(320, 120 + 28 * len(shown)),
            template="plotly_white",
            legend_title=html.escape(self.t("category")),
            margin={"l": 20, "r": 20, "t": 60, "b": 40},
        )
        figures = [outcomes]
        figures += self._group_figures(set(lane.index[lane.isin(shown).to_numpy()]))
        if self.language == "zh":
            figures = [figure_in_chinese(f) for f in figures]
        return figures

    def _group_figures(self, on_shown_lanes: set) -> list[go.Figure]:
        """Gone-dark share by carrier and lane (the lanes drawn), ageing of open parcels, dwell
        time per stage."""
        from toolkit import plots

        zh = self.language == "zh"
        titles = {k: html.escape(self.t(k)) if zh else None for k in GROUP_FIGURES}
        dwell = plots.dwell_times(self.events, self.parcels)
        named = self.parcels[text_isin(self.parcels["parcel_id"], on_shown_lanes)].assign(
            international_carrier=lambda p: p["international_carrier"].map(
                lambda c: carrier_label(c, self.language) if pd.notna(c) else c
            )
        )
        return [
            plots.gone_dark_heatmap(
                self.diagnoses[text_isin(self.diagnoses["parcel_id"], on_shown_lanes)],
                named,
                title=titles["gone_dark"],
            ),
            plots.ageing_histogram(self.diagnoses, self.now, title=titles["ageing"]),
            plots.dwell_figure(
                dwell,
                by="carrier",
                title=titles["dwell"],
                empty_text=self.t("no_dwell") if zh else plots.NO_DWELL,
            ),
        ]

    def _number_text(self, numbers: pd.Series, carriers: pd.Series) -> pd.Series:
        """'number · carrier name' per parcel; the name alone without a number."""
        name = carriers.map(lambda c: carrier_label(c, self.language) if pd.notna(c) else "")
        number = numbers.astype("string").fillna("")
        return (number + " · " + name.astype("string")).str.strip(" ·")

    def _parcel_rows(self, diagnoses: pd.DataFrame) -> pd.DataFrame:
        """The columns the parcels needing action are listed with, one row per diagnosis."""
        ids = diagnoses["parcel_id"]
        p = self.parcels.set_index("parcel_id").reindex(ids)
        last = (
            self.events.sort_values("time_utc", kind="stable")
            .groupby("parcel_id")
            .tail(1)
            .set_index("parcel_id")
            .reindex(ids)
        )
        carrier = last["carrier"].map(
            lambda c: carrier_label(c, self.language) if pd.notna(c) else ""
        )
        last_text = (
            last["time_local"].map(minute_text)
            + " "
            + carrier.astype(str)
            + " "
            + last["description"].fillna("").astype(str)
        ).str.strip()
        english = glosses_beside(last["description"], last["carrier"])
        if self.language == "en" and english is not None:
            glossed = last_text + " (" + english.to_numpy() + ")"
            last_text = last_text.where(english.eq("").to_numpy(), glossed)
        return pd.DataFrame(
            {
                self.t("parcel"): ids.to_numpy(),
                self.t("international"): self._number_text(
                    p["international_number"], p["international_carrier"]
                ).to_numpy(),
                self.t("domestic"): self._number_text(
                    p["domestic_number"], p["domestic_carrier"]
                ).to_numpy(),
                self.t("lane"): p["lane"].to_numpy(),
                self.t("recipient"): p["recipient"].to_numpy(),
                self.t("shipped"): p["shipped_at"].dt.strftime("%Y-%m-%d").fillna("").to_numpy(),
                self.t("category"): [self.category_label(c) for c in diagnoses["category"]],
                self.t("silent"): diagnoses["days_since_last_scan"].round(1).to_numpy(),
                self.t("last_scan"): last_text.to_numpy(),
                self.t("evidence"): self.evidence_text.reindex(ids).fillna("").to_numpy(),
            }
        )

    def stuck_html(self) -> str:
        """The parcels that need action, with their situation, last scan and evidence: one
        section per international carrier in a report on all carriers; empty in a one-parcel
        report (its summary says it all)."""
        if self.single:
            return ""
        e = html.escape
        title = self.heading_html("stuck_title")
        if self.stuck.empty:
            return title + f"<p>{e(self.t('no_stuck'))}</p>"
        parts = [title]
        for anchor, name, rows in self.carrier_sections():
            if self.carrier is None:
                parts.append(
                    f'<h3 id="{anchor}">{e(self.t("carrier_section", name=name, n=len(rows)))}</h3>'
                )
            parts.append(
                self._parcel_rows(rows).to_html(
                    index=False, escape=True, na_rep="", classes="report-table"
                )
            )
        return "".join(parts)

    def timeline_parcels(self) -> list[str]:
        """Parcels whose timelines the report draws: the longest silent that have scans."""
        with_scans = self.stuck[text_isin(self.stuck["parcel_id"], self.events["parcel_id"])]
        if self.single:
            with_scans = self.diagnoses[
                text_isin(self.diagnoses["parcel_id"], self.events["parcel_id"])
            ]
        return with_scans["parcel_id"].astype(str).head(MAX_TIMELINES).tolist()

    def timelines_intro_html(self) -> str:
        """Heading of the timelines, saying how many of the parcels are drawn."""
        e = html.escape
        k = len(self.timeline_parcels())
        if not k:
            return ""
        if self.single:
            return f'<h2 id="{SECTION_IDS["timeline"]}">{e(self.t("timeline"))}</h2>'
        more = e(self.t("timelines_more", n=len(self.stuck), k=k))
        return self.heading_html("timelines") + f"<p>{more}</p>"

    def timeline(self, parcel_id: str) -> go.Figure:
        """Timeline of one parcel's masked scans, with its expected delivery window."""
        from toolkit.plots import timeline_figure

        own = self.events[self.events["parcel_id"] == parcel_id]
        category = self.diagnoses.set_index("parcel_id").loc[parcel_id, "category"]
        title = html.escape(f"{parcel_id} · {self.category_label(category)}")
        shipped = self.parcels.loc[self.parcels["parcel_id"] == parcel_id, "shipped_at"]
        fig = timeline_figure(
            own,
            now=self.now,
            title=title,
            eta=self.eta.get(parcel_id),
            shipped_at=shipped.iloc[0] if len(shipped) else None,
        )
        return figure_in_chinese(fig) if self.language == "zh" else fig

    def evidence_html(self, parcel_id: str) -> str:
        """The scans that support one parcel's diagnosis, as an escaped table."""
        e = html.escape
        rows = self.evidence[self.evidence["parcel_id"] == parcel_id]
        words = self.evidence_text.get(parcel_id, "")
        # a report on one parcel says the evidence in words in its summary already
        head = "" if self.single else f"<p><b>{e(str(parcel_id))}</b>: {e(words)}</p>"
        if rows.empty:
            return head
        table = pd.DataFrame(
            {
                self.t("time"): rows["time_local"].map(minute_text).to_numpy(),
                self.t("carrier"): rows["carrier"]
                .map(lambda c: carrier_label(c, self.language) if pd.notna(c) else "")
                .to_numpy(),
                self.t("number"): rows["tracking_number"].to_numpy(),
                self.t("milestone"): rows["milestone"]
                .map(lambda m: capital(milestone_label(m, self.language)))
                .to_numpy(),
                self.t("location"): rows["location"].to_numpy(),
                self.t("description"): rows["description"].to_numpy(),
            }
        )
        english = glosses_beside(rows["description"], rows["carrier"])
        if self.language == "en" and english is not None:  # partners read the scans too
            table[self.t("in_english")] = english.to_numpy()
        return head + table.to_html(index=False, escape=True, na_rep="", classes="report-table")

    def incidents_html(self) -> str:
        """The lane incidents touching these parcels' carriers and lanes (nothing when
        there are none): where, since when, how many parcels, usual dwell against now."""
        if self.incidents is None or self.incidents.empty:
            return ""
        from toolkit.diagnosis.incidents import UNIT_RELEASED

        e = html.escape
        kinds = INCIDENT_KINDS[self.language]
        rows = self.incidents
        usual = [
            ""
            if pd.isna(u) or pd.isna(o)
            else self.t("incident_released", usual=u, seen=o)
            if unit == UNIT_RELEASED
            else self.t("incident_share", usual=u, days=d, seen=o)
            for u, d, o, unit in zip(
                rows["expected"],
                rows["usual_dwell_days"],
                rows["observed"],
                rows["unit"],
                strict=True,
            )
        ]
        table = pd.DataFrame(
            {
                self.t("incident_kind"): rows["kind"].map(lambda k: kinds.get(k, k)).to_numpy(),
                self.t("incident_where"): rows["where"].to_numpy(),
                self.t("incident_since"): rows["start"].map(minute_text).to_numpy(),
                self.t("incident_parcels"): rows["parcels"].to_numpy(),
                self.t("incident_usual"): usual,
                self.t("incident_end"): rows["expected_end"]
                .map(lambda t: minute_text(t)[:10] if pd.notna(t) else "")
                .to_numpy(),
            }
        )
        if self.language == "en":
            table[self.t("evidence")] = rows["evidence"].to_numpy()
        return (
            f'<h2 id="{SECTION_IDS["incidents"]}">{e(self.t("incidents"))}</h2>'
            f"<p>{e(self.t('incidents_intro'))}</p>"
            + table.to_html(index=False, escape=True, na_rep="", classes="report-table")
        )

    def unread_html(self) -> str:
        """The carrier's scan texts the reader cannot read, with how often and where they were
        seen: a request to the partner to say what each means; nothing when there are none."""
        if self.unread is None or self.unread.empty:
            return ""
        e = html.escape
        rows = self.unread
        table = pd.DataFrame(
            {
                self.t("scan_text"): rows["description"].to_numpy(),
                self.t("scans"): rows["scans"].to_numpy(),
                self.t("parcels"): rows["parcels"].to_numpy(),
                self.t("example"): (
                    rows["example_parcel"] + " · " + rows["example_number"]
                ).str.strip(" ·"),
                self.t("last_seen"): rows["last_seen"].map(minute_text).to_numpy(),
            }
        )
        if self.carrier is None:
            table.insert(
                0,
                self.t("carrier"),
                rows["carrier"].map(lambda c: carrier_label(c, self.language) or c).to_numpy(),
            )
        who = self.t("the_carriers") if self.carrier is None and not self.single else self.who
        what = self.t("this_parcel" if self.single else "these_parcels")
        texts, scans = self.unread_total
        more = ""
        if texts > len(rows):
            more = self.t(
                "unread_more",
                k=len(rows),
                rest=texts - len(rows),
                rest_scans=scans - int(rows["scans"].sum()),
            )
            more = f"<p>{e(more)}</p>"
        return (
            self.heading_html("unread")
            + f"<p>{e(self.t('unread_intro', who=who, what=what))}</p>"
            + table.to_html(index=False, escape=True, na_rep="", classes="report-table")
            + more
        )

    def questions_html(self) -> str:
        """The requests the diagnoses address to this carrier (or to every carrier)."""
        e = html.escape
        named = self.carrier or self.single  # a report on one parcel asks its carriers
        title = self.t("questions", who=self.who) if named else self.t("questions_all")
        head = f'<h2 id="{SECTION_IDS["questions_all"]}">{e(title)}</h2>'
        if self.questions.empty:
            return head + f"<p>{e(self.t('no_questions'))}</p>"
        cols = {"parcel_id": self.t("parcel")}
        if self.carrier is None:
            cols["to"] = self.t("to")
        cols |= {"question": self.t("question"), "facts": self.t("facts")}
        table = self.questions[list(cols)].rename(columns=cols)
        link = (
            f'<p><a class="questions-csv" download="{e(self.questions_file_name())}" '
            f'href="{self.questions_csv_href()}">{e(self.t("questions_csv"))}</a></p>'
        )
        return (
            head + link + table.to_html(index=False, escape=True, na_rep="", classes="report-table")
        )

    def questions_table(self) -> pd.DataFrame:
        """The requests as the downloadable spreadsheet has them: with the parcel's numbers
        and an empty column for the partner's answer."""
        p = self.parcels.set_index("parcel_id")
        q = self.questions
        ids = q["parcel_id"]

        def number(column: str) -> pd.Series:  # the request's, else the parcels table's
            given = p[column].reindex(ids).to_numpy() if column in p else None
            return q[column].astype(object).where(q[column].notna(), given)

        cols = {
            self.t("parcel"): ids.to_numpy(),
            self.t("international"): number("international_number").to_numpy(),
            self.t("domestic"): number("domestic_number").to_numpy(),
        }
        if self.carrier is None:
            cols[self.t("to")] = q["to"].to_numpy()
        cols |= {
            self.t("question"): q["question"].to_numpy(),
            self.t("facts"): q["facts"].to_numpy(),
            self.t("answer"): "",
        }
        return pd.DataFrame(cols)

    def questions_file_name(self) -> str:
        """The requests spreadsheet's name: the parcel's id for a one-parcel report."""
        if self.single:
            parcel_id = str(self.diagnoses["parcel_id"].iloc[0])
            scope = re.sub(r"[^A-Za-z0-9-]+", "-", parcel_id).strip("-")[:40] or "parcel"
        else:
            scope = self.carrier or "all"
        return f"questions-{scope}-{self.now:%Y%m%d}.csv"

    def questions_csv_href(self) -> str:
        """The requests spreadsheet inside the page, as a data: address (nothing to fetch)."""
        from toolkit.io import spreadsheet_csv

        data = ("\ufeff" + spreadsheet_csv(self.questions_table())).encode("utf-8")
        return "data:text/csv;charset=utf-8;base64," + base64.b64encode(data).decode("ascii")

    def findings_html(self) -> str:
        """The findings recorded for these parcels, partner-safe (no analyst-only notes), with
        situations and statuses in words and times to the minute."""
        e = html.escape
        key = "finding_one" if self.single else "findings"
        head = f'<h2 id="{SECTION_IDS["findings"]}">{e(self.t(key))}</h2>'
        if self.findings is None or self.findings.empty:
            none = "no_finding_one" if self.single else "no_findings"
            return head + f"<p>{e(self.t(none))}</p>"
        status = FINDING_STATUS_ZH if self.language == "zh" else FINDING_STATUS_EN
        columns = FINDING_COLUMNS_ZH if self.language == "zh" else FINDING_COLUMNS_EN
        table = self.findings.assign(
            category=self.findings["category"].map(lambda c: self.category_label(c) if c else c),
            status=self.findings["status"].map(lambda s: status.get(s, s)),
            follow_up=self.findings["follow_up"].map(lambda t: minute_text(t)[:10]),
            updated_at=self.findings["updated_at"].map(_utc_minute_text),
        ).rename(columns=columns)
        return head + table.to_html(index=False, escape=True, na_rep="", classes="report-table")


def _utc_minute_text(value: object) -> str:
    """A stored time (ISO text, any offset) as 'YYYY-MM-DD HH:MM' in UTC; empty when blank."""
    if value is None or value is pd.NA or not str(value).strip():
        return ""
    try:
        t = pd.Timestamp(str(value))
    except (ValueError, TypeError):
        return str(value)
    return minute_text(t.tz_localize("UTC") if t.tzinfo is None else t)


def _slug(code: object) -> str:
    """A carrier code as part of an HTML id: lower-case letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9]+", "-", str(code).lower()).strip("-") or "unknown"


# Anchors of the report's sections, which the contents list links to.
SECTION_IDS: dict[str, str] = {
    "summary": "summary",
    "lanes": "lanes",
    "incidents": "incidents",
    "stuck_title": "need-action",
    "timelines": "timelines",
    "unread": "unread-texts",
    "questions_all": "questions",
    "findings": "findings",
    "the_parcel": "parcel",
    "timeline": "timeline",
}


QUESTION_COLUMNS: tuple[str, ...] = (
    "parcel_id",
    "to",
    "question",
    "facts",
    "international_number",
    "domestic_number",
)


# Columns of a finding a partner sees; internal notes never leave the store.
FINDING_COLUMNS: tuple[str, ...] = (
    "parcel_ids",
    "tracking_numbers",
    "category",
    "status",
    "root_cause",
    "actions_taken",
    "notes",
    "follow_up",
    "updated_at",
)


def partner_findings(
    parcels: pd.DataFrame,
    url: str | None = None,
    findings_filter: Mapping[str, object] | None = None,
) -> pd.DataFrame:
    """Findings recorded for these parcels (those matching the filter, if one is given), as the
    store's partner-safe export gives them."""
    from toolkit.findings import store as store_module

    if no_findings_store(url):
        return pd.DataFrame(columns=list(FINDING_COLUMNS))
    wanted = findings_filter or {}  # checked with the scope (ReportScope.findings_filter)
    ids = parcels["parcel_id"].astype(str).tolist()
    with store_module.FindingsStore(url=url) as store:
        table = store.export_table(partner_safe=True, parcels=parcels, parcel_id=ids, **wanted)
    table = table[[c for c in FINDING_COLUMNS if c in table.columns]]
    return table.astype("string").fillna("")


def _unread_texts(events: pd.DataFrame, code: str | None) -> tuple[pd.DataFrame, tuple[int, int]]:
    """The scan texts of ``events`` (already masked) the reader leaves unknown, written by the
    report's carrier (every carrier's without one): the MAX_UNREAD seen on most scans, and how
    many texts and scans there are in all."""
    from toolkit.tracking.wording import unread

    if code is not None and "carrier" in events.columns:
        events = events[events["carrier"].astype("string").str.strip().str.lower().eq(code)]
    table = unread(events)
    total = (len(table), int(table["scans"].sum()) if len(table) else 0)
    table = table.head(MAX_UNREAD).reset_index(drop=True)
    # whom the request goes to: the carrier in the role its scans of that text have (most)
    role = pd.Series("international provider", index=table.index, dtype=object)
    if "leg" in events.columns and len(table):
        key = events["description"].astype("string").fillna("").str.strip()
        domestic = (
            events.assign(_text=key, _domestic=events["leg"].astype("string").eq("domestic"))
            .groupby(["_text", "carrier"])["_domestic"]
            .mean()
        )
        pairs = zip(table["description"], table["carrier"], strict=True)
        share = [domestic.get(pair, 0.0) for pair in pairs]
        role = role.where(pd.Series(share, index=table.index) <= 0.5, "domestic carrier")
    return table.assign(role=role), total


def build_report(
    parcels: pd.DataFrame,
    events: pd.DataFrame,
    scope: ReportScope | None = None,
    *,
    demo: bool = False,
    **values: object,
) -> PartnerReport:
    """Diagnose the parcels in scope and keep only what a partner may see (masked, escaped later).

    ``scope`` is a checked ``ReportScope``; without one, ``values`` (carrier, since, until,
    parcel_ids, findings_filter, findings_url, language, now) are checked into one.
    """
    from toolkit.diagnosis.diagnose import diagnose_all, diagnose_each, fit_eta
    from toolkit.diagnosis.incidents import detect, incident_of, scope_incidents

    if scope is None:
        scope = ReportScope.check(parcels, events, **values)  # type: ignore[arg-type]
    elif values:
        raise TypeError(f"build_report takes a scope or its values, not both: {sorted(values)}")
    chosen = scope.select(parcels, events)
    code, language, when = scope.carrier, scope.language, scope.now
    model = fit_eta(events, parcels, now=when)
    diagnoses = diagnose_all(events, chosen, now=when, eta_model=model)
    ids = set(chosen["parcel_id"])
    own_events = events[text_isin(events["parcel_id"], ids)]
    stuck_ids = diagnoses.loc[diagnoses["category"].astype(str).isin(STUCK), "parcel_id"]
    if len(chosen) == 1:  # a report on one parcel explains it whatever its situation
        stuck_ids = diagnoses["parcel_id"]
    stuck = chosen.set_index("parcel_id", drop=False).loc[stuck_ids]
    maskers = recipient_maskers(chosen, chosen["parcel_id"])  # one per parcel, for all texts
    incidents = scope_incidents(detect(events, parcels, when), chosen, code)
    evidence, words, questions, eta = [], {}, [], {}
    evidence_cols = ["time_utc", "time_local", "carrier", "tracking_number", "milestone"]
    # actions and evidence rows come from the full diagnosis of each stuck parcel
    for pid, d in zip(
        stuck_ids, diagnose_each(own_events, stuck, when, eta_model=model), strict=True
    ):
        d = d.with_incident(incident_of(incidents, str(pid)))
        mask = maskers.get(str(pid), mask_text)  # this parcel's recipient, in any spelling
        words[pid] = mask(
            "；".join(d.evidence_text_zh) if language == "zh" else "; ".join(d.evidence_text)
        )
        if len(d.evidence):
            evidence.append(
                d.evidence[[*evidence_cols, "location", "description"]].assign(parcel_id=pid)
            )
        if (estimate := report_eta(d)) is not None:
            eta[pid] = estimate
        questions += [
            {
                "parcel_id": pid,
                "to": who_label(a.who, language),
                "question": mask(a.what_zh if language == "zh" and a.what_zh else a.what),
                "facts": mask(facts_text(a.facts, language)),
                # the numbers the request gives (a domestic one may come from a handover scan)
                "international_number": a.facts.get("international number"),
                "domestic_number": a.facts.get("domestic number"),
            }
            for a in d.actions
            if _addressed_to(a.who, code)
        ]
    shown_events = _masked_events(own_events, maskers)
    unread, unread_total = _unread_texts(shown_events, code)
    questions += [
        {
            "parcel_id": row.example_parcel,
            "to": who_label(f"{row.role} {carrier_label(row.carrier) or row.carrier}", language),
            "question": TEXT[language]["unread_question"].format(text=row.description),
            "facts": TEXT[language]["unread_facts"].format(
                scans=row.scans,
                parcels=row.parcels,
                last=minute_text(row.last_seen) or "?",
                parcel=row.example_parcel,
                number=row.example_number or "?",
            ),
            "international_number": None,
            "domestic_number": None,
        }
        for row in unread.itertuples(index=False)
    ]
    link = _domestic_link(chosen, own_events)  # one domestic number for every table
    shown = chosen.drop(columns=[c for c in chosen.columns if c in PERSONAL_COLUMNS]).assign(
        recipient=_recipient(chosen).to_numpy(),
        lane=_lane(chosen).to_numpy(),
        domestic_number=link["domestic_number"].to_numpy(),
        domestic_carrier=link["domestic_carrier"].to_numpy(),
    )
    return PartnerReport(
        carrier=code,
        since=scope.since,
        until=scope.until,
        now=when,
        language=language,
        parcels=shown,
        events=shown_events,
        diagnoses=diagnoses,
        evidence=_masked_events(pd.concat(evidence, ignore_index=True), maskers)
        if evidence
        else pd.DataFrame(columns=[*evidence_cols, "location", "description", "parcel_id"]),
        evidence_text=pd.Series(words, dtype="string"),
        questions=pd.DataFrame(questions, columns=QUESTION_COLUMNS),
        eta=eta,
        findings=partner_findings(chosen, scope.findings_url, scope.findings_filter),
        named=None if scope.selected is None else len(scope.selected),
        incidents=incidents.drop(columns=["parcel_ids"]),
        findings_filter=scope.findings_filter,
        demo=demo,
        unread=unread,
        unread_total=unread_total,
    )


def load(
    *,
    scope: Mapping[str, object] | None = None,
    parcels_path: str | os.PathLike | None = None,
    events_path: str | os.PathLike | None = None,
    **values: object,
) -> PartnerReport:
    """The report for the notebook's parameters: tables (default: the demo set), scope, diagnoses.

    ``scope`` is the checked scope ``render_report`` hands over (``ReportScope.to_parameters``);
    run by hand, the notebook gives the values instead (carrier, since, until, parcels_file,
    parcel_ids, findings_filter, findings_url, language, now) and they are checked here.
    """
    parcels, events, is_demo = load_tables(parcels_path, events_path)
    if scope is not None:
        return build_report(parcels, events, ReportScope.from_parameters(scope), demo=is_demo)
    return build_report(parcels, events, demo=is_demo, **values)
