"""The voice-match stage's pieces on signals whose answers are known: pitch (a low voice is not doubled),
the formant warp, the bounded EQ, loudness and peaks, the pitch-range pool, the search, the disk cache,
and the label."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import pyworld

from workers.engines.kokoro_match import (
    MatchedVoice,
    PresetCalibration,
    choose,
    honest_label,
    is_male,
    load_matched,
    preset_pool,
    save_matched,
)
from workers.engines.voice_match import (
    EQ_LIMIT_DB,
    PEAK_LIMIT,
    RATE,
    NoVoicedSpeech,
    formant_warp,
    voice_match,
    voice_profile,
)


def voiced(f0_hz: float, seconds: float = 2.0, *, formant_scale: float = 1.0, level: float = 0.3,
           rate: int = RATE) -> np.ndarray:
    """A vowel-like sound: harmonics of f0 (with a little vibrato) shaped by three formants."""
    t = np.arange(int(seconds * rate)) / rate
    phase = 2 * np.pi * np.cumsum(f0_hz * (1 + 0.03 * np.sin(2 * np.pi * 5 * t))) / rate
    formants = np.array([700.0, 1200.0, 2600.0]) * formant_scale
    signal = np.zeros_like(t)
    for k in range(1, int(rate / 2 / f0_hz)):
        frequency = k * f0_hz
        gain = sum(np.exp(-((frequency - f) / 150.0) ** 2) for f in formants) + 0.02
        signal += gain * np.sin(k * phase)
    return (level * signal / np.max(np.abs(signal))).astype(np.float32)


def f0_of(audio: np.ndarray) -> float:
    f0, _ = pyworld.harvest(audio.astype(np.float64), RATE, f0_floor=60.0, f0_ceil=500.0)
    return float(np.median(f0[f0 > 0]))


@pytest.mark.parametrize("f0_hz", [85.0, 124.0, 210.0])
def test_the_profile_finds_the_pitch_low_voices_included(f0_hz: float) -> None:
    profile = voice_profile(voiced(f0_hz), RATE)
    assert profile.f0_hz == pytest.approx(f0_hz, rel=0.04)  # not doubled (dio's failing on low voices)


def test_a_16k_clip_claims_nothing_above_its_nyquist() -> None:
    assert voice_profile(voiced(150.0, rate=16000), 16000).bandwidth_hz == 8000


def test_silence_and_noise_have_no_voice_to_measure() -> None:
    with pytest.raises(NoVoicedSpeech):
        voice_profile(np.zeros(RATE, dtype=np.float32), RATE)


def test_the_formant_warp_is_recovered() -> None:
    preset = voice_profile(voiced(200.0, formant_scale=1.0), RATE)
    reference = voice_profile(voiced(200.0, formant_scale=1.1), RATE)
    assert formant_warp(reference, preset) == pytest.approx(1.1, abs=0.03)
    assert formant_warp(preset, preset) == pytest.approx(1.0, abs=0.02)


def test_the_match_moves_pitch_keeps_loudness_length_and_never_clips() -> None:
    preset_audio = voiced(120.0, level=0.9)
    match = voice_match(voice_profile(voiced(180.0), RATE), voice_profile(preset_audio, RATE))
    out = match.apply(preset_audio)
    assert f0_of(out) == pytest.approx(180.0, rel=0.05)
    assert len(out) == len(preset_audio) and out.dtype == np.float32
    assert np.max(np.abs(out)) <= PEAK_LIMIT + 1e-6
    rms = 20 * np.log10(np.sqrt(np.mean(out ** 2)) / np.sqrt(np.mean(preset_audio ** 2)))
    assert -1.0 <= rms <= 0.05  # peaks are bent softly, not the whole segment scaled down
    assert np.all(np.abs(match.eq) <= EQ_LIMIT_DB * np.log(10) / 10 + 1e-9)


def test_a_matched_voice_onto_itself_changes_little() -> None:
    audio = voiced(150.0)
    profile = voice_profile(audio, RATE)
    match = voice_match(profile, profile, alpha=1.0)
    assert match.log_f0_shift == 0.0 and match.log_f0_scale == 1.0 and not np.any(match.eq)
    assert f0_of(match.apply(audio)) == pytest.approx(150.0, rel=0.03)


def _band_level_db(audio: np.ndarray, low_hz: float, high_hz: float) -> float:
    spectrum = np.abs(np.fft.rfft(audio)) ** 2
    hz = np.fft.rfftfreq(len(audio), 1 / RATE)
    return float(10 * np.log10(spectrum[(hz >= low_hz) & (hz < high_hz)].sum()))


def test_a_tonal_language_keeps_its_pitch_contour_and_timing_and_gets_the_eq() -> None:
    preset_audio = voiced(120.0, level=0.9)
    bright = voiced(180.0)
    bright = (bright + 0.5 * np.diff(bright, prepend=0.0)).astype(np.float32)  # more energy up high
    match = voice_match(voice_profile(bright, RATE), voice_profile(preset_audio, RATE))
    out = match.apply(preset_audio, "zh")
    assert f0_of(out) == pytest.approx(120.0, rel=0.02)  # the preset's own pitch: its tones untouched
    assert len(out) == len(preset_audio) and out.dtype == np.float32
    lag = int(np.argmax(np.correlate(out[RATE // 2:RATE // 2 + 4800], preset_audio[RATE // 2 + 200:RATE // 2 + 4400])))
    assert lag == 200  # no delay: the filter's is removed
    tilt_before = _band_level_db(preset_audio, 2000, 5000) - _band_level_db(preset_audio, 100, 1000)
    tilt_after = _band_level_db(out, 2000, 5000) - _band_level_db(out, 100, 1000)
    assert tilt_after > tilt_before + 1.0  # towards the brighter reference
    assert np.max(np.abs(out)) <= PEAK_LIMIT + 1e-6
    rms = 20 * np.log10(np.sqrt(np.mean(out ** 2)) / np.sqrt(np.mean(preset_audio ** 2)))
    assert -1.0 <= rms <= 0.05
    assert f0_of(match.apply(preset_audio, "en")) == pytest.approx(180.0, rel=0.05)  # elsewhere all of it


def test_a_segment_too_short_to_analyse_passes_through() -> None:
    match = voice_match(voice_profile(voiced(180.0), RATE), voice_profile(voiced(120.0), RATE))
    tiny = voiced(150.0, seconds=0.02)
    assert np.array_equal(match.apply(tiny), tiny)


@pytest.mark.parametrize("f0_hz,pool", [(100.0, ["jm_kumo"]), (124.0, ["jm_kumo"]),
                                         (220.0, ["jf_alpha", "jf_tebukuro"]),
                                         (165.0, ["jf_alpha", "jf_tebukuro", "jm_kumo"])])
def test_the_pitch_range_comes_first(f0_hz: float, pool: list[str]) -> None:
    assert preset_pool(f0_hz, ["jf_tebukuro", "jm_kumo", "jf_alpha"]) == pool
    assert is_male("am_adam") and is_male("jm_kumo") and not is_male("af_heart")


def test_a_pool_with_nobody_of_that_range_falls_back_to_all() -> None:
    assert preset_pool(100.0, ["jf_alpha", "jf_nezumi"]) == ["jf_alpha", "jf_nezumi"]


def _pitch_embedding(audio: np.ndarray, rate: int) -> np.ndarray:
    """A stand-in speaker encoder that hears only pitch: unit vectors at angles set by log F0."""
    audio = audio if rate == RATE else np.interp(np.arange(int(len(audio) * RATE / rate)) * rate / RATE,
                                                 np.arange(len(audio)), audio).astype(np.float32)
    angle = np.log(f0_of(audio))
    return np.array([np.cos(angle * 4), np.sin(angle * 4)])


def test_the_search_picks_the_preset_and_warp_that_sound_nearest() -> None:
    calibrations = {name: PresetCalibration(voice_profile(voiced(f0), RATE), voiced(f0, seconds=1.5))
                    for name, f0 in (("jf_high", 260.0), ("jf_mid", 200.0), ("jm_low", 95.0))}
    chosen = choose(voiced(210.0), RATE, calibrations, _pitch_embedding)
    assert chosen.preset in ("jf_high", "jf_mid")  # the male preset is not in a 210 Hz voice's pool
    assert chosen.reference_f0_hz == pytest.approx(210.0, rel=0.04) and chosen.similarity > 0.99


def _spectrum_embedding(audio: np.ndarray, rate: int) -> np.ndarray:
    """A stand-in speaker encoder that hears every detail of the waveform's magnitude spectrum."""
    return np.abs(np.fft.rfft(audio[: rate], n=rate))


def test_a_preset_that_already_is_the_voice_is_left_unprocessed() -> None:
    own = voiced(200.0, seconds=1.5)
    calibrations = {"jf_mid": PresetCalibration(voice_profile(voiced(200.0), RATE), own),
                    "jf_high": PresetCalibration(voice_profile(voiced(260.0), RATE), voiced(260.0, seconds=1.5))}
    chosen = choose(own, RATE, calibrations, _spectrum_embedding)
    assert chosen.preset == "jf_mid" and chosen.match is None and chosen.similarity == pytest.approx(1.0)


def test_an_unprocessed_choice_round_trips_through_the_disk_cache(tmp_path: Path) -> None:
    save_matched(tmp_path, "v1", "cd" * 32, MatchedVoice("jf_alpha", 0.9451, None, 301.2))
    assert load_matched(tmp_path, "v1", "cd" * 32) == MatchedVoice("jf_alpha", 0.9451, None, 301.2)


def test_an_unreadable_cache_file_is_measured_again(tmp_path: Path) -> None:
    save_matched(tmp_path, "v1", "ef" * 32, MatchedVoice("jf_alpha", 0.9, None, 301.2))
    stored = next((tmp_path / "voice-match").iterdir())
    stored.write_bytes(stored.read_bytes()[:40])
    assert load_matched(tmp_path, "v1", "ef" * 32) is None
    np.savez(stored, facts='{"preset": "jf_alpha"}')  # a layout of another release
    assert load_matched(tmp_path, "v1", "ef" * 32) is None


def test_a_matched_voice_round_trips_through_the_disk_cache(tmp_path: Path) -> None:
    match = voice_match(voice_profile(voiced(180.0), RATE), voice_profile(voiced(120.0), RATE))
    matched = MatchedVoice("jm_kumo", 0.7123, match, 180.2)
    assert load_matched(tmp_path, "v1", "ab" * 32) is None
    save_matched(tmp_path, "v1", "ab" * 32, matched)
    again = load_matched(tmp_path, "v1", "ab" * 32)
    assert again is not None and again.preset == "jm_kumo" and again.similarity == 0.7123
    assert again.match is not None and again.match.alpha == match.alpha
    assert np.array_equal(again.match.eq, match.eq) and np.array_equal(again.match.eq_unwarped, match.eq_unwarped)
    assert load_matched(tmp_path, "v2", "ab" * 32) is None  # another engine version measures again


def test_the_label_says_resembles_never_cloned() -> None:
    label = honest_label("Kumo (male)", 0.7234)
    assert label.startswith("Kumo (male), matched to your voice: resembles it (similarity 0.72;")
    assert "a same-speaker recording scores 0.81–0.95" in label and "this engine cannot clone" in label
    assert "cloned" not in label and len(label) <= 200  # the job's voice_note column
    nearest = honest_label("Kumo (male)", 0.9451, matched=False)
    assert nearest.startswith("Kumo (male), the preset nearest your voice: resembles it (similarity 0.95;")
    assert "cloned" not in nearest and len(nearest) <= 200
