"""Which language a text is in, as far as our engines care: Chinese or English."""

from __future__ import annotations

import re

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


def detect_language(text: str) -> str:
    """'zh' when Han characters make up at least a third of the letters, else 'en'."""
    han = len(_HAN.findall(text))
    latin_words = len(re.findall(r"[A-Za-z]+", text))
    if han and han >= latin_words * 2:  # a Chinese character carries about half an English word
        return "zh"
    return "en" if latin_words or not han else "zh"


def resolve_language(text: str, requested: str) -> str:
    return detect_language(text) if requested in ("", "auto") else requested

