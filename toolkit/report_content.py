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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from toolkit.errors import FileFormatError, InputError
from toolkit.model import (
    CARRIERS,
    CATEGORIES,
    PERSONAL_COLUMNS,
    Category,
    validate_events,
    validate_parcels,
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
from toolkit.times import to_utc

__all__ = [
    "LANGUAGES",
    "PartnerReport",
    "build_report",
    "check_findings_filter",
    "load",
    "partner_findings",
    "read_selection",
    "select_parcels",
]

LANGUAGES: tuple[str, ...] = ("en", "zh")
STUCK: tuple[str, ...] = tuple(
    c for c in CATEGORIES if c not in (Category.DELIVERED, Category.MOVING)
)
MAX_TIMELINES = 12  # timelines drawn for the longest-silent parcels; the table lists all
GROUP_FIGURES: tuple[str, ...] = ("gone_dark", "ageing", "dwell")
MAX_LANES = 12  # lanes drawn in the lane figures (most parcels first); a sentence sums the rest
SELECTION_COLUMNS: tuple[str, ...] = (
    "parcel_id",
    "international_number",
    "tracking_number",
    "domestic_number",
    "order_id",
)
_TABLE_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".parquet")
INTERNAL_SUFFIX = ".pkl"  # tables handed by toolkit.report to its own notebook run


TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Parcels without tracking: report for {who}",
        "all_carriers": "all carriers",
        "unknown_carrier": "Carrier not known",
        "as_of": "Data as of {now} UTC.",
        "scope_since": "Parcels shipped since {since}.",
        "scope_until": "Parcels shipped before {until}.",
        "scope_selection": "The {n} parcels named by the sender.",
        "scope_selection_some": "{n} of the {m} parcels named by the sender; the others are "
        "outside this report's carrier, period or findings.",
        "scope_findings": "Parcels with a recorded finding.",
        "scope_findings_of": "Parcels with a recorded finding ({what}).",
        "demo": "Demo data: invented parcels and scans, for trying the report out.",
        "masked": "Recipient names, phone numbers and addresses are masked.",
        "summary": "Summary",
        "parcels": "Parcels",
        "stuck": "Need action",
        "median_silence": "Median days since the last scan (parcels needing action)",
        "category": "Situation",
        "count": "Parcels",
        "share": "Share",
        "lanes": "Lanes",
        "lane_outcomes": "Situation of the parcels by lane",
        "gone_dark": "Share of parcels gone dark, by carrier and lane",
        "ageing": "Parcels not delivered, by days since the last scan",
        "dwell": "Time spent in each stage in China, by carrier",
        "lane": "Lane",
        "lanes_shown": "The charts show the {k} lanes with the most parcels ({n:,} of {total:,} "
        "parcels).",
        "lanes_rest": "The other {m} lanes carry {rest:,} parcels, {rest_stuck:,} of which need "
        "action; the table of parcels that need action lists them all.",
        "contents": "Contents",
        "by_carrier": "{name}: {n:,} parcels need action",
        "carrier_section": "{name} ({n:,} parcels)",
        "parcel_title": "Parcel {id}: tracking report for {who}",
        "the_parcel": "The parcel",
        "timeline": "Timeline",
        "eta": "Expected delivery",
        "no_eta": "no estimate",
        "finding_one": "Finding recorded",
        "updated": "Updated",
        "follow_up": "Follow-up",
        "status": "Status",
        "root_cause": "Root cause",
        "actions_taken": "Actions taken",
        "notes": "Notes",
        "numbers": "Tracking numbers",
        "stuck_title": "Parcels that need action",
        "no_stuck": "No parcel in this report needs action.",
        "parcel": "Parcel",
        "international": "International number",
        "domestic": "Domestic number",
        "recipient": "Recipient (masked)",
        "shipped": "Shipped",
        "silent": "Days silent",
        "last_scan": "Last scan",
        "evidence": "Evidence",
        "timelines": "Timelines of the longest-silent parcels",
        "timelines_more": "The table above lists all {n} parcels; timelines show the {k} "
        "silent the longest.",
        "questions": "Questions for {who}",
        "questions_all": "Questions for the carriers",
        "no_questions": "No question for this carrier at the moment.",
        "to": "To",
        "question": "Request",
        "facts": "Facts",
        "answer": "Answer",
        "questions_csv": "Download these requests as a spreadsheet (CSV, one row per request, "
        "with an empty Answer column to fill in).",
        "findings": "Findings recorded",
        "no_findings": "No findings are recorded for these parcels.",
        "no_finding_one": "No finding is recorded for this parcel.",
        "time": "Time (local)",
        "carrier": "Carrier",
        "number": "Number",
        "milestone": "Milestone",
        "location": "Location",
        "description": "Description",
    },
    "zh": {
        "title": "无物流信息包裹：{who}报告",
        "all_carriers": "所有承运商",
        "unknown_carrier": "承运商未知",
        "as_of": "数据截至 {now}（UTC）。",
        "scope_since": "{since} 以来发出的包裹。",
        "scope_until": "{until} 之前发出的包裹。",
        "scope_selection": "发件方指定的 {n} 个包裹。",
        "scope_selection_some": "发件方指定的 {m} 个包裹中的 {n} 个；其余不在本报告的承运商、时间段或调查结果范围内。",
        "scope_findings": "有已记录调查结果的包裹。",
        "scope_findings_of": "有已记录调查结果（{what}）的包裹。",
        "demo": "演示数据：虚构的包裹和扫描记录，仅供试用。",
        "masked": "收件人姓名、电话和地址已做脱敏处理。",
        "summary": "概况",
        "parcels": "包裹数",
        "stuck": "需处理",
        "median_silence": "需处理包裹距最后一次扫描的天数（中位数）",
        "category": "状态",
        "count": "包裹数",
        "share": "占比",
        "lanes": "线路",
        "lane_outcomes": "各线路包裹状态",
        "gone_dark": "各承运商及线路失联包裹占比",
        "ageing": "未签收包裹距最后一次扫描的天数",
        "dwell": "各承运商在中国境内各环节的停留时间",
        "no_dwell": "尚无可测量的环节停留时间：没有包裹同时具备某一环节的首尾两次扫描",
        "lane": "线路",
        "lanes_shown": "图中为包裹最多的 {k} 条线路（共 {total:,} 个包裹中的 {n:,} 个）。",
        "lanes_rest": "其余 {m} 条线路共有 {rest:,} 个包裹，其中 {rest_stuck:,} 个需处理；"
        "“需处理的包裹”表列出全部包裹。",
        "contents": "目录",
        "by_carrier": "{name}：{n:,} 个包裹需处理",
        "carrier_section": "{name}（{n:,} 个包裹）",
        "parcel_title": "包裹 {id}：{who}物流情况报告",
        "the_parcel": "包裹情况",
        "timeline": "物流轨迹",
        "eta": "预计送达",
        "no_eta": "暂无预估",
        "finding_one": "已记录的调查结果",
        "updated": "更新时间",
        "follow_up": "跟进日期",
        "status": "状态",
        "root_cause": "原因",
        "actions_taken": "已采取的措施",
        "notes": "备注",
        "numbers": "单号",
        "stuck_title": "需处理的包裹",
        "no_stuck": "本报告中没有需要处理的包裹。",
        "parcel": "包裹",
        "international": "国际单号",
        "domestic": "国内单号",
        "recipient": "收件人（已脱敏）",
        "shipped": "发货日期",
        "silent": "无更新天数",
        "last_scan": "最后一次扫描",
        "evidence": "依据",
        "timelines": "无更新时间最长的包裹轨迹",
        "timelines_more": "上表列出全部 {n} 个包裹；下图为无更新时间最长的 {k} 个。",
        "questions": "需要{who}协助的问题",
        "questions_all": "需要承运商协助的问题",
        "no_questions": "目前没有需要该承运商协助的问题。",
        "to": "对象",
        "question": "请求",
        "facts": "信息",
        "answer": "答复",
        "questions_csv": "下载这些请求（CSV 表格，每行一个请求，可在“答复”列填写）。",
        "findings": "已记录的调查结果",
        "no_findings": "这些包裹没有已记录的调查结果。",
        "no_finding_one": "该包裹没有已记录的调查结果。",
        "time": "时间（当地）",
        "carrier": "承运商",
        "number": "单号",
        "milestone": "节点",
        "location": "地点",
        "description": "描述",
    },
}

CATEGORY_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "delivered": "Delivered",
        "moving": "Moving",
        "awaiting_clearance": "Awaiting customs clearance",
        "customs_hold": "Held by customs",
        "handover_not_synced": "Handed over, domestic number not linked",
        "number_invalid": "Tracking number invalid",
        "number_not_found": "Tracking number not found",
        "silent_too_long": "No scan for too long (possible loss)",
        "returned_or_exception": "Returned or exception",
    },
    "zh": {
        "delivered": "已签收",
        "moving": "运输中",
        "awaiting_clearance": "等待清关",
        "customs_hold": "海关扣留",
        "handover_not_synced": "已交接，国内单号未关联",
        "number_invalid": "单号无效",
        "number_not_found": "单号查不到",
        "silent_too_long": "长时间无更新（疑似丢失）",
        "returned_or_exception": "退回或异常",
    },
}


# ---------------------------------------------------------------- inputs


def check_language(language: object) -> str:
    """The report language, or InputError naming the ones there are."""
    if language not in LANGUAGES:
        raise InputError(
            f"unknown report language {language!r}",
            "partner report",
            f"Use one of: {', '.join(LANGUAGES)}",
        )
    return str(language)


def check_carrier(carrier: object, parcels: pd.DataFrame, events: pd.DataFrame) -> str | None:
    """The carrier code in lower case; known to the registry or present in the data."""
    if carrier is None:
        return None
    code = str(carrier).strip().lower()
    present = set(events["carrier"].dropna().astype(str).str.lower())
    for col in ("international_carrier", "domestic_carrier"):
        if col in parcels.columns:
            present |= set(parcels[col].dropna().astype(str).str.lower())
    if not code or (code not in CARRIERS and code not in present):
        raise InputError(
            f"unknown carrier {carrier!r}",
            "partner report --carrier",
            f"Use a carrier code such as {', '.join(sorted(CARRIERS)[:8])}… "
            "(the full list is toolkit.model.CARRIERS)",
        )
    return code


def parse_since(
    since: object, where: str = "partner report --since", what: str = "start date"
) -> pd.Timestamp | None:
    """The start of the reporting period as a UTC timestamp (a date means its midnight, UTC)."""
    return to_utc(
        since,
        what,
        where,
        naive="utc",
        empty="none",
        hint="Give a date such as 2026-11-01, or a time such as 2026-11-01T08:00+08:00",
    )


def parse_period(since: object, until: object) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The reporting period [since, until) in UTC; until must come after since."""
    start = parse_since(since)
    end = parse_since(until, "partner report --until", "end date")
    if start is not None and end is not None and end <= start:
        raise InputError(
            f"the period ends ({end:%Y-%m-%d %H:%M} UTC) before it starts "
            f"({start:%Y-%m-%d %H:%M} UTC)",
            "partner report --until",
            "Give an end after the start: --since 2026-10-01 --until 2026-11-01 is October",
        )
    return start, end


def _normalise_keys(values: pd.Series) -> pd.Series:
    return values.astype("string").str.replace(r"[\s\u3000]", "", regex=True).str.upper()


# What a parcel id, order id or tracking number is made of: letters and digits (of any
# script), with - _ . / # between them. A file whose values hold anything else is not a
# list of parcels, and errors about it quote none of its lines.
_SELECTION_VALUE = re.compile(r"[\w\-./#]{1,100}")


def read_selection(path: str | os.PathLike) -> list[str]:
    """Parcel ids or tracking numbers from a file: a parcels CSV/Parquet, or text, one a line."""
    from toolkit import io

    path = Path(path)
    if not path.is_file():
        raise FileFormatError(
            "the parcels file does not exist",
            str(path),
            "Give a CSV or Parquet of parcels, or a text file with one parcel id or number a line",
        )
    name = path.name.lower()
    if name.endswith(_TABLE_SUFFIXES):
        values = _selection_column(_read_selection_table(path), path)
        _check_selection(
            [(re.sub(r"\s", "", v), f"value {n}") for n, v in enumerate(values, start=1)], path
        )
    else:
        text = io.read_text(path)
        tokens = [
            (token, f"line {number}")
            for number, line in enumerate(text.splitlines(), start=1)
            if line.strip() and not line.lstrip().startswith("#")
            for token in re.split(r"[,;\s]+", line.strip())
            if token
        ]
        _check_selection(tokens, path)
        values = [token for token, _ in tokens]
    values = list(dict.fromkeys(v.strip() for v in values if v and v.strip()))
    if not values:
        raise InputError(
            "the parcels file names no parcel",
            str(path),
            "Put one parcel id or tracking number on each line",
        )
    return values


def _check_selection(values: list[tuple[str, str]], path: Path) -> None:
    """Refuse, without quoting it, a file whose values are not parcel ids or numbers."""
    odd = next((where for value, where in values if not _SELECTION_VALUE.fullmatch(value)), None)
    if odd is not None:
        raise FileFormatError(
            f"this does not look like a list of parcel ids or tracking numbers: {odd} holds "
            "characters that ids and numbers do not have",
            str(path),
            "Give a CSV/TSV/Parquet table of parcels with a parcel_id or international_number "
            "column, or a text file with one parcel id or tracking number a line (letters, "
            "digits and - _ . / # only)",
        )


def _read_selection_table(path: Path) -> pd.DataFrame:
    from toolkit import io

    return io.read_table(path)


def _selection_column(table: pd.DataFrame, path: Path) -> list[str]:
    columns = {str(c).strip().lower(): c for c in table.columns}
    pick = next((columns[c] for c in SELECTION_COLUMNS if c in columns), None)
    if pick is None and len(table.columns) == 1:
        pick = table.columns[0]
    if pick is None:
        raise InputError(
            f"the parcels file has no column {' or '.join(repr(c) for c in SELECTION_COLUMNS[:3])}",
            str(path),
            "Name the column parcel_id (or international_number), or list one id a line "
            "in a text file",
        )
    return table[pick].dropna().astype(str).str.strip().tolist()


def load_tables(
    parcels_path: str | os.PathLike | None = None, events_path: str | os.PathLike | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    """(parcels, events, is_demo): the given tables, or the demo set when none is given."""
    from toolkit import demo, io

    if (parcels_path is None) != (events_path is None):
        raise InputError(
            "a parcels table was given without its events, or the other way round",
            "partner report",
            "Give both tables (parcels_path and events_path), or neither for the demo set",
        )
    if parcels_path is None:
        parcels, events = demo.load_demo()
        return parcels, events, True
    if str(parcels_path).endswith(INTERNAL_SUFFIX):
        parcels, events = pd.read_pickle(parcels_path), pd.read_pickle(events_path)
    else:
        parcels, events = io.read_parcels(parcels_path), io.read_events(events_path)
    return parcels, events, False


def select_parcels(
    parcels: pd.DataFrame,
    events: pd.DataFrame,
    *,
    carrier: str | None = None,
    since: object = None,
    parcel_ids: Sequence[str] | None = None,
    findings_filter: Mapping[str, object] | None = None,
    findings_url: str | None = None,
    until: object = None,
) -> pd.DataFrame:
    """The parcels a report covers: of the carrier (either leg), shipped since and before
    until, among the ids, with a recorded finding that matches the findings filter; every
    filter given narrows."""
    validate_parcels(parcels, "parcels to report on")
    validate_events(events, "events to report on")
    code = check_carrier(carrier, parcels, events)
    start, end = parse_period(since, until)
    wanted = check_findings_filter(findings_filter)
    keep = pd.Series(True, index=parcels.index)
    if parcel_ids is not None:
        keep &= parcels["parcel_id"].isin(_match_selection(parcels, parcel_ids))
    if wanted is not None:
        keep &= parcels["parcel_id"].astype(str).isin(parcels_with_findings(wanted, findings_url))
    if code is not None:
        on_leg = pd.Series(False, index=parcels.index)
        for col in ("international_carrier", "domestic_carrier"):
            on_leg |= parcels[col].astype("string").str.lower().eq(code).fillna(False)
        scanned = events.loc[events["carrier"].astype("string").str.lower() == code, "parcel_id"]
        keep &= on_leg | parcels["parcel_id"].isin(set(scanned))
    if start is not None or end is not None:
        first_scan = events.groupby("parcel_id")["time_utc"].min()
        began = parcels["shipped_at"].fillna(parcels["parcel_id"].map(first_scan))
        # A parcel with neither a shipping time nor a scan cannot be placed: it stays in.
        if start is not None:
            keep &= began.isna() | (began >= start)
        if end is not None:
            keep &= began.isna() | (began < end)
    out = parcels[keep.to_numpy(bool)].reset_index(drop=True)
    if out.empty:
        scope = ", ".join(
            part
            for part in (
                f"carrier {code}" if code else "",
                f"shipped since {start:%Y-%m-%d %H:%M} UTC" if start is not None else "",
                f"shipped before {end:%Y-%m-%d %H:%M} UTC" if end is not None else "",
                f"{len(parcel_ids)} named parcel(s)" if parcel_ids is not None else "",
                f"findings with {describe_findings_filter(wanted)}" if wanted is not None else "",
            )
            if part
        )
        raise InputError(
            f"no parcel matches {scope or 'the report'}",
            "partner report",
            "Widen the period, check the carrier code, pass other parcels or loosen the "
            "findings filter",
        )
    return out


def _match_selection(parcels: pd.DataFrame, wanted: Sequence[str]) -> set[str]:
    """Parcel ids named by ids or numbers; unknown entries raise InputError naming them."""
    if isinstance(wanted, str):
        wanted = [wanted]
    wanted = [str(w) for w in wanted if w is not None and str(w).strip()]
    if not wanted:
        raise InputError(
            "the list of parcels is empty", "partner report", "Name at least one parcel"
        )
    cols = [c for c in ("parcel_id", "order_id", "international_number", "domestic_number")]
    keys = pd.concat(
        [
            pd.DataFrame({"key": _normalise_keys(parcels[c]), "parcel_id": parcels["parcel_id"]})
            for c in cols
            if c in parcels.columns
        ],
        ignore_index=True,
    ).dropna()
    asked = _normalise_keys(pd.Series(wanted, dtype="string"))
    hit = keys[keys["key"].isin(set(asked))]
    known = set(hit["key"])
    unknown = [w for w, k in zip(wanted, asked, strict=True) if k not in known]
    if unknown:
        shown = ", ".join(repr(u) for u in unknown[:10])
        more = f" (and {len(unknown) - 10} more)" if len(unknown) > 10 else ""
        raise InputError(
            f"{len(unknown)} parcel(s) are not in the parcels table: {shown}{more}",
            "partner report",
            "Check the ids or numbers, or report on a parcels table that holds them",
        )
    return set(hit["parcel_id"].astype(str))


FINDINGS_FILTER_KEYS: tuple[str, ...] = ("status", "category", "analyst", "since")


def check_findings_filter(value: object) -> dict[str, object] | None:
    """A findings filter as FindingsStore.query takes it (keys FINDINGS_FILTER_KEYS).

    Values are text or lists of text; ``since`` becomes ISO text. Empty values are dropped,
    and an empty filter is None (no filter).
    """
    if value is None:
        return None
    example = 'Give keys and values, e.g. {"status": "open", "category": "customs_hold"}'
    if not isinstance(value, Mapping):
        raise InputError(
            f"the findings filter {value!r} is not a mapping", "partner report", example
        )
    unknown = sorted(str(k) for k in value if k not in FINDINGS_FILTER_KEYS)
    if unknown:
        raise InputError(
            f"unknown findings filter key(s): {', '.join(unknown)}",
            "partner report",
            f"Use {', '.join(FINDINGS_FILTER_KEYS)}",
        )
    out: dict[str, object] = {}
    for key, v in value.items():
        if v is None or (isinstance(v, str) and not v.strip()):
            continue
        if key == "since":
            start = parse_since(v, "partner report findings filter since (--finding-since)")
            if start is not None:
                out[key] = start.isoformat()
            continue
        values = [v] if isinstance(v, str) else list(v) if isinstance(v, Sequence) else None
        if values is None or not all(isinstance(x, str) for x in values):
            raise InputError(
                f"findings filter {key} {v!r} is neither text nor a list of text",
                "partner report",
                example,
            )
        values = [x.strip() for x in values if x.strip()]
        if values:
            out[key] = values[0] if len(values) == 1 else values
    return out or None


def describe_findings_filter(
    wanted: Mapping[str, object], *, public: bool = False, language: str = "en"
) -> str:
    """The filter in words, e.g. "status open, category customs_hold"; public: no analyst."""
    zh = language == "zh"
    words = {
        "status": lambda v: FINDING_STATUS_ZH.get(v, v),
        "category": lambda v: CATEGORY_LABELS["zh"].get(v, v),
    }
    parts = []
    for key in FINDINGS_FILTER_KEYS:
        if key not in wanted or (public and key == "analyst"):
            continue
        v = wanted[key]
        values = [v] if isinstance(v, str) else [str(x) for x in v]  # type: ignore[union-attr]
        if key == "since":
            day = f"{pd.Timestamp(str(v)):%Y-%m-%d}"
            parts.append(f"{day} 以来有更新" if zh else f"changed since {day}")
        elif zh:
            label = {"status": "状态", "category": "诊断", "analyst": "记录人"}[key]
            parts.append(label + " " + "或".join(words.get(key, str)(x) for x in values))
        else:
            parts.append(f"{key} {' or '.join(values)}")
    return "，".join(parts) if zh else ", ".join(parts)


def _no_findings_store(url: str | None) -> bool:
    """True when no store is named and the default one was never created."""
    from toolkit import findings as store_module

    named = url is not None or os.environ.get(store_module.ENV_URL, "").strip()
    return not named and not store_module.default_path().is_file()


def parcels_with_findings(wanted: Mapping[str, object], url: str | None = None) -> set[str]:
    """Ids of the parcels with a current finding matching the filter; InputError if none."""
    from toolkit import findings as store_module

    # Without a store the filter is still checked (against an empty in-memory one).
    with store_module.FindingsStore(url="sqlite://" if _no_findings_store(url) else url) as store:
        found = store.query(**wanted)  # type: ignore[arg-type]
    if found.empty:
        raise InputError(
            f"no recorded finding matches {describe_findings_filter(wanted)}",
            "partner report",
            "Loosen the findings filter, check the findings store address, or record "
            "the findings first",
        )
    return {str(pid) for ids in found["parcel_ids"] for pid in ids}


# ---------------------------------------------------------------- the report


def carrier_label(code: str | None, language: str = "en") -> str | None:
    """A carrier's display name in the language (the code itself when the registry does not
    know it)."""
    if code is None:
        return None
    c = CARRIERS.get(str(code).lower())
    if c is None:
        return str(code)
    return c.name_zh if language == "zh" and c.name_zh else c.name


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


def milestone_label(milestone: object, language: str = "en") -> str:
    """A milestone as the timelines' legend names it ('customs hold', '海关扣留')."""
    words = str(milestone).replace("_", " ")
    return FIGURE_TEXT_ZH.get(words, words) if language == "zh" else words


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


# What the figures of toolkit.plots say, in the report's Chinese: axis, legend and colour-bar
# titles, notes and legend entries. A test checks that a Chinese report's figures keep no
# English words, so a new wording in plots shows up there.
FIGURE_TEXT_ZH: dict[str, str] = {
    "Time (UTC)": "时间（UTC）",
    "Leg · carrier": "航段 · 承运商",
    "Milestone": "节点",
    "Diagnosis": "诊断",
    "Parcels (count)": "包裹数",
    "Time since last scan (days)": "距最后一次扫描（天）",
    "no scan yet": "尚无扫描",
    "Stage in China": "中国境内环节",
    "Time in stage (hours)": "环节停留时间（小时）",
    "carrier (stage times measured)": "承运商（已测得环节时间的包裹数）",
    "International carrier": "国际承运商",
    "Lane (origin country → destination province)": "线路（始发国 → 目的省份）",
    "Gone dark<br>(% of parcels)": "失联<br>（占包裹比例）",
    "now": "现在",
    "expected delivery": "预计送达",
    "delivery expected from": "预计最早送达",
    "Arrival → clearance start": "到达 → 开始清关",
    "Clearance start → cleared": "开始清关 → 放行",
    "Cleared → handover": "放行 → 移交",
    "Handover → first domestic scan": "移交 → 首次国内扫描",
    "First domestic scan → delivery": "首次国内扫描 → 妥投",
    "Sandbox data: built-in demo carriers, not real tracking": "沙盒数据：内置演示承运商，"
    "并非真实物流信息",
    # milestones, as the timeline's legend names them
    "info received": "电子信息",
    "accepted": "揽收",
    "in transit": "运输中",
    "departed origin": "离开始发国",
    "arrived destination": "到达目的国",
    "customs clearance": "清关中",
    "customs hold": "海关扣留",
    "customs cleared": "清关放行",
    "handed over": "移交国内承运商",
    "domestic in transit": "国内运输",
    "out for delivery": "派送中",
    "available for pickup": "待自提",
    "delivery failed": "派送失败",
    "delivered": "妥投",
    "returning": "退回中",
    "returned": "已退回",
    "exception": "异常",
    "unknown": "未识别",
}
_SILENT_GAP = re.compile(r"^([\d.]+) (days|hours) silent$")
_SHORTER_GAPS = re.compile(r"^(\d+) shorter silent gaps shaded, not labelled$")
_IMPOSSIBLE_DATES = re.compile(r"^(\d+) scan\(s\) with an impossible date not drawn \((.*)\)$")
_DWELL_STAGE = re.compile(r"^(.+?) →<br>(.+?)<br><i>n = ([\d,]+) of ([\d,]+)</i>$")
_AGEING_HOVER = re.compile(r"^(.*)<br>%\{x\} days: %\{y:,\} parcels(<extra></extra>)$")


def _zh_text(text: object, categories: Mapping[str, str]) -> object:
    """One figure text in Chinese when it is one toolkit.plots writes; else unchanged."""
    if not isinstance(text, str):
        return text
    if text in FIGURE_TEXT_ZH:
        return FIGURE_TEXT_ZH[text]
    key = text.replace(" ", "_")
    if key in categories:
        return categories[key]
    if m := _SILENT_GAP.match(text):
        return f"{m.group(1)} {'天' if m.group(2) == 'days' else '小时'}无扫描"
    if (m := _DWELL_STAGE.match(text)) and f"{m.group(1)} → {m.group(2)}" in FIGURE_TEXT_ZH:
        stage = FIGURE_TEXT_ZH[f"{m.group(1)} → {m.group(2)}"].replace(" → ", " →<br>")
        return f"{stage}<br><i>测得 {m.group(3)} / 共 {m.group(4)}</i>"
    if m := _SHORTER_GAPS.match(text):
        return f"另有 {m.group(1)} 段较短的无扫描时段已标灰，未标注"
    if m := _IMPOSSIBLE_DATES.match(text):
        return f"{m.group(1)} 条扫描日期不可能，未画出（{m.group(2)}）"
    return text


def _zh_leg(lane: object) -> object:
    """'international · UPS' (a timeline lane) as '国际 · UPS', carriers by their Chinese name."""
    if isinstance(lane, str):
        for leg, zh in (("international · ", "国际 · "), ("domestic · ", "国内 · ")):
            if lane.startswith(leg):
                name = lane[len(leg) :]
                return zh + _ZH_CARRIER_NAMES.get(name, name)
    return lane


# a lane shows the carrier's name HTML-escaped (plots._escape), so the keys are too
_ZH_CARRIER_NAMES = {
    html.escape(c.name, quote=False): html.escape(c.name_zh, quote=False)
    for c in CARRIERS.values()
    if c.name_zh
}


def figure_in_chinese(fig: go.Figure) -> go.Figure:
    """The figure with what toolkit.plots wrote in English said in Chinese (carrier text,
    numbers and names are left as they are)."""
    cats = CATEGORY_LABELS["zh"]
    layout = fig.layout
    for axis in ("xaxis", "yaxis"):
        a = getattr(layout, axis)
        if a is not None and a.title is not None and a.title.text:
            a.title.text = _zh_text(a.title.text, cats)
        if a is not None and a.ticktext:
            a.ticktext = [_zh_text(t, cats) for t in a.ticktext]
        if a is not None and a.categoryarray:  # the order of categories renamed below
            a.categoryarray = [_zh_leg(_zh_text(c, cats)) for c in a.categoryarray]
    if layout.legend is not None and layout.legend.title is not None:
        layout.legend.title.text = _zh_text(layout.legend.title.text, cats)
    for note in layout.annotations or ():
        note.text = _zh_text(note.text, cats)
    for shape in layout.shapes or ():  # lane lines sit on the lanes' names
        shape.y0, shape.y1 = _zh_leg(shape.y0), _zh_leg(shape.y1)
    for trace in fig.data:
        if trace.name:
            trace.name = _zh_text(trace.name, cats)
        if getattr(trace, "colorbar", None) is not None and trace.colorbar.title is not None:
            trace.colorbar.title.text = _zh_text(trace.colorbar.title.text, cats)
        if trace.type in ("box", "bar") and trace.x is not None:  # stage and age categories
            trace.x = [_zh_text(x, cats) for x in trace.x]
        template = getattr(trace, "hovertemplate", None)
        if isinstance(template, str) and (m := _AGEING_HOVER.match(template)):
            trace.hovertemplate = (
                f"{_zh_text(m.group(1), cats)}<br>%{{x}} 天：%{{y:,}} 个包裹{m.group(2)}"
            )
        elif isinstance(template, str) and "gone dark:" in template:
            trace.hovertemplate = (
                template.replace("gone dark:", "失联：")
                .replace(" of ", " / ")
                .replace(" parcels", " 个包裹")
            )
        if trace.type == "scatter" and trace.y is not None:
            trace.y = [_zh_leg(y) for y in trace.y]
        hover = getattr(trace, "hovertext", None)
        if hover is not None and not isinstance(hover, str):
            trace.hovertext = [
                h.replace(" (time zone assumed)", "（时区为推定）") if isinstance(h, str) else h
                for h in hover
            ]
    return fig


# Labels of the facts a request gives, in the report's Chinese.
FACT_LABELS_ZH: dict[str, str] = {
    "international number": "国际单号",
    "domestic number": "国内单号",
    "recipient phone, last four digits": "收件人手机号后四位",
    "held since": "扣关起始日",
    "last international scan": "最后一次国际扫描",
    "last scan": "最后一次扫描",
    "shipped": "发货日期",
    "likely carriers": "可能的承运商",
    "suggested corrections": "建议更正",
}
_WHO_ZH = {"international provider": "国际承运商", "domestic carrier": "国内承运商"}


def _facts_text(facts: Mapping[str, object], language: str) -> str:
    sep, colon = ("；", "：") if language == "zh" else ("; ", ": ")
    label = (lambda k: FACT_LABELS_ZH.get(k, k)) if language == "zh" else (lambda k: k)
    return sep.join(f"{label(k)}{colon}{v}" for k, v in facts.items())


def _who_label(who: str, language: str) -> str:
    """'domestic carrier SF Express' as the report's language says it."""
    if language == "zh":
        for role, zh in _WHO_ZH.items():
            if who.startswith(role):
                name = who[len(role) :].strip()
                return f"{zh} {_NAME_ZH.get(name, name)}".strip()
    return who


# English carrier names (as actions address them) to their Chinese names
_NAME_ZH: dict[str, str] = {c.name: c.name_zh for c in CARRIERS.values() if c.name_zh}


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
            row[self.t("eta")] = _eta_text(eta, self.language) if eta else self.t("no_eta")
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
        named = self.parcels[self.parcels["parcel_id"].isin(on_shown_lanes)].assign(
            international_carrier=lambda p: p["international_carrier"].map(
                lambda c: carrier_label(c, self.language) if pd.notna(c) else c
            )
        )
        return [
            plots.gone_dark_heatmap(
                self.diagnoses[self.diagnoses["parcel_id"].isin(on_shown_lanes)],
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
        with_scans = self.stuck[self.stuck["parcel_id"].isin(set(self.events["parcel_id"]))]
        if self.single:
            with_scans = self.diagnoses[
                self.diagnoses["parcel_id"].isin(set(self.events["parcel_id"]))
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
                .map(lambda m: _capital(milestone_label(m, self.language)))
                .to_numpy(),
                self.t("location"): rows["location"].to_numpy(),
                self.t("description"): rows["description"].to_numpy(),
            }
        )
        return head + table.to_html(index=False, escape=True, na_rep="", classes="report-table")

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


def _eta_text(eta: object, language: str) -> str:
    """An estimate's range in the report's language."""
    text = eta.text()  # type: ignore[attr-defined]
    if language == "zh":
        text = text.replace(" or later", " 或更晚").replace(" to ", " 至 ")
    return text


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _slug(code: object) -> str:
    """A carrier code as part of an HTML id: lower-case letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9]+", "-", str(code).lower()).strip("-") or "unknown"


# Anchors of the report's sections, which the contents list links to.
SECTION_IDS: dict[str, str] = {
    "summary": "summary",
    "lanes": "lanes",
    "stuck_title": "need-action",
    "timelines": "timelines",
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

FINDING_COLUMNS_ZH: dict[str, str] = {
    "parcel_ids": "包裹",
    "tracking_numbers": "单号",
    "category": "诊断",
    "status": "状态",
    "root_cause": "原因",
    "actions_taken": "已采取的措施",
    "notes": "备注",
    "follow_up": "跟进日期",
    "updated_at": "更新时间（UTC）",
}
FINDING_STATUS_ZH: dict[str, str] = {"open": "处理中", "waiting": "等待答复", "resolved": "已解决"}
FINDING_STATUS_EN: dict[str, str] = {
    "open": "Open",
    "waiting": "Waiting for an answer",
    "resolved": "Resolved",
}
FINDING_COLUMNS_EN: dict[str, str] = {
    "parcel_ids": "Parcels",
    "tracking_numbers": "Tracking numbers",
    "category": "Situation",
    "status": "Status",
    "root_cause": "Root cause",
    "actions_taken": "Actions taken",
    "notes": "Notes",
    "follow_up": "Follow-up",
    "updated_at": "Updated (UTC)",
}

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
    from toolkit import findings as store_module

    if _no_findings_store(url):
        return pd.DataFrame(columns=list(FINDING_COLUMNS))
    wanted = check_findings_filter(findings_filter) or {}
    ids = parcels["parcel_id"].astype(str).tolist()
    with store_module.FindingsStore(url=url) as store:
        table = store.export_table(partner_safe=True, parcels=parcels, parcel_id=ids, **wanted)
    table = table[[c for c in FINDING_COLUMNS if c in table.columns]]
    return table.astype("string").fillna("")


def build_report(
    parcels: pd.DataFrame,
    events: pd.DataFrame,
    *,
    carrier: str | None = None,
    since: object = None,
    parcel_ids: Sequence[str] | None = None,
    now: object = None,
    language: str = "en",
    demo: bool = False,
    findings_url: str | None = None,
    findings_filter: Mapping[str, object] | None = None,
    until: object = None,
) -> PartnerReport:
    """Diagnose the parcels in scope and keep only what a partner may see (masked, escaped later)."""
    from toolkit.diagnose import diagnose_all, diagnose_each, fit_eta

    language = check_language(language)
    wanted = check_findings_filter(findings_filter)
    scope = select_parcels(
        parcels,
        events,
        carrier=carrier,
        since=since,
        parcel_ids=parcel_ids,
        findings_filter=wanted,
        findings_url=findings_url,
        until=until,
    )
    code = check_carrier(carrier, parcels, events)
    start, end = parse_period(since, until)
    when = report_now(now, parcels)
    model = fit_eta(events, parcels, now=when)
    diagnoses = diagnose_all(events, scope, now=when, eta_model=model)
    ids = set(scope["parcel_id"])
    own_events = events[events["parcel_id"].isin(ids).to_numpy(bool)]
    stuck_ids = diagnoses.loc[diagnoses["category"].astype(str).isin(STUCK), "parcel_id"]
    if len(scope) == 1:  # a report on one parcel explains it whatever its situation
        stuck_ids = diagnoses["parcel_id"]
    stuck = scope.set_index("parcel_id", drop=False).loc[stuck_ids]
    maskers = recipient_maskers(scope, scope["parcel_id"])  # one per parcel, for all texts
    evidence, words, questions, eta = [], {}, [], {}
    evidence_cols = ["time_utc", "time_local", "carrier", "tracking_number", "milestone"]
    # actions and evidence rows come from the full diagnosis of each stuck parcel
    for pid, d in zip(
        stuck_ids, diagnose_each(own_events, stuck, when, eta_model=model), strict=True
    ):
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
                "to": _who_label(a.who, language),
                "question": mask(a.what_zh if language == "zh" and a.what_zh else a.what),
                "facts": mask(_facts_text(a.facts, language)),
                # the numbers the request gives (a domestic one may come from a handover scan)
                "international_number": a.facts.get("international number"),
                "domestic_number": a.facts.get("domestic number"),
            }
            for a in d.actions
            if _addressed_to(a.who, code)
        ]
    link = _domestic_link(scope, own_events)  # one domestic number for every table
    shown = scope.drop(columns=[c for c in scope.columns if c in PERSONAL_COLUMNS]).assign(
        recipient=_recipient(scope).to_numpy(),
        lane=_lane(scope).to_numpy(),
        domestic_number=link["domestic_number"].to_numpy(),
        domestic_carrier=link["domestic_carrier"].to_numpy(),
    )
    return PartnerReport(
        carrier=code,
        since=start,
        until=end,
        now=when,
        language=language,
        parcels=shown,
        events=_masked_events(own_events, maskers),
        diagnoses=diagnoses,
        evidence=_masked_events(pd.concat(evidence, ignore_index=True), maskers)
        if evidence
        else pd.DataFrame(columns=[*evidence_cols, "location", "description", "parcel_id"]),
        evidence_text=pd.Series(words, dtype="string"),
        questions=pd.DataFrame(questions, columns=QUESTION_COLUMNS),
        eta=eta,
        findings=partner_findings(scope, findings_url, wanted),
        named=None if parcel_ids is None else len(_match_selection(parcels, parcel_ids)),
        findings_filter=wanted,
        demo=demo,
    )


def report_now(now: object, parcels: pd.DataFrame) -> pd.Timestamp:
    """The moment the report describes: given, else the data set's as_of, else the clock."""
    if now is None and "as_of" in parcels.columns and parcels["as_of"].notna().any():
        now = parcels["as_of"].dropna().iloc[0]
    if now is None:
        return pd.Timestamp.now(tz="UTC")
    return to_utc(
        now,
        "report time",
        "partner report",
        naive="utc",
        hint="Give an ISO time such as 2026-11-20T04:00Z",
    )


def load(
    *,
    carrier: str | None = None,
    since: object = None,
    parcels_file: str | os.PathLike | None = None,
    parcel_ids: Sequence[str] | None = None,
    parcels_path: str | os.PathLike | None = None,
    events_path: str | os.PathLike | None = None,
    now: object = None,
    language: str = "en",
    findings_url: str | None = None,
    findings_filter: Mapping[str, object] | None = None,
    until: object = None,
) -> PartnerReport:
    """The report for the notebook's parameters: tables (default: the demo set), scope, diagnoses."""
    parcels, events, is_demo = load_tables(parcels_path, events_path)
    ids = selection_ids(parcels_file, parcel_ids)
    return build_report(
        parcels,
        events,
        carrier=carrier,
        since=since,
        parcel_ids=ids,
        now=now,
        language=language,
        demo=is_demo,
        findings_url=findings_url,
        findings_filter=findings_filter,
        until=until,
    )


def selection_ids(
    parcels_file: str | os.PathLike | None, parcel_ids: Sequence[str] | None
) -> list[str] | None:
    """The parcels named by a file and a list together; None when neither is given."""
    if parcels_file is None and parcel_ids is None:
        return None
    ids = (
        []
        if parcel_ids is None
        else [parcel_ids]
        if isinstance(parcel_ids, str)
        else list(parcel_ids)
    )
    if parcels_file is not None:
        ids += read_selection(parcels_file)
    return ids
