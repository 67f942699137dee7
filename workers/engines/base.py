"""The streaming protocol every engine speaks.

An engine is loaded once per worker and stays resident. For each request the worker asks it to
`prepare_voice` (cached per voice and engine version) and then iterates `synthesize`, which yields
progress events and audio chunks as they are produced; it checks `cancel` between chunks.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .params import SynthesisParams


class EngineError(Exception):
    """A permanent failure for this input (retrying will not help)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ReferenceClip:
    """A reference voice: mono float32 samples, their rate, sha256 of the canonical audio, transcript."""

    samples: np.ndarray
    sample_rate: int
    sha256: str
    prompt_text: str = ""


@dataclass(frozen=True)
class VoicePrompt:
    """What an engine needs to speak in a voice, computed once per voice and engine version."""

    engine_id: str
    key: str
    label: str
    cloned: bool
    data: Any = field(repr=False, default=None)
    similarity: float | None = None
    nearest_preset: str = ""  # the preset's label, when an engine that cannot clone picked one
    match: Any = field(repr=False, default=None)  # a stage after the engine (the default engine's VoiceMatch)


@dataclass(frozen=True)
class PresetVoice:
    name: str
    label: str
    language: str


@dataclass(frozen=True)
class Progress:
    stage: str
    done: int
    total: int


@dataclass(frozen=True)
class AudioChunk:
    seq: int
    samples: np.ndarray  # float32 mono in [-1, 1]
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


Event = Progress | AudioChunk


@runtime_checkable
class Engine(Protocol):
    engine_id: str
    version: str

    def load(self, device: str) -> None: ...

    def unload(self) -> None: ...

    @property
    def loaded(self) -> bool: ...

    def presets(self) -> list[PresetVoice]: ...

    def prepare_voice(self, *, preset: str | None, reference: ReferenceClip | None) -> VoicePrompt: ...

    def synthesize(self, *, text: str, voice: VoicePrompt, params: SynthesisParams,
                   cancel: threading.Event) -> Iterator[Event]: ...
