"""The words of a partner report in English and Chinese: headings, labels, and the
report's Chinese for the figures of toolkit.plots."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

import plotly.graph_objects as go

from toolkit.model import (
    CARRIERS,
)

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
        "incidents": "Lane incidents",
        "incidents_intro": "Places or carriers where many parcels stalled at once, compared "
        "with their own usual dwell: a delay these parcels share, not one parcel's matter.",
        "incident_kind": "Incident",
        "incident_where": "Where",
        "incident_since": "Since (UTC)",
        "incident_parcels": "Parcels",
        "incident_usual": "Usual vs now",
        "incident_end": "Expected to ease",
        "incident_share": "usually {usual:.0%} of parcels stay past {days:.1f} days; now {seen:.0%}",
        "incident_released": "usually about {usual:.0f} parcels let through; now {seen:.0f}",
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
        "in_english": "In English",
        "unread": "Scan texts we cannot read",
        "unread_intro": "These texts appear in scans that {who} recorded for {what}, and we "
        "cannot tell from them which step the parcel reached. Please tell us what "
        "each one means: each is also a request below, and the spreadsheet of requests has a "
        "column for your answer.",
        "the_carriers": "the carriers",
        "these_parcels": "the parcels in this report",
        "this_parcel": "this parcel",
        "unread_more": "The {k:,} texts seen on the most scans are listed; {rest:,} more are "
        "seen on {rest_scans:,} scans.",
        "scan_text": "Scan text",
        "scans": "Scans",
        "example": "For example",
        "last_seen": "Last seen (UTC)",
        "unread_question": 'What does the scan text "{text}" mean: which step of the parcel\'s '
        "journey does it record?",
        "unread_facts": "seen on {scans:,} scans of {parcels:,} parcels, last {last} UTC; e.g. "
        "parcel {parcel}, number {number}",
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
        "incidents": "线路异常",
        "incidents_intro": "与各地点、各承运商自身的正常停留时间相比，许多包裹同时滞留的地点或承运商："
        "这些包裹共同的延误，而非单个包裹的问题。",
        "incident_kind": "异常",
        "incident_where": "地点",
        "incident_since": "开始时间（UTC）",
        "incident_parcels": "包裹数",
        "incident_usual": "通常与现在",
        "incident_end": "预计恢复",
        "incident_share": "通常{usual:.0%}的包裹停留超过{days:.1f}天，现在为{seen:.0%}",
        "incident_released": "通常约放行{usual:.0f}个包裹，现在为{seen:.0f}个",
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
        "in_english": "英文",
        "unread": "无法识别的扫描描述",
        "the_carriers": "各承运商",
        "these_parcels": "本报告包裹",
        "this_parcel": "该包裹",
        "unread_intro": "以下描述出现在{who}对{what}的扫描记录中，我们无法据此判断包裹到了哪一步。"
        "请告诉我们每条描述的含义：每条在下面的请求中各占一行，请求表格的“答复”列可填写。",
        "unread_more": "只列出扫描次数最多的 {k:,} 条；另有 {rest:,} 条，共出现在 {rest_scans:,} 条扫描中。",
        "scan_text": "扫描描述",
        "scans": "扫描数",
        "example": "示例",
        "last_seen": "最近出现（UTC）",
        "unread_question": "扫描描述“{text}”是什么意思？它表示包裹到了哪个环节？",
        "unread_facts": "出现在 {parcels:,} 个包裹的 {scans:,} 条扫描中，最近一次 {last} UTC；"
        "例如包裹 {parcel}，单号 {number}",
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


def carrier_label(code: str | None, language: str = "en") -> str | None:
    """A carrier's display name in the language (the code itself when the registry does not
    know it)."""
    if code is None:
        return None
    c = CARRIERS.get(str(code).lower())
    if c is None:
        return str(code)
    return c.name_zh if language == "zh" and c.name_zh else c.name


def milestone_label(milestone: object, language: str = "en") -> str:
    """A milestone as the timelines' legend names it ('customs hold', '海关扣留')."""
    words = str(milestone).replace("_", " ")
    return FIGURE_TEXT_ZH.get(words, words) if language == "zh" else words


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


def facts_text(facts: Mapping[str, object], language: str) -> str:
    sep, colon = ("；", "：") if language == "zh" else ("; ", ": ")
    label = (lambda k: FACT_LABELS_ZH.get(k, k)) if language == "zh" else (lambda k: k)
    return sep.join(f"{label(k)}{colon}{v}" for k, v in facts.items())


def who_label(who: str, language: str) -> str:
    """'domestic carrier SF Express' as the report's language says it."""
    if language == "zh":
        for role, zh in _WHO_ZH.items():
            if who.startswith(role):
                name = who[len(role) :].strip()
                return f"{zh} {_NAME_ZH.get(name, name)}".strip()
    return who


# English carrier names (as actions address them) to their Chinese names
_NAME_ZH: dict[str, str] = {c.name: c.name_zh for c in CARRIERS.values() if c.name_zh}


def eta_text(eta: object, language: str) -> str:
    """An estimate's range in the report's language."""
    text = eta.text()  # type: ignore[attr-defined]
    if language == "zh":
        text = text.replace(" or later", " 或更晚").replace(" to ", " 至 ")
    return text


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]


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


# Lane incident kinds (toolkit.incidents) in the report's languages.
INCIDENT_KINDS: dict[str, dict[str, str]] = {
    "en": {},
    "zh": {
        "customs backlog": "清关积压",
        "handover backlog": "交接积压",
        "hub stall": "中转停滞",
        "carrier not answering": "承运商无更新",
    },
}
