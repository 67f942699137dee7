"""Voice match: make a preset voice resemble a reference it cannot clone (the default engine's stage).

Measured once per voice: the reference's pitch (median and spread of log F0, from WORLD's harvest, which
unlike dio does not double a low voice's pitch) and its long-term spectral envelope. Applied per
segment: WORLD analysis of the preset's speech (dio + stonemask: fast, and the preset's own pitch range
is known), its F0 moved to the reference's statistics, its envelope warped along frequency (formants;
`alpha` > 1 moves them up) and equalized by the bounded, smoothed difference of the long-term envelopes,
then WORLD synthesis at the loudness it had, never clipping. pyworld (MIT; WORLD is modified BSD) does
the signal work.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyworld

from .audio import resample

RATE = 24000  # the engine's native rate: matching runs before any resampling
FFT = 1024
FRAME_MS = 5.0
F0_FLOOR, F0_CEIL = 60.0, 500.0
ALPHA_RANGE = (0.85, 1.18)
EQ_LIMIT_DB = 8.0
EQ_SMOOTH_BINS = 9  # ~210 Hz at 24 kHz / 1024
PEAK_LIMIT = 0.98
KNEE = 0.8  # below it samples are left alone; above it they approach PEAK_LIMIT and never reach it
_DB_TO_LOG_POWER = np.log(10) / 10
# WORLD resynthesis (even with nothing changed) cost Chinese 0.01-0.06 of Whisper's CER on each preset measured, where
# English lost nothing measurable: tones live in the F0 contour that dio/stonemask re-estimate. There only the
# EQ applies, as a filter on the preset's own waveform.
TONAL_LANGUAGES = frozenset({"zh"})


@dataclass(frozen=True)
class VoiceProfile:
    """A voice's pitch and long-term envelope (log power per FFT bin at RATE)."""

    log_f0_median: float
    log_f0_spread: float
    envelope: np.ndarray = field(repr=False)
    bandwidth_hz: float  # the recording's Nyquist: the envelope says nothing above it

    @property
    def f0_hz(self) -> float:
        return float(np.exp(self.log_f0_median))


class NoVoicedSpeech(ValueError):
    """The clip has no voiced frames to measure (silence, noise, whispering)."""


def voice_profile(samples: np.ndarray, rate: int) -> VoiceProfile:
    audio = resample(samples, rate, RATE).astype(np.float64)
    f0, times = pyworld.harvest(audio, RATE, f0_floor=F0_FLOOR, f0_ceil=F0_CEIL, frame_period=FRAME_MS)
    voiced = f0 > 0
    if voiced.sum() < 20:  # 0.1 s
        raise NoVoicedSpeech("No voiced speech to measure in this clip.")
    envelope = pyworld.cheaptrick(audio, f0, times, RATE, fft_size=FFT)
    log_f0 = np.log(f0[voiced])
    return VoiceProfile(float(np.median(log_f0)), float(np.std(log_f0)),
                        np.log(envelope[voiced].mean(axis=0) + 1e-12), min(rate, RATE) / 2)


def _warped(log_envelope: np.ndarray, alpha: float) -> np.ndarray:
    """The envelope with every frequency f taking the value it had at f / alpha (along the last axis)."""
    bins = np.arange(log_envelope.shape[-1])
    if log_envelope.ndim == 1:
        return np.interp(bins / alpha, bins, log_envelope)
    return np.stack([np.interp(bins / alpha, bins, row) for row in log_envelope])


def _smoothed(values: np.ndarray, width: int) -> np.ndarray:
    padded = np.pad(values, width, mode="edge")
    return np.convolve(padded, np.ones(width) / width, mode="same")[width:-width]


def _bins_hz() -> np.ndarray:
    return np.arange(FFT // 2 + 1) * RATE / FFT


def _shape_band(reference: VoiceProfile) -> np.ndarray:
    """The bins where envelopes are compared: 100 Hz to 5 kHz, inside what the reference recorded."""
    hz = _bins_hz()
    return (hz > 100) & (hz < min(5000.0, reference.bandwidth_hz * 0.9))


def formant_warp(reference: VoiceProfile, preset: VoiceProfile) -> float:
    """The warp that best lines up the two long-term envelopes' shapes (spectral tilt removed: the EQ
    takes care of tilt), 100 Hz to 5 kHz."""
    band = _shape_band(reference)
    log_hz = np.log(_bins_hz()[band])

    def shape(envelope: np.ndarray) -> np.ndarray:
        return envelope[band] - np.polyval(np.polyfit(log_hz, envelope[band], 1), log_hz)

    target = shape(reference.envelope)
    alphas = np.arange(ALPHA_RANGE[0], ALPHA_RANGE[1] + 1e-9, 0.01)
    errors = [float(np.mean((target - shape(_warped(preset.envelope, a))) ** 2)) for a in alphas]
    return round(float(alphas[int(np.argmin(errors))]), 2)


@dataclass(frozen=True)
class VoiceMatch:
    """How to move one preset's speech towards one reference; `apply` is pure (one segment at RATE)."""

    preset_log_f0: float
    log_f0_shift: float
    log_f0_scale: float
    alpha: float
    eq: np.ndarray = field(repr=False)  # log power per bin, within ±EQ_LIMIT_DB, after the warp
    eq_unwarped: np.ndarray = field(repr=False)  # the same for the preset's own envelope (EQ alone)

    def apply(self, samples: np.ndarray, language: str = "en") -> np.ndarray:
        """The whole match for most languages; for a tonal one (TONAL_LANGUAGES) only the envelope EQ."""
        if len(samples) < RATE // 20:  # under 50 ms: nothing to analyse
            return samples
        if language in TONAL_LANGUAGES:
            return self.equalize(samples)
        return self.resynthesize(samples)

    def equalize(self, samples: np.ndarray) -> np.ndarray:
        """The EQ alone, as a linear-phase FIR filter (its delay removed): pitch, timing and phase stay the
        preset's own, at the loudness the segment had."""
        taps = np.fft.irfft(np.exp(self.eq_unwarped / 2))  # amplitude gain per bin, zero phase
        taps = np.roll(taps, FFT // 2) * np.hanning(FFT)
        audio = samples.astype(np.float64)
        size = 1 << int(np.ceil(np.log2(len(audio) + FFT)))
        filtered = np.fft.irfft(np.fft.rfft(audio, size) * np.fft.rfft(taps, size), size)
        return _loudness_of(filtered[FFT // 2:FFT // 2 + len(audio)], audio).astype(np.float32)

    def resynthesize(self, samples: np.ndarray) -> np.ndarray:
        audio = samples.astype(np.float64)
        f0, times = pyworld.dio(audio, RATE, f0_floor=F0_FLOOR, f0_ceil=F0_CEIL, frame_period=FRAME_MS)
        f0 = pyworld.stonemask(audio, f0, times, RATE)
        envelope = pyworld.cheaptrick(audio, f0, times, RATE, fft_size=FFT)
        aperiodicity = pyworld.d4c(audio, f0, times, RATE, fft_size=FFT)
        voiced = f0 > 0
        moved = f0.copy()
        moved[voiced] = np.exp((np.log(f0[voiced]) - self.preset_log_f0) * self.log_f0_scale
                               + self.preset_log_f0 + self.log_f0_shift)
        log_envelope = _warped(np.log(envelope + 1e-16), self.alpha) + self.eq
        aperiodicity = np.clip(_warped(aperiodicity, self.alpha), 0.0, 1.0)
        out = pyworld.synthesize(moved, np.exp(log_envelope), aperiodicity, RATE, FRAME_MS)[: len(audio)]
        out = np.pad(out, (0, len(audio) - len(out)))
        return _loudness_of(out, audio).astype(np.float32)


def _loudness_of(out: np.ndarray, original: np.ndarray) -> np.ndarray:
    """`out` at the RMS of `original`; resynthesis makes peaks higher than the preset's, so the few samples
    above KNEE are bent softly towards PEAK_LIMIT (scaling the whole segment down instead cost up to 3 dB of
    loudness in the benchmark)."""
    levelled = out * np.sqrt(np.mean(original ** 2) / max(np.mean(out ** 2), 1e-18))
    magnitude = np.abs(levelled)
    over = magnitude > KNEE
    room = PEAK_LIMIT - KNEE
    magnitude[over] = KNEE + room * np.tanh((magnitude[over] - KNEE) / room)
    return np.sign(levelled) * magnitude


def _bounded_eq(reference: VoiceProfile, preset_envelope: np.ndarray) -> np.ndarray:
    """The smoothed, bounded difference of two long-term envelopes, level removed."""
    hz, band = _bins_hz(), _shape_band(reference)
    difference = reference.envelope - preset_envelope
    difference -= difference[band].mean()  # a level difference is the loudness guard's business
    difference[(hz < 60) | (hz > reference.bandwidth_hz * 0.92)] = 0.0  # no claim where the clip is silent
    limit = EQ_LIMIT_DB * _DB_TO_LOG_POWER
    return np.clip(_smoothed(difference, EQ_SMOOTH_BINS), -limit, limit)


def voice_match(reference: VoiceProfile, preset: VoiceProfile, alpha: float | None = None) -> VoiceMatch:
    alpha = formant_warp(reference, preset) if alpha is None else alpha
    scale = reference.log_f0_spread / preset.log_f0_spread if preset.log_f0_spread > 0 else 1.0
    return VoiceMatch(preset_log_f0=preset.log_f0_median,
                      log_f0_shift=reference.log_f0_median - preset.log_f0_median,
                      log_f0_scale=float(np.clip(scale, 0.5, 2.0)), alpha=float(alpha),
                      eq=_bounded_eq(reference, _warped(preset.envelope, alpha)),
                      eq_unwarped=_bounded_eq(reference, preset.envelope))
