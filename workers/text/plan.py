"""From raw text to the segments an engine speaks: per-sentence language, normalized, bounded."""

from __future__ import annotations

from dataclasses import dataclass

from .language import resolve_language
from .normalize import normalize
from .segment import MAX_CHARS, MIN_CHARS, first_clause, sentences, split_segments


@dataclass(frozen=True)
class Segment:
    text: str
    language: str
    clause: bool = False  # it ends inside a sentence (a cut first clause): a comma's pause follows, not a stop's


def plan_segments(text: str, requested_language: str = "auto") -> list[Segment]:
    """Sentences keep their own language when it is "auto", so mixed text is read correctly; a long
    first segment gives up its first clause (segment.first_clause) so audio starts early."""
    planned: list[Segment] = []
    for sentence in sentences(text):
        language = resolve_language(sentence, requested_language)
        for part in split_segments(normalize(sentence, language), language):
            if planned and planned[-1].language == language and _too_short(planned[-1].text, part, language):
                planned[-1] = Segment(_join(planned[-1].text, part, language), language)
            else:
                planned.append(Segment(part, language))
    if planned and (cut := first_clause(planned[0].text, planned[0].language)) is not None:
        language = planned[0].language
        planned[:1] = [Segment(cut[0], language, clause=True), Segment(cut[1], language)]
    return planned


def _too_short(previous: str, part: str, language: str) -> bool:
    short = min(len(previous), len(part)) < MIN_CHARS[language]
    return short and len(previous) + len(part) + 1 <= MAX_CHARS[language]


def _join(previous: str, part: str, language: str) -> str:
    return previous + part if language == "zh" else f"{previous} {part}"


def normalized_text(segments: list[Segment]) -> str:
    """A canonical form of what will be spoken (used in the result fingerprint)."""
    return "\n".join(f"{segment.language}{',' if segment.clause else ''}:{segment.text}" for segment in segments)
