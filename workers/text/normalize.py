"""Spoken-form normalization of numbers, dates, money and units, in English and Chinese.

Numbers are read by well-kept libraries (num2words for English, cn2an for Chinese); this module
only finds them in context (currency, unit, date, phone number) and picks the right reading.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import cn2an
from num2words import num2words

_EN_UNITS = {
    "km": "kilometers", "m": "meters", "cm": "centimeters", "mm": "millimeters", "kg": "kilograms",
    "g": "grams", "mg": "milligrams", "l": "liters", "ml": "milliliters", "kb": "kilobytes",
    "mb": "megabytes", "gb": "gigabytes", "tb": "terabytes", "ms": "milliseconds", "s": "seconds",
    "min": "minutes", "h": "hours", "hz": "hertz", "khz": "kilohertz", "mph": "miles per hour",
    "km/h": "kilometers per hour", "°c": "degrees Celsius", "°f": "degrees Fahrenheit",
}
_ZH_UNITS = {
    "km": "千米", "m": "米", "cm": "厘米", "mm": "毫米", "kg": "千克", "g": "克", "mg": "毫克",
    "l": "升", "ml": "毫升", "gb": "GB", "mb": "MB", "km/h": "千米每小时", "°c": "摄氏度", "℃": "摄氏度",
    "s": "秒", "ms": "毫秒", "h": "小时", "hz": "赫兹",
}
# symbol -> (unit singular, plural, hundredth singular, plural)
_CURRENCY_EN = {"$": ("dollar", "dollars", "cent", "cents"), "€": ("euro", "euros", "cent", "cents"),
                "£": ("pound", "pounds", "penny", "pence"), "¥": ("yuan", "yuan", "fen", "fen")}
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]
_ZH_DIGITS = "零一二三四五六七八九"

_NUM = r"\d+(?:,\d{3})*(?:\.\d+)?"
# Integers with more digits than this are read digit by digit, like codes: no one says a 40-digit
# number as a quantity, num2words overflows past ~10**306, and Python refuses to parse an int of
# more than 4,300 digits. It also bounds the work a single number can cost.
MAX_QUANTITY_DIGITS = 15
_UNIT_KEYS = sorted({*_EN_UNITS, *_ZH_UNITS}, key=len, reverse=True)
_UNIT_RE = "|".join(re.escape(u) for u in _UNIT_KEYS)


def _en_digits(digits: str) -> str:
    return " ".join(str(num2words(int(digit))) for digit in digits)


def _en_integer(digits: str, *, to: str = "cardinal") -> str:
    """An integer's words; too long to be a quantity (see MAX_QUANTITY_DIGITS): digit by digit."""
    if len(digits) > MAX_QUANTITY_DIGITS:  # the length as written: 4,999 zeros are no quantity either
        return _en_digits(digits)
    return str(num2words(int(digits), to=to))


def _en_number(text: str) -> str:
    """A number as written (commas, a decimal point), in words; bounded in size (see
    MAX_QUANTITY_DIGITS), so it never overflows, whatever the input."""
    whole, _, fraction = text.replace(",", "").partition(".")
    if not fraction:
        return _en_integer(whole)
    if len(whole) > MAX_QUANTITY_DIGITS or len(fraction) > MAX_QUANTITY_DIGITS:
        return f"{_en_integer(whole)} point {_en_digits(fraction)}"
    return str(num2words(float(f"{whole}.{fraction}")))


def _en_money(match: re.Match[str]) -> str:
    one, many, sub_one, sub_many = _CURRENCY_EN[match.group(1)]
    whole, _, fraction = match.group(2).replace(",", "").partition(".")
    units, cents = whole.lstrip("0") or "0", int((fraction + "00")[:2]) if fraction else 0
    words = [f"{_en_integer(units)} {one if units == '1' else many}"] if units != "0" or not cents else []
    if cents:
        words.append(f"{num2words(cents)} {sub_one if cents == 1 else sub_many}")
    return " and ".join(words)


def _en_date(match: re.Match[str]) -> str:
    year, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return match.group(0)
    return f"{_MONTHS[month - 1]} {num2words(day, to='ordinal')}, {num2words(year, to='year')}"


def _en_time(match: re.Match[str]) -> str:
    hour, minute = int(match.group(1)), int(match.group(2))
    spoken_minute = "o'clock" if minute == 0 else (f"oh {num2words(minute)}" if minute < 10 else num2words(minute))
    suffix = f" {match.group(3).replace('.', '').upper()}" if match.group(3) else ""
    # "p.m." at a sentence end also serves as its full stop; keep one.
    period = "." if match.group(0).endswith(".") else ""
    return f"{num2words(hour)} {spoken_minute}{suffix}{period}"


def _en_unit(match: re.Match[str]) -> str:
    unit = _EN_UNITS.get(match.group(2).lower())
    return f"{_en_number(match.group(1))} {unit}" if unit else match.group(0)


def _en_year(match: re.Match[str]) -> str:
    return str(num2words(int(match.group(0)), to="year"))


_EN_RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"), _en_date),
    (re.compile(r"\b(\d{1,2}):(\d{2})\s*([ap]\.?m\.?)?", re.I), _en_time),
    (re.compile(rf"([$€£¥])\s?({_NUM})"), _en_money),
    (re.compile(rf"({_NUM})\s?%"), lambda m: f"{_en_number(m.group(1))} percent"),
    (re.compile(rf"\b({_NUM})\s?({_UNIT_RE})(?![A-Za-z])", re.I), _en_unit),
    (re.compile(r"\b(\d+)(st|nd|rd|th)\b"), lambda m: _en_integer(m.group(1), to="ordinal")),
    (re.compile(r"\b(1[1-9]|20)\d{2}s?\b(?=\s*(?:,|\.|$|\s(?:was|is|in|and|when)))"), _en_year),
    (re.compile(rf"(?<![\w.]){_NUM}"), lambda m: _en_number(m.group(0))),
    (re.compile(r"\s*&\s*"), lambda m: " and "),
]


def normalize_en(text: str) -> str:
    for pattern, replace in _EN_RULES:
        text = pattern.sub(replace, text)
    return re.sub(r"[ \t]+", " ", text).strip()


def _zh_digits(match: re.Match[str]) -> str:
    return "".join(_ZH_DIGITS[int(d)] for d in match.group(0))


def _zh_unit(match: re.Match[str]) -> str:
    unit = _ZH_UNITS.get(match.group(2).lower())
    return f"{match.group(1)}{unit}" if unit else match.group(0)


_ZH_MONEY = {"¥": "元", "￥": "元", "$": "美元", "€": "欧元", "£": "英镑"}


def normalize_zh(text: str) -> str:
    # Phone numbers, codes and IDs are read digit by digit, not as quantities.
    text = re.sub(r"(?<![\d.])(?:0\d{2,}|\d{7,})(?![\d.])", _zh_digits, text)
    text = re.sub(rf"([¥￥$€£])\s?({_NUM})", lambda m: m.group(2) + _ZH_MONEY[m.group(1)], text)
    text = re.sub(rf"({_NUM})\s?({_UNIT_RE}|℃)(?![A-Za-z])", _zh_unit, text, flags=re.I)
    text = text.replace(",", "") if re.fullmatch(r"[\d,]+", text) else text
    text = re.sub(r"(\d),(\d{3})", r"\1\2", text)
    return str(cn2an.transform(text, "an2cn"))


def normalize(text: str, language: str) -> str:
    """Spoken form of `text` for the given language ('en' or 'zh')."""
    text = re.sub(r"\s+", " ", text).strip()
    return normalize_zh(text) if language == "zh" else normalize_en(text)
