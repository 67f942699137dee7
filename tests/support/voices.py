"""Reference clips and voices for tests."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import soundfile as sf
from django.contrib.auth.models import User

from voices.models import Visibility, Voice
from voices.services import voice_create


def wav(seconds: float = 4.0, rate: int = 24000, channels: int = 1, level: float = 0.3,
        subtype: str = "PCM_16") -> bytes:
    """A voiced-sounding tone (amplitude-modulated), as WAV bytes."""
    t = np.arange(int(seconds * rate)) / rate
    mono = (level * np.sin(2 * np.pi * 200 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 2 * t))).astype(np.float32)
    samples = np.stack([mono] * channels, axis=1) if channels > 1 else mono
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype=subtype)
    return buffer.getvalue()


def make_voice(owner: User, visibility: str = Visibility.PRIVATE, **extra: Any) -> Voice:
    return voice_create(owner=owner, name="Mine", data=wav(), filename="mine.wav", prompt_text="a steady tone",
                        visibility=visibility, **extra)
