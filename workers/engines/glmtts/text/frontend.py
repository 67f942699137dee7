"""GLM-TTS text frontend: upstream's `TextFrontEnd.text_normalize` (WeTextProcessing path), splitting and G2P.

Pipeline of `normalize`: markdown list numbers and literal "\\n", line merging, emoji removal, hyphens between
letters -> spaces; then Chinese (custom replacements, WeTextProcessing zh TN, symbol mapping, lowercase) if the
text has any CJK ideograph, else English (WeTextProcessing en TN, number spelling with inflect, punctuation
cleanup); finally punctuation de-duplication and a guaranteed sentence-final mark.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import regex

from workers.engines.glmtts.text import split as text_split
from workers.engines.glmtts.text.g2p import G2PReplacer
from workers.engines.glmtts.text.normalizers import build_en_normalizer, build_zh_normalizer

DATA_DIR = Path(__file__).resolve().parent / "data"
PUNCTUATION_CHARS = text_split.PUNCTUATION_CHARS
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LINE_END = frozenset(".!?;:：。！？；，")

# What the `emoji` package's replace_emoji removes, rebuilt from Unicode properties: every Emoji character
# except bare #*0-9 and single regional indicators, keycaps, flag pairs, tag sequences, a ZWJ following an
# emoji, and every U+FE0E/U+FE0F (the package drops variation selectors wherever they are).
_EMOJI_CHAR = r"[\p{Emoji}--[#*0-9\p{Regional_Indicator}]]"
_EMOJI = regex.compile(
    r"[#*0-9]\uFE0F?\u20E3|\p{Regional_Indicator}{2}|\U0001F3F4[\U000E0020-\U000E007E]+\U000E007F"
    rf"|{_EMOJI_CHAR}|(?<={_EMOJI_CHAR}|[\uFE0F\u20E3\p{{Regional_Indicator}}])\u200D|[\uFE0E\uFE0F]",
    flags=regex.V1,
)


def contains_chinese(text: str) -> bool:
    return _CJK.search(text) is not None


def remove_emoji(text: str) -> str:
    return _EMOJI.sub("", text)


def markdown_norm(text: str) -> str:
    """A leading "1. " becomes "1。" (so the period is not read as a decimal point); literal "\\n" -> newline."""
    return re.sub(r"^(\d+)\. ", r"\1。", text).replace("\\n", "\n")


def merge_lines(text: str) -> str:
    """Drop empty lines, end every line with punctuation, join (without spaces when the text has Chinese)."""
    lines: list[str] = []
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        if line[-1] not in _LINE_END:
            line = line + "。" if contains_chinese(line) else line + ". "
        lines.append(line)
    return "".join(lines) if contains_chinese("".join(lines)) else " ".join(lines)


def replace_space(text: str) -> str:
    """Keep a space only after [A-Za-z0-9.,!?;:] and before [A-Za-z0-9]; drop all others."""
    text = re.sub(r" +", " ", text)
    return re.sub(r" (?![a-zA-Z0-9])|(?<![a-zA-Z0-9.,!?;:]) ", "", text)


def normalize_punctuation(text: str) -> str:
    """Collapse runs of punctuation to their first mark; exclamation marks become periods; '#' is dropped."""
    text = replace_space(text)
    text = re.sub(rf"([{PUNCTUATION_CHARS}])\1+", r"\1", text)
    text = re.sub(rf"([{PUNCTUATION_CHARS}])(?=[{PUNCTUATION_CHARS}])", "", text)
    return text.replace("#", "").replace("！", "。").replace("!", ".")


def ensure_proper_ending(text: str) -> str:
    """End with '。' (Chinese) or '.', replacing a final punctuation mark other than a question mark."""
    if text and text[-1] in "？?":
        return text
    if text and text[-1] in PUNCTUATION_CHARS:
        text = text[:-1]
    return text + ("。" if contains_chinese(text) else ".")


_ZH_DIGITS = "零一二三四五六七八九"
_ZH_UNITS = ("", "十", "百", "千", "万", "十万", "百万", "千万", "亿", "十亿", "百亿", "千亿")
_SCI_NOTATION = re.compile(r"(.*?)(-?\d+(?:\.\d+)?)[*x×](\d+(?:\.\d+)?)\^(-?\d+(?:\.\d+)?)(.*?)$")
_BRACKETS = "()（）【】「」``《》『』{}[]"
_ZH_SYMBOLS = (
    ("†", "，"), ("²", "平方"), ("³", "立方"), ("/", "每"), ("~", "到"), ("～", "到"),
    *zip("①②③④⑤⑥⑦⑧⑨⑩", "一二三四五六七八九十", strict=True),
    ("α", "阿尔法"), ("β", "贝塔"), ("γ", "伽玛"), ("Γ", "伽玛"), ("δ", "德尔塔"), ("Δ", "德尔塔"), ("△", "德尔塔"),
    ("ε", "艾普西龙"), ("ζ", "捷塔"), ("η", "依塔"), ("θ", "西塔"), ("Θ", "西塔"), ("ι", "艾欧塔"), ("κ", "喀帕"),
    ("λ", "拉姆达"), ("Λ", "拉姆达"), ("μ", "缪"), ("ν", "拗"), ("ξ", "克西"), ("Ξ", "克西"), ("ο", "欧米克伦"),
    ("π", "派"), ("Π", "派"), ("ρ", "肉"), ("ς", "西格玛"), ("Σ", "西格玛"), ("σ", "西格玛"), ("τ", "套"),
    ("υ", "宇普西龙"), ("φ", "服艾"), ("Φ", "服艾"), ("χ", "器"), ("ψ", "普赛"), ("Ψ", "普赛"), ("ω", "欧米伽"),
    ("Ω", "欧米伽"), ("□", "方框"),
    (">", "大于"), ("<", "小于"), ("∈", "属于"), ("∉", "不属于"), ("∪", "并"), ("∩", "交"), ("⊥", "垂直"),
    ("∥", "平行"), ("≠", "不等于"), ("∵", "因为"), ("∴", "所以"), ("∅", "空集"), ("⊂", "真包含于"), ("⊃", "包含"),
    ("⊆", "包含于"), ("⊇", "真包含"), ("⊄", "不属于"), ("⊅", "非超集"), ("⊈", "不属于"), ("⊉", "非超集"),
)


def _int_to_chinese(number: int) -> str:
    """Digit-by-digit reading with positional units, as upstream's `number_to_chinese` does for integers."""
    if number == 0:
        return "零"
    if number < 0:
        return "负" + _int_to_chinese(-number)
    parts: list[str] = []
    zero_pending, last_unit = False, ""
    for position, char in enumerate(reversed(str(number))):
        digit, unit = int(char), _ZH_UNITS[position] if position < len(_ZH_UNITS) else ""
        if digit == 0:
            if not zero_pending and parts and last_unit not in ("万", "亿"):
                parts.append("零")
                zero_pending = True
            continue
        parts.extend([unit, _ZH_DIGITS[digit]] if unit else [_ZH_DIGITS[digit]])
        zero_pending, last_unit = False, unit
    text = re.sub(r"^一十", "十", "".join(reversed(parts)))
    return re.sub(r"零$", "", re.sub(r"零+", "零", text))


def number_to_chinese(number: str) -> str:
    """A decimal string read in Chinese ("3.14" -> "三点一四"), via float like upstream."""
    text = str(float(number))
    if "e" in text:
        # Upstream raises on exponent notation (|x| >= 1e16 or < 1e-4); we read the fixed-point form instead.
        text = format(float(number), "f")
    whole, fraction = text.split(".")
    if fraction.strip("0") == "":
        return _int_to_chinese(int(whole))
    head = _int_to_chinese(int(whole)) if int(whole) != 0 else "零"
    return head + "点" + "".join(_ZH_DIGITS[int(d)] for d in fraction)


def scientific_notation_to_chinese(text: str) -> str:
    """"...1.5x10^3..." -> "...一点五乘十的三次方..." (first occurrence only)."""
    match = _SCI_NOTATION.match(text)
    if not match:
        return text
    prefix, base, multiplier, exponent, suffix = match.groups()
    spoken = f"{number_to_chinese(base)}乘{number_to_chinese(multiplier)}的{number_to_chinese(exponent)}次方"
    return prefix + spoken + suffix


def remove_brackets(text: str, chinese: bool = True) -> str:
    for char in _BRACKETS + ("‘’" if chinese else ""):
        text = text.replace(char, "")
    return text


def replace_asterisk(text: str, chinese: bool = True) -> str:
    """'*' between numbers/letters (optionally around parentheses) is read as multiply; other '*' vanish."""
    word, nums = ("乘", "一二三四五六七八九十百千万亿") if chinese else ("multiply", "0-9")
    left, right = rf"(?<=[{nums}a-zA-Z])", rf"(?=[{nums}a-zA-Z])"
    left_paren, right_paren = rf"(?<=[{nums}a-zA-Z]\))", rf"(?=\([{nums}a-zA-Z])"
    star = r"\s*\*\s*"
    rules = [left + star + right, left_paren + star + right, left + star + right_paren,
             left_paren + star + right_paren]
    return re.sub("|".join(rules), word, text).replace("*", "")


def normalize_chinese(text: str, tn: Callable[[str], str], custom: list[tuple[str, str]]) -> str:
    """Upstream's pre_replace -> WeTextProcessing zh TN -> special_replace -> post_replace."""
    text = scientific_notation_to_chinese(text)
    text = re.sub(r"(?<=\d)\s*-\s*(?=\d)", "减", text).replace("-", "")
    text = re.sub("咯([" + re.escape(PUNCTUATION_CHARS) + "])", r"喽\1", text)
    for origin, new in custom:
        text = text.replace(origin, new)
    text = tn(text).replace("\\", "")
    text = re.sub(r"(?<=\W)额(?=\W)", "呃", f" {text} ")
    text = replace_asterisk(re.sub(r"[~～]+", "。", text)).strip()
    text = remove_brackets(text).replace(" - ", "，").replace("——", "，")
    text = re.sub(r"[,:：;；、]+", "，", text)
    text = re.sub(r"[.…]+", "。", text)
    text = re.sub(r"[_·]+", "", text)
    text = re.sub(r"""['"‘’“”|]+""", "", text)
    for old, new in _ZH_SYMBOLS:
        text = text.replace(old, new)
    return text


def spell_out_numbers(text: str, number_to_words: Callable[[str], str]) -> str:
    """Every run of `str.isdigit` characters -> English words (inflect)."""
    return "".join(number_to_words("".join(run)) if is_digit else "".join(run)
                   for is_digit, run in itertools.groupby(text, key=str.isdigit))


def normalize_english(text: str, tn: Callable[[str], str], number_to_words: Callable[[str], str]) -> str:
    """WeTextProcessing en TN, numbers spelled out, only .,!?':; kept, lowercase, one space after marks."""
    text = tn(text.replace("'", "’"))
    text = replace_asterisk(remove_brackets(text, chinese=False), chinese=False)
    text = spell_out_numbers(text.replace("—", " ").replace("’", "'"), number_to_words)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"[^\w\s.,!?':;]", "", text).lower()
    text = re.sub(r"([.,!?':;])\1+", r"\1", text)
    return re.sub(r"\s*([.,?!':;])\s*", r"\1 ", text).strip()


def load_custom_replacements(path: Path = DATA_DIR / "custom_replace.jsonl") -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            pairs.append((item["origin"], item["new"]))
    return pairs


class TextFrontend:
    """Normalization, splitting and G2P for GLM-TTS; heavy parts are built on first use."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._zh_tn: Any = None
        self._en_tn: Any = None
        self._inflect: Any = None
        self._g2p: G2PReplacer | None = None
        self._custom = load_custom_replacements()

    def _normalizers(self) -> tuple[Any, Any, Any]:
        if self._zh_tn is None:
            import inflect

            self._zh_tn, self._en_tn, self._inflect = build_zh_normalizer(), build_en_normalizer(), inflect.engine()
        return self._zh_tn, self._en_tn, self._inflect

    def warm_up(self) -> None:
        """Build the FSTs, the G2P tables and the jieba dictionary now rather than on the first request."""
        self.normalize("预热。")
        self.apply_g2p("预热")

    def normalize(self, text: str) -> str:
        """Upstream's `text_normalize` (WeTextProcessing path), output for output."""
        text = markdown_norm(text)
        text = merge_lines(text)
        text = remove_emoji(text)
        text = re.sub(r"(?<=[a-zA-Z])-(?=[a-zA-Z])", " ", text)
        with self._lock:  # inflect's engine keeps per-call state; the FST objects are shared
            zh_tn, en_tn, engine = self._normalizers()
            if contains_chinese(text):
                text = normalize_chinese(text, zh_tn.normalize, self._custom).lower()
            else:
                text = normalize_english(text, en_tn.normalize, engine.number_to_words)
        return ensure_proper_ending(normalize_punctuation(text))

    def split(self, text: str, min_len: int = 30, max_len: int = 60) -> list[str]:
        return text_split.split_by_len(text, min_len, max_len)

    def apply_g2p(self, text: str) -> str:
        """Replace polyphonic Chinese characters by phoneme tokens such as <|X|><|ING2|>."""
        with self._lock:
            if self._g2p is None:
                self._g2p = G2PReplacer.from_data_dir(DATA_DIR)
        return self._g2p(text)


_instance_lock = threading.Lock()
_instance: TextFrontend | None = None


def text_frontend() -> TextFrontend:
    """The process-wide frontend, created once."""
    global _instance
    with _instance_lock:
        if _instance is None:
            _instance = TextFrontend()
        return _instance
