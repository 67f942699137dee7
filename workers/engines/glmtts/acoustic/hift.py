"""HiFT vocoder (24 kHz): neural-source-filter excitation + HiFi-GAN upsampler + iSTFT head.

Loads upstream's `ckpt/hift/hift.pt` (a bare HiFTGenerator state dict, weight norm stored as torch
parametrizations; legacy `weight_g`/`weight_v` keys are accepted by torch's load hook). Only the 24 kHz
variant GLM-TTS ships is implemented (SourceModuleHnNSF2 / SineGen2; upstream switches to another source
module at 22050 Hz). Sizes are read from the checkpoint, so the real 512-channel model and the tiny test
fixture load with the same code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import weight_norm

from workers.engines.glmtts.acoustic.hift_source import (
    ConvRNNF0Predictor,
    HarmonicSource,
    SourceNoise,
    draw_source_noise,
)

_UNSUPPORTED_RATE = 22050  # upstream uses the older SourceModuleHnNSF/SineGen only at this rate


@dataclass(frozen=True)
class HiFTConfig:
    """Upstream's hard-coded CosyVoice2 / GLM-TTS generator (utils/hift_util.py)."""

    in_channels: int = 80
    base_channels: int = 512
    nb_harmonics: int = 8
    sampling_rate: int = 24000
    nsf_alpha: float = 0.1
    nsf_sigma: float = 0.003
    nsf_voiced_threshold: float = 10.0
    upsample_rates: tuple[int, ...] = (8, 5, 3)
    upsample_kernel_sizes: tuple[int, ...] = (16, 11, 7)
    n_fft: int = 16
    hop_len: int = 4
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)
    resblock_dilation_sizes: tuple[tuple[int, ...], ...] = field(default=((1, 3, 5),) * 3)
    source_resblock_kernel_sizes: tuple[int, ...] = (7, 7, 11)
    source_resblock_dilation_sizes: tuple[tuple[int, ...], ...] = field(default=((1, 3, 5),) * 3)
    lrelu_slope: float = 0.1
    audio_limit: float = 0.99
    f0_cond_channels: int = 512
    f0_num_class: int = 1

    @property
    def upsample_scale(self) -> int:
        """Output samples per mel frame (480 at 24 kHz)."""
        return math.prod(self.upsample_rates) * self.hop_len


class Snake(nn.Module):
    """x + sin^2(alpha x) / alpha with a per-channel linear-scale alpha."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(channels))

    def forward(self, x: Tensor) -> Tensor:
        alpha = self.alpha[None, :, None]
        return x + (1.0 / (alpha + 1e-9)) * torch.sin(x * alpha) ** 2


class ResBlock(nn.Module):
    """HiFi-GAN residual block: per dilation, Snake -> dilated conv -> Snake -> conv, added to the input."""

    def __init__(self, channels: int, kernel_size: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(_wn_conv(channels, kernel_size, dilation) for dilation in dilations)
        self.convs2 = nn.ModuleList(_wn_conv(channels, kernel_size, 1) for _ in dilations)
        self.activations1 = nn.ModuleList(Snake(channels) for _ in dilations)
        self.activations2 = nn.ModuleList(Snake(channels) for _ in dilations)

    def forward(self, x: Tensor) -> Tensor:
        for act1, conv1, act2, conv2 in zip(self.activations1, self.convs1, self.activations2, self.convs2,
                                            strict=True):
            x = conv2(act2(conv1(act1(x)))) + x
        return x


def _wn_conv(channels: int, kernel_size: int, dilation: int) -> nn.Module:
    padding = (kernel_size * dilation - dilation) // 2  # "same" length
    return weight_norm(nn.Conv1d(channels, channels, kernel_size, dilation=dilation, padding=padding))


class HiFTGenerator(nn.Module):
    """HiFTNet generator; mel [B, 80, T] -> waveform [B, T * 480] at 24 kHz."""

    stft_window: Tensor

    def __init__(self, config: HiFTConfig | None = None) -> None:
        super().__init__()
        cfg = self.config = config or HiFTConfig()
        if cfg.sampling_rate == _UNSUPPORTED_RATE:
            raise ValueError("The 22050 Hz HiFT variant (SourceModuleHnNSF/SineGen) is not implemented")
        self.m_source = HarmonicSource(cfg.sampling_rate, cfg.upsample_scale, cfg.nb_harmonics, cfg.nsf_alpha,
                                       cfg.nsf_sigma, cfg.nsf_voiced_threshold)
        self.f0_predictor = ConvRNNF0Predictor(cfg.in_channels, cfg.f0_cond_channels, cfg.f0_num_class)
        self.conv_pre = weight_norm(nn.Conv1d(cfg.in_channels, cfg.base_channels, 7, padding=3))
        self.ups = nn.ModuleList(
            weight_norm(nn.ConvTranspose1d(cfg.base_channels // 2**i, cfg.base_channels // 2 ** (i + 1), kernel,
                                           rate, padding=(kernel - rate) // 2))
            for i, (rate, kernel) in enumerate(zip(cfg.upsample_rates, cfg.upsample_kernel_sizes, strict=True)))
        self.source_downs, self.source_resblocks = _source_branch(cfg)
        self.resblocks = nn.ModuleList(
            ResBlock(cfg.base_channels // 2 ** (i + 1), kernel, dilations)
            for i in range(len(cfg.upsample_rates))
            for kernel, dilations in zip(cfg.resblock_kernel_sizes, cfg.resblock_dilation_sizes, strict=True))
        last_channels = cfg.base_channels // 2 ** len(cfg.upsample_rates)
        self.conv_post = weight_norm(nn.Conv1d(last_channels, cfg.n_fft + 2, 7, padding=3))
        # Not in the state dict (as upstream); float64 then cast to match scipy's periodic Hann exactly.
        window = torch.hann_window(cfg.n_fft, periodic=True, dtype=torch.float64).to(torch.float32)
        self.register_buffer("stft_window", window, persistent=False)

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | torch.device = "cpu") -> HiFTGenerator:
        """Build sized from the state dict itself, load it strictly, eval mode on `device`."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"HiFT checkpoint not found: {path}")
        state = torch.load(path, map_location=device, weights_only=True)
        model = cls(config_from_state_dict(state))
        model.load_state_dict(state, strict=True)
        return model.to(device).eval()

    def predict_f0(self, mel: Tensor) -> Tensor:
        """mel [B, 80, T] -> f0 [B, T] in Hz."""
        return self.f0_predictor(mel)

    def source_from_f0(self, f0: Tensor, *, rand_ini: Tensor | None = None, sine_noise: Tensor | None = None,
                       generator: torch.Generator | None = None) -> Tensor:
        """Frame-rate f0 [B, T] -> excitation [B, 1, T * 480].

        Pass both recorded draws to replay them; otherwise they are drawn from `generator` (a fresh, randomly
        seeded one on f0's device if None) in upstream's order, including the unused uv draw (Q14).
        """
        f0_up = self.m_source.upsample_f0(f0)
        if (rand_ini is None) != (sine_noise is None):
            raise ValueError("Pass both rand_ini and sine_noise, or neither")
        if rand_ini is not None and sine_noise is not None:
            noise = SourceNoise(rand_ini=rand_ini.to(f0), sine_noise=sine_noise.to(f0))
        else:
            drawn = draw_source_noise(f0.shape[0], f0_up.shape[1], self.m_source.dim,
                                      generator=generator or _random_generator(f0.device), dtype=f0.dtype)
            noise = SourceNoise(rand_ini=drawn.rand_ini.to(f0.device), sine_noise=drawn.sine_noise.to(f0.device))
        return self.m_source(f0_up, noise).transpose(1, 2)

    def decode(self, mel: Tensor, source: Tensor) -> Tensor:
        """mel [B, 80, T] + excitation [B, 1, T * 480] -> waveform [B, T * 480], clamped to ±audio_limit."""
        cfg = self.config
        source_spec = self._stft(source.squeeze(1))
        x = self.conv_pre(mel)
        n_kernels = len(cfg.resblock_kernel_sizes)
        for i, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, cfg.lrelu_slope))
            if i == len(self.ups) - 1:
                x = F.pad(x, (1, 0), mode="reflect")  # one frame short of the source STFT otherwise
            x = x + self.source_resblocks[i](self.source_downs[i](source_spec))
            x = self._mean_of_resblocks(x, self.resblocks[i * n_kernels:(i + 1) * n_kernels])
        x = self.conv_post(F.leaky_relu(x))  # default slope 0.01 here, as upstream
        n_bins = cfg.n_fft // 2 + 1
        magnitude = torch.exp(x[:, :n_bins, :])
        phase = torch.sin(x[:, n_bins:, :])  # upstream's sin on the phase: kept, it defines the model
        wav = self._istft(magnitude, phase)
        return torch.clamp(wav, -cfg.audio_limit, cfg.audio_limit)

    @torch.inference_mode()
    def inference(self, mel: Tensor, *, generator: torch.Generator | None = None,
                  source: Tensor | None = None) -> Tensor:
        """mel [B, 80, T] -> waveform [B, T * 480]; `source` [B, 1, T * 480] skips F0 and the random draws."""
        if source is None:
            source = self.source_from_f0(self.predict_f0(mel), generator=generator)
        return self.decode(mel, source)

    @staticmethod
    def _mean_of_resblocks(x: Tensor, blocks: nn.ModuleList) -> Tensor:
        total = blocks[0](x)
        for block in blocks[1:]:
            total = total + block(x)  # summed left to right, as upstream, for identical rounding
        return total / len(blocks)

    def _stft(self, wav: Tensor) -> Tensor:
        """[B, L] -> real and imaginary parts stacked on the channel axis, [B, n_fft + 2, frames]."""
        cfg = self.config
        spec = torch.stft(wav, cfg.n_fft, cfg.hop_len, cfg.n_fft, window=self.stft_window, return_complex=True)
        return torch.cat([spec.real, spec.imag], dim=1)

    def _istft(self, magnitude: Tensor, phase: Tensor) -> Tensor:
        cfg = self.config
        magnitude = torch.clip(magnitude, max=1e2)
        spec = torch.complex(magnitude * torch.cos(phase), magnitude * torch.sin(phase))
        return torch.istft(spec, cfg.n_fft, cfg.hop_len, cfg.n_fft, window=self.stft_window)


def _source_branch(cfg: HiFTConfig) -> tuple[nn.ModuleList, nn.ModuleList]:
    """Per upsampling stage: a strided conv taking the source STFT down to that stage's rate, and a ResBlock."""
    downs, blocks = nn.ModuleList(), nn.ModuleList()
    # Stage i runs at 1 / prod(rates[i+1:]) of the STFT frame rate.
    strides = [math.prod(cfg.upsample_rates[i + 1:]) for i in range(len(cfg.upsample_rates))]
    specs = zip(strides, cfg.source_resblock_kernel_sizes, cfg.source_resblock_dilation_sizes, strict=True)
    for i, (stride, kernel, dilations) in enumerate(specs):
        channels = cfg.base_channels // 2 ** (i + 1)
        if stride == 1:
            downs.append(nn.Conv1d(cfg.n_fft + 2, channels, 1))
        else:
            downs.append(nn.Conv1d(cfg.n_fft + 2, channels, stride * 2, stride, padding=stride // 2))
        blocks.append(ResBlock(channels, kernel, dilations))
    return downs, blocks


def config_from_state_dict(state: dict[str, Tensor], base: HiFTConfig | None = None) -> HiFTConfig:
    """Channel counts and harmonics read from a HiFT state dict; strides and kernels stay as in `base`."""
    pre = _weight_shape(state, "conv_pre")  # [base_channels, in_channels, 7]
    post = _weight_shape(state, "conv_post")  # [n_fft + 2, channels, 7]
    f0_conv = _weight_shape(state, "f0_predictor.condnet.0")  # [cond_channels, in_channels, 3]
    return replace(base or HiFTConfig(), in_channels=pre[1], base_channels=pre[0], n_fft=post[0] - 2,
                   nb_harmonics=state["m_source.l_linear.weight"].shape[1] - 1, f0_cond_channels=f0_conv[0],
                   f0_num_class=state["f0_predictor.classifier.weight"].shape[0])


def _weight_shape(state: dict[str, Tensor], module: str) -> tuple[int, ...]:
    for suffix in (".parametrizations.weight.original1", ".weight_v", ".weight"):
        if module + suffix in state:
            return tuple(state[module + suffix].shape)
    raise KeyError(f"HiFT checkpoint has no weight for {module}")


def _random_generator(device: torch.device) -> torch.Generator:
    generator = torch.Generator(device=device)
    generator.seed()  # non-deterministic, like upstream's unseeded global RNG
    return generator
