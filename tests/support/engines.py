"""An engine of the streaming protocol for in-process worker tests: it speaks tones, fast.

It stands in for the default engine (it answers to "kokoro", with Kokoro's output parameters) so that
jobs, fingerprints and the audio checks are exactly those of real requests, while a test decides how
it behaves: `hold_runs` makes its first N syntheses block, yielding nothing (an engine stuck in native
code) until `release` is set; `segment_delay_s` makes each segment take that long.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np

from workers.engines.base import AudioChunk, Event, PresetVoice, Progress, ReferenceClip, VoicePrompt
from workers.engines.kokoro import KokoroEngine
from workers.engines.params import SynthesisParams
from workers.text.plan import plan_segments

SECONDS_PER_CHAR = 0.06


class ToneEngine:
    engine_id = "kokoro"
    version = "tone-engine-1"
    output_params = KokoroEngine.output_params

    def __init__(self, *, hold_runs: int = 0, segment_delay_s: float = 0.0) -> None:
        self.hold_runs, self.segment_delay_s = hold_runs, segment_delay_s
        self.release = threading.Event()
        self.runs = 0
        self._loaded = True

    @property
    def loaded(self) -> bool:
        return self._loaded

    def load(self, device: str) -> None:
        self._loaded = True

    def unload(self) -> None:
        self._loaded = False

    def presets(self) -> list[PresetVoice]:
        return [PresetVoice(name="jm_kumo", label="Kumo", language="en,zh")]

    def prepare_voice(self, *, preset: str | None, reference: ReferenceClip | None) -> VoicePrompt:
        return VoicePrompt(self.engine_id, f"preset:{preset or 'jm_kumo'}", "Tone", cloned=False)

    def synthesize(self, *, text: str, voice: VoicePrompt, params: SynthesisParams,
                   cancel: threading.Event) -> Iterator[Event]:
        segments = plan_segments(text, params.language)
        yield Progress("synthesizing", 0, len(segments))
        self.runs += 1
        if self.runs <= self.hold_runs:
            self.release.wait()  # stuck: no event until released
        rate = params.sample_rate
        for index, segment in enumerate(segments):
            if cancel.wait(self.segment_delay_s):  # a segment takes this long (and a cancel cuts it short)
                return
            t = np.arange(int(len(segment.text) * SECONDS_PER_CHAR * rate)) / rate
            samples = (0.2 * np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)
            yield AudioChunk(index, samples, rate)
            yield Progress("synthesizing", index + 1, len(segments))
