"""Audio front-end maths: sinc resampling, the prompt log-mel spectrogram and CAM++'s Kaldi fbank.

Each function reproduces what upstream obtains from torchaudio (`transforms.Resample`, `compliance.kaldi.fbank`)
or from its own `utils/audio.mel_spectrogram`, in plain torch so no torchaudio is needed. Tensors stay on the
input's device and dtype; filter kernels, windows and filterbanks are cached per full parameter set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import torch

# torchaudio.transforms.Resample defaults.
_LOWPASS_FILTER_WIDTH = 6
_ROLLOFF = 0.99


@lru_cache(maxsize=32)
def _sinc_kernel(orig: int, new: int, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, int]:
    """Polyphase windowed-sinc (Hann) kernel [new, 1, taps] for gcd-reduced rates, and its half width."""
    base_freq = min(orig, new) * _ROLLOFF
    width = math.ceil(_LOWPASS_FILTER_WIDTH * orig / base_freq)
    idx = torch.arange(-width, width + orig, dtype=torch.float64) / orig
    # Phase offsets are divided in float32 before the float64 sum, as torchaudio's Resample does (dtype=None).
    phase = torch.arange(0, -new, -1) / new
    t = (phase[:, None, None].to(torch.float64) + idx[None, None]) * base_freq
    t = t.clamp(-_LOWPASS_FILTER_WIDTH, _LOWPASS_FILTER_WIDTH)
    window = torch.cos(t * math.pi / _LOWPASS_FILTER_WIDTH / 2) ** 2
    t = t * math.pi
    sinc = torch.where(t == 0, torch.ones_like(t), t.sin() / t)
    kernel = sinc * (window * (base_freq / orig))
    # torchaudio stores the kernel in float32; casting through it keeps float32 inputs bit-compatible.
    return kernel.to(torch.float32).to(device=device, dtype=dtype), width


def sinc_resample(wav: torch.Tensor, orig_sr: int, new_sr: int) -> torch.Tensor:
    """Band-limited resampling of [..., N], numerically torchaudio.transforms.Resample(orig_sr, new_sr)."""
    if orig_sr <= 0 or new_sr <= 0:
        raise ValueError(f"Sample rates must be positive, got {orig_sr} -> {new_sr}")
    if orig_sr == new_sr:
        return wav
    if not wav.is_floating_point():
        raise TypeError(f"Expected a floating-point waveform, got {wav.dtype}")
    gcd = math.gcd(orig_sr, new_sr)
    orig, new = orig_sr // gcd, new_sr // gcd
    kernel, width = _sinc_kernel(orig, new, wav.device, wav.dtype)
    shape = wav.shape
    flat = wav.reshape(-1, shape[-1])
    padded = torch.nn.functional.pad(flat, (width, width + orig))
    out = torch.nn.functional.conv1d(padded[:, None], kernel, stride=orig)
    out = out.transpose(1, 2).reshape(flat.shape[0], -1)
    target_len = math.ceil(new * shape[-1] / orig)
    return out[:, :target_len].reshape(*shape[:-1], -1)


# ---------------------------------------------------------------------------------------------------------------
# Prompt mel (upstream utils/audio.mel_spectrogram, MANIFEST Q4)


@dataclass(frozen=True)
class MelConfig:
    sample_rate: int
    n_fft: int
    hop_size: int
    win_size: int
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float = 8000.0


# The partials glmtts_inference.load_frontends builds for the two vocoder rates.
MEL_CONFIGS: dict[int, MelConfig] = {
    24000: MelConfig(sample_rate=24000, n_fft=1920, hop_size=480, win_size=1920),
    32000: MelConfig(sample_rate=32000, n_fft=2560, hop_size=640, win_size=2560),
}


@lru_cache(maxsize=16)
def _slaney_mel_basis(
    sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float, device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    from librosa.filters import mel as librosa_mel  # heavy import, only needed once per configuration

    basis = librosa_mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    return torch.from_numpy(basis).float().to(device=device, dtype=dtype)


@lru_cache(maxsize=16)
def _hann_window(size: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    return torch.hann_window(size).to(device=device, dtype=dtype)


def log_mel_spectrogram(wav: torch.Tensor, config: MelConfig) -> torch.Tensor:
    """Natural-log Slaney mel magnitude [B, n_mels, frames] of [B, N] (or [N]); frames = N // hop."""
    # Deviation from upstream (Q3): filterbank and window are cached per full configuration, not per fmax/device.
    basis = _slaney_mel_basis(config.sample_rate, config.n_fft, config.n_mels, config.fmin, config.fmax,
                              wav.device, wav.dtype)
    window = _hann_window(config.win_size, wav.device, wav.dtype)
    batch = wav.reshape(-1, wav.shape[-1])
    pad = (config.n_fft - config.hop_size) // 2
    batch = torch.nn.functional.pad(batch[:, None], (pad, pad), mode="reflect")[:, 0]
    spec = torch.stft(batch, config.n_fft, hop_length=config.hop_size, win_length=config.win_size, window=window,
                      center=False, normalized=False, onesided=True, return_complex=True)
    spec = torch.view_as_real(spec)
    magnitude = torch.sqrt(spec.pow(2).sum(-1) + 1e-9)
    return torch.log(torch.clamp(torch.matmul(basis, magnitude), min=1e-5))


def mel_spectrogram(wav: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """Upstream's prompt mel for a mono clip [N] or [1, N] at 24 or 32 kHz, laid out [1, T, 80]."""
    config = MEL_CONFIGS.get(sample_rate)
    if config is None:
        raise ValueError(f"No prompt-mel configuration for {sample_rate} Hz (supported: {sorted(MEL_CONFIGS)})")
    if wav.dim() > 2 or (wav.dim() == 2 and wav.shape[0] != 1):
        raise ValueError(f"Expected a mono waveform [N] or [1, N], got shape {tuple(wav.shape)}")
    return log_mel_spectrogram(wav.reshape(1, -1), config).transpose(1, 2)


# ---------------------------------------------------------------------------------------------------------------
# Kaldi fbank for CAM++ (torchaudio.compliance.kaldi.fbank defaults, MANIFEST Q15)


@dataclass(frozen=True)
class FbankConfig:
    sample_rate: int = 16000
    num_mel_bins: int = 80
    frame_length_ms: float = 25.0
    frame_shift_ms: float = 10.0
    preemphasis: float = 0.97
    low_freq: float = 20.0
    high_freq: float = 0.0  # <= 0 means relative to Nyquist, as in Kaldi

    @property
    def window_size(self) -> int:
        return int(self.sample_rate * self.frame_length_ms * 0.001)

    @property
    def window_shift(self) -> int:
        return int(self.sample_rate * self.frame_shift_ms * 0.001)

    @property
    def padded_window_size(self) -> int:
        return 1 << (self.window_size - 1).bit_length()


def _kaldi_mel(freq: torch.Tensor) -> torch.Tensor:
    return 1127.0 * (1.0 + freq / 700.0).log()


def _kaldi_mel_scalar(freq: float) -> float:
    return 1127.0 * math.log(1.0 + freq / 700.0)


@lru_cache(maxsize=8)
def _kaldi_mel_banks(config: FbankConfig, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Triangular Kaldi-mel filters [num_bins, padded // 2 + 1] (last FFT bin weighted 0, as torchaudio)."""
    # Computed in float32 like torchaudio's get_mel_banks, then moved to the working dtype.
    padded = config.padded_window_size
    nyquist = 0.5 * config.sample_rate
    high_freq = config.high_freq if config.high_freq > 0 else config.high_freq + nyquist
    mel_low, mel_high = _kaldi_mel_scalar(config.low_freq), _kaldi_mel_scalar(high_freq)
    delta = (mel_high - mel_low) / (config.num_mel_bins + 1)
    bins = torch.arange(config.num_mel_bins).unsqueeze(1)
    left, center, right = (mel_low + (bins + k) * delta for k in (0.0, 1.0, 2.0))
    fft_mel = _kaldi_mel((config.sample_rate / padded) * torch.arange(padded / 2)).unsqueeze(0)
    up = (fft_mel - left) / (center - left)
    down = (right - fft_mel) / (right - center)
    banks = torch.clamp(torch.minimum(up, down), min=0.0)
    banks = torch.nn.functional.pad(banks, (0, 1))
    return banks.to(device=device, dtype=dtype)


@lru_cache(maxsize=8)
def _povey_window(size: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    return torch.hann_window(size, periodic=False, device=device, dtype=dtype).pow(0.85)


def kaldi_fbank(wav16k: torch.Tensor, config: FbankConfig | None = None) -> torch.Tensor:
    """Log mel filterbank [frames, bins] of a mono clip [N] or [1, N], as kaldi.fbank(dither=0)."""
    config = config or FbankConfig()
    wav = wav16k.reshape(-1, wav16k.shape[-1])[0]
    size, shift = config.window_size, config.window_shift
    if wav.shape[0] < size:
        return wav.new_empty((0, config.num_mel_bins))
    frames = wav.unfold(0, size, shift)  # snip_edges: only whole frames, 1 + (N - size) // shift of them
    frames = frames - frames.mean(dim=1, keepdim=True)  # remove DC offset
    previous = torch.nn.functional.pad(frames[None], (1, 0), mode="replicate")[0, :, :-1]
    frames = frames - config.preemphasis * previous
    frames = frames * _povey_window(size, wav.device, wav.dtype)[None]
    frames = torch.nn.functional.pad(frames, (0, config.padded_window_size - size))
    power = torch.fft.rfft(frames).abs().pow(2.0)
    energies = torch.mm(power, _kaldi_mel_banks(config, wav.device, wav.dtype).T)
    epsilon = torch.tensor(torch.finfo(torch.float).eps, device=wav.device, dtype=wav.dtype)
    return torch.maximum(energies, epsilon).log()


def campplus_features(wav16k: torch.Tensor) -> torch.Tensor:
    """CAM++ input [1, T, 80]: Kaldi fbank of the unscaled [-1, 1] waveform minus its time mean."""
    feats = kaldi_fbank(wav16k)
    return (feats - feats.mean(dim=0, keepdim=True)).unsqueeze(0)
