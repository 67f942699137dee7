from __future__ import annotations

from workers.text.plan import Segment, normalized_text, plan_segments
from workers.text.segment import MAX_CHARS, split_segments


def test_sentences_stay_whole_and_short_ones_merge() -> None:
    text = "Hello there. Yes. This is the portal! Does it work? Mr. Smith went home."
    assert split_segments(text, "en") == [
        "Hello there. Yes.", "This is the portal!", "Does it work?", "Mr. Smith went home."]


def test_long_english_sentence_is_cut_at_clauses_within_the_limit() -> None:
    text = ", ".join(f"clause number {i} goes on for a while" for i in range(40)) + "."
    segments = split_segments(text, "en")
    assert len(segments) > 1
    assert all(len(segment) <= MAX_CHARS["en"] for segment in segments)
    assert " ".join(segments).replace(" ", "") == text.replace(" ", "")


def test_long_chinese_text_respects_its_limit_and_loses_nothing() -> None:
    text = "今天天气很好，我们去公园吧！" + "长" * 250 + "。好的。"
    segments = split_segments(text, "zh")
    assert all(len(segment) <= MAX_CHARS["zh"] for segment in segments)
    assert "".join(segments) == text


def test_five_thousand_characters_split_linearly() -> None:
    sentence = "The portal reads long documents one sentence at a time. "
    segments = split_segments(sentence * 90, "en")  # about 5,000 characters
    assert len(segments) == 90


def test_mixed_text_keeps_each_sentences_language() -> None:
    planned = plan_segments("Hello from the portal, 3 times. 第三句是中文，有3个苹果。")
    assert planned == [Segment("Hello from the portal, three times.", "en"),
                       Segment("第三句是中文，有三个苹果。", "zh")]
    assert normalized_text(planned).splitlines()[1] == "zh:第三句是中文，有三个苹果。"


def test_requested_language_overrides_detection() -> None:
    assert {segment.language for segment in plan_segments("Hello. 你好。", "zh")} == {"zh"}
