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


def test_a_long_first_sentence_gives_up_its_first_clause() -> None:
    """The first segment decides the time to first audio; later ones stay whole."""
    first = "Reading a good book is the best way to spend a quiet evening at home, far from the noise of the city."
    later = "Another long sentence follows here, and it keeps every one of its clauses together in one piece."
    planned = plan_segments(f"{first} {later}")
    assert planned == [Segment("Reading a good book is the best way to spend a quiet evening at home,", "en",
                               clause=True),
                       Segment("far from the noise of the city.", "en"), Segment(later, "en")]
    assert normalized_text(planned).splitlines()[0].startswith("en,:")  # the pause differs: so does the key


def test_a_chinese_first_sentence_is_cut_at_its_comma() -> None:
    planned = plan_segments("读一本好书是度过安静夜晚的最好方式，远离城市的喧嚣和屏幕的光芒。")
    assert [(segment.text, segment.clause) for segment in planned] == [("读一本好书是度过安静夜晚的最好方式，", True),
                                                                     ("远离城市的喧嚣和屏幕的光芒。", False)]


def test_short_first_sentences_and_late_or_missing_clauses_stay_whole() -> None:
    short = "Hello, and welcome to the portal."
    late = "A first sentence that runs on for a long time without any pause at all until the very end, here."
    bare = "A first sentence without a single clause mark that still goes on well past sixty characters."
    for text in (short, late, bare):
        assert [segment.clause for segment in plan_segments(text)] == [False], text
