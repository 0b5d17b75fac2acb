r"""Tracking numbers: clean-up, format and check-digit validation, carrier candidates.

How candidates are ranked, in order:

1. Every format in ``FORMATS`` that the number fits is a match. A match whose check digit
   passes ranks first; then formats without a check digit; a failed check ranks last (and
   is dropped when another format's check passes). Among equals the format's ``weight``
   decides, then its place in the table.
2. The ranking table ``toolkit/tracking/data/number_ranking.csv`` then moves carriers
   forward where formats overlap: each row is a pattern (e.g. ``76\d{10}``, 12 digits
   starting 76), the carriers most likely for it, the real numbers that are its evidence
   and where they were published. The first row whose pattern the number fits applies;
   it only reorders carriers the number plausibly belongs to (a format it fits, check
   digit included), never adds one. Rows come from the development part of
   ``real_numbers.tsv`` (see :mod:`toolkit.tracking.corpus`), each carrier named first
   backed by at least two numbers from two sources; the held-out part is only measured.
   When a row puts another carrier first, ``format`` and ``valid`` follow that carrier's
   format, so a number that passes FedEx's 12- or 15-digit check by chance (1 in 10) but
   starts like an SF or STO number is named SF or STO without a verdict.
"""

from __future__ import annotations

import csv
import functools
import math
import numbers as _num
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from importlib import resources

import pandas as pd

from toolkit.model import CARRIERS

S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
# One 17TRACK request takes 40 numbers, so every suggestion can be tracked in one call.
MAX_SUGGESTIONS = 40
MIN_LENGTH, MAX_LENGTH = 10, 34  # shortest (DHL Express) and longest (FedEx, USPS) formats
_CACHE_LIMIT = 200  # inputs longer than this are parsed without caching


def s10_check_digit(serial: str) -> int:
    """UPU S10 check digit for an 8-digit serial (weights 8,6,4,2,3,5,9,7; 10->0, 11->5)."""
    total = sum(int(d) * w for d, w in zip(serial, S10_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: 0, 11: 5}.get(check, check)


# --- check-digit schemes: each takes the whole number and returns the check digit(s) it needs


def _gs1(digits: str) -> int:
    """GS1 / USPS mod 10: from the right, weights 3, 1, 3, 1..."""
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def _weighted_mod11(digits: str, weights: tuple[int, ...]) -> int:
    """FedEx Express: weighted sum mod 11, then mod 10."""
    return sum(int(c) * w for c, w in zip(digits, weights * 5, strict=False)) % 11 % 10


def _ups_value(c: str) -> int:
    return int(c) if c.isdigit() else (ord(c) - 63) % 10


def _check_s10(n: str) -> tuple[int, ...]:
    return (s10_check_digit(n[2:10]),)


def _check_ups(n: str) -> tuple[int, ...]:
    total = sum(_ups_value(c) * (2 if i % 2 else 1) for i, c in enumerate(n[2:17]))
    return ((10 - total % 10) % 10,)


_ISO_3166_ALPHA2 = frozenset(
    re.findall(
        r"[A-Z]{2}",
        """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO
    DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU
    GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW
    KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU
    MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW
    PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
    TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA
    ZM ZW""",
    )
)
# Issuing country of a UPU S10 number -> the postal operator's carrier code.
S10_OPERATORS: dict[str, str] = {
    "US": "usps",
    "GB": "royalmail",
    "DE": "deutschepost",
    "JP": "japanpost",
    "KR": "koreapost",
    "AU": "auspost",
    "CA": "canadapost",
    "FR": "laposte",
    "CN": "chinapost",
}


# Other postal operators and the cross-border forwarders that book S10 numbers, by the
# issuing country: an S10 number is the post's, and the forwarder that sold the label
# (AliExpress/Cainiao, Yanwen, YunExpress, 4PX) tracks it too. Forwarders come after the post.
S10_OTHER_OPERATORS: dict[str, str] = {
    "SG": "singpost",
    "HK": "hongkongpost",
    "MY": "posmalaysia",
    "NL": "postnl",
    "PT": "ctt",
    "LU": "postlu",
    "CH": "swisspost",
    "SE": "postnord",
    "TW": "chunghwapost",
}
# Outside China, each forwarder is listed where a public source tracks such a number with it.
S10_FORWARDERS: dict[str, tuple[str, ...]] = {
    "CN": ("cainiao", "yanwen", "yunexpress", "4px"),
    "SG": ("cainiao", "4px"),
    # RQ...MY: github:hdnpt/geartrack/test/cainiao.test.js
    "MY": ("cainiao",),
    # UB...LV: github:trackingmore100/tracking-sdk-php/example.php (carrier_code cainiao)
    "LV": ("cainiao",),
    # RX...DE: github:dongfangzhizhou/Trackingmore--Class--Java (carrier_code yanwen)
    "DE": ("yanwen",),
    # LH/LK...AU: github:clooney/yunexpress-tracking-api; trackingmore SDK example
    "AU": ("yunexpress",),
    # DY...PT: https://github.com/hdnpt/geartrack-website/issues/59 (a yuntrack.com link)
    "PT": ("yunexpress",),
    # RE/UF...SE: github:hdnpt/geartrack/test/directLink.test.js
    "SE": ("directlink",),
    # RL...CH: github:purplship/purplship/modules/connectors/asendia_us/tests
    "CH": ("asendia",),
    # LF...FR: https://github.com/hdnpt/geartrack-website/issues/74 (a tracking.asendia.com link)
    "FR": ("asendia",),
}
# Yanwen's own S10-shaped numbers end in a code that is not a country (YP, YN, YR...).
YANWEN_SUFFIXES = frozenset({"YP", "YN", "YR", "YW", "YX"})

# Carriers that parse() may name but that the toolkit has no client settings for: their
# numbers are recognised so the analyst knows whose they are; they are tracked through the
# international service's own carrier detection.
NUMBER_ONLY_CARRIERS: dict[str, str] = {
    "cainiao": "Cainiao (AliExpress)",
    "4px": "4PX",
    "yanwen": "Yanwen",
    "postnl": "PostNL",
    "dhlecommerce": "DHL eCommerce",
    "singpost": "Singapore Post",
    "hongkongpost": "Hongkong Post",
    "posmalaysia": "Pos Malaysia",
    "ctt": "CTT (Portugal)",
    "postlu": "POST Luxembourg",
    "swisspost": "Swiss Post",
    "postnord": "PostNord",
    "chunghwapost": "Chunghwa Post",
    "dhlparcel": "DHL Paket",
    "upsmi": "UPS Mail Innovations",
    "pitneybowes": "Pitney Bowes",
    "directlink": "Direct Link",
    "asendia": "Asendia",
    "dpduk": "DPD UK",
    "landmark": "Landmark Global",
    "purolator": "Purolator",
}


def _mod10(lo: int, hi: int, odd: int, even: int = 1) -> Callable[[str], tuple[int, ...]]:
    """Mod 10 over n[lo:hi]: counted from the left, odd positions (0-based) times `odd`,
    even ones times `even`; letters count as (code - 3) mod 10."""

    def check(n: str) -> tuple[int, ...]:
        part = n[lo : hi if hi else len(n)]
        total = sum(
            (int(c) if c.isdigit() else (ord(c) - 3) % 10) * (odd if i % 2 else even)
            for i, c in enumerate(part)
        )
        return ((10 - total % 10) % 10,)

    return check


def _chk_luhn(n: str) -> tuple[int, ...]:
    """Luhn over every digit but the last: from the right, every second digit doubled
    (its digits summed); the check digit brings the total to a multiple of 10."""
    total = 0
    for i, c in enumerate(reversed(n[:-1])):
        d = int(c) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return ((10 - total % 10) % 10,)


def _weighted(lo: int, hi: int, weights: tuple[int, ...]) -> Callable[[str], tuple[int, ...]]:
    """Sum of n[lo:hi] times repeating weights, mod 11, then mod 10 (FedEx)."""

    def check(n: str) -> tuple[int, ...]:
        return (_weighted_mod11(n[lo:hi], weights),)

    return check


def _mod7(lo: int, hi: int) -> Callable[[str], tuple[int, ...]]:
    """The number n[lo:hi] mod 7 (DHL Express waybills, Japan Post)."""

    def check(n: str) -> tuple[int, ...]:
        return (int(n[lo:hi]) % 7,)

    return check


def _chk_gs1(n: str) -> tuple[int, ...]:
    return (_gs1(n[:-1]),)


# USPS IMpb numbers whose application identifier marks a commercial mailer or a vendor
# label (92, 93, 94) may have been printed by a consolidator that carried the parcel
# before USPS (the specification's description of these identifiers): they come after USPS.
MAILER_AIS = frozenset({"92", "93", "94"})
USPS_CONSOLIDATORS = ("fedex", "dhlecommerce", "upsmi", "pitneybowes")


def _impb_ai(n: str) -> str:
    """The application identifier of a USPS IMpb number (after 420 + ZIP when present)."""
    if not n.startswith("420"):
        return n[:2]
    return n[8:10] if n[8] == "9" and len(n) - 8 in (22, 26) else n[12:14]


def _chk_usps_zip(n: str) -> tuple[int, ...]:  # 420 + ZIP5 or ZIP9, then an IMpb number
    body = n[8:] if n[8] == "9" and len(n) - 8 in (22, 26) else n[12:]
    return (_gs1(body[:-1]),)


def _chk_usps_20(n: str) -> tuple[int, ...]:  # plain, or with the implied 91 prefix
    return (_gs1(n[:-1]), _gs1("91" + n[:-1]))


def _chk_sscc(n: str) -> tuple[int, ...]:  # 00 application identifier, then SSCC-18
    return (_gs1(n[2:-1]),)


@dataclass(frozen=True)
class Format:
    """One tracking-number shape: its regex, carriers, rank weight and optional check digit."""

    name: str
    label: str
    regex: str
    carriers: tuple[str, ...]
    weight: int  # higher ranks first among numbers that match several formats
    check: Callable[[str], tuple[int, ...]] | None = None
    check_at: int = -1  # index of the check character
    # [start, end) of the characters suggestions may change; end 0 means the end of the number
    edit: tuple[int, int] = (0, 0)
    # A gate admits the format's carriers only when the check passes, without making the
    # number "valid": used where a check digit exists but passes by chance too often
    # (1 in 7) to outrank formats without one.
    gate: bool = False
    source: str = ""  # where the shape was read from: specification, SDK fixtures, docs


_JK = "jkeen/tracking_number_data couriers/*.json (MIT)"
_R = Format
# The pattern table: every recognised shape, with where it was read from. Sources named
# "github:owner/repo/path" are public code holding real numbers of that carrier (the same
# numbers are in toolkit/tracking/data/real_numbers.tsv); the module docstring says how they rank.
# fmt: off
FORMATS: tuple[Format, ...] = (
    _R("s10", "UPU S10", r"[A-Z]{2}\d{9}[A-Z]{2}", (), 100, _check_s10, 10, (2, 11),
       source="UPU S10 standard; " + _JK),
    _R("yanwen_s10", "Yanwen (S10 shape, Y suffix)", r"[A-Z]{2}\d{9}Y[NPRWX]", ("yanwen",), 95,
       _check_s10, 10, (2, 11), source="github:hdnpt/geartrack/test/yanwen.test.js; "
       "github:clooney/yanwen-tracking-api"),
    _R("ups_1z", "UPS 1Z", r"1Z[A-Z0-9]{16}", ("ups",), 100, _check_ups, -1, (2, 18), source=_JK),
    _R("ups_waybill", "UPS waybill (letter + 10 digits)", r"[AHJKTV]\d{10}", ("ups",), 90,
       _mod10(1, 10, 2), source=_JK),
    _R("yunexpress", "YunExpress (YT + 16 digits)", r"YT\d{16}", ("yunexpress",), 100,
       source=_JK),
    _R("yto", "YTO (YT + 13 digits)", r"YT\d{13}", ("yto",), 100,
       source="github:kuaidi100-api/java-demo; github:BF-zh/Courier-Validation"),
    _R("sf", "SF Express (SF + 11-13 digits)", r"SF\d{11,13}", ("sf",), 100,
       source="github:kuaidi100-api/go-demo; github:BF-zh/Courier-Validation; "
       "cnblogs.com/wjs2019/p/18515838"),
    _R("jd", "JD Logistics", r"JD(?:\d{13}|[A-Z]\d{12}|[A-Z]{2}\d{11})", ("jd",), 100,
       source="github:BF-zh/Courier-Validation; github:phillip2019/hive-third-functions"),
    _R("jt", "J&T Express (JT + 13 digits)", r"[JU]T\d{13}", ("jt", "best"), 100,
       source="github:codemonkey-m/JituExpress; github:BF-zh/Courier-Validation; "
       "github:fuzui/aggregatelogistics"),
    _R("cainiao_lp", "Cainiao (LP + 14 digits)", r"LP\d{14}", ("cainiao",), 100,
       source="github:hdnpt/geartrack/test/cainiao.test.js; github:clooney/cainiao-tracking-php"),
    _R("4px", "4PX (4PX + 13 digits + CN)", r"4PX\d{13}CN", ("4px",), 100,
       source="4PX tracking numbers as printed on its labels"),
    _R("4px_s", "4PX (S + 12 digits)", r"S\d{12}", ("4px",), 90,
       source="https://github.com/hdnpt/geartrack/issues/9"),
    _R("yanwen_bys", "Yanwen (BYS + 9 digits)", r"BYS\d{9}", ("yanwen",), 90,
       source="github:dongfangzhizhou/Trackingmore--Class--Java/track.class.python"),
    _R("postnl_3s", "PostNL (3S + 4 letters + digits)", r"3S[A-Z]{4}\d{7,11}", ("postnl",), 100,
       source="github:firstred/postnl-api-php"),
    _R("dhl_piece", "DHL piece number", r"J[A-Z]{2,3}\d{9,10}|JJD\d{9,20}", ("dhl",), 90,
       source=_JK),
    _R("dhl_jd", "DHL Paket / Express (JD + 18 digits)", r"JD\d{18}", ("dhl", "dhlparcel"), 90,
       source="github:purplship/purplship/modules/connectors/dhl_express/tests"),
    _R("dhl_ecommerce", "DHL eCommerce (GM + 10-39)", r"GM(?=[0-9A-Z]*\d)[0-9A-Z]{10,39}",
       ("dhlecommerce",), 90, source=_JK + "; github:sailrish/shipit/test/stub_data"),
    _R("colissimo", "La Poste Colissimo (digit, letter, 11 digits)", r"6[A-Z]\d{11}",
       ("laposte", "yanwen"), 80,
       source="https://github.com/NTag/suivicolissimo/issues/1; github:purplship/purplship/"
       "modules/connectors/colissimo"),
    _R("auspost", "Australia Post article id", r"\d[A-Z]{2}\d{7}(?:\d{6}|\d{11})?", ("auspost",),
       80, source="github:karrioapi/karrio/modules/connectors/australiapost/tests"),
    _R("fedex_34", "FedEx Express (34 digits)", r"[0-8]\d{33}", ("fedex",), 85,
       _weighted(20, 33, (1, 7, 3)), source=_JK),
    _R("fedex_gsn", "FedEx Ground GSN (96, 34 digits)", r"96\d{32}", ("fedex",), 90,
       _weighted(20, 33, (1, 7, 3)), source=_JK),
    _R("fedex_astra", "FedEx ASTRA (32 digits)", r"3\d{31}", ("fedex",), 90,
       _weighted(16, 27, (3, 1, 7)), 27, source=_JK),
    _R("usps_420", "USPS IMpb with ZIP", r"420\d{5}(?:\d{4})?9[1-5]\d{20}(?:\d{4})?",
       ("usps",), 95, _chk_usps_zip, source=_JK),
    _R("fedex_22", "FedEx Ground (96, 22 digits)", r"96\d{20}", ("fedex",), 90,
       _mod10(7, 21, 3), source=_JK),
    _R("usps_impb", "USPS IMpb", r"9[1-5]\d{20}|9[1-5]\d{24}", ("usps",), 80, _chk_gs1,
       source=_JK),
    # FedEx SmartPost labels carry a USPS IMpb number (USPS delivers): FedEx comes second.
    _R("fedex_smartpost", "FedEx SmartPost (92, 22 digits)", r"92\d{20}", ("fedex",), 50,
       _chk_gs1, source="FedEx SmartPost labels (USPS IMpb numbers)"),
    # Yanwen hands such labels to Deutsche Post for the last mile and tracks them as its own.
    _R("dp_sscc", "Deutsche Post DHL (GS1 prefix 340434)", r"(?:00)?340434\d{12}",
       ("deutschepost", "dhl", "dhlparcel", "yanwen"), 95, _chk_gs1,
       source="github:karrioapi/karrio/modules/connectors/dhl_parcel_de/tests; "
       "github:karrioapi/karrio/sdk/extensions/yanwen/tests/yanwen/test_tracking.py"),
    _R("dhl_10", "DHL Express (10-11 digits)", r"\d{10,11}", ("dhl",), 80, _mod7(0, -1),
       source=_JK),
    _R("usps_20", "USPS (20 digits)", r"\d{20}", ("usps",), 60, _chk_usps_20, source=_JK),
    # FedEx SmartPost's 20 digits check with an implied 92 in front; USPS numbers of the
    # same length pass that by chance 1 time in 10, so it names FedEx without a verdict.
    _R("fedex_20", "FedEx SmartPost (20 digits)", r"\d{20}", ("fedex",), 55,
       lambda n: (_gs1("92" + n[:-1]),), gate=True,
       source="github:mediocre/bloodhound/test/carriers/fedEx.js; github:sailrish/shipit/test"),
    _R("fedex_door_tag", "FedEx door tag (DT + 12 digits)", r"DT\d{12}", ("fedex",), 90,
       source="github:karrioapi/karrio/modules/connectors/fedex/tests; "
       "github:sailrish/shipit/test/guessCarrier.coffee"),
    _R("fedex_sscc", "FedEx Ground SSCC-18", r"0[0-4]\d{16}", ("fedex",), 40, _mod10(2, 17, 1, 3),
       source=_JK),
    _R("fedex_sscc_00", "FedEx Ground SSCC (00 + 18 digits)", r"00\d{18}", ("fedex",), 40,
       _chk_sscc, source=_JK),
    _R("yto_18", "YTO (18 digits)", r"8\d{17}", ("yto",), 70,
       source="github:linlinjava/litemall; github:fondon/logistics"),
    # A Canada Post PIN ends in a GS1 mod-10 check digit: every valid one in the corpus passes
    # (7 development numbers from 3 sources; the 4 spent ones too), a DHL eCommerce 16-digit
    # number 1 time in 10.
    _R("canadapost_16", "Canada Post (16 digits)", r"\d{16}", ("canadapost",), 60, _chk_gs1,
       source="github:sailrish/shipit/test/stub_data/canada_post_*.xml; github:karrioapi/karrio/"
       "modules/connectors/canadapost/tests; https://github.com/jkeen/tracking_number_data/issues/55"),
    _R("zto_14", "ZTO (14 digits)", r"7[3-68]\d{12}", ("zto", "best"), 70,
       source="github:BF-zh/Courier-Validation; github:fuzui/aggregatelogistics"),
    _R("sto_14", "STO (14 digits)", r"77\d{12}", ("sto",), 60,
       source="github:phillip2019/hive-third-functions"),
    _R("best_14", "Best Express (14 digits)", r"7[0-2]\d{12}", ("best",), 60,
       source="github:XadillaX/xto/const/namemapper.js; github:longxuecheng/pitaya-wechat-service"),
    _R("dhl_ecommerce_14", "DHL eCommerce (14 digits)", r"\d{14}", ("dhlecommerce", "chinapost"),
       20, source=_JK + "; github:AfterShip/aftership-sdk-python/examples"),
    _R("dhl_ecommerce_16", "DHL eCommerce (16 digits)", r"\d{16}", ("dhlecommerce",), 15,
       source="github:wantable/omniship/spec/mock_responses.rb; github:slince/shipment-tracking/"
       "tests/DHLECommerce/Fixtures"),
    _R("sto_15", "STO (15 digits)", r"(?:77|88|55)\d{13}", ("sto", "best"), 60,
       source="github:kuaidi100-api/java-demo; github:fuzui/aggregatelogistics"),
    _R("yunda_15", "Yunda (15 digits)", r"[34]\d{14}", ("yunda", "zto"), 60,
       source="github:dongasai/kuaidi100/tests; github:BF-zh/Courier-Validation"),
    _R("fedex_15", "FedEx Ground (15 digits)", r"\d{15}", ("fedex",), 50, _chk_gs1, source=_JK),
    _R("ems_13", "EMS (13 digits)", r"(?:1[0-2]|5[0-2]|9[5-9])\d{11}", ("ems",), 50,
       source="github:dongfangzhizhou/Trackingmore--Class--Java; github:BF-zh/Courier-Validation"),
    _R("yunda_13", "Yunda (13 digits)", r"(?:3\d|4[36]|5\d|1[029])\d{11}", ("yunda",), 40,
       source="github:kuaidi100-api/php-demo; github:RiverDanceGit/kdniaoGo"),
    _R("sto_13", "STO (13 digits)", r"(?:33|77|88|66|55|58)\d{11}|268\d{10}|368\d{10}",
       ("sto",), 35, source="http://39.103.169.235/p/17360b4cef28"),
    _R("chinapost_13", "China Post parcel (13 digits)", r"(?:9[6-9]|1[12]|43)\d{11}",
       ("chinapost",), 30, source="github:arkbriar/ChinaPostBot; github:XadillaX/xto"),
    _R("koreapost_13", "Korea Post (13 digits)", r"6\d{12}", ("koreapost",), 20,
       source="https://github.com/shlee322/delivery-tracker/issues/186"),
    _R("fedex_12", "FedEx Express (12 digits)", r"\d{12}", ("fedex",), 50,
       _weighted(0, 11, (3, 1, 7)), source=_JK),
    _R("sf_12", "SF Express (12 digits, older labels)", r"\d{12}", ("sf",), 40,
       source="github:AfterShip/aftership-sdk-nodejs/test; github:xifengzhu/kuaidi100"),
    _R("sto_12", "STO (12 digits)", r"(?:22|36|40|66)\d{10}", ("sto",), 35,
       source="github:cinaofdai/think-query-express; https://cnblogs.com/liuqu/p/7477329.html"),
    _R("zto_12", "ZTO (12 digits)", r"\d{12}", ("zto",), 30,
       source="github:clooney/zto-tracking-nodejs; github:XadillaX/xto"),
    _R("yto_12", "YTO (10 or 12 digits)", r"\d{10}|\d{12}", ("yto",), 25,
       source="github:XadillaX/xto/const/namemapper.js; github:roylez/alfred_kuaidi"),
    _R("best_12", "Best Express (11-12 digits)", r"\d{11,12}", ("best",), 20,
       source="github:XadillaX/xto/const/namemapper.js; github:roylez/alfred_kuaidi"),
    _R("4px_12", "4PX (12 digits)", r"\d{12}", ("4px",), 15,
       source="github:tonylabs/medusa-fulfillment-4px/docs/4px.md"),
    _R("dhl_paket_12", "DHL Paket (12 digits)", r"\d{12}", ("deutschepost", "dhlparcel"), 5,
       source="github:roylez/alfred_kuaidi/company.json (kuaidi100 dhlde); github:karrioapi/karrio/"
       "modules/connectors/dhl_parcel_de/tests"),
    # A Japan Post number's last digit is the rest of the others divided by 7; another
    # carrier's 12 digits pass that 1 time in 7, so a pass is worth a factor of 7: ahead
    # of the 12-digit formats that have no check (SF's older labels rank next).
    _R("japanpost_12", "Japan Post (11-12 digits)", r"\d{11,12}", ("japanpost",), 45,
       _mod7(0, -1), gate=True, source="github:nayutaya/packtrack/tracker/jppost/package/"
       "tracking_number.py; github:TakamoriYamashiro/shipping-jp-js/README.md"),
    _R("dpd_14", "DPD parcel number (14 digits)", r"\d{14}", ("dpduk",), 10,
       source="github:XadillaX/xto/const/namemapper.js (kuaidi100 dpduk testnu)"),
    _R("fedex_freight", "FedEx Freight PRO (10 digits)", r"\d{10}", ("fedex",), 10,
       source="github:mediocre/bloodhound/test/carriers/fedEx.js"),
    _R("royalmail_2d", "Royal Mail 2D item id (21 characters)", r"(?!1Z)(?=[0-9A-Z]*[A-Z])[0-9A-Z]{21}",
       ("royalmail",), 40, source="github:purplship/purplship/modules/connectors/royalmail/"
       "schemas/tracking.json; github:zVPS/royal-mail-shipping-rest-api-client/config"),
    _R("cainiao_23", "Cainiao (23 digits)", r"\d{23}", ("cainiao",), 30,
       source="https://github.com/hdnpt/geartrack-website/issues/50"),
    _R("landmark_ltn", "Landmark Global (LTN + 8 digits + N + digit)", r"LTN\d{8}N\d",
       ("landmark",), 100, source=_JK + "; github:karrioapi/karrio/modules/connectors/landmark"),
    # Purolator's 12-digit PIN ends in a Luhn digit, which another carrier's 12 digits pass
    # 1 time in 10: a gate, so a pass names Purolator among the candidates without a verdict.
    _R("purolator_12", "Purolator (12 digits)", r"[0-5]\d{11}", ("purolator",), 12, _chk_luhn,
       gate=True, source=_JK + "; github:karrioapi/karrio/modules/connectors/purolator/tests"),
    _R("purolator_alpha", "Purolator (3 letters + 9 digits)", r"[A-Z]{3}\d{9}", ("purolator",), 30,
       source=_JK),
)
# fmt: on
_COMPILED = tuple((f, re.compile(f.regex)) for f in FORMATS)


@dataclass(frozen=True)
class RankingRule:
    """One row of the ranking table: numbers fitting ``pattern`` name ``carriers`` first."""

    pattern: str
    carriers: tuple[str, ...]
    evidence: tuple[str, ...]  # real numbers (development part of real_numbers.tsv)
    note: str  # where the evidence was published


RANKING_COLUMNS = ("pattern", "carriers", "evidence", "note")


def load_ranking(path: str | None = None) -> tuple[RankingRule, ...]:
    """The ranking table (``data/number_ranking.csv`` unless ``path`` is given), checked."""
    src = resources.files("toolkit.tracking").joinpath("data", "number_ranking.csv")
    with open(path or str(src), encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    rules = []
    for line, row in enumerate(rows, start=2):
        if set(RANKING_COLUMNS) - set(row):
            raise ValueError(f"number_ranking.csv needs the columns {', '.join(RANKING_COLUMNS)}")
        carriers = tuple(row["carriers"].split())
        unknown = [c for c in carriers if c not in CARRIERS and c not in NUMBER_ONLY_CARRIERS]
        if not carriers or unknown or not row["evidence"].split() or not row["note"].strip():
            raise ValueError(
                f"number_ranking.csv line {line}: needs known carrier codes (got {unknown or '-'}), "
                "evidence numbers and a note saying where they were published"
            )
        re.compile(row["pattern"])
        rules.append(
            RankingRule(row["pattern"], carriers, tuple(row["evidence"].split()), row["note"])
        )
    return tuple(rules)


RANKING: tuple[RankingRule, ...] = load_ranking()
_RANKING_COMPILED = tuple((re.compile(r.pattern), r) for r in RANKING)


def _ranking_rule(n: str) -> RankingRule | None:
    return next((rule for rx, rule in _RANKING_COMPILED if rx.fullmatch(n)), None)


# Shapes that come close to a known format, for saying what is wrong when nothing matches,
# and the carriers whose prefix it carries (named as candidates of an invalid number, so the
# analyst sees whose number was probably mistyped).
_NEAR_MISSES: tuple[tuple[re.Pattern[str], str, tuple[str, ...]], ...] = tuple(
    (re.compile(rx), msg, carriers)
    for rx, msg, carriers in (
        (
            r"[A-Z]{2}\d+[A-Z]{2}",
            "It looks like a UPU S10 number (2 letters, 9 digits, "
            "2 letters, e.g. RB123456785GB) but has {digits} digits.",
            (),
        ),
        (
            r"[A-Z]{2}\d{9}[A-Z0-9]{2}",
            "It looks like a UPU S10 number but does not end in a 2-letter country code.",
            (),
        ),
        (
            r"1Z[A-Z0-9]*",
            "It starts with 1Z like a UPS number, which has 18 characters; this one has {length}.",
            ("ups",),
        ),
        (
            r"YT\d*",
            "YTO numbers are YT + 13 digits and YunExpress numbers YT + 16 digits; this "
            "one has YT + {digits}.",
            ("yto", "yunexpress"),
        ),
        (
            r"SF\d*",
            "SF Express numbers are SF + 12 or 13 digits; this one has SF + {digits}.",
            ("sf",),
        ),
        (
            r"JD[A-Z]*\d*",
            "JD Logistics numbers have 15 characters (JD, up to 2 letters, "
            "digits); this one has {length}.",
            ("jd",),
        ),
        (
            r"\d+",
            "{length} digits matches no known format (FedEx 12, 15, 18, 20, 22, 32 or 34; "
            "USPS 20, 22, 26, 30 or 34; DHL Express 10-11; Canada Post 16; Chinese domestic "
            "carriers 10 to 15, YTO 18).",
            (),
        ),
    )
)
_EXPECTED = (
    "Not a known tracking-number format: expected e.g. LX123456785US (UPU S10), 1Z + 16 "
    "letters or digits (UPS), 12, 15, 20, 22 or 34 digits (FedEx), 20-22 digits (USPS), "
    "10 digits (DHL Express), YT + 16 digits (YunExpress), SF + 12-13 digits (SF Express), "
    "YT + 13 digits (YTO), JD + 13 characters (JD), JT + 13 digits (J&T), LP + 14 digits "
    "(Cainiao), or 12-15 digits (ZTO, STO, Yunda, EMS)."
)

# Full-width ASCII to half-width, lower to upper case, separators removed: one translate table.
_TRANSLATE = {cp: chr(cp - 0xFEE0).upper() for cp in range(0xFF01, 0xFF5F)}
_TRANSLATE.update({ord(c): c.upper() for c in "abcdefghijklmnopqrstuvwxyz"})
_TRANSLATE.update({ord(c): None for c in "-._\u3000\u2010\u2011\u2012\u2013\u2014\u2015\u2212"})
_TRANSLATE.update({0xFF0D: None, 0xFF0E: None, 0xFF3F: None})
_SPACES = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")
_ALNUM = re.compile(r"[A-Z0-9]*")


@dataclass(frozen=True)
class TrackingNumber:
    """What a tracking number is, whether it checks out, and what to do if it does not.

    ``suggestions`` are filled when a check digit fails: the numbers one edit away (the
    check digit fixed, two neighbours swapped, one digit changed) that pass.
    """

    raw: object
    normalized: str
    valid: bool | None  # None: the matched format has no check digit
    candidates: tuple[str, ...] = ()  # carrier codes, most likely first
    problems: tuple[str, ...] = ()
    suggestions: tuple[str, ...] = ()  # corrected numbers that pass, most likely first
    format: str | None = None
    country: str | None = None  # issuing country of a UPU S10 number
    # the candidates whose format the number fits, check digit included, most likely first
    plausible: tuple[str, ...] = ()

    @property
    def carrier(self) -> str | None:
        """The most likely carrier code, or None."""
        return self.candidates[0] if self.candidates else None

    @property
    def china_leg(self) -> str | None:
        """For a foreign post's S10 number, the carrier that delivers it in China under the
        same number (EMS for an EMS item, else China Post); None for any other number."""
        if self.format != "s10" or self.country in (None, "CN"):
            return None
        leg = _china_leg(self.normalized)
        return leg if leg in self.candidates else None


def clean(text: str) -> str:
    """Strip spaces and separators, turn full-width characters half-width, upper-case."""
    return _SPACES.sub("", text.translate(_TRANSLATE))


def _check_ok(fmt: Format, n: str) -> bool:
    return n[fmt.check_at] in {str(d) for d in fmt.check(n)}


def _passes(fmt: Format, rx: re.Pattern[str], n: str) -> bool:
    """The number has the format's shape, its check digit, and (S10) a real country code."""
    if not rx.fullmatch(n) or (fmt.name == "s10" and n[-2:] not in _ISO_3166_ALPHA2):
        return False
    return _check_ok(fmt, n)


def _suggest(fmt: Format, rx: re.Pattern[str], n: str) -> list[str]:
    """Numbers one edit away that pass: fixed check digit, adjacent swaps, single digits."""
    at = fmt.check_at % len(n)
    start, end = fmt.edit[0], fmt.edit[1] if fmt.edit[1] > 0 else len(n) + fmt.edit[1]
    fixes = [n[:at] + str(d) + n[at + 1 :] for d in fmt.check(n)]
    swaps = [
        n[:i] + n[i + 1] + n[i] + n[i + 2 :] for i in range(start, end - 1) if n[i] != n[i + 1]
    ]
    subs = [
        n[:i] + d + n[i + 1 :]
        for i in range(start, end)
        if i != at and n[i].isdigit()
        for d in "0123456789"
        if d != n[i]
    ]
    return [c for c in fixes + swaps + subs if c != n and _passes(fmt, rx, c)]


def _s10_carriers(n: str) -> tuple[str, ...]:
    """The post that issued an S10 number, the forwarders that book such numbers, then, for a
    foreign number, China Post: a parcel posted abroad keeps its S10 number in China, where
    China Post delivers it (EMS for an EMS item, whose service indicator starts with E).
    kuaidi100's own examples for its international-mail codes are such numbers (CJ...US,
    RR...CZ for youzhengguoji; CG...US, ET...CS for emsguoji/emsen: github:roylez/alfred_kuaidi)."""
    country = n[-2:]
    if country == "CN":
        posts: tuple[str, ...] = ("ems", "chinapost") if n[0] == "E" else ("chinapost", "ems")
    else:
        op = _s10_operator(country)
        posts = (op,) if op else ()
    china = country == "CN" or country not in _ISO_3166_ALPHA2
    inbound = () if china else (_china_leg(n),)
    return posts + S10_FORWARDERS.get(country, ()) + inbound


def _china_leg(n: str) -> str:
    """Who delivers a foreign S10 number in China: EMS for an EMS item (its service
    indicator starts with E), China Post for any other."""
    return "ems" if n.startswith("E") else "chinapost"


def _s10_operator(country: str) -> str | None:
    return S10_OPERATORS.get(country) or S10_OTHER_OPERATORS.get(country)


def carrier_label(code: str) -> str:
    """A carrier's display name from its code (toolkit carriers and number-only ones)."""
    if code in CARRIERS:
        return CARRIERS[code].name
    return NUMBER_ONLY_CARRIERS.get(code, code)


def _names(codes: Iterable[str]) -> str:
    return ", ".join(carrier_label(c) for c in codes)


def _check_problem(fmt: Format, n: str, decided: bool) -> str:
    got = n[fmt.check_at]
    want = " or ".join(dict.fromkeys(str(d) for d in fmt.check(n)))
    if decided:
        return (
            f"{fmt.label}: the check digit is {got} but the number's digits call for {want}: "
            "a digit is probably mistyped or two digits are swapped."
        )
    return (
        f"It is not a valid {fmt.label} number (check digit {got}, the digits call for "
        f"{want}) unless it was mistyped."
    )


def _no_match(text: str, n: str) -> TrackingNumber:
    """An invalid number that fits no format: what is wrong with it, and the carriers whose
    prefix it carries (1Z: UPS), so the analyst sees whose number was probably mistyped."""
    problems = []
    carriers: tuple[str, ...] = ()
    if len(n) < MIN_LENGTH:
        chars = "character" if len(n) == 1 else "characters"
        problems.append(f"It has only {len(n)} {chars}; tracking numbers have at least 10.")
    elif len(n) > MAX_LENGTH:
        problems.append(f"It has {len(n)} characters; the longest known format has 34.")
    else:
        digits = sum(c.isdigit() for c in n)
        for rx, msg, near in _NEAR_MISSES:
            if rx.fullmatch(n):
                problems.append(msg.format(digits=digits, length=len(n)))
                carriers = near
                break
    return TrackingNumber(text, n, False, candidates=carriers, problems=(*problems, _EXPECTED))


def _parse_text(text: str, suggest: bool = True) -> TrackingNumber:
    n = clean(text)
    if not n:
        what = "No tracking number was given." if not text else "It has no letters or digits."
        return TrackingNumber(text, n, False, problems=(what,))
    if not _ALNUM.fullmatch(n):
        bad = list(dict.fromkeys(c for c in n if not ("A" <= c <= "Z" or "0" <= c <= "9")))
        shown = ", ".join(repr(c) for c in bad[:5]) + (" ..." if len(bad) > 5 else "")
        return TrackingNumber(
            text,
            n,
            False,
            problems=(
                f"It contains characters that are not letters or digits: {shown}. "
                "Remove them or retype the number.",
            ),
        )
    if len(n) > MAX_LENGTH or len(n) < MIN_LENGTH:
        return _no_match(text, n)

    matched: list[tuple[int, int, int, Format, re.Pattern[str], tuple[str, ...]]] = []
    problems: list[str] = []
    country = None
    for order, (fmt, rx) in enumerate(_COMPILED):
        if not rx.fullmatch(n):
            continue
        carriers = fmt.carriers
        if fmt.gate:  # the carrier is admitted only when its check passes; no verdict
            if _check_ok(fmt, n):
                matched.append((2, -fmt.weight, order, fmt, rx, carriers))
            continue
        if fmt.name == "s10" and n[-2:] in YANWEN_SUFFIXES:
            continue
        if fmt.name == "s10":
            country = n[-2:]
            carriers = _s10_carriers(n)
            if country not in _ISO_3166_ALPHA2:
                problems.append(
                    f"{country!r} at the end is not a country code, so this is not a valid "
                    "UPU S10 number: check the last two letters."
                )
            elif not _s10_operator(country):
                problems.append(
                    f"It was issued by the postal operator of {country}, which is not a "
                    "carrier the toolkit knows: track it on that operator's site (China Post "
                    "tracks it once it reaches China)."
                )
        status = 2 if fmt.check is None else (0 if _passes(fmt, rx, n) else 3)
        matched.append((status, -fmt.weight, order, fmt, rx, carriers))
    if not matched:
        return _no_match(text, n)

    matched.sort(key=lambda m: m[:3])
    best = matched[0][0]
    if best == 0:  # a check digit passed: formats whose check failed are ruled out
        matched = [m for m in matched if m[0] != 3]
    valid = {0: True, 2: None, 3: False}[best]
    failed = [m for m in matched if m[0] == 3]
    suggestions: list[str] = []
    for _, _, _, fmt, rx, _ in failed:
        if not _check_ok(fmt, n):  # (an S10 number may fail on its country code alone)
            problems.append(_check_problem(fmt, n, decided=valid is False))
        if suggest:
            suggestions.extend(_suggest(fmt, rx, n))
    candidates = tuple(dict.fromkeys(c for m in matched for c in m[5]))
    plausible = list(dict.fromkeys(c for m in matched if m[0] != 3 for c in m[5]))
    consolidators: tuple[str, ...] = ()
    if matched[0][3].name in ("usps_impb", "usps_420") and _impb_ai(n) in MAILER_AIS:
        consolidators = USPS_CONSOLIDATORS
        candidates = tuple(dict.fromkeys((*candidates, *consolidators)))
    fmt_name = matched[0][3].name
    rule = _ranking_rule(n)
    front = [c for c in rule.carriers if c in plausible or c in consolidators] if rule else []
    if front:  # the ranking table names these first; the verdict follows the first one's format
        plausible = list(dict.fromkeys((*front, *plausible)))
        candidates = tuple(dict.fromkeys((*front, *candidates)))
        # (a consolidator's number keeps the USPS format it is printed in)
        top = next((m for m in matched if m[0] != 3 and front[0] in m[5]), matched[0])
        if top is not matched[0]:
            fmt_name, valid = top[3].name, {0: True, 2: None}[top[0]]
    if len(plausible) > 1 and n.isdigit():
        problems.insert(
            0,
            f"{len(n)} digits matches {_names(plausible)}: the carrier cannot be told from the "
            "number alone (they are listed most likely first).",
        )
    return TrackingNumber(
        raw=text,
        normalized=n,
        valid=valid,
        candidates=candidates,
        problems=tuple(dict.fromkeys(problems)),
        suggestions=tuple(dict.fromkeys(suggestions))[:MAX_SUGGESTIONS],
        format=fmt_name,
        country=country,
        plausible=tuple(plausible),
    )


_parse_cached = functools.lru_cache(maxsize=1 << 17)(_parse_text)


def _as_text(value: object) -> tuple[str | None, tuple[str, ...]]:
    """Turn an input into text, or say why it cannot be a tracking number."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None, ("No tracking number was given.",)
    if isinstance(value, str):
        return (value if type(value) is str else str.__str__(value)), ()
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8"), ()
        except UnicodeDecodeError:
            return None, ("It is binary data, not text: give the number as text.",)
    if isinstance(value, bool):
        return None, ("Expected the number as text, got True or False.",)
    hint = (
        "It was given as a number, not text: leading zeros may have been lost; "
        "read the column as text (e.g. dtype=str)."
    )
    if isinstance(value, _num.Integral):
        if 0 <= int(value) < 10**MAX_LENGTH:
            return str(int(value)), (hint,)
        return None, ("A negative or over-long number is not a tracking number.",)
    if isinstance(value, _num.Real):
        f = float(value)
        if math.isnan(f):
            return None, ("No tracking number was given.",)
        if math.isfinite(f) and f == int(f) and 0 <= f < 1e15:
            return str(int(f)), (hint,)
        return None, ("A negative or fractional number is not a tracking number.",)
    return None, (f"Expected the number as text, got {type(value).__name__!r}.",)


def _parse_any(text: object, suggest: bool) -> TrackingNumber:
    s, notes = _as_text(text)
    if s is None:
        return TrackingNumber(text, "", False, problems=notes)
    result = _parse_cached(s, suggest) if len(s) <= _CACHE_LIMIT else _parse_text(s, suggest)
    if type(text) is not str or result.raw != text:
        result = replace(result, raw=text)
    if notes and result.valid is not True:
        result = replace(result, problems=result.problems + notes)
    return result


def parse(text: object) -> TrackingNumber:
    """Recognise a tracking number's format and carriers and check it; never raises."""
    return _parse_any(text, suggest=True)


def parse_many(values: Iterable[object]) -> pd.DataFrame:
    """Parse a column of numbers: normalized, valid, carrier, format and problems per row."""
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    try:
        codes, uniques = pd.factorize(series.astype(object), use_na_sentinel=True)
        # code -1 marks a missing value: it points at the last entry
        parsed = [*(_parse_any(u, False) for u in uniques), parse(None)]
    except TypeError:  # unhashable values: parse row by row
        codes, parsed = range(len(series)), [_parse_any(v, False) for v in series]
    rows = [parsed[c] for c in codes]
    return pd.DataFrame(
        {
            "normalized": pd.array([r.normalized for r in rows], dtype="string"),
            "valid": pd.array([r.valid for r in rows], dtype="boolean"),
            "carrier": pd.array([r.carrier for r in rows], dtype="string"),
            "format": pd.array([r.format for r in rows], dtype="string"),
            "problems": pd.array(["; ".join(r.problems) for r in rows], dtype="string"),
        },
        index=series.index,
    )
