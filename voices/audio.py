"""Reference-audio validation and canonical re-encoding (pure functions, no ORM).

Type is judged by content (magic bytes, then a real decode), never by the file name; every clip is
re-encoded to mono 16-bit FLAC at its own rate, and that canonical file is what gets stored and hashed.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import soundfile as sf

from workers.engines.audio import AudioTooCostly, DecodeLimits, decode_bounded

logger = logging.getLogger(__name__)

MAX_BYTES = 10 * 1024 * 1024
MIN_SECONDS, MAX_SECONDS = 2.0, 30.0
MAX_CHANNELS, MAX_RATE = 2, 96000
REFERENCE_LIMITS = DecodeLimits(max_seconds=MAX_SECONDS, max_channels=MAX_CHANNELS, max_rate=MAX_RATE)
RECOMMENDED = (3.0, 10.0)
MIN_RATE = 16000
SILENT_RMS = 1e-3
LOW_PEAK = 0.05
CLIP_LEVEL = 0.999


class VoiceRejected(Exception):
    """An upload we will not keep; code and message go to the client as a 4xx."""

    def __init__(self, code: str, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status_code = code, message, status_code


@dataclass(frozen=True)
class CheckedReference:
    canonical: bytes
    sha256: str
    samples: np.ndarray = field(repr=False)
    sample_rate: int
    duration_s: float
    warnings: list[str]


def sniff_format(head: bytes) -> str | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


def decode_reference(data: bytes) -> tuple[np.ndarray, int]:
    """Mono samples of a client's clip, judged by its header before decoding and decoded in bounded
    blocks (REFERENCE_LIMITS); the web process and the worker both decode references only so."""
    try:
        return decode_bounded(data, REFERENCE_LIMITS)
    except AudioTooCostly as exc:
        raise VoiceRejected(exc.code, exc.message) from exc
    except Exception as exc:  # libsndfile says "this is not audio we can read"; its text names our objects
        logger.info("Undecodable reference audio: %s", exc)
        raise VoiceRejected("undecodable_audio", "The file could not be decoded as audio.") from exc


def _check(samples: np.ndarray, rate: int) -> list[str]:
    duration = len(samples) / rate if rate else 0.0
    if rate < MIN_RATE:
        raise VoiceRejected("low_sample_rate", f"The clip is sampled at {rate} Hz; at least {MIN_RATE} Hz is needed.")
    if not np.isfinite(samples).all():
        raise VoiceRejected("invalid_samples", "The clip contains invalid (NaN or infinite) samples.")
    if duration < MIN_SECONDS:
        raise VoiceRejected("too_short", f"The clip is {duration:.1f} s; at least {MIN_SECONDS:.0f} s is needed.")
    if duration > MAX_SECONDS:
        raise VoiceRejected("too_long", f"The clip is {duration:.1f} s; at most {MAX_SECONDS:.0f} s.")
    if float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) < SILENT_RMS:
        raise VoiceRejected("silent_audio", "The clip is silent.")
    warnings = []
    if not RECOMMENDED[0] <= duration <= RECOMMENDED[1]:
        warnings.append(f"{duration:.1f} s is outside the recommended 3-10 s.")
    peak = float(np.max(np.abs(samples)))
    if peak >= CLIP_LEVEL:
        clipped = float(np.mean(np.abs(samples) >= CLIP_LEVEL))
        warnings.append(f"The clip is clipped ({clipped:.1%} of samples at full scale).")
    elif peak < LOW_PEAK:
        warnings.append(f"The level is low (peak {peak:.3f}); cloning may sound noisy.")
    return warnings


def load_reference(data: bytes) -> CheckedReference:
    """Validate an uploaded clip and return its canonical form; raises VoiceRejected."""
    if not data:
        raise VoiceRejected("empty_file", "The file is empty.")
    if len(data) > MAX_BYTES:
        raise VoiceRejected("file_too_large", f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.",
                            status_code=413)
    if sniff_format(data[:16]) is None:
        raise VoiceRejected("unsupported_type", "Upload WAV, FLAC, OGG or MP3 audio.", status_code=415)
    samples, rate = decode_reference(data)
    warnings = _check(samples, rate)
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(samples, -1.0, 1.0), rate, format="FLAC", subtype="PCM_16")
    canonical = buffer.getvalue()
    return CheckedReference(canonical=canonical, sha256=hashlib.sha256(canonical).hexdigest(), samples=samples,
                         sample_rate=rate, duration_s=len(samples) / rate, warnings=warnings)


def safe_download_name(name: str) -> str:
    """A file name safe in a Content-Disposition header and on any file system."""
    base = name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base.strip(".") else base
    stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9_ -]+", "", stem).strip(" ")
    return stem[:80] or "voice"
