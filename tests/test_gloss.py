"""The offline English gloss: places named or romanised, people masked, every real text."""

from __future__ import annotations

import re

import pandas as pd
import pytest
import toolkit.gloss
from hypothesis import given, settings
from hypothesis import strategies as st
from toolkit.gloss import gloss, gloss_many, gloss_parts, romanise

import toolkit.tracking.gloss
from toolkit.tracking.corpus import load_corpus

HAN = re.compile(r"[\u4e00-\u9fff]")


def test_the_public_name_is_the_module():
    assert toolkit.gloss is toolkit.tracking.gloss


@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("【北京国际邮件互换局】已到达", "Arrived at Beijing International Mail Exchange Office"),
        ("快件已到达【上海浦东转运中心】", "Parcel arrived at Shanghai Pudong Transit Center"),
        ("上海浦东 离开", "Departed from Shanghai Pudong"),
        (
            "离开【苏州中心】，下一站【武汉中心】",
            "Departed from Suzhou Center, next stop Wuhan Center",
        ),
        ("[乌鲁木齐]到达【乌市航站】", "[Urumqi] arrived at Urumqi Air Mail Terminal"),
        ("進口總包互封開拆", "Import mail bag exchange-sealed opened"),
        (
            "已签收,感谢使用顺丰,期待再次为您服务",
            "Signed for, thank you for using SF, we look forward to serving you again",
        ),
    ],
)
def test_chinese_scans_read_in_english(text, english):
    assert gloss(text) == english


@pytest.mark.parametrize(
    ("han", "english"),
    [
        ("陕西", "Shaanxi"),
        ("山西", "Shanxi"),
        ("乌鲁木齐", "Urumqi"),
        ("香港", "Hong Kong"),
        ("首都机场", "Capital Airport"),
        ("叶卡捷琳堡", "Yekaterinburg"),
        ("霍尔果斯", "Khorgos"),
    ],
)
def test_the_place_dictionary_names_places_in_their_english_form(han, english):
    assert gloss(f"快件到达【{han}】") == f"Parcel arrived at {english}"


def test_places_missing_from_the_dictionary_are_romanised_with_their_suffix():
    g = gloss_parts("快件在【佛山盐步中转场】完成分拣，准备发往 【佛山南海甘蕉店】")
    assert g.english == (
        "Parcel at Foshan Yanbu Transfer Hub sorting completed, "
        "to be sent to Foshan Nanhai Ganjiao Store"
    )
    assert ("佛山盐步中转场", "Foshan Yanbu Transfer Hub") in g.places
    assert g.complete


@pytest.mark.parametrize(
    ("place", "english"),
    [
        ("郑州新郑综合保税区", "Zhengzhou Xinzheng Comprehensive Bonded Zone"),
        ("广州南沙保税港区", "Guangzhou Nansha Bonded Port Area"),
        ("宁波保税区", "Ningbo Bonded Zone"),
        ("苏州工业园区", "Suzhou Industrial Park"),
        ("深圳宝安区三部", "Shenzhen Bao'an District Office 3"),
        ("深圳宝安区七分部", "Shenzhen Bao'an District Sub-branch 7"),
        ("杭州余杭北部公司", "Hangzhou Yuhang North Branch"),
    ],
)
def test_bonded_zones_parks_and_numbered_offices_are_named_in_english(place, english):
    """Where cross-border parcels start (bonded zones, parks) and how carriers number their
    offices are vocabulary, not names to romanise."""
    g = gloss_parts(f"快件已到达【{place}】")
    assert g.english == f"Parcel arrived at {english}"
    assert g.complete


@pytest.mark.parametrize(
    ("text", "english"),
    [
        # a county-level name alone, with its generic part, or inside a station's name
        ("快件已到达【天津和平区】", "Parcel arrived at Tianjin Heping District"),
        ("快件已到达【沈阳和平二部】", "Parcel arrived at Shenyang Heping Office 2"),
        ("【武汉东西湖区公司】 已揽收", "Wuhan Dongxihu District Branch picked up"),
        # a division's name never swallows the words around it
        ("沈阳市中转场 已发出", "Dispatched from Shenyang Transfer Hub"),
    ],
)
def test_chinas_divisions_are_known_places(text, english):
    """和 is also "and", 市中 also the 市 of a city and the 中 of 中转场: the list of
    China's divisions keeps such names whole without breaking the words around them."""
    g = gloss_parts(text)
    assert g.english == english
    assert g.complete


def test_romanised_syllables_are_kept_apart_where_they_would_run_together():
    assert romanise("宝安") == "Bao'an"
    assert romanise("西安") == "Xi'an"
    assert romanise("浦江") == "Pujiang"


@pytest.mark.parametrize(
    "text",
    [
        "快件交给张桂俊，正在派送途中（联系电话：186****4378）",
        "配送员开始配送，请您准备收货，配送员，郑学超，手机号，137****4230或173****6072",
        "您的快件已签收，如有疑问请电联快递员【陈啟旋，电话：188****1552】",
        "【谢书平/152****0208】正在派件",
        "无锡尚美路揽投部已收件（揽投员姓名：巩师祥,联系电话:188****0144）",
        "快件在深圳分拨中心由曾页文扫描发往深圳华侨城站",
        "深圳华侨城站的何亮亮正在派件",
    ],
)
def test_a_couriers_name_is_masked_like_the_report_masks_names(text):
    english = gloss(text)
    assert not HAN.search(english)
    assert re.search(r"\b[A-Z]\* [A-Z]\*", english), english
    for spelled in ("Guijun", "Xuechao", "Qixuan", "Shuping", "Shixiang", "Yewen", "Liangliang"):
        assert spelled.casefold() not in english.casefold()


def test_full_phone_numbers_do_not_reach_the_gloss():
    english = gloss("快件交给李四，正在派送途中（联系电话：13812345678）")
    assert "13812345678" not in english
    assert "138****5678" in english


def test_unknown_words_stay_visible_and_mark_the_gloss_incomplete():
    g = gloss_parts("快件遭遇台风")  # a word the tables do not know, outside any place slot
    assert not g.complete
    assert g.english.startswith("Parcel ")


@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("Die Sendung wurde zugestellt.", "Delivered"),
        ("Вручение адресату", "Delivered"),
        ("配達完了", "Delivered"),
        ("Parcel delivered to the front door", "Parcel delivered to the front door"),
    ],
)
def test_origin_post_languages_by_meaning_and_english_as_is(text, english):
    assert gloss(text) == english


def test_missing_and_empty_texts_gloss_to_nothing():
    assert gloss(None) == ""
    assert gloss(float("nan")) == ""
    assert gloss(pd.NA) == ""
    assert gloss("   ") == ""


def test_a_column_is_glossed_once_per_distinct_text_and_keeps_its_index():
    texts = pd.Series(
        ["【北京国际邮件互换局】已到达", "已签收", "【北京国际邮件互换局】已到达"],
        index=[10, 11, 12],
    )
    out = gloss_many(texts)
    assert list(out.index) == [10, 11, 12]
    assert out[10] == out[12] == "Arrived at Beijing International Mail Exchange Office"
    assert out[11] == "Signed for"


def test_every_text_of_the_real_corpus_is_glossed_without_an_exception():
    corpus = load_corpus()
    parts = [gloss_parts(t, c) for t, c in zip(corpus["text"], corpus["carrier"], strict=True)]
    assert all(isinstance(p.english, str) for p in parts)
    complete = pd.Series([p.complete for p in parts])
    assert complete.mean() >= 0.95
    han = corpus["text"].str.contains(HAN.pattern).to_numpy()
    for p, is_han in zip(parts, han, strict=True):
        if is_han and p.complete:  # a complete gloss of a Chinese text keeps no Chinese
            assert not HAN.search(p.english), p.text


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("快件到达【】[]()已签收北京张三 ,，。0123*abcé中心区市")),
        max_size=40,
    )
)
def test_gloss_never_raises(text):
    assert isinstance(gloss(text), str)


def test_the_investigators_events_table_shows_the_gloss_beside_the_original():
    from toolkit.widgets.html import events_html

    events = pd.DataFrame(
        {
            "carrier": ["ems", "usps"],
            "description": ["【北京国际邮件互换局】已到达 <img src=x>", "Delivered"],
            "location": ["", ""],
        }
    )
    page = events_html(events)
    assert re.findall(r"<th>(.*?)</th>", page) == [
        "carrier", "location", "description", "in English",
    ]  # fmt: skip
    rows = [re.findall(r"<td>(.*?)</td>", r, re.S) for r in page.split("<tr>")[1:]]
    assert rows[0][3].startswith("Arrived at Beijing International Mail Exchange Office")
    assert rows[1][3] == ""
    assert "<img" not in events_html(events)
    english_only = events.assign(description=["Arrived", "Delivered"])
    assert "in English" not in events_html(english_only)


def test_an_english_text_with_a_trade_mark_sign_is_already_english():
    g = gloss_parts("Delivered to UPS Access Point™ Awaiting Customer Pickup", "ups")
    assert g.complete and g.english.startswith("Delivered to UPS Access Point")
