"""Checks that generated audio is real speech before it is stored or cached (pure functions)."""

from __future__ import annotations

import numpy as np

from workers.text.language import resolve_language

# Generous bounds of speaking rate: a result outside them is garbage, not speech.
_SECONDS_PER_CHAR = {"en": (0.015, 0.5), "zh": (0.08, 1.2)}
_SILENCE_RMS = 1e-3


class AudioRejected(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def validate_audio(samples: np.ndarray, sample_rate: int, *, text: str, speed: float = 1.0,
                   language: str = "auto") -> float:
    """The duration in seconds of valid audio; raises AudioRejected otherwise."""
    if samples.size == 0:
        raise AudioRejected("empty_audio", "The engine produced no audio.")
    if not np.isfinite(samples).all():
        raise AudioRejected("invalid_audio", "The engine produced non-finite samples.")
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    if rms < _SILENCE_RMS:
        raise AudioRejected("silent_audio", "The engine produced silence.")
    duration = samples.size / sample_rate
    chars = max(1, len("".join(text.split())))
    low, high = _SECONDS_PER_CHAR[resolve_language(text, language)]
    low, high = low * chars / speed, high * chars / speed + 1.0
    if not low <= duration <= high:
        raise AudioRejected("implausible_duration",
                            f"{duration:.2f}s of audio for {chars} characters is outside {low:.2f}-{high:.2f}s.")
    return duration
