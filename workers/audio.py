"""Audio helpers without torchaudio: soundfile for I/O, soxr for resampling (pure functions)."""

from __future__ import annotations

import hashlib
import io

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
    """Mono float32 samples and their rate from any format libsndfile reads."""
    samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return samples.mean(axis=1).astype(np.float32), int(rate)


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
