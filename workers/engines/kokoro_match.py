"""The default engine's answer to a reference clip it cannot clone: a preset of the reference's pitch
range, moved towards the reference by the voice-match stage (voice_match), chosen by how much the
matched preset then sounds like the reference.

Speaker-embedding similarity alone picked the wrong sex (a male clip at F0 124 Hz went to a female preset,
0.614 vs 0.610), so the pitch range decides first: below MALE_BELOW_HZ only male presets, above
FEMALE_ABOVE_HZ only female ones, in between all. Then each candidate preset, unprocessed and with each
formant warp, is tried on the preset's own calibration sentence and scored with the speaker encoder
against the reference. The unprocessed preset is a candidate because WORLD resynthesis costs similarity
of its own: a reference that is a preset's own voice scored 0.945 against that preset unprocessed and
0.867 matched, below another preset matched (0.869). Computed
once per voice and engine version and kept on disk (`cache_dir/voice-match/`); bench/voice_match.py
measures what it gains with a second, independent embedder.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .speaker import cosine
from .voice_match import RATE, VoiceMatch, VoiceProfile, formant_warp, voice_match, voice_profile

MALE_BELOW_HZ = 150.0
FEMALE_ABOVE_HZ = 180.0
ALPHAS = (0.92, 1.0, 1.08, 1.16)  # tried beside the envelope's own estimate
PROFILE_TEXTS = ("The quick brown fox jumps over the lazy dog, and the weather is lovely today.",
                 "A quiet morning began with coffee, a newspaper and the sound of rain on the roof.")
JUDGE_TEXT = "Please remember to close the window before you leave the office tonight."
SAME_SPEAKER_RANGE = "0.81–0.95"  # what recordings of one person score against each other (issue 19)

Speak = Callable[[str, str], np.ndarray]  # (preset name, English text) -> speech at RATE
Embed = Callable[[np.ndarray, int], np.ndarray]


@dataclass(frozen=True)
class PresetCalibration:
    profile: VoiceProfile
    judge_speech: np.ndarray  # the preset reading JUDGE_TEXT, what candidates are scored on


@dataclass(frozen=True)
class MatchedVoice:
    preset: str
    similarity: float  # the chosen preset's judge sentence (matched or not) against the reference
    match: VoiceMatch | None  # None: the preset unprocessed resembled the reference best
    reference_f0_hz: float


def is_male(preset: str) -> bool:
    return preset.split("_")[0].endswith("m")  # Kokoro's names: jm_kumo, af_heart, ...


def preset_pool(f0_hz: float, presets: list[str]) -> list[str]:
    if f0_hz < MALE_BELOW_HZ:
        pool = [p for p in presets if is_male(p)]
    elif f0_hz > FEMALE_ABOVE_HZ:
        pool = [p for p in presets if not is_male(p)]
    else:
        pool = []
    return sorted(pool or presets)


def calibrate(preset: str, speak: Speak) -> PresetCalibration:
    speech = np.concatenate([speak(preset, text) for text in PROFILE_TEXTS])
    return PresetCalibration(voice_profile(speech, RATE), speak(preset, JUDGE_TEXT))


def _stored_profile(stored: Any, name: str) -> VoiceProfile:
    median, spread = (float(value) for value in stored[f"{name}/pitch"])
    return VoiceProfile(median, spread, stored[f"{name}/envelope"], float(stored[f"{name}/bandwidth"]))


def calibrations(cache_dir: Path, engine_version: str, presets: list[str],
                 speak: Speak) -> dict[str, PresetCalibration]:
    """Every preset's calibration, computed once per engine version (a few seconds each) and kept on disk."""
    path = cache_dir / f"kokoro-calibration-{engine_version}.npz"
    if path.exists():
        with np.load(path) as stored:
            return {name: PresetCalibration(_stored_profile(stored, name), stored[f"{name}/judge"]) for name in presets}
    made = {name: calibrate(name, speak) for name in presets}
    arrays: dict[str, np.ndarray] = {}
    for name, calibration in made.items():
        profile = calibration.profile
        arrays[f"{name}/pitch"] = np.array([profile.log_f0_median, profile.log_f0_spread])
        arrays[f"{name}/envelope"], arrays[f"{name}/judge"] = profile.envelope, calibration.judge_speech
        arrays[f"{name}/bandwidth"] = np.array(profile.bandwidth_hz)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp.npz")
    np.savez(temporary, **arrays)  # type: ignore[arg-type]
    temporary.replace(path)
    return made


def choose(reference: np.ndarray, rate: int, calibrations: dict[str, PresetCalibration],
           embed: Embed) -> MatchedVoice:
    """The preset, unprocessed or matched with some warp, whose judge sentence is nearest the reference."""
    profile = voice_profile(reference, rate)
    target = embed(reference, rate)
    best: tuple[float, str, VoiceMatch | None] | None = None
    for preset in preset_pool(profile.f0_hz, list(calibrations)):
        calibration = calibrations[preset]
        alphas = sorted({formant_warp(profile, calibration.profile), *ALPHAS})
        candidates = [None, *(voice_match(profile, calibration.profile, alpha=alpha) for alpha in alphas)]
        for match in candidates:
            speech = calibration.judge_speech if match is None else match.apply(calibration.judge_speech)
            score = cosine(embed(speech, RATE), target)
            if best is None or score > best[0]:
                best = (score, preset, match)
    assert best is not None
    return MatchedVoice(best[1], round(best[0], 4), best[2], round(profile.f0_hz, 1))


def _cache_file(cache_dir: Path, engine_version: str, reference_sha256: str) -> Path:
    return cache_dir / "voice-match" / f"{engine_version}-{reference_sha256}.npz"


def load_matched(cache_dir: Path, engine_version: str, reference_sha256: str) -> MatchedVoice | None:
    path = _cache_file(cache_dir, engine_version, reference_sha256)
    try:
        with np.load(path) as stored:
            facts = json.loads(str(stored["facts"]))
            match = None if facts["unprocessed"] else VoiceMatch(
                facts["preset_log_f0"], facts["log_f0_shift"], facts["log_f0_scale"], facts["alpha"], stored["eq"],
                stored["eq_unwarped"])
        return MatchedVoice(facts["preset"], facts["similarity"], match, facts["reference_f0_hz"])
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None  # absent, unreadable or of another layout: measured again and written anew


def save_matched(cache_dir: Path, engine_version: str, reference_sha256: str, matched: MatchedVoice) -> None:
    path = _cache_file(cache_dir, engine_version, reference_sha256)
    path.parent.mkdir(parents=True, exist_ok=True)
    match = matched.match
    facts: dict[str, Any] = {"preset": matched.preset, "similarity": matched.similarity,
                             "reference_f0_hz": matched.reference_f0_hz, "unprocessed": match is None}
    if match is not None:
        facts.update(preset_log_f0=match.preset_log_f0, log_f0_shift=match.log_f0_shift,
                     log_f0_scale=match.log_f0_scale, alpha=match.alpha)
    temporary = path.with_suffix(f".{id(matched)}.tmp.npz")
    empty = np.zeros(0)
    np.savez(temporary, facts=json.dumps(facts), eq=match.eq if match is not None else empty,
             eq_unwarped=match.eq_unwarped if match is not None else empty)
    temporary.replace(path)  # whole or absent: a reader never sees half a file


def honest_label(preset_label: str, similarity: float, *, matched: bool = True) -> str:
    how = "matched to your voice" if matched else "the preset nearest your voice"
    return (f"{preset_label}, {how}: resembles it (similarity {similarity:.2f}; a same-speaker "
            f"recording scores {SAME_SPEAKER_RANGE}) — this engine cannot clone; GLM-TTS clones")
