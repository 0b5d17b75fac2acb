"""Speed of masking recipient data in carrier texts, as a partner report does it.

    python bench/masking.py                  # 50,000 texts, 2,000 recipients
    python bench/masking.py --texts 200000 --recipients 10000

Builds one recipient masker per parcel (recipient_maskers) and masks every text with its
parcel's masker (mask_recipient_texts), on carrier-like texts that quote the recipient's
name, phone or address in a third of the cases. "repeating" texts recur as carriers print
them; "unique" ones each carry a different time and number, so nothing is read twice.
Times are CPU seconds, best of three; loading the character tables and the pinyin
dictionary once per process is reported apart.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from toolkit import privacy  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
TEXTS = [
    "快件已到达【深圳南山转运中心】，正发往下一站",
    "【深圳市】快件已由派件员 李四 电话：13900001111 正在派件",
    "您的快件已签收，签收人：{name}，如有疑问请联系 0755-12345678",
    "Arrived at Shenzhen sorting center, departed to next facility",
    "Delivered, signed for by: front desk",
    "快件已放至{address}门口，请及时取件",
    "派件员联系收件人 {phone} 未接通，已约定再次投递",
    "包裹已完成清关，交由顺丰速运派送，运单号SF1423456789012",
    "Customs clearance completed at Guangzhou Baiyun airport",
    "[Shenzhen] out for delivery, courier Wang Qiang tel 13812345678",
]


def data(
    n_texts: int, n_recipients: int, unique: bool
) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    rng = random.Random(7)
    names = [
        rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice([1, 2])))
        for _ in range(n_recipients)
    ]
    parcels = pd.DataFrame(
        {
            "parcel_id": [f"P{i}" for i in range(n_recipients)],
            "recipient_name": names,
            "recipient_phone": [
                f"1{rng.choice('3589')}{rng.randrange(10**9):09d}" for _ in range(n_recipients)
            ],
            "recipient_address": [
                f"广东省深圳市南山区科技园路{rng.randrange(1, 200)}号"
                f"{rng.randrange(1, 20)}栋{rng.randrange(101, 3000)}"
                for _ in range(n_recipients)
            ],
        }
    )
    texts, ids = [], []
    for i in range(n_texts):
        p = parcels.iloc[i % n_recipients]
        text = rng.choice(TEXTS).format(
            name=p.recipient_name, address=p.recipient_address[6:], phone=p.recipient_phone
        )
        if unique:
            text += f" {i // 60 % 24:02d}:{i % 60:02d} #{i}"
        texts.append(text)
        ids.append(p.parcel_id)
    return parcels, pd.Series(texts), pd.Series(ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=50_000)
    parser.add_argument("--recipients", type=int, default=2_000)
    args = parser.parse_args()
    start = time.process_time()
    privacy.recipient_masker("王芳", "13900001111", "浙江省杭州市西湖区文三路100号")("王芳")
    print(f"loading tables and dictionary once: {time.process_time() - start:.2f} s")
    print(f"{'texts':<10} {'build maskers':>14} {'mask texts':>11} {'per text':>9}")
    for unique in (False, True):
        parcels, texts, ids = data(args.texts, args.recipients, unique)
        builds, masks = [], []
        for _ in range(3):
            privacy._read.cache_clear()
            t0 = time.process_time()
            maskers = privacy.recipient_maskers(parcels, ids)
            t1 = time.process_time()
            privacy.mask_recipient_texts(texts, ids, maskers)
            t2 = time.process_time()
            builds.append(t1 - t0)
            masks.append(t2 - t1)
        label = "unique" if unique else "repeating"
        per = min(masks) / args.texts * 1e6
        print(f"{label:<10} {min(builds):>12.2f} s {min(masks):>9.2f} s {per:>6.1f} µs")


if __name__ == "__main__":
    main()
