from __future__ import annotations

import numpy as np

from workers.engines.audio import CrossfadeJoiner, decode_audio, encode_wav, from_pcm16, resample, to_pcm16


def test_crossfade_joiner_keeps_length_minus_overlaps() -> None:
    joiner = CrossfadeJoiner(fade_samples=100)
    parts = [np.ones(1000, np.float32), np.ones(500, np.float32), np.ones(50, np.float32)]
    out = np.concatenate([joiner.push(p) for p in parts] + [joiner.flush()])
    assert len(out) == 1000 + 500 + 50 - 100 - 50
    # Equal-power blend of two equal signals stays within sqrt(2) of the input level.
    assert out.max() <= np.sqrt(2) + 1e-6 and out.min() >= 0.99


def test_crossfade_holds_back_only_the_fade() -> None:
    joiner = CrossfadeJoiner(fade_samples=10)
    assert len(joiner.push(np.zeros(100, np.float32))) == 90
    assert len(joiner.flush()) == 10


def test_pcm16_round_trip_and_clipping() -> None:
    samples = np.array([0.0, 0.5, -0.5, 2.0, -2.0], np.float32)
    back = from_pcm16(to_pcm16(samples))
    assert np.allclose(back, np.clip(samples, -1, 1), atol=1e-4)


def test_resample_changes_length_by_the_rate_ratio() -> None:
    tone = np.sin(2 * np.pi * 440 * np.arange(24000) / 24000).astype(np.float32)
    assert len(resample(tone, 24000, 32000)) == 32000
    assert len(resample(tone, 24000, 16000)) == 16000


def test_wav_round_trip() -> None:
    tone = (0.3 * np.sin(np.arange(4800) / 10)).astype(np.float32)
    samples, rate = decode_audio(encode_wav(tone, 24000))
    assert rate == 24000 and np.allclose(samples, tone, atol=1e-4)
