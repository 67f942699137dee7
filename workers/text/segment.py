"""Sentence splitting for long text.

Each segment is synthesized on its own and streamed as soon as it is ready, so the first
segment decides the time to first audio. Limits (characters per segment): English 300 (seed 000
advises at most ~300), Chinese 100 — a Han character becomes 3-4 phoneme symbols and Kokoro
accepts 510 per window, so 100 characters stays well inside it. Sentences are kept whole when
they fit; longer ones are cut at clause punctuation, then at spaces, then hard.
"""

from __future__ import annotations

import re

MAX_CHARS = {"en": 300, "zh": 100}
# A very short sentence ("Yes.") is merged into its neighbour: it would sound clipped alone.
MIN_CHARS = {"en": 12, "zh": 4}
# The first segment decides the time to first audio: a first segment longer than FIRST_CHARS is cut
# after its first clause when that clause ends within FIRST_CLAUSE_MAX (so audio starts after a few
# words, not after a whole long sentence); later segments stay long (fewer joins, steadier prosody).
FIRST_CHARS = {"en": 60, "zh": 20}
FIRST_CLAUSE_MAX = {"en": 120, "zh": 40}

_SENTENCE_END = re.compile(r"(?<=[。！？!?；;…])|(?<=[.](?=\s))|\n+")
_CLAUSE_END = re.compile(r"(?<=[，,、：:])")


_ABBREVIATION = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|vs|etc|e\.g|i\.e|No|Fig|approx)\.$", re.I)


def _pieces(text: str, pattern: re.Pattern[str]) -> list[str]:
    return [piece.strip() for piece in pattern.split(text) if piece and piece.strip()]


def sentences(text: str) -> list[str]:
    out: list[str] = []
    for piece in _pieces(text, _SENTENCE_END):
        if out and _ABBREVIATION.search(out[-1]):  # "Mr." does not end a sentence
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


def _hard_split(text: str, limit: int) -> list[str]:
    out: list[str] = []
    while len(text) > limit:
        cut = text.rfind(" ", 0, limit)
        cut = cut if cut > limit // 2 else limit
        out.append(text[:cut].strip())
        text = text[cut:].strip()
    return [*out, text] if text else out


def _pack(pieces: list[str], limit: int, joiner: str) -> list[str]:
    """Greedily join consecutive pieces while they fit in `limit`."""
    out: list[str] = []
    for piece in pieces:
        if out and len(out[-1]) + len(joiner) + len(piece) <= limit:
            out[-1] = f"{out[-1]}{joiner}{piece}"
        else:
            out.append(piece)
    return out


def _split_long(sentence: str, limit: int, joiner: str) -> list[str]:
    if len(sentence) <= limit:
        return [sentence]
    clauses = [part for clause in _pieces(sentence, _CLAUSE_END) for part in _hard_split(clause, limit)]
    return _pack(clauses, limit, joiner)


def split_segments(text: str, language: str) -> list[str]:
    """Segments of `text`, in order, none longer than the language's limit."""
    limit, minimum = MAX_CHARS.get(language, 300), MIN_CHARS.get(language, 12)
    joiner = "" if language == "zh" else " "
    segments: list[str] = []
    for sentence in sentences(text):
        for part in _split_long(sentence, limit, joiner):
            if segments and (len(part) < minimum or len(segments[-1]) < minimum) \
                    and len(segments[-1]) + len(joiner) + len(part) <= limit:
                segments[-1] = f"{segments[-1]}{joiner}{part}"
            else:
                segments.append(part)
    return segments


def first_clause(segment: str, language: str) -> tuple[str, str] | None:
    """(first clause, rest) of a long first segment, cut at clause punctuation; None to keep it whole."""
    if len(segment) <= FIRST_CHARS.get(language, 60):
        return None
    low, high = MIN_CHARS.get(language, 12), FIRST_CLAUSE_MAX.get(language, 120)
    for match in _CLAUSE_END.finditer(segment):
        head, rest = segment[:match.start()].strip(), segment[match.start():].strip()
        if len(head) > high:
            return None
        if len(head) >= low and len(rest) >= low:
            return head, rest
    return None
