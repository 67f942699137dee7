"""Synthesis parameters: one typed definition shared by the API, the queue and the engines (it lives
with the engines, which import nothing of the site; the API and the queue import it from here)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

SAMPLE_RATES = (24000, 32000)
FORMATS = ("wav", "mp3", "ogg", "flac")
STRATEGIES = ("fast", "balanced", "quality")

# Each strategy is a documented set of sampling parameters; explicit values override it.
STRATEGY_PRESETS: dict[str, dict[str, float | int]] = {
    "fast": {"temperature": 0.8, "top_p": 0.8, "top_k": 10},
    "balanced": {"temperature": 1.0, "top_p": 0.8, "top_k": 25},  # upstream GLM-TTS defaults
    "quality": {"temperature": 0.9, "top_p": 0.9, "top_k": 50},
}


@dataclass(frozen=True)
class SynthesisParams:
    sample_rate: int = 24000
    format: str = "wav"
    seed: int = 0
    speed: float = 1.0
    strategy: str = "balanced"
    temperature: float = 1.0
    top_p: float = 0.8
    top_k: int = 25
    language: str = "auto"  # "auto", "en" or "zh"
    use_kv_cache: bool = True
    use_prompt_cache: bool = True
    voice_match: bool = True  # the default engine moves its preset towards a reference (kokoro_match)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SynthesisParams:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})
