"""Encoding finished audio into the served formats with libsndfile (via soundfile)."""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf

from workers.engines.audio import resample

CONTENT_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg", "ogg": "audio/ogg", "flac": "audio/flac",
                 "pcm": "audio/L16"}
# Cloudflare caches these extensions by default; WAV it does not, so edge URLs use mp3.
EDGE_FORMAT = "mp3"
_OPUS_RATES = (8000, 12000, 16000, 24000, 48000)


def encode(samples: np.ndarray, sample_rate: int, fmt: str) -> bytes:
    samples = np.clip(samples, -1.0, 1.0).astype(np.float32)
    if fmt == "pcm":
        return (samples * 32767.0).round().astype("<i2").tobytes()
    buffer = io.BytesIO()
    if fmt == "wav":
        sf.write(buffer, samples, sample_rate, format="WAV", subtype="PCM_16")
    elif fmt == "flac":
        sf.write(buffer, samples, sample_rate, format="FLAC", subtype="PCM_16")
    elif fmt == "mp3":
        sf.write(buffer, samples, sample_rate, format="MP3", subtype="MPEG_LAYER_III")
    elif fmt == "ogg":
        # Opus runs at fixed rates; 32 kHz goes up to 48 kHz rather than down.
        rate = sample_rate if sample_rate in _OPUS_RATES else 48000
        sf.write(buffer, resample(samples, sample_rate, rate), rate, format="OGG", subtype="OPUS")
    else:
        raise ValueError(f"Unsupported format {fmt!r}")
    return buffer.getvalue()


def wav_stream_header(sample_rate: int) -> bytes:
    """A PCM16 mono WAV header with unknown length, for audio sent while it is being made."""
    import struct

    unknown = 0xFFFFFFFF
    return (b"RIFF" + struct.pack("<I", unknown) + b"WAVE" + b"fmt " +
            struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16) +
            b"data" + struct.pack("<I", unknown))
