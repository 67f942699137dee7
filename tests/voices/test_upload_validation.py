"""A corpus of bad uploads, each rejected with a clear code and nothing left behind."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import soundfile as sf

from tests.support.voices import wav
from voices.audio import VoiceRejected, load_reference, safe_download_name, sniff_format


def _encoded(fmt: str, subtype: str) -> bytes:
    buffer = io.BytesIO()
    t = np.arange(4 * 24000) / 24000
    sf.write(buffer, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 24000, format=fmt, subtype=subtype)
    return buffer.getvalue()


def _nan_wav() -> bytes:
    buffer = io.BytesIO()
    samples = np.full(24000 * 4, np.nan, dtype=np.float32)
    sf.write(buffer, samples, 24000, format="WAV", subtype="FLOAT")
    return buffer.getvalue()


def _huge_header_wav() -> bytes:
    real = wav()
    # A data chunk that claims 4 GB: the header lies about what follows.
    return real[:40] + struct.pack("<I", 0xFFFFFFF0) + real[44:]


@pytest.mark.parametrize("data,code", [
    (b"", "empty_file"),
    (b"GIF89a" + b"\0" * 100, "unsupported_type"),                      # an image named voice.wav
    (b"<?php echo 'hi'; ?>" * 10, "unsupported_type"),
    (wav()[:60], "too_short"),                                           # truncated WAV: 8 samples left
    (b"RIFF\x24\x00\x00\x00WAVEjunkjunkjunk" * 3, "undecodable_audio"),  # right magic, no audio
    (wav(seconds=1.0), "too_short"),
    (wav(seconds=45.0, rate=16000), "too_long"),
    (wav(seconds=4.0, rate=8000), "low_sample_rate"),
    (wav(level=0.0), "silent_audio"),
    (_nan_wav(), "invalid_samples"),
    (b"RIFF" + b"\0" * (11 * 1024 * 1024), "file_too_large"),
])
def test_bad_uploads_are_rejected(data: bytes, code: str) -> None:
    with pytest.raises(VoiceRejected) as caught:
        load_reference(data)
    assert caught.value.code == code
    assert 400 <= caught.value.status_code < 500


def test_an_hour_long_file_is_refused_before_decoding() -> None:
    # 1 hour of 16 kHz mono PCM16 is 115 MB, above the size limit; a compact one trips the duration check.
    hour = io.BytesIO()
    sf.write(hour, np.zeros((3600 * 8000, 1), np.int16) + 100, 8000, format="FLAC", subtype="PCM_16")
    with pytest.raises(VoiceRejected) as caught:
        load_reference(hour.getvalue())
    assert caught.value.code in {"too_long", "file_too_large"}


def test_lying_header_is_handled() -> None:
    try:
        clip = load_reference(_huge_header_wav())
    except VoiceRejected as exc:
        assert exc.code in {"undecodable_audio", "too_long"}
    else:
        assert 3.9 < clip.duration_s < 4.1


def test_stereo_is_folded_to_mono_flac_with_warnings() -> None:
    clip = load_reference(wav(seconds=12.0, channels=2, level=1.2))
    samples, rate = sf.read(io.BytesIO(clip.canonical))
    assert clip.canonical[:4] == b"fLaC" and samples.ndim == 1 and rate == 24000
    assert any("recommended" in w for w in clip.warnings) and any("clipped" in w for w in clip.warnings)


def test_low_level_is_a_warning_not_a_rejection() -> None:
    assert any("low" in w for w in load_reference(wav(level=0.02)).warnings)


@pytest.mark.parametrize("fmt,subtype", [("FLAC", "PCM_16"), ("OGG", "VORBIS"), ("MP3", "MPEG_LAYER_III")])
def test_other_accepted_formats(fmt: str, subtype: str) -> None:
    data = _encoded(fmt, subtype)
    assert sniff_format(data[:16]) in {"flac", "ogg", "mp3"}
    assert 3.5 < load_reference(data).duration_s < 4.5


def test_download_names_are_sanitized() -> None:
    assert safe_download_name("../../etc/passwd") == "passwd"
    assert safe_download_name("my.voice.take2.wav") == "myvoicetake2"
    assert safe_download_name('evil"\r\nX: y.wav') == "evilX y"
    assert safe_download_name("声音.wav") == "voice"
