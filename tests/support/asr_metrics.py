"""Word and character error rates for intelligibility tests."""

from __future__ import annotations

import re
import unicodedata


def _edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        current = [i]
        for j, hyp in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("-", " "))


def _chars(text: str) -> list[str]:
    return [c for c in text if not unicodedata.category(c).startswith(("P", "Z", "S")) and not c.isspace()]


def word_error_rate(references: list[str], hypotheses: list[str]) -> float:
    errors = sum(_edit_distance(_words(r), _words(h)) for r, h in zip(references, hypotheses, strict=True))
    return errors / max(1, sum(len(_words(r)) for r in references))


def char_error_rate(references: list[str], hypotheses: list[str]) -> float:
    errors = sum(_edit_distance(_chars(r), _chars(h)) for r, h in zip(references, hypotheses, strict=True))
    return errors / max(1, sum(len(_chars(r)) for r in references))
