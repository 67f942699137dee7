"""Text processing is total: whatever a client types, normalizing and planning it never raises.

It runs in the web process (the fingerprint) as well as in the worker, so an exception here was a
500 on every submit path. Numbers of any length are the family that broke it (num2words overflows
past ~10**306, Python refuses to parse an int of more than 4,300 digits).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workers.text.normalize import MAX_QUANTITY_DIGITS, normalize
from workers.text.plan import plan_segments

# Characters the rules react to: digits, separators, currency, units, dates, times, CJK.
_ALPHABET = st.sampled_from(list("0123456789.,:-/%$€£¥￥ ° km kg h st nd th pm am  年月日元点你好 e+ \n&"))
_NUMBERY = st.text(_ALPHABET, min_size=0, max_size=400)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_NUMBERY, language=st.sampled_from(["en", "zh"]))
def test_normalize_never_raises(text: str, language: str) -> None:
    assert isinstance(normalize(text, language), str)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(min_size=1, max_size=300), language=st.sampled_from(["auto", "en", "zh"]))
def test_planning_any_unicode_never_raises(text: str, language: str) -> None:
    for segment in plan_segments(text, language):
        assert segment.language in ("en", "zh")


TEMPLATES = ["{d}", "{d}.5", "${d}", "{d}%", "{d} km", "{d}th", "0.{d}", "¥{d}.99"]


@pytest.mark.parametrize("digits", [16, 40, 309, 4301, 5000])
@pytest.mark.parametrize("template", TEMPLATES)
def test_huge_numbers_are_read_digit_by_digit(digits: int, template: str) -> None:
    spoken = normalize(template.format(d="7" * digits), "en")
    assert spoken.count("seven") >= digits


@pytest.mark.parametrize("digits", [4301, 5000])
@pytest.mark.parametrize("template", TEMPLATES)
def test_thousands_of_zeros_are_no_quantity_either(digits: int, template: str) -> None:
    """4,999 zeros are 0, but Python still refuses to parse them as an int (more than 4,300 digits)."""
    spoken = normalize(template.format(d="0" * digits), "en")
    assert spoken and not any(character.isdigit() for character in spoken)  # every number was read out


def test_quantities_up_to_the_bound_are_still_words() -> None:
    assert normalize("9" * MAX_QUANTITY_DIGITS, "en").startswith("nine hundred and ninety-nine trillion")
    assert normalize("I paid $1,000.50 for 3.14 kg, 1st of 2.", "en") == (
        "I paid one thousand dollars and fifty cents for three point one four kilograms, first of two.")
