"""Real streaming token-to-wave: flow and vocoder run while the LLM is still decoding.

Upstream's `token2wav_stream` only slices an already finished token list (and its mask/length quirks,
Q13, make the slices wrong). Here the LLM is a generator; every time enough new tokens have arrived
(25 for the first chunk, then growing), the flow re-renders all tokens so far from one fixed noise
tensor — so earlier frames barely move — and the vocoder renders only the new frames plus a little
context. The DiT attends in both directions, so frames of the newest `lookahead` tokens are held back
until more tokens (or the end) arrive. Consecutive chunks overlap by `crossfade_s` and are cross-faded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from workers.engines.glmtts.acoustic.flow import FlowInputs
from workers.engines.glmtts.pipeline import AcousticModels, PromptFeatures

Vocoder = Callable[[torch.Tensor], torch.Tensor]
FlowRender = Callable[[FlowInputs, torch.Tensor], torch.Tensor]  # (inputs, noise) -> mel: alone or batched


@dataclass(frozen=True)
class StreamSchedule:
    first_tokens: int = 25  # ~1 s of audio before the first chunk
    growth: float = 2.0  # each later chunk waits for this many times more tokens than the last ...
    max_tokens: int = 200  # ... up to this many
    lookahead_tokens: int = 6  # newest tokens whose frames wait for right context
    context_frames: int = 8  # mel frames given to the vocoder before the new ones
    crossfade_s: float = 0.05

    def next_step(self, step: int) -> int:
        return min(self.max_tokens, round(step * self.growth))


class StreamingToken2Wav:
    """Feed `push(codes)` with every new speech code; it returns audio whenever a chunk is ready."""

    def __init__(self, models: AcousticModels, voice: PromptFeatures, sample_rate: int, *, seed: int,
                 schedule: StreamSchedule | None = None, flow_render: FlowRender | None = None) -> None:
        self.models, self.voice, self.sample_rate = models, voice, sample_rate
        self.flow_render = flow_render or models.flow.render  # e.g. FlowBatcher.render: with other jobs' chunks
        self.schedule = schedule or StreamSchedule()
        self.frame_samples = sample_rate // 50
        self.overlap = int(self.schedule.crossfade_s * sample_rate)
        self.generator = torch.Generator().manual_seed(seed)  # CPU: the same draws on every device
        self.vocoder_generator = torch.Generator().manual_seed(seed + 1)
        self.rand_ini: torch.Tensor | None = None
        self.sine_noise = torch.empty(1, 0, 1)
        self.noise = torch.empty(1, 0, 80)
        self.codes: list[int] = []
        self.rendered_tokens = 0
        self.step = self.schedule.first_tokens
        self.emitted_frames = 0
        self.tail = np.zeros(0, dtype=np.float32)  # rendered but held back for the next cross-fade

    def push(self, code: int) -> np.ndarray | None:
        self.codes.append(code)
        if len(self.codes) - self.rendered_tokens < self.step:
            return None
        self.step = self.schedule.next_step(self.step)
        return self._render(final=False)

    def finish(self) -> np.ndarray:
        audio = self._render(final=True) if self.codes else None
        return audio if audio is not None else np.zeros(0, dtype=np.float32)

    def _render(self, *, final: bool) -> np.ndarray | None:
        self.rendered_tokens = len(self.codes)
        mel = self._mel()  # [1, 80, frames of all tokens so far]
        stable = len(self.codes) if final else len(self.codes) - self.schedule.lookahead_tokens
        end = mel.shape[2] if final else self._target_frames(stable)
        if end <= self.emitted_frames:
            return None
        start = max(0, self.emitted_frames - self.schedule.context_frames)
        # From where the held tail begins, so the re-rendered overlap can be cross-faded with it.
        offset = max(0, (self.emitted_frames - start) * self.frame_samples - len(self.tail))
        # Right context too (the lookahead frames): the vocoder's convolutions see past the chunk's end.
        stop = min(mel.shape[2], end + self.schedule.context_frames)
        audio = self._vocode(mel, start, stop)[offset:(end - start) * self.frame_samples]
        self.emitted_frames = end
        return self._join(audio, final)

    def _mel(self) -> torch.Tensor:
        models, voice = self.models, self.voice
        prompt = torch.tensor([voice.speech_codes], dtype=torch.long, device=models.device)
        total = models.flow.frame_count(len(voice.speech_codes) + len(self.codes))
        if self.noise.shape[1] < total:
            more = torch.randn(1, total - self.noise.shape[1], 80, generator=self.generator)
            self.noise = torch.cat((self.noise, more), dim=1)
        with torch.inference_mode():
            inputs = models.flow.prepare(torch.tensor([self.codes], dtype=torch.long, device=models.device), prompt,
                                         voice.mels[self.sample_rate].to(models.device),
                                         voice.embedding.to(models.device))
            noise = self.noise[:, :total].to(device=models.device, dtype=inputs.condition.dtype)
            return self.flow_render(inputs, noise).float()

    def _target_frames(self, n_tokens: int) -> int:
        flow, n_prompt = self.models.flow, len(self.voice.speech_codes)
        return max(0, flow.frame_count(n_prompt + n_tokens) - self.voice.mels[self.sample_rate].shape[1])

    def _vocode(self, mel: torch.Tensor, start: int, end: int) -> np.ndarray:
        """Audio of mel frames [start, end) given the mel of everything rendered so far."""
        with torch.inference_mode():
            if self.sample_rate == 24000:
                wav = self._hift_chunk(mel, start, end)
            elif self.models.vocos is not None:
                wav = self.models.vocos(mel[:, :, start:end])
            else:
                raise ValueError(f"No vocoder for {self.sample_rate} Hz")
        return wav.reshape(-1).float().cpu().numpy()

    def _hift_chunk(self, mel: torch.Tensor, start: int, end: int) -> torch.Tensor:
        """HiFT on a chunk with the excitation of the whole utterance so far.

        HiFT's harmonic source integrates f0 from the first frame; a chunk vocoded on its own starts every
        harmonic at another phase and sounds like different audio. Slicing the utterance-wide source keeps
        the phase continuous, so chunks join like one vocoder pass; the source noise, too, is one growing
        buffer, so every render sees the same noise at the same sample.
        """
        hift, hop = self.models.hift, self.frame_samples
        f0 = hift.predict_f0(mel[:, :, :end])
        rand_ini, sine_noise = self.source_noise(end * hop)
        source = hift.source_from_f0(f0, rand_ini=rand_ini.to(mel.device), sine_noise=sine_noise.to(mel.device))
        return hift.decode(mel[:, :, start:end], source[:, :, start * hop:end * hop])

    def source_noise(self, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """HiFT's random draws for the first `length` samples: (initial phases [1, H], noise [1, length, H])."""
        harmonics = self.models.hift.m_source.dim
        if self.rand_ini is None:
            self.rand_ini = torch.rand(1, harmonics, generator=self.vocoder_generator)
            self.sine_noise = torch.empty(1, 0, harmonics)
        if self.sine_noise.shape[1] < length:
            more = torch.randn(1, length - self.sine_noise.shape[1], harmonics, generator=self.vocoder_generator)
            self.sine_noise = torch.cat((self.sine_noise, more), dim=1)
        return self.rand_ini, self.sine_noise[:, :length]

    def _join(self, audio: np.ndarray, final: bool) -> np.ndarray:
        """Cross-fade the held tail with its re-rendered span (the new audio's start); hold back a new tail."""
        n = len(self.tail)
        if n:
            fade = np.linspace(0.0, 1.0, n, dtype=np.float32)
            audio = audio.copy()
            audio[:n] = self.tail * (1 - fade) + audio[:n] * fade
        if final:
            self.tail = np.zeros(0, dtype=np.float32)
            return audio
        keep = min(self.overlap, len(audio))
        self.tail = audio[len(audio) - keep:]
        return audio[:len(audio) - keep]
