"""An engine of the streaming protocol for in-process worker tests: it speaks tones, fast.

It stands in for the default engine (it answers to "kokoro", with Kokoro's output parameters) so that
jobs, fingerprints and the audio checks are exactly those of real requests, while a test decides how
it behaves: `hold_runs` makes its first N syntheses block, yielding nothing (an engine stuck in native
code) until `release` is set; `segment_delay_s` makes each segment take that long; `max_batch` > 1 makes
it an engine that runs that many jobs at once (as GLM-TTS batches them), and `most_at_once` says how many
it ever did.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np

from workers.engines.base import AudioChunk, Event, PresetVoice, Progress, ReferenceClip, VoicePrompt
from workers.engines.kokoro import KokoroEngine
from workers.engines.params import SynthesisParams
from workers.text.plan import Segment, plan_segments

SECONDS_PER_CHAR = 0.06


class ToneEngine:
    engine_id = "kokoro"
    version = "tone-engine-1"
    output_params = KokoroEngine.output_params

    def __init__(self, *, hold_runs: int = 0, segment_delay_s: float = 0.0, max_batch: int = 1) -> None:
        self.hold_runs, self.segment_delay_s, self.max_batch = hold_runs, segment_delay_s, max_batch
        self.release = threading.Event()
        self.runs = self.running = self.most_at_once = 0
        self._count_lock = threading.Lock()
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
        with self._count_lock:
            self.runs += 1
            run, self.running = self.runs, self.running + 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            if run <= self.hold_runs:
                self.release.wait()  # stuck: no event until released
            yield from self._tones(segments, params.sample_rate, cancel)
        finally:
            with self._count_lock:
                self.running -= 1

    def _tones(self, segments: list[Segment], rate: int, cancel: threading.Event) -> Iterator[Event]:
        for index, segment in enumerate(segments):
            if cancel.wait(self.segment_delay_s):  # a segment takes this long (and a cancel cuts it short)
                return
            t = np.arange(int(len(segment.text) * SECONDS_PER_CHAR * rate)) / rate
            samples = (0.2 * np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)
            yield AudioChunk(index, samples, rate)
            yield Progress("synthesizing", index + 1, len(segments))
