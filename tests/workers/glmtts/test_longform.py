"""Golden i: generate_long's segmenting, re-normalizing and cross-segment prompt cache (with 750-token pruning).

Upstream's LLM tokens depend on its RNG, so (as the MANIFEST suggests) a replaying LLM returns the recorded
tokens and the test checks the exact prompt every segment received, the cache afterwards, and the lengths.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from workers.engines.glmtts.longform import (
    MAX_PROMPT_SPEECH_TOKENS,
    Code,
    PromptCache,
    TokenizedSegment,
    generate_long,
    split_normalized,
)
from workers.engines.glmtts.text.frontend import text_frontend

from .conftest import GOLDEN_DIR, golden
from .expectations import MAX_LLM_SEQ_INP_LEN

ITEMS: list[dict[str, Any]] = json.loads((GOLDEN_DIR / "i_generate_long.json").read_text())["items"]
PROMPT_CODES: list[int] = golden("a_speech_tokenizer")["tokens_wav16k"].tolist()


def _bytes(text: str) -> list[int]:
    return list(text.encode("utf-8"))  # the fixture's tokenizer


class ReplayLLM:
    def __init__(self, segments: list[dict[str, Any]]) -> None:
        self.recorded = [segment["llm_tokens"] for segment in segments]
        self.calls: list[tuple[list[int], list[int], list[int]]] = []

    def __call__(self, prompt_text_ids: list[int], text_ids: list[int], prompt_speech: list[int]) -> list[int]:
        self.calls.append((prompt_text_ids, text_ids, prompt_speech))
        return self.recorded[len(self.calls) - 1]


@pytest.mark.parametrize("item", ITEMS, ids=[item["uttid"] for item in ITEMS])
def test_generate_long_matches_upstream_orchestration(item: dict[str, Any]) -> None:
    frontend = text_frontend()
    prompt_text = frontend.normalize(item["prompt_text"])
    assert prompt_text == item["prompt_text_normalized"]
    syn_text = frontend.normalize(item["syn_text"])
    assert syn_text == item["syn_text_normalized"]

    segments = split_normalized(syn_text, frontend)
    assert segments == item["text_tn_dict"]["syn_text_tn"]
    cache = PromptCache.start(prompt_text, _bytes(prompt_text + " "), PROMPT_CODES)
    llm = ReplayLLM(item["segments"])
    events = list(generate_long(segments, cache, tokenize=_bytes, speak=llm))
    produced = [event for event in events if isinstance(event, TokenizedSegment)]
    # Codes are passed on one by one before their segment completes.
    assert [e.code for e in events if isinstance(e, Code)] == [c for segment in produced for c in segment.codes]

    for call, recorded in zip(llm.calls, item["segments"], strict=True):
        assert call == (recorded["prompt_text_ids"], recorded["text_ids"], recorded["prompt_speech_ids"])
    recorded_codes = golden("i_generate_long")[item["uttid"] + "_tokens"].tolist()
    assert [code for segment in produced for code in segment.codes] == recorded_codes
    assert cache.texts == item["cache_after"]["cache_text"]
    assert [len(codes) for codes in cache.speech] == item["cache_after"]["cache_speech_token_lens"]


def test_prompt_cache_off_always_uses_the_original_prompt() -> None:
    cache = PromptCache.start("p", [1, 2], [7] * 75, enabled=False)
    cache.remember("a", [3], [8] * 100)
    assert cache.prompt_for([4, 5]) == ([1, 2], [7] * 75)


def test_pruning_never_drops_the_original_prompt() -> None:
    cache = PromptCache.start("p", [1], [7] * 700)
    cache.remember("a", [2], [8] * 600)
    text_ids, speech = cache.prompt_for([3] * 10)
    assert text_ids == [1] and speech == [7] * 700 and len(cache.speech) == 1
    assert MAX_PROMPT_SPEECH_TOKENS == MAX_LLM_SEQ_INP_LEN
