"""The sandbox's Kuaidi100: poll/query.do and intelligent number recognition (autonumber)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from urllib.parse import parse_qs

from toolkit.model import CARRIERS
from toolkit.world.sandbox.base import (
    KUAIDI100,
    NUMBER_FORMAT,
    Request,
    Response,
    Service,
    json_response,
)
from toolkit.world.sandbox.world import Scan

# ---------------------------------------------------------------- Kuaidi100 poll/query.do

# Normalised milestone -> (Kuaidi100 state code, its name as given per event with resultv2).
KUAIDI100_STATE: dict[str, tuple[str, str]] = {
    "info_received": ("1", "揽收"),
    "accepted": ("1", "揽收"),
    "in_transit": ("0", "在途"),
    "departed_origin": ("0", "在途"),
    "arrived_destination": ("0", "在途"),
    "customs_clearance": ("11", "清关中"),
    "customs_hold": ("13", "清关异常"),
    "customs_cleared": ("12", "已清关"),
    "handed_over": ("0", "在途"),
    "domestic_in_transit": ("0", "在途"),
    "out_for_delivery": ("5", "派件"),
    "available_for_pickup": ("5", "派件"),
    "delivery_failed": ("2", "疑难"),
    "delivered": ("3", "签收"),
    "returning": ("6", "退回"),
    "returned": ("4", "退签"),
    "exception": ("2", "疑难"),
    "unknown": ("0", "在途"),
}
# Company codes Kuaidi100 knows beyond the carriers of the demo world.
KUAIDI100_OTHER_CODES = frozenset(
    {
        "youzhengguoji",
        "youzhengbk",
        "huitongkuaidi",
        "debangwuliu",
        "jtexpress",
        "tiantian",
        "zhaijisong",
        "baishiwuliu",
        "danniao",
        "fengwang",
        "suer",
        "kuayue",
    }
)
KUAIDI100_CARRIER = {c.kuaidi100: code for code, c in CARRIERS.items() if c.kuaidi100}
SIGN_FORMAT = re.compile(r"^[0-9A-F]{32}$")


def _k100_error(code: str, message: str) -> Response:
    return json_response(
        200,
        {"result": False, "returnCode": code, "message": message},
        {"content-type": "application/json;charset=UTF-8"},
    )


def _k100_time(scan: Scan) -> str:
    return scan.when.strftime("%Y-%m-%d %H:%M:%S")


# Intelligent number recognition (智能单号识别): `num` and `key` as form fields or in the query
# string; the answer is a list of companies, most likely first, [] for a number nobody knows
# (api.kuaidi100.com/document/5f1106542977d50a94e10241; the SDK's AutoNumResp has lengthPre,
# comCode, noPre, noCount). Errors are returnCode 701 (key missing) and 201 (not a number).
KUAIDI100_AUTONUMBER_PATH = "/autonumber/auto"


def _k100_field(request: Request, form: Mapping[str, list[str]], name: str) -> str:
    """A field of an autonumber request: from the form body, else from the query string."""
    return (form.get(name) or request.query.get(name) or [""])[0].strip()


def _k100_company(code: str, number: str) -> dict:
    carrier = CARRIERS[code]
    return {
        "lengthPre": len(number),
        "comCode": carrier.kuaidi100,
        "name": carrier.name_zh,
        "noPre": number[:4],
        "noCount": 1,
    }


class Kuaidi100Service(Service):
    """Kuaidi100: one number per signed query; the company code must be given."""

    name = KUAIDI100

    def route(self, request: Request) -> Callable[[Request], Response] | None:
        if request.path.rstrip("/") == "/poll/query.do":
            return self._k100_query
        if request.path.rstrip("/") == KUAIDI100_AUTONUMBER_PATH:
            return self._k100_autonumber
        return None

    def numbers(self, request: Request) -> tuple[str, ...]:
        form = parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
        if request.path.rstrip("/") == KUAIDI100_AUTONUMBER_PATH:
            return (_k100_field(request, form, "num"),)
        return (str(json.loads(form.get("param", ["{}"])[0]).get("num", "")),)

    def too_many(self, retry_after: float) -> tuple[dict, dict[str, str]]:
        # no documented 429 body: the service's error shape is kept
        return {"result": False, "returnCode": "429", "message": "请求过于频繁，请稍后再试"}, {}

    def server_error(self) -> Response:
        return json_response(500, {"result": False, "returnCode": "501", "message": "服务器错误"})

    def _k100_query(self, request: Request) -> Response:
        if request.method != "POST":
            return _k100_error("400", "提交的数据不完整，或者贵公司没授权")
        try:
            form = parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            return _k100_error("400", "提交的数据不完整，或者贵公司没授权")
        customer = form.get("customer", [""])[0].strip()
        sign = form.get("sign", [""])[0].strip()
        if not customer or not SIGN_FORMAT.match(sign):
            return _k100_error("503", "验证签名失败")
        try:
            param = json.loads(form.get("param", [""])[0])
        except ValueError:
            param = None
        if not isinstance(param, dict) or not str(param.get("num") or "").strip():
            return _k100_error("400", "提交的数据不完整，或者贵公司没授权")
        com = str(param.get("com") or "").strip().lower()
        number = str(param["num"]).strip()
        if com not in KUAIDI100_CARRIER and com not in KUAIDI100_OTHER_CODES:
            return _k100_error("400", "找不到对应公司")
        carrier = KUAIDI100_CARRIER.get(com)
        scans, phone = [], None
        for leg in ("domestic", "international"):  # a company answers for its own scans only
            shipment = self.world.lookup(number, leg)
            scans = [s for s in shipment.scans if s.carrier == carrier] if shipment else []
            if scans:
                phone = shipment.phone
                break
        if not scans:
            return _k100_error("500", "查询无结果，请隔段时间再查")
        if CARRIERS[carrier].needs_phone:
            given = "".join(ch for ch in str(param.get("phone") or "") if ch.isdigit())
            wanted = "".join(ch for ch in str(phone or "") if ch.isdigit())
            if len(given) < 4 or not wanted or given[-4:] != wanted[-4:]:
                return _k100_error("408", "快递公司参数异常：验证码错误")
        return self._k100_answer(number, com, scans, param)

    def _k100_autonumber(self, request: Request) -> Response:
        try:
            form = parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            form = {}
        if not _k100_field(request, form, "key"):
            return _k100_error("701", "key缺失")
        number = _k100_field(request, form, "num")
        if not NUMBER_FORMAT.match(number):
            return _k100_error("201", "不是有效的快递单号")
        carriers = []
        for leg in ("domestic", "international"):  # the world knows each number's carrier
            shipment = self.world.lookup(number, leg)
            if shipment is not None and shipment.carrier:
                carriers.append(shipment.carrier)
        known = [c for c in dict.fromkeys(carriers) if c in CARRIERS and CARRIERS[c].kuaidi100]
        payload = [_k100_company(c, number) for c in known]
        return json_response(200, payload, {"content-type": "application/json;charset=UTF-8"})

    @staticmethod
    def _k100_answer(number: str, com: str, scans: list[Scan], param: dict) -> Response:
        detailed = str(param.get("resultv2") or "0").strip() not in ("", "0")
        rows = []
        for scan in scans:
            row = {"time": _k100_time(scan), "context": scan.description, "ftime": _k100_time(scan)}
            if detailed:
                row.update(
                    {
                        "status": KUAIDI100_STATE.get(scan.milestone, ("0", "在途"))[1],
                        "areaCode": None,
                        "areaName": scan.location or None,
                    }
                )
            rows.append(row)
        if str(param.get("order") or "desc").lower() != "asc":
            rows.reverse()
        state = KUAIDI100_STATE.get(scans[-1].milestone, ("0", "在途"))[0]
        payload = {
            "message": "ok",
            "nu": number,
            "ischeck": "1" if state in ("3", "4") else "0",
            "condition": "F00" if state == "3" else "00",
            "com": com,
            "status": "200",
            "state": state,
            "data": rows,
        }
        return json_response(200, payload, {"content-type": "application/json;charset=UTF-8"})
