"""Audio helpers without torchaudio: soundfile for I/O, soxr for resampling (pure functions)."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import numpy as np
import soundfile as sf
import soxr


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    if from_rate == to_rate or len(samples) == 0:
        return samples.astype(np.float32, copy=False)
    return np.asarray(soxr.resample(samples, from_rate, to_rate, quality="HQ"), dtype=np.float32)


def to_pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()


def from_pcm16(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32767.0


def encode_wav(samples: np.ndarray, sample_rate: int) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(samples, -1.0, 1.0), sample_rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def decode_audio(data: bytes) -> tuple[np.ndarray, int]:
    """Mono float32 samples and their rate from any format libsndfile reads (our own outputs; for
    anything a client sent, use `decode_bounded`)."""
    samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return samples.mean(axis=1).astype(np.float32), int(rate)


@dataclass(frozen=True)
class DecodeLimits:
    """What a client's audio may cost to decode, judged from its header before any sample is read."""

    max_seconds: float
    max_channels: int = 2
    max_rate: int = 96000
    block_frames: int = 1 << 16


class AudioTooCostly(ValueError):
    """The header (or the stream itself) says the audio is over the limits; nothing more is decoded."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def decode_bounded(data: bytes, limits: DecodeLimits) -> tuple[np.ndarray, int]:
    """Mono float32 samples and their rate, decoded in blocks of `limits.block_frames`.

    Channels, rate and duration come from the header first (a 183 KB FLAC can declare 8 channels at
    192 kHz for two minutes); the block loop then stops as soon as more frames arrive than the limit
    allows, so a header that lies (or a format that does not state its length) costs no more. Peak
    memory is one block of all channels plus the mono result. Raises AudioTooCostly, or
    soundfile's/libsndfile's errors for data that is not audio.
    """
    info = sf.info(io.BytesIO(data))
    if info.channels > limits.max_channels:
        raise AudioTooCostly("too_many_channels",
                             f"The clip has {info.channels} channels; at most {limits.max_channels}.")
    if info.samplerate > limits.max_rate:
        raise AudioTooCostly("sample_rate_too_high",
                             f"The clip is sampled at {info.samplerate} Hz; at most {limits.max_rate} Hz.")
    max_frames = int(limits.max_seconds * info.samplerate)
    if info.frames > max_frames:
        raise AudioTooCostly("too_long", f"The clip is {info.frames / info.samplerate:.1f} s; "
                                         f"at most {limits.max_seconds:.0f} s.")
    blocks: list[np.ndarray] = []
    decoded = 0
    for block in sf.blocks(io.BytesIO(data), blocksize=limits.block_frames, dtype="float32", always_2d=True):
        decoded += len(block)
        if decoded > max_frames:
            raise AudioTooCostly("too_long", f"The clip is longer than {limits.max_seconds:.0f} s.")
        blocks.append(block.mean(axis=1).astype(np.float32))
    samples = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)
    return samples, int(info.samplerate)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def silence(seconds: float, sample_rate: int) -> np.ndarray:
    return np.zeros(round(seconds * sample_rate), dtype=np.float32)


class CrossfadeJoiner:
    """Joins consecutive segments with a short equal-power cross-fade, as a stream.

    `push` returns what can be played now; the last `fade` samples are held back until the next
    segment arrives (to blend them) or `flush` is called at the end.
    """

    def __init__(self, fade_samples: int) -> None:
        self.fade = max(0, fade_samples)
        self._tail = np.zeros(0, dtype=np.float32)

    def push(self, segment: np.ndarray) -> np.ndarray:
        segment = segment.astype(np.float32, copy=False)
        overlap = min(len(self._tail), len(segment), self.fade)
        if overlap:
            # The curve spans the actual overlap, so a segment shorter than the fade still blends fully.
            t = np.linspace(0.0, np.pi / 2, overlap, dtype=np.float32)
            blended = self._tail[-overlap:] * np.cos(t) + segment[:overlap] * np.sin(t)
            head = np.concatenate([self._tail[:-overlap], blended])
            segment = segment[overlap:]
        else:
            head = self._tail
        keep = min(self.fade, len(segment))
        self._tail = segment[len(segment) - keep:]
        return np.concatenate([head, segment[: len(segment) - keep]])

    def flush(self) -> np.ndarray:
        tail, self._tail = self._tail, np.zeros(0, dtype=np.float32)
        return tail
