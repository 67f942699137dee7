from __future__ import annotations

import pytest

from workers.text.normalize import normalize


@pytest.mark.parametrize("text,spoken", [
    ("I have 3 cats.", "I have three cats."),
    ("It costs $12.50.", "It costs twelve dollars and fifty cents."),
    ("Only €3 or £0.99.", "Only three euros or ninety-nine pence."),
    ("Growth was 45%.", "Growth was forty-five percent."),
    ("We walked 5 km and carried 10kg.", "We walked five kilometers and carried ten kilograms."),
    ("It was the 21st time.", "It was the twenty-first time."),
    ("Meet at 3:30 pm.", "Meet at three thirty PM."),
    ("Meet at 9:05.", "Meet at nine oh five."),
    ("On 2024-05-01 it rained.", "On May first, twenty twenty-four it rained."),
    ("Born in 1999, she", "Born in nineteen ninety-nine, she"),
    ("Version 3.5 & more", "Version three point five and more"),
])
def test_english_spoken_forms(text: str, spoken: str) -> None:
    assert normalize(text, "en") == spoken


@pytest.mark.parametrize("text,spoken", [
    ("我有3个苹果。", "我有三个苹果。"),
    ("2024年5月1日", "二零二四年五月一日"),
    ("价格是¥12.5", "价格是十二点五元"),
    ("增长了50%", "增长了百分之五十"),
    ("电话13800138000", "电话一三八零零一三八零零零"),
    ("跑了5km，温度25℃", "跑了五千米，温度二十五摄氏度"),
    ("共1,200人", "共一千二百人"),
])
def test_chinese_spoken_forms(text: str, spoken: str) -> None:
    assert normalize(text, "zh") == spoken


def test_whitespace_is_collapsed() -> None:
    assert normalize("  a   b \n c ", "en") == "a b c"
