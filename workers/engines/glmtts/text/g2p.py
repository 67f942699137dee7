"""Upstream GLM-TTS "phoneme" mode: Chinese characters outside a whitelist become pinyin phoneme tokens.

Each run of Chinese characters is segmented with jieba (POS mode, as upstream) and converted with pypinyin
(initials + tone-3 finals, neutral tone "5", strict). A character in `G2P_able_1word.json` stays a
character; any other becomes `<|INITIAL|><|FINAL|>` (e.g. 行 -> <|X|><|ING2|>). `G2P_replace_dict.jsonl`
entries are substituted first, longest key first.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from pathlib import Path

PUNCTUATION_CHARS = "。？！；：、.?!;:，,"
_PINYIN_PUNCTUATION = "，。；：！？、"
_SYLLABLE_END = "-"
_RETROFLEX = frozenset(("zh", "ch", "sh", "r"))
_DENTAL = frozenset(("z", "c", "s"))
_HANZI_RANGES = (
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF), (0x2CEB0, 0x2EBEF), (0x30000, 0x3134F), (0x31350, 0x323AF), (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F), (0x2E80, 0x2EFF),
)
_jieba_lock = threading.Lock()


def is_hanzi(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _HANZI_RANGES)


def split_hanzi_runs(text: str) -> list[tuple[str, bool]]:
    """Maximal runs of Chinese / non-Chinese characters, each with its is-Chinese flag."""
    runs: list[tuple[str, bool]] = []
    for char in text:
        flag = is_hanzi(char)
        if runs and runs[-1][1] == flag:
            runs[-1] = (runs[-1][0] + char, flag)
        else:
            runs.append((char, flag))
    return runs


def _segment(text: str) -> list[str]:
    import jieba
    import jieba.posseg

    with _jieba_lock:
        jieba.setLogLevel(logging.INFO)  # hides jieba's "building prefix dict" debug lines, as upstream does
        return [pair.word for pair in jieba.posseg.lcut(text)]


def _syllable_phones(initial: str, final: str) -> list[str]:
    """One syllable as [initial, final, '-'] (no initial: [final, '-']); zhi/chi/shi/ri -> iii, zi/ci/si -> ii."""
    if final.startswith("i") and initial in _RETROFLEX:
        final = "iii" + final[1:]
    elif final.startswith("i") and initial in _DENTAL:
        final = "ii" + final[1:]
    return [initial, final, _SYLLABLE_END] if initial else [final, _SYLLABLE_END]


def _strip_syllable_ends(phones: list[str]) -> list[str]:
    while phones and phones[-1] == _SYLLABLE_END:
        phones.pop()
    return phones


def phonemize(text: str) -> list[str]:
    """Upstream `process_one`: flat phones with '-' between syllables, e.g. 你好 -> [n, i3, -, h, ao3]."""
    from pypinyin import Style, pinyin

    text = re.sub(r'[",!\.\?\-—…“”‘’\s]', "，", text.strip())
    text = re.sub(r"[，。；：！？、\s]+", "，", text).strip()
    text = text.replace("嗯", "恩").replace("呣", "母")  # pypinyin gives these no initial and no final
    phones: list[str] = []
    for part, _ in split_hanzi_runs(text):
        part_phones: list[str] = []
        for word in _segment(part.strip()):
            initials = pinyin(word, style=Style.INITIALS, strict=True, neutral_tone_with_five=True)
            finals = pinyin(word, style=Style.FINALS_TONE3, strict=True, neutral_tone_with_five=True)
            for (initial,), (final,) in zip(initials, finals, strict=False):
                syllable = initial + final
                if all(char in _PINYIN_PUNCTUATION for char in syllable):
                    # Matches upstream: an empty syllable raises (IndexError there), so the caller keeps the run.
                    mark = syllable[0]
                    if part_phones and part_phones[-1] == _SYLLABLE_END:
                        part_phones.pop()
                    part_phones.append(mark)
                    continue
                part_phones.extend(_syllable_phones(initial, final))
        phones.extend(_strip_syllable_ends(part_phones))
    return _strip_syllable_ends([phone for phone in phones if phone])


def _format_phones(phones: list[str]) -> str:
    """['x', 'ing2'] -> '<|X|><|ING2|>' (punctuation stays bare)."""
    out: list[str] = []
    for phone in phones:
        token = phone.strip().upper().replace("-", " ")
        if token and token != "|":
            out.append(token if token in PUNCTUATION_CHARS else f"<|{token}|>")
    return "".join(out)


class G2PReplacer:
    """Callable: text -> text with non-whitelisted Chinese characters replaced by phoneme tokens."""

    def __init__(self, keep_chars: frozenset[str], replacements: dict[str, str]) -> None:
        self.keep_chars = keep_chars
        self.replacements = replacements
        # sorted() is stable: equal-length keys keep file order, as upstream.
        self._keys = sorted(replacements, key=len, reverse=True)

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> G2PReplacer:
        keep = frozenset(json.loads((data_dir / "G2P_able_1word.json").read_text(encoding="utf-8")))
        replacements: dict[str, str] = {}
        for line in (data_dir / "G2P_replace_dict.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                replacements.update(json.loads(line))
        return cls(keep, replacements)

    def _dictionary_pieces(self, text: str) -> list[tuple[str, bool]]:
        """Greedy left-to-right dictionary substitution: (piece, was_replaced)."""
        pieces: list[tuple[str, bool]] = []
        i = 0
        while i < len(text):
            key = next((k for k in self._keys if text.startswith(k, i)), None)
            if key is not None:
                pieces.append((self.replacements[key], True))
                i += len(key)
            elif pieces and not pieces[-1][1]:
                pieces[-1] = (pieces[-1][0] + text[i], False)
                i += 1
            else:
                pieces.append((text[i], False))
                i += 1
        return pieces

    def _align(self, chars: str, phones: list[str]) -> str:
        """Walk characters and phones together: a character owns the phones up to the next '-'."""
        out: list[str] = []
        index = 0
        for char in chars:
            if char in PUNCTUATION_CHARS:
                out.append(char)
                if index < len(phones) and phones[index] in PUNCTUATION_CHARS:
                    index += 1
                continue
            own: list[str] = []
            while index < len(phones) and phones[index] not in PUNCTUATION_CHARS:
                index += 1
                if phones[index - 1] == _SYLLABLE_END:
                    break
                own.append(phones[index - 1])
            out.append(_format_phones(own) if own and char not in self.keep_chars else char)
        return "".join(out)

    def _convert_run(self, run: str) -> str:
        try:
            return self._align(run, phonemize(run))
        except Exception:  # upstream keeps the run unchanged on any G2P failure
            return run

    def __call__(self, text: str) -> str:
        out: list[str] = []
        for piece, replaced in self._dictionary_pieces(text):
            if replaced:
                out.append(piece)
                continue
            out.extend(self._convert_run(run) if hanzi else run for run, hanzi in split_hanzi_runs(piece))
        return "".join(out)
