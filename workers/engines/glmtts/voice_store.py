"""Per-voice prompt features on disk, keyed by engine version, reference audio and transcript.

Computing them (speech tokenizer, CAM++, mels) takes a while on real checkpoints; workers on one machine
share ENGINE_CACHE_DIR, so a voice prepared once (e.g. by the voice library's feature task) is loaded by
every later job, worker and restart instead of being recomputed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import torch

from workers.engines.glmtts.pipeline import PromptFeatures

logger = logging.getLogger(__name__)


class VoiceFeatureStore:
    def __init__(self, root: Path, version: str) -> None:
        self.directory = root / "glmtts-voices" / version

    def path(self, audio_sha256: str, prompt_text: str) -> Path:
        text_hash = hashlib.sha256(prompt_text.encode()).hexdigest()[:16]
        return self.directory / f"{audio_sha256}-{text_hash}.pt"

    def load(self, audio_sha256: str, prompt_text: str) -> PromptFeatures | None:
        path = self.path(audio_sha256, prompt_text)
        if not path.is_file():
            return None
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
            return PromptFeatures(prompt_text=data["prompt_text"], prompt_text_ids=list(data["prompt_text_ids"]),
                                 speech_codes=list(data["speech_codes"]), embedding=data["embedding"],
                                 mels={int(rate): mel for rate, mel in data["mels"].items()})
        except Exception as exc:  # a truncated or foreign file is recomputed, never trusted
            logger.warning("Ignoring unreadable voice features %s: %s", path, exc)
            return None

    def save(self, audio_sha256: str, prompt_text: str, features: PromptFeatures) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        data = {"prompt_text": features.prompt_text, "prompt_text_ids": features.prompt_text_ids,
                "speech_codes": features.speech_codes, "embedding": features.embedding.cpu(),
                "mels": {str(rate): mel.cpu() for rate, mel in features.mels.items()}}
        # Write then rename: a concurrent reader sees the old state or the whole file, never half of it.
        handle, temp = tempfile.mkstemp(dir=self.directory, suffix=".part")
        os.close(handle)
        torch.save(data, temp)
        os.replace(temp, self.path(audio_sha256, prompt_text))
