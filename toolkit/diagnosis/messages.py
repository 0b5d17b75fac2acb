"""Words of a diagnosis: actions for the analyst, a paragraph and a short message for the buyer.

Buyer-facing text is built only from our own sentences, dates and numbers: no carrier
text, no markup, no internal category names.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from toolkit.model import CARRIERS, Category
from toolkit.policy import CompensationPolicy

C = Category

MILESTONE_PHRASE: dict[str, str] = {
    "info_received": "label created",
    "accepted": "acceptance by the carrier",
    "in_transit": "an in-transit scan",
    "departed_origin": "departure from the origin country",
    "arrived_destination": "arrival in the destination country",
    "customs_clearance": "the start of customs clearance",
    "customs_hold": "a customs hold",
    "customs_cleared": "customs release",
    "handed_over": "handover to the domestic carrier",
    "domestic_in_transit": "a domestic transit scan",
    "out_for_delivery": "out for delivery",
    "available_for_pickup": "ready for pickup",
    "delivery_failed": "a failed delivery attempt",
    "delivered": "delivery",
    "returning": "the start of a return to sender",
    "returned": "return to sender",
    "exception": "an exception",
    "unknown": "an unclassified scan",
}


MILESTONE_PHRASE_ZH: dict[str, str] = {
    "info_received": "电子信息生成",
    "accepted": "承运商揽收",
    "in_transit": "运输途中扫描",
    "departed_origin": "离开始发国",
    "arrived_destination": "到达目的国",
    "customs_clearance": "开始清关",
    "customs_hold": "海关扣留",
    "customs_cleared": "清关放行",
    "handed_over": "移交国内承运商",
    "domestic_in_transit": "国内运输扫描",
    "out_for_delivery": "派送中",
    "available_for_pickup": "待自提",
    "delivery_failed": "派送失败",
    "delivered": "妥投",
    "returning": "开始退回发件人",
    "returned": "已退回发件人",
    "exception": "异常",
    "unknown": "未识别的扫描",
}

# Why there is no delivery estimate, in Chinese, by the start of the English reason.
# Why a parcel has no delivery estimate, by reason code: (English, Chinese). Parameters in
# braces are filled from the estimate's settings; both languages come from the same code.
ETA_REASONS: dict[str, tuple[str, str]] = {
    "delivered": ("the parcel has been delivered", "包裹已妥投"),
    "check_number": (
        "no scans yet to count from: the number needs checking first",
        "尚无扫描可作依据，需先核对单号",
    ),
    "no_scans": ("no scans yet to count from", "尚无扫描可作依据"),
    "returned": (
        "the parcel is being returned or held up by a problem, so no delivery date can be promised",
        "包裹正在退回或因问题受阻，无法承诺送达日期",
    ),
    "little_history": (
        "too little history: fewer than {min_parcels} comparable parcels (with {min_delivered} "
        "delivered) reached this stage, even across all lanes",
        "可比包裹的历史数据不足：即使不分线路，到达此阶段的可比包裹也少于 {min_parcels} 件"
        "（其中已送达 {min_delivered} 件）",
    ),
    "no_stage": ("no stage of the journey to count from", "无法确定包裹所处的运输阶段"),
    "waited_too_long": (
        "no comparable parcel waited this long at this stage and was still delivered",
        "没有在此阶段等待这么久后仍送达的可比包裹",
    ),
    "too_few_delivered": (
        "too few comparable parcels that waited this long have been delivered so far",
        "等待这么久的可比包裹中，已送达的太少",
    ),
}


def eta_reason(code: str, language: str = "en", **params: object) -> str:
    """Why there is no delivery estimate, in English or Chinese, from its reason code."""
    en, zh = ETA_REASONS[code]
    return (zh if language == "zh" else en).format(**params)


# The silence limit a suspected loss passed, by leg (see toolkit.diagnosis.diagnose._limit_text).
LIMIT_ZH: dict[str, str] = {
    "domestic": "国内段",
    "international": "国际段",
    "handover": "到港后无国内扫描",
}


def evidence_zh(
    category: str,
    *,
    ref_milestone: str | None,
    ref_date: dt.date | None,
    since_days: int,
    last_milestone: str | None,
    last_date: dt.date | None,
    silent_days: int,
    window_days: int | None,
    number: str,
    limit_days: float | None = None,
    limit_leg: str | None = None,
) -> str:
    """The diagnosis's evidence sentence in Chinese (the English one is built in diagnose)."""
    ref, last = _date_zh(ref_date), _date_zh(last_date)
    ref_what = MILESTONE_PHRASE_ZH.get(ref_milestone or "", "")
    last_what = MILESTONE_PHRASE_ZH.get(last_milestone or "", "")
    window = f"{window_days} 天" if window_days is not None else "规定时间"
    if category == C.DELIVERED:
        return f"{ref} 妥投"
    if category == C.MOVING:
        return f"最后一次扫描在 {silent_days} 天前：{last} {last_what}"
    if category == C.AWAITING_CLEARANCE:
        return f"{ref} {ref_what}，至今 {since_days} 天；尚无国内扫描，{window}内属正常"
    if category == C.CUSTOMS_HOLD:
        return f"自 {ref} 起被海关扣留（{since_days} 天），此后没有放行或国内扫描"
    if category == C.HANDOVER_NOT_SYNCED:
        return f"{ref} {ref_what}后 {since_days} 天没有国内扫描（通常 {window}内会有）"
    if category == C.SILENT_TOO_LONG:
        limit = ""
        if limit_days is not None:
            what = LIMIT_ZH.get(limit_leg or "", LIMIT_ZH["international"])
            limit = f"，超过本线路{what} {limit_days:g} 天的丢件期限"
            if limit_leg == "handover":
                limit += "（已超出交接未同步的合理时间）"
        return f"{last} {last_what}后 {silent_days} 天没有扫描{limit}"
    if category == C.RETURNED_OR_EXCEPTION:
        if ref_milestone in ("returning", "returned"):
            return f"{ref} {ref_what}"
        return f"{ref} 报告异常，此后没有正常扫描"
    if category == C.NUMBER_INVALID:
        return f"单号 {number} 未通过校验，没有扫描"
    return f"单号 {number} 没有任何扫描"


@dataclass(frozen=True)
class Action:
    """One next step: whom to ask (``who``), what to do, and the facts to give them."""

    who: str
    what: str
    facts: dict[str, str] = field(default_factory=dict)
    what_zh: str = ""  # the same request in Chinese, for those addressed to carriers

    def text(self) -> str:
        """The step as one line of plain text."""
        facts = "; ".join(f"{k}: {v}" for k, v in self.facts.items())
        return f"{self.who}: {self.what}" + (f" ({facts})" if facts else "")

    def to_dict(self) -> dict:
        """The step as plain values."""
        out = {"who": self.who, "what": self.what, "facts": dict(self.facts)}
        if self.what_zh:
            out["what_zh"] = self.what_zh
        return out


def carrier_name(code: object) -> str | None:
    """Display name of a carrier code (the code itself when it is not in the registry)."""
    if not isinstance(code, str) or not code.strip():
        return None
    c = CARRIERS.get(code.strip().lower())
    return c.name if c else code.strip()


def needs_phone(code: object) -> bool:
    """True if the domestic carrier asks for the recipient phone's last four digits."""
    c = CARRIERS.get(code.strip().lower()) if isinstance(code, str) else None
    return bool(c and c.needs_phone)


def _date(d: dt.date | None) -> str:
    return d.isoformat() if d else "unknown date"


def _date_zh(d: dt.date | None) -> str:
    return d.isoformat() if d else "日期不详"


def build_actions(category: str, f: dict, policy: CompensationPolicy) -> list[Action]:
    """Ordered next steps for a diagnosed parcel, from the facts gathered about it."""
    intl_name = carrier_name(f.get("international_carrier"))
    intl = f"international provider {intl_name}" if intl_name else "international provider"
    dom_code = f.get("domestic_carrier")
    dom_name = carrier_name(dom_code)
    dom = f"domestic carrier {dom_name}" if dom_name else "domestic carrier"
    intl_no, dom_no = f.get("international_number"), f.get("domestic_number")
    intl_facts = {"international number": intl_no} if intl_no else {}
    dom_facts: dict[str, str] = {}
    if dom_no:
        dom_facts["domestic number"] = dom_no
    if intl_no:
        dom_facts["international number"] = intl_no
    last4 = f.get("phone_last4")
    phone_note = phone_zh = ""
    if needs_phone(dom_code):
        if last4:
            dom_facts["recipient phone, last four digits"] = last4
            phone_note = f"; {dom_name} asks for the recipient phone's last four digits: {last4}"
            phone_zh = f"；收件人手机号后四位：{last4}"
        else:
            phone_note = (
                f"; {dom_name} asks for the recipient phone's last four digits, "
                "which the parcel record does not have: get them from the order"
            )
            phone_zh = "；收件人手机号后四位待从订单中补充"
    ref = _date(f.get("ref_date"))
    ref_zh = _date_zh(f.get("ref_date"))
    out: list[Action] = []
    if category == C.NUMBER_INVALID:
        facts = dict(intl_facts)
        if f.get("suggestions"):
            facts["suggested corrections"] = ", ".join(f["suggestions"])
        problems = " ".join(f.get("problems") or ()) or "The number does not pass its checks."
        out.append(
            Action(
                "analyst",
                f"Verify the number: {problems} Track the suggested corrections"
                if f.get("suggestions")
                else f"Verify the number: {problems}",
                facts,
            )
        )
        out.append(
            Action(
                "shipping team",
                "Read the number again from the shipping label or the carrier's receipt",
                dict(intl_facts),
            )
        )
        out.append(
            Action("analyst", "Put the corrected number on the parcel record and track it again")
        )
        out.append(Action("buyer", "Send the message below now: the number is being checked"))
    elif category == C.NUMBER_NOT_FOUND:
        facts = dict(intl_facts)
        if f.get("candidates"):
            facts["likely carriers"] = ", ".join(carrier_name(c) or c for c in f["candidates"][:3])
        out.append(
            Action(
                "analyst",
                "Check that the number belongs to the carrier it is tracked with; "
                "track it with the likely carriers",
                facts,
            )
        )
        if f.get("in_grace"):
            out.append(
                Action(
                    "analyst",
                    f"Wait until {_date(f.get('grace_until'))}: new numbers often show no scans "
                    "for the first days after shipping",
                )
            )
        out.append(
            Action(
                intl,
                "Ask whether the parcel was received and under which number it travels",
                dict(
                    intl_facts, **({"shipped": f["shipped_date"]} if f.get("shipped_date") else {})
                ),
                "请确认是否已收到该包裹，以及它以哪个单号运输",
            )
        )
        out.append(Action("buyer", "Send the message below now: the tracking is being checked"))
    elif category == C.DELIVERED:
        out.append(Action("analyst", "Nothing to do unless the buyer reports the parcel missing"))
        who = dom if (dom_name or dom_no) else intl
        out.append(
            Action(
                who,
                "If the buyer has not received it, ask for proof of delivery "
                "(signature or photo, and where it was left)" + phone_note,
                dom_facts if (dom_name or dom_no) else dict(intl_facts),
                "如买家表示未收到，请提供妥投证明（签名或照片，以及放置地点）" + phone_zh,
            )
        )
        out.append(Action("buyer", "Only if the buyer asks: send the message below"))
    elif category == C.MOVING:
        out.append(
            Action(
                "analyst",
                f"Nothing to do; look again if there is no new scan by {_date(f.get('silent_from'))}",
            )
        )
        out.append(
            Action("buyer", "Only if the buyer asks: send the message below with the estimate")
        )
    elif category == C.AWAITING_CLEARANCE:
        deadline = _date(f.get("deadline_date"))
        deadline_zh = _date_zh(f.get("deadline_date"))
        out.append(
            Action(
                "analyst",
                f"Wait: clearance and the domestic carrier's first scan normally come by {deadline}",
            )
        )
        out.append(
            Action("buyer", "Send the message below now: the parcel is in customs clearance")
        )
        out.append(
            Action(
                intl,
                f"If there is still no domestic scan after {deadline}, ask for the clearance "
                "status and the domestic carrier's waybill number",
                dict(intl_facts),
                f"如 {deadline_zh} 之后仍无国内扫描，请告知清关状态和国内承运商的运单号",
            )
        )
    elif category == C.CUSTOMS_HOLD:
        out.append(
            Action(
                intl,
                f"Ask why customs has held the parcel since {ref} and what is needed to release "
                "it (documents, duties, or the recipient's identity verification)",
                dict(intl_facts, **{"held since": ref}),
                f"请说明海关自 {ref_zh} 起扣留该包裹的原因，以及放行所需的材料"
                "（单证、税费或收件人身份验证）",
            )
        )
        out.append(
            Action(
                "buyer",
                "Send the message below now; pass on any request for identity verification or "
                "duty payment as soon as the provider names it",
            )
        )
        out.append(Action("analyst", "Look again in 3 days or as soon as the provider answers"))
    elif category == C.HANDOVER_NOT_SYNCED:
        out.append(
            Action(
                intl,
                "Ask which domestic carrier took over the parcel and for its domestic waybill number",
                dict(intl_facts, **{"last international scan": ref}),
                "请告知接手该包裹的国内承运商及其国内运单号",
            )
        )
        if dom_no or dom_name:
            what = (
                f"Track the domestic number {dom_no}"
                if dom_no
                else "Once the provider names the domestic number, track it"
            ) + phone_note
            what_zh = (
                f"请查询国内单号 {dom_no} 的物流状态"
                if dom_no
                else "国际承运商提供国内单号后，请查询其物流状态"
            ) + phone_zh
            out.append(Action(dom, what, dom_facts, what_zh))
        out.append(
            Action(
                "analyst",
                "Put the domestic number on the parcel record and track it, so later scans show",
            )
        )
        out.append(
            Action("buyer", "Send the message below now: the parcel is with the domestic carrier")
        )
    elif category == C.SILENT_TOO_LONG:
        holder = dom if f.get("domestic_seen") else intl
        facts = dom_facts if f.get("domestic_seen") else dict(intl_facts)
        out.append(
            Action(
                holder,
                f"Open a trace (lost-parcel investigation): no scan since {ref}"
                + (phone_note if f.get("domestic_seen") else ""),
                dict(facts, **{"last scan": ref}),
                f"请发起查件（丢件调查）：自 {ref_zh} 起无扫描"
                + (phone_zh if f.get("domestic_seen") else ""),
            )
        )
        out.append(Action("buyer", "Send the message below now: a search has been requested"))
    elif category == C.RETURNED_OR_EXCEPTION:
        holder = dom if f.get("domestic_seen") else intl
        facts = dom_facts if f.get("domestic_seen") else dict(intl_facts)
        out.append(
            Action(
                holder,
                f"Ask the reason for the problem reported on {ref} and whether delivery can "
                "still be made (corrected address, new attempt)"
                + (phone_note if f.get("domestic_seen") else ""),
                facts,
                f"请说明 {ref_zh} 报告的问题原因，以及是否仍可派送（更正地址、再次派送）"
                + (phone_zh if f.get("domestic_seen") else ""),
            )
        )
        out.append(Action("analyst", "Agree with the buyer on a new shipment or a refund"))
        out.append(Action("buyer", "Send the message below now: there is a delivery problem"))
    days_late = f.get("days_late")
    if category != C.DELIVERED and days_late is not None:
        gesture = policy.gesture(days_late)
        if gesture:
            out.append(
                Action(
                    "buyer",
                    f"Compensation is due under the policy: {gesture}",
                    {
                        "days past the promised delivery time": str(int(days_late)),
                        "promised delivery time (days)": f"{policy.promised_days:g}",
                    },
                )
            )
    return out


# Buyer-facing sentences. {eta} is replaced by the estimate sentence or by nothing.
_BUYER = {
    "en": {
        C.DELIVERED: "Hello, our records show that your parcel was delivered on {ref}. If you "
        "have not received it, please check with reception, your neighbours or nearby parcel "
        "lockers, and let us know so we can look into it straight away. Thank you!",
        C.MOVING: "Hello, your parcel is on its way to you.{eta} Thank you for your patience!",
        C.AWAITING_CLEARANCE: "Hello, your parcel has arrived in China and is going through "
        "customs clearance, which usually takes a few days; tracking updates can appear a "
        "little later than the parcel moves.{eta} Thank you for your patience!",
        C.CUSTOMS_HOLD: "Hello, your parcel is waiting for customs checks in China. We are "
        "working on its release and will tell you at once if anything is needed from you, "
        "such as an identity verification.{eta} Thank you for your patience!",
        C.HANDOVER_NOT_SYNCED: "Hello, your parcel has passed customs and is with a delivery "
        "company in China, but its tracking has not updated yet. We are getting the new "
        "tracking number and will send it to you as soon as we have it.{eta} Thank you!",
        C.SILENT_TOO_LONG: "Hello, we are sorry that the tracking of your parcel has not "
        "updated for a while. We have asked for a search and will tell you what we find as "
        "soon as possible.{eta} Thank you for your patience!",
        C.RETURNED_OR_EXCEPTION: "Hello, we are sorry: there is a problem with the delivery of "
        "your parcel. We are looking into it and will contact you within two days with a "
        "solution, such as sending it again or a refund.",
        C.NUMBER_INVALID: "Hello, we are sorry: the tracking number we sent you may contain a "
        "typing error. We are checking it and will send you the correct number shortly.",
        C.NUMBER_NOT_FOUND: "Hello, your tracking number does not show any updates yet, which "
        "is common in the first days after shipping. We are checking it and will update you "
        "soon. Thank you for your patience!",
    },
    "zh": {
        C.DELIVERED: "您好！我们的记录显示您的包裹已于{ref}签收。如果您还没有收到，请向前台、邻居或"
        "附近的快递柜查询，并告诉我们，我们会马上处理。谢谢！",
        C.MOVING: "您好！您的包裹正在运送途中。{eta}感谢您的耐心等待！",
        C.AWAITING_CLEARANCE: "您好！您的包裹已到达中国，正在办理清关手续，通常需要几天时间；"
        "物流信息的更新可能会比包裹实际位置稍晚。{eta}感谢您的耐心等待！",
        C.CUSTOMS_HOLD: "您好！您的包裹正在中国海关等待查验。我们正在跟进放行，如需您提供信息"
        "（例如身份验证），我们会第一时间通知您。{eta}感谢您的耐心等待！",
        C.HANDOVER_NOT_SYNCED: "您好！您的包裹已完成清关，目前在国内快递公司手中，但物流信息还没有"
        "更新。我们正在获取新的快递单号，拿到后会马上发给您。{eta}谢谢！",
        C.SILENT_TOO_LONG: "您好！很抱歉，您的包裹物流信息已经有一段时间没有更新了。我们已申请查件，"
        "有结果会尽快告诉您。{eta}感谢您的耐心等待！",
        C.RETURNED_OR_EXCEPTION: "您好！很抱歉，您的包裹在派送过程中遇到了问题。我们正在处理，"
        "两天内会联系您并提供解决方案，例如重新寄送或退款。",
        C.NUMBER_INVALID: "您好！很抱歉，我们发给您的快递单号可能有输入错误。我们正在核对，"
        "稍后会把正确的单号发给您。",
        C.NUMBER_NOT_FOUND: "您好！您的快递单号暂时还查不到物流信息，发货后的头几天这种情况很常见。"
        "我们正在核实，稍后会告诉您最新进展。感谢您的耐心等待！",
    },
}


def format_date(d: dt.date, lang: str) -> str:
    """A date as a buyer reads it: '20 November 2026' or '2026年11月20日'."""
    if lang == "zh":
        return f"{d.year}年{d.month}月{d.day}日"
    return f"{d.day} {d.strftime('%B')} {d.year}"


def _eta_sentence(low: dt.date | None, high: dt.date | None, lang: str) -> str:
    if low is None:
        return ""
    lo = format_date(low, lang)
    if lang == "zh":
        if high is None:
            return f"预计{lo}或之后送达。"
        return f"预计{lo}送达。" if high == low else f"预计{lo}至{format_date(high, lang)}送达。"
    if high is None:
        return f" We expect it to arrive on {lo} or later."
    if high == low:
        return f" We expect it to arrive on {lo}."
    return f" We expect it to arrive between {lo} and {format_date(high, lang)}."


def incident_sentence(lang: str, start: dt.date | None, end: dt.date | None) -> str:
    """What the buyer is told when the parcel is caught in a lane incident: a delay that
    many parcels on the same route share, with its expected end when one is known."""
    if lang == "zh":
        since = f"自{format_date(start, lang)}起" if start else "近期"
        text = f"同一线路的许多包裹{since}都出现了延误，并非您的包裹单独出了问题"
        return text + (f"，预计{format_date(end, lang)}前后恢复。" if end else "。")
    since = f" since {format_date(start, lang)}" if start else " lately"
    text = (
        f" Many parcels on the same route have been delayed{since}; this is not a problem "
        "with your parcel alone"
    )
    return text + (
        f", and the delay is expected to ease around {format_date(end, lang)}." if end else "."
    )


def buyer_message(
    category: str,
    lang: str,
    ref: dt.date | None,
    low: dt.date | None,
    high: dt.date | None,
    incident: tuple[dt.date | None, dt.date | None] | None = None,
) -> str:
    """Short, polite message for the buyer, in Chinese ("zh") or English ("en"); with
    ``incident`` (its start and expected end) it says the delay is shared by the route."""
    from toolkit.errors import InputError

    if lang not in _BUYER:
        raise InputError(f"unknown language {lang!r}", "buyer_message", 'Use lang="zh" or "en"')
    template = _BUYER[lang][Category(category)]
    ref_text = format_date(ref, lang) if ref else ("近日" if lang == "zh" else "recently")
    eta = _eta_sentence(low, high, lang)
    if incident is not None:
        eta = incident_sentence(lang, *incident) + eta
    return template.format(ref=ref_text, eta=eta)


def explanation(category: str, f: dict) -> str:
    """One plain paragraph on the parcel's situation that a buyer could read."""
    ref = _date(f.get("ref_date"))
    days = f.get("days_since_ref")
    eta = f.get("eta_text")
    eta_part = f" Based on similar parcels, delivery is expected {eta}." if eta else ""
    texts = {
        C.DELIVERED: f"The parcel was delivered on {ref}.",
        C.MOVING: f"The parcel is moving normally; its last update was on {_date(f.get('last_date'))}."
        + eta_part,
        C.AWAITING_CLEARANCE: f"The parcel reached China and has been in customs clearance since "
        f"{ref}. Clearance and the handover to a local delivery company normally take a few "
        "days, and tracking often updates late during this step, so no action is needed yet."
        + eta_part,
        C.CUSTOMS_HOLD: f"The parcel has been waiting for customs checks since {ref}. Customs "
        "sometimes asks for documents, duties or an identity verification before releasing a "
        "parcel; we are asking what is needed." + eta_part,
        C.HANDOVER_NOT_SYNCED: f"The parcel passed through customs and was last reported on {ref}"
        + (f", {days} days ago" if days is not None else "")
        + ". Parcels are usually passed to a local delivery company under a new tracking "
        "number, and that number has not reached us yet. We are asking for it so the parcel "
        "can be followed again." + eta_part,
        C.SILENT_TOO_LONG: f"The parcel's tracking has not updated since {ref}"
        + (f" ({days} days)" if days is not None else "")
        + ", which is longer than usual. We have asked for a search."
        + eta_part,
        C.RETURNED_OR_EXCEPTION: f"A delivery problem was reported on {ref}, and the parcel may be "
        "on its way back. We are finding out why and will offer a new shipment or a refund.",
        C.NUMBER_INVALID: "The tracking number on record does not pass the carrier's own check, "
        "so it probably contains a typing error. We are confirming the correct number.",
        C.NUMBER_NOT_FOUND: "The tracking number on record shows no updates yet. This is common "
        "in the first days after shipping; if it lasts, we check the number with the carrier.",
    }
    return texts[Category(category)]
