from __future__ import annotations

import numpy as np
import pytest

from synthesis.results.validation import AudioRejected, validate_audio

RATE = 24000


def _speech_like(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (0.1 * rng.standard_normal(int(seconds * RATE))).astype(np.float32)


def test_plausible_audio_passes() -> None:
    assert validate_audio(_speech_like(2.0), RATE, text="Hello there, how are you?") == pytest.approx(2.0)


@pytest.mark.parametrize("samples,code", [
    (np.zeros(0, np.float32), "empty_audio"),
    (np.full(RATE, np.nan, np.float32), "invalid_audio"),
    (np.zeros(RATE * 2, np.float32), "silent_audio"),
    (_speech_like(0.05), "implausible_duration"),
    (_speech_like(60.0), "implausible_duration"),
])
def test_bad_audio_is_rejected(samples: np.ndarray, code: str) -> None:
    with pytest.raises(AudioRejected) as caught:
        validate_audio(samples, RATE, text="Hello there, how are you?")
    assert caught.value.code == code


def test_chinese_duration_bounds_are_per_character() -> None:
    assert validate_audio(_speech_like(2.0), RATE, text="今天天气很好。")
