"""Recipient data is masked for partners: names, phones, addresses, phones inside text."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolkit.privacy import (
    mask_address,
    mask_name,
    mask_personal,
    mask_phone,
    mask_recipient_texts,
    mask_text,
    phone_last4,
    recipient_masker,
    recipient_maskers,
)


def test_masks_keep_only_what_a_carrier_needs():
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("+86 138-1234-1234") == "138****1234"
    assert mask_phone("1234") == "****1234"
    assert mask_name("张伟") == "张*"
    assert mask_name("欧阳娜娜") == "欧**"
    assert mask_name("Wei Li") == "W* L*"
    assert mask_address("广东省深圳市南山区科技园路1号5栋302") == "广东省深圳市****"
    assert mask_address("上海市浦东新区张江路88弄3号") == "上海市****"
    assert phone_last4("138 1234 5678") == "5678"
    assert (
        mask_text("派件员 李四 电话：13900001111 正在派件")
        == "派件员 李四 电话：139****1111 正在派件"
    )


def test_mask_personal_masks_every_personal_column_and_nothing_else():
    df = pd.DataFrame(
        {
            "parcel_id": ["P1"],
            "recipient_name": ["王芳"],
            "recipient_phone": ["15900007777"],
            "recipient_address": ["浙江省杭州市西湖区文三路100号"],
        }
    )
    out = mask_personal(df)
    assert out.loc[0, "parcel_id"] == "P1"
    assert list(out.iloc[0, 1:]) == ["王*", "159****7777", "浙江省杭州市****"]
    assert df.loc[0, "recipient_name"] == "王芳"  # the input is untouched


@given(st.text(max_size=60))
def test_masked_values_never_hold_the_full_value(value):
    for mask in (mask_phone, mask_name, mask_address):
        out = mask(value)
        assert isinstance(out, str)
        if len(value.strip()) >= 3:
            assert out != value.strip()
    digits = "".join(c for c in value if c.isdigit())
    if len(digits) >= 8:
        assert digits not in mask_phone(value).replace("*", "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("已签收，签收人：张三", "已签收，签收人：张*"),
        ("您的快件已签收，签收人是王小明", "您的快件已签收，签收人是王**"),
        ("Delivered, signed for by: JOHN SMITH", "Delivered, signed for by: J* S*"),
        ("DELIVERED Signed by SMITH", "DELIVERED Signed by S*"),
        # not names: left as the carrier wrote them
        ("已妥投，签收人：本人", "已妥投，签收人：本人"),
        ("已签收，签收人是【驿站代收，已取件】", "已签收，签收人是【驿站代收，已取件】"),
        ("未妥投，原因：收件人不在，已约定再次投递", "未妥投，原因：收件人不在，已约定再次投递"),
        ("未妥投，原因：收件人拒收", "未妥投，原因：收件人拒收"),
        ("Delivered, signed for by recipient", "Delivered, signed for by recipient"),
        ("Item received by local delivery office", "Item received by local delivery office"),
    ],
)
def test_signers_names_in_carrier_text_are_masked(text, expected):
    assert mask_text(text) == expected


def test_a_recipients_own_data_is_masked_however_the_carrier_writes_it():
    mask = recipient_masker("王小明", "+86 139 1234 5678", "广东省深圳市南山区科技园路1号5栋302")
    assert (
        mask("王小明 电话139-1234-5678，派送至南山区科技园路1号5栋302")
        == "王** 电话139****5678，派送至****"
    )
    assert mask("地址 广东省深圳市南山区科技园路1号5栋302") == "地址 广东省深圳市****"
    assert mask("放在科技园路1号5栋302门口") == "放在****门口"
    assert mask("快件到达深圳转运中心") == "快件到达深圳转运中心"
    latin = recipient_masker("John Smith", "13912345678", "12 High Street, Leeds")
    assert latin("Left with SMITH at 12 High Street, Leeds") == "Left with S* at ****"
    assert latin("john smith collected it") == "J* S* collected it"
    assert recipient_masker()("派件员 13900001111") == "派件员 139****1111"
    assert recipient_masker()(None) == ""


def test_texts_are_masked_for_their_own_parcels_recipient():
    parcels = pd.DataFrame(
        {
            "parcel_id": ["P1", "P2"],
            "recipient_name": ["王芳", None],
            "recipient_phone": ["15900007777", None],
            "recipient_address": ["浙江省杭州市西湖区文三路100号", None],
        }
    )
    texts = pd.Series(["王芳 文三路100号 159 0000 7777", "王芳 (another parcel)", None])
    ids = pd.Series(["P1", "P2", "P1"])
    out = mask_recipient_texts(texts, ids, recipient_maskers(parcels, ids))
    assert out.tolist() == ["王* **** 159****7777", "王芳 (another parcel)", ""]
