"""HiFT excitation: mel -> F0 (ConvRNNF0Predictor) -> harmonic-plus-noise source (24 kHz SineGen2 path).

Parameter names follow upstream's checkpoint (`f0_predictor.condnet.*`, `f0_predictor.classifier.*`,
`m_source.l_linear.*`). The source is the only random part of HiFT; its three draws (quirk Q14) are made
explicit here so callers can replay recorded draws or share one torch.Generator with the flow model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import weight_norm

F0_CONV_LAYERS = 5


class ConvRNNF0Predictor(nn.Module):
    """Five weight-normed k3 convs with ELU, then a linear head; |f0| in Hz per mel frame."""

    def __init__(self, in_channels: int = 80, cond_channels: int = 512, num_class: int = 1) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for index in range(F0_CONV_LAYERS):
            conv = nn.Conv1d(in_channels if index == 0 else cond_channels, cond_channels, kernel_size=3, padding=1)
            layers += [weight_norm(conv), nn.ELU()]
        self.condnet = nn.Sequential(*layers)
        self.classifier = nn.Linear(cond_channels, num_class)

    def forward(self, mel: Tensor) -> Tensor:
        """mel [B, C, T] -> f0 [B, T] (num_class 1)."""
        hidden = self.condnet(mel).transpose(1, 2)
        return torch.abs(self.classifier(hidden).squeeze(-1))


@dataclass(frozen=True)
class SourceNoise:
    """The random draws of one source generation, in upstream's draw order."""

    rand_ini: Tensor  # [B, harmonics + 1] uniform initial phases; column 0 is zeroed when used
    sine_noise: Tensor  # [B, L, harmonics + 1] standard normal
    uv_noise: Tensor | None = None  # [B, L, 1]; drawn by upstream but never used at inference (Q14)


def draw_source_noise(batch: int, length: int, harmonics: int, *, generator: torch.Generator,
                      dtype: torch.dtype = torch.float32) -> SourceNoise:
    """Draw rand_ini, sine noise and the unused uv noise exactly as upstream consumes its RNG."""
    device = generator.device
    rand_ini = torch.rand(batch, harmonics, generator=generator, device=device, dtype=dtype)
    # Upstream's randn_like sees a transposed (non-contiguous) tensor, for which torch's CPU kernel fills
    # element by element instead of vectorised: the same layout is needed to get the same numbers.
    sine_noise = torch.empty(batch, harmonics, length, device=device, dtype=dtype).transpose(1, 2)
    sine_noise.normal_(generator=generator)
    # Drawn only to advance the generator as upstream does (Q14), so later draws line up.
    uv_noise = torch.randn(batch, length, 1, generator=generator, device=device, dtype=dtype)
    return SourceNoise(rand_ini=rand_ini, sine_noise=sine_noise, uv_noise=uv_noise)


class HarmonicSource(nn.Module):
    """SourceModuleHnNSF2 + SineGen2: F0 harmonics as sines, U/V-gated, plus noise, merged by linear + tanh."""

    def __init__(self, sampling_rate: int, upsample_scale: int, harmonics: int = 8, sine_amp: float = 0.1,
                 noise_std: float = 0.003, voiced_threshold: float = 10.0) -> None:
        super().__init__()
        self.sampling_rate = sampling_rate
        self.upsample_scale = upsample_scale
        self.dim = harmonics + 1
        self.sine_amp = sine_amp
        self.noise_std = noise_std
        self.voiced_threshold = voiced_threshold
        self.l_linear = nn.Linear(self.dim, 1)

    def upsample_f0(self, f0: Tensor) -> Tensor:
        """Frame-rate f0 [B, T] -> sample-rate f0 [B, T * upsample_scale, 1] (nearest)."""
        return F.interpolate(f0[:, None], scale_factor=float(self.upsample_scale), mode="nearest").transpose(1, 2)

    def forward(self, f0: Tensor, noise: SourceNoise) -> Tensor:
        """Sample-rate f0 [B, L, 1] -> excitation [B, L, 1]."""
        harmonic_f0 = f0 * torch.arange(1, self.dim + 1, device=f0.device, dtype=f0.dtype)
        sines = self._sines(harmonic_f0, noise.rand_ini) * self.sine_amp
        uv = (f0 > self.voiced_threshold).to(f0.dtype)
        noise_amp = uv * self.noise_std + (1 - uv) * self.sine_amp / 3
        excitation = sines * uv + noise_amp * noise.sine_noise
        return torch.tanh(self.l_linear(excitation))

    def _sines(self, harmonic_f0: Tensor, rand_ini: Tensor) -> Tensor:
        """sin of the integrated phase, computed at frame rate and linearly re-upsampled (as upstream)."""
        rad = (harmonic_f0 / self.sampling_rate) % 1
        phases = rand_ini.clone()
        phases[:, 0] = 0  # the fundamental keeps phase 0
        # Added to the first *sample* only, which the frame-rate linear downsample below never reads, so these
        # phases do not change the output; kept deliberately as upstream (the draw itself still advances the RNG).
        rad[:, 0, :] = rad[:, 0, :] + phases
        # The op order below (integrate at frame rate, x 2 x pi, then x scale before the linear
        # upsample) is kept deliberately: phases reach ~1e5 rad, so float32 rounding depends on it.
        rad = F.interpolate(rad.transpose(1, 2), scale_factor=1 / self.upsample_scale, mode="linear").transpose(1, 2)
        phase = torch.cumsum(rad, dim=1) * 2 * math.pi
        phase = F.interpolate(phase.transpose(1, 2) * self.upsample_scale, scale_factor=float(self.upsample_scale),
                              mode="linear").transpose(1, 2)
        return torch.sin(phase)
