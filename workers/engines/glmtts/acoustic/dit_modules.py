"""Building blocks of the GLM-TTS flow-matching DiT.

Attribute names (and `nn.Sequential` positions) mirror upstream's `flow/modules.py` so that its
`flow.pt` state dict loads strictly; the implementation is our own.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

TIME_FREQ_DIM = 256
TIME_SCALE = 1000.0
TEXT_MAX_POSITIONS = 4096  # upstream precomputes token position features for this many frames
NORM_EPS = 1e-6


def sinusoidal_time_features(t: torch.Tensor, dim: int = TIME_FREQ_DIM, scale: float = TIME_SCALE) -> torch.Tensor:
    """[B] flow times -> [B, dim] (sin half, then cos half)."""
    half = dim // 2
    step = math.log(10000) / (half - 1)
    freqs = torch.exp(torch.arange(half, device=t.device).float() * -step)
    angles = scale * t.unsqueeze(1) * freqs.unsqueeze(0)
    return torch.cat((angles.sin(), angles.cos()), dim=-1)


def token_position_features(dim: int, length: int = TEXT_MAX_POSITIONS, theta: float = 10000.0) -> torch.Tensor:
    """[length, dim] = cat(cos, sin) of position x RoPE frequency; added to the token embeddings."""
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[: dim // 2].float() / dim))
    angles = torch.outer(torch.arange(length), freqs).float()
    return torch.cat((angles.cos(), angles.sin()), dim=-1)


class TimestepEmbedding(nn.Module):
    def __init__(self, dim: int, freq_dim: int = TIME_FREQ_DIM) -> None:
        super().__init__()
        self.freq_dim = freq_dim
        self.time_mlp = nn.Sequential(nn.Linear(freq_dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        first: nn.Linear = self.time_mlp[0]  # type: ignore[assignment]
        return self.time_mlp(sinusoidal_time_features(t, self.freq_dim).to(first.weight.dtype))


class GRN(nn.Module):
    """Global response normalisation (ConvNeXt-V2); the L2 norm runs over the time axis."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1, 1, dim))
        self.beta = nn.Parameter(torch.zeros(1, 1, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = torch.norm(x, p=2, dim=1, keepdim=True)
        scaled = norm / (norm.mean(dim=-1, keepdim=True) + NORM_EPS)
        return self.gamma * (x * scaled) + self.beta + x


class ConvNeXtV2Block(nn.Module):
    def __init__(self, dim: int, hidden_dim: int, kernel_size: int = 7) -> None:
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=NORM_EPS)
        self.pwconv1 = nn.Linear(dim, hidden_dim)
        self.act = nn.GELU()
        self.grn = GRN(hidden_dim)
        self.pwconv2 = nn.Linear(hidden_dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.dwconv(x.transpose(1, 2)).transpose(1, 2)
        h = self.pwconv2(self.grn(self.act(self.pwconv1(self.norm(h)))))
        return x + h


class TextEmbedding(nn.Module):
    """Speech tokens -> per-frame features: nearest-resample ids to the mel length, embed, ConvNeXt blocks."""

    def __init__(self, vocab_size: int, dim: int, conv_layers: int = 0, conv_mult: int = 2) -> None:
        super().__init__()
        self.text_embed = nn.Embedding(vocab_size + 1, dim)  # id 0 doubles as filler
        self.text_blocks: nn.Sequential | None = None
        if conv_layers > 0:
            self.register_buffer("freqs_cis", token_position_features(dim), persistent=False)
            self.text_blocks = nn.Sequential(*[ConvNeXtV2Block(dim, dim * conv_mult) for _ in range(conv_layers)])

    def check_ids(self, tokens: torch.Tensor) -> None:
        """ValueError for ids the embedding table cannot hold (one host sync; call once, not per step)."""
        if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= self.text_embed.num_embeddings):
            raise ValueError(f"speech token ids must be in [0, {self.text_embed.num_embeddings - 1}]")

    def forward(self, tokens: torch.Tensor, n_frames: int) -> torch.Tensor:
        # Resample the float-cast ids (exact below 2**24), as upstream does, so the token -> frame map matches.
        ids = F.interpolate(tokens.unsqueeze(1).float(), size=n_frames, mode="nearest").squeeze(1).long()
        hidden = self.text_embed(ids)
        if self.text_blocks is None:
            return hidden
        # Deliberately as upstream: frames past the precomputed table all reuse its last row.
        positions = torch.arange(n_frames, device=tokens.device).clamp(max=TEXT_MAX_POSITIONS - 1)
        freqs: torch.Tensor = self.freqs_cis  # type: ignore[assignment]
        return self.text_blocks(hidden + freqs[positions])


class ConvPositionEmbedding(nn.Module):
    def __init__(self, dim: int, kernel_size: int = 31, groups: int = 16) -> None:
        super().__init__()
        pad = kernel_size // 2
        self.conv1d = nn.Sequential(nn.Conv1d(dim, dim, kernel_size, groups=groups, padding=pad), nn.Mish(),
                                    nn.Conv1d(dim, dim, kernel_size, groups=groups, padding=pad), nn.Mish())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv1d(x.transpose(1, 2)).transpose(1, 2)


class EmbeddingConcater(nn.Module):
    """cat(noisy mel, condition, token features) -> model width, plus a convolutional position term."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(in_dim, out_dim)
        self.conv_pos_embed = ConvPositionEmbedding(out_dim)

    def forward(self, x: torch.Tensor, condition: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        h = self.proj(torch.cat((x, condition, text), dim=-1))
        return self.conv_pos_embed(h) + h


class RotaryEmbedding(nn.Module):
    """RoPE angles with interleaved pairs (x-transformers layout); `inv_freq` is saved in the state dict."""

    def __init__(self, dim: int, base: float = 10000.0) -> None:
        super().__init__()
        self.register_buffer("inv_freq", 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim)))

    def angles(self, seq_len: int) -> torch.Tensor:
        """[seq_len, dim]: angle of pair i repeated for both of its channels (f0, f0, f1, f1, ...)."""
        inv_freq: torch.Tensor = self.inv_freq  # type: ignore[assignment]
        # Always float32: in a bf16 model, positions above 256 are not even representable in bf16.
        positions = torch.arange(seq_len, device=inv_freq.device, dtype=torch.float32)
        return torch.outer(positions, inv_freq.float()).repeat_interleave(2, dim=-1)


def apply_rotary(x: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotate the first `angles.shape[-1]` channels of x [B, N, C] in interleaved pairs; keep the rest."""
    width = angles.shape[-1]
    rotated, rest = x[..., :width], x[..., width:]
    pairs = rotated.unflatten(-1, (-1, 2))
    swapped = torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).flatten(-2)
    rotated = rotated * angles.cos() + swapped * angles.sin()
    return torch.cat((rotated.to(x.dtype), rest), dim=-1)


class AdaLayerNormZero(nn.Module):
    """Conditioning -> shift/scale/gate for attention and MLP (upstream's chunk order)."""

    def __init__(self, dim: int, extra_dim: int = 0) -> None:
        super().__init__()
        self.linear = nn.Linear(dim + extra_dim, dim * 6)
        self.norm = nn.LayerNorm(dim, elementwise_affine=False, eps=NORM_EPS)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> tuple[torch.Tensor, ...]:
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.linear(F.silu(emb)).chunk(6, dim=1)
        normed = self.norm(x) * (1 + scale_msa[:, None]) + shift_msa[:, None]
        return normed, gate_msa, shift_mlp, scale_mlp, gate_mlp


class AdaLayerNormZeroFinal(nn.Module):
    def __init__(self, dim: int, extra_dim: int = 0) -> None:
        super().__init__()
        self.linear = nn.Linear(dim + extra_dim, dim * 2)
        self.norm = nn.LayerNorm(dim, elementwise_affine=False, eps=NORM_EPS)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        scale, shift = self.linear(F.silu(emb)).chunk(2, dim=1)  # scale first here, unlike the block norm
        return self.norm(x) * (1 + scale)[:, None, :] + shift[:, None, :]


class FeedForward(nn.Module):
    def __init__(self, dim: int, mult: float, dropout: float) -> None:
        super().__init__()
        inner = int(dim * mult)
        self.ff = nn.Sequential(nn.Sequential(nn.Linear(dim, inner), nn.GELU(approximate="tanh")),
                                nn.Dropout(dropout), nn.Linear(inner, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ff(x)
