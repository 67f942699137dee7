"""Speaker embeddings with resemblyzer (weights ship in its wheel): who does a clip sound like."""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np

from .audio import resample

logger = logging.getLogger(__name__)
ENCODER_RATE = 16000


class SpeakerEncoder:
    """Loaded once per worker; `embed` is thread-safe (one clip at a time)."""

    def __init__(self) -> None:
        self._encoder: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        if self._encoder is None:
            from resemblyzer import VoiceEncoder

            self._encoder = VoiceEncoder("cpu", verbose=False)
            # The first call compiles librosa's numba kernels; pay that at start, not in a job.
            self.embed(np.zeros(ENCODER_RATE, dtype=np.float32) + 1e-3, ENCODER_RATE)

    def embed(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        from resemblyzer import preprocess_wav

        if self._encoder is None:
            self.load()
        wav = preprocess_wav(resample(samples, sample_rate, ENCODER_RATE), source_sr=ENCODER_RATE)
        if len(wav) < ENCODER_RATE // 4:  # mostly silence: embed what there is
            wav = resample(samples, sample_rate, ENCODER_RATE)
        with self._lock:
            embedding = self._encoder.embed_utterance(wav)
        return np.asarray(embedding, dtype=np.float32)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))
