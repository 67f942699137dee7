"""Long texts: upstream's `generate_long` orchestration and its cross-segment prompt cache.

The text is split (min 30 / max 60 units) and every segment is normalized again. With the prompt cache
on, each segment after the first is prompted with the original prompt plus earlier segments' text ids
and generated speech codes, so the voice stays consistent across segments; before a segment, the oldest
cached segments (never the original prompt) are dropped while cached speech + the estimated speech of
the new segment would exceed 750 tokens (upstream's MAX_LLM_SEQ_INP_LEN). The flow always uses the
original prompt, never the cache. This is what upstream calls "KV cache"; it is a prompt cache, and a
separate switch (`use_prompt_cache`) from our attention KV cache.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

MAX_PROMPT_SPEECH_TOKENS = 750


class TextPipeline(Protocol):
    def normalize(self, text: str) -> str: ...

    def split(self, text: str) -> list[str]: ...


@dataclass
class PromptCache:
    """Entry 0 is the voice prompt (text ids of `prompt_text + " "`, its speech codes); later entries are segments."""

    texts: list[str]
    text_ids: list[list[int]]
    speech: list[list[int]]
    enabled: bool = True
    max_tokens: int = MAX_PROMPT_SPEECH_TOKENS

    @classmethod
    def start(cls, prompt_text: str, prompt_text_ids: list[int], prompt_speech: list[int], *,
              enabled: bool = True) -> PromptCache:
        return cls(texts=[prompt_text], text_ids=[list(prompt_text_ids)], speech=[list(prompt_speech)],
                   enabled=enabled)

    def prompt_for(self, text_ids: list[int]) -> tuple[list[int], list[int]]:
        """(prompt text ids, prompt speech codes) for the next segment; prunes old entries as upstream does."""
        if not self.enabled or len(self.text_ids) <= 1:
            return list(self.text_ids[0]), list(self.speech[0])
        cached_text = sum(map(len, self.text_ids))
        ratio = self._speech_len() / (cached_text if cached_text > 0 else 1.0)
        estimate = int(ratio * len(text_ids))
        while self._speech_len() + estimate > self.max_tokens and len(self.speech) > 1:
            del self.texts[1], self.text_ids[1], self.speech[1]
        return [i for ids in self.text_ids for i in ids], [c for codes in self.speech for c in codes]

    def remember(self, text: str, text_ids: list[int], speech: list[int]) -> None:
        self.texts.append(text)
        self.text_ids.append(list(text_ids))
        self.speech.append(list(speech))

    def _speech_len(self) -> int:
        return sum(map(len, self.speech))


@dataclass(frozen=True)
class TokenizedSegment:
    index: int
    text: str  # normalized (and, with phoneme control, G2P-replaced) segment text
    text_ids: list[int]
    prompt_text_ids: list[int] = field(repr=False)
    prompt_speech: list[int] = field(repr=False)
    codes: list[int] = field(repr=False)


@dataclass(frozen=True)
class Code:
    """One speech code of segment `index`, yielded the moment the LLM produced it."""

    index: int
    code: int


SpeakFn = Callable[[list[int], list[int], list[int]], Iterable[int]]


def split_normalized(text: str, frontend: TextPipeline, *, g2p: Callable[[str], str] | None = None) -> list[str]:
    """Split an already normalized text and normalize every piece again (upstream does both)."""
    pieces = [frontend.normalize(piece) for piece in frontend.split(text)]
    pieces = [piece for piece in pieces if piece.strip()]
    return [g2p(piece) for piece in pieces] if g2p else pieces


def generate_long(segments: list[str], cache: PromptCache, *, tokenize: Callable[[str], list[int]],
                  speak: SpeakFn) -> Iterator[Code | TokenizedSegment]:
    """Run the LLM segment by segment; `speak(prompt_text_ids, text_ids, prompt_speech)` yields codes.

    Every code is passed on as it comes (so audio can start before the segment is decoded), then the
    finished TokenizedSegment.
    """
    for index, text in enumerate(segments):
        text_ids = tokenize(text)
        prompt_text_ids, prompt_speech = cache.prompt_for(text_ids)
        codes: list[int] = []
        for code in speak(prompt_text_ids, text_ids, prompt_speech):
            codes.append(code)
            yield Code(index, code)
        cache.remember(text, text_ids, codes)
        yield TokenizedSegment(index=index, text=text, text_ids=text_ids, prompt_text_ids=prompt_text_ids,
                      prompt_speech=prompt_speech, codes=codes)
