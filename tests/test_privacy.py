"""Recipient data is masked for partners: names, phones, addresses, phones inside text."""

from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from toolkit.privacy import (
    mask_address,
    mask_name,
    mask_personal,
    mask_phone,
    mask_text,
    phone_last4,
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
