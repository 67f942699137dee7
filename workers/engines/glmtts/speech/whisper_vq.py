"""WhisperVQ quantize-encoder: the part of GLM-TTS's speech tokenizer that turns log-mels into 25 Hz codes.

Only the inference path upstream uses is implemented: two (optionally causal) convolutions, learned positions,
the encoder layers below `quantize_position` with block-causal (or causal) self-attention, pooling, and
nearest-codebook quantization followed by the second position table. Parameter names match upstream's
`WhisperVQEncoder` state dict (after its loader strips `model.encoder.`) so checkpoints load strictly.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from torch import nn
from torch.nn import functional as F

_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "gelu": F.gelu,
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
    "silu": F.silu,
    "swish": F.silu,
}


@dataclass(frozen=True)
class WhisperVQConfig:
    """The config.json fields the quantize-encoder depends on (WhisperVQConfig defaults where absent)."""

    d_model: int
    encoder_attention_heads: int
    encoder_ffn_dim: int
    encoder_layers: int
    num_mel_bins: int = 128
    max_source_positions: int = 1500
    activation_function: str = "gelu"
    pooling_kernel_size: int | None = None
    pooling_type: str = "max"
    pooling_position: int = 0
    quantize_vocab_size: int | None = None
    quantize_position: int = 16
    quantize_causal_block_size: int | None = None
    quantize_causal_encoder: bool = False
    encoder_causal_attention: bool = False
    encoder_causal_convolution: bool = False
    quantize_ema_decay: float | None = None

    @classmethod
    def from_json(cls, path: Path) -> WhisperVQConfig:
        raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        known = {name: raw[name] for name in cls.__dataclass_fields__ if name in raw}
        config = cls(**known)
        config.validate()
        return config

    def validate(self) -> None:
        """Reject combinations upstream's inference path cannot run (or would silently mis-handle)."""
        if self.quantize_vocab_size is None:
            raise ValueError("quantize_vocab_size is not set: this checkpoint has no codebook to tokenize with")
        if not 1 <= self.quantize_position <= self.encoder_layers:
            raise ValueError(f"quantize_position {self.quantize_position} must be in [1, {self.encoder_layers}]")
        if self.d_model % self.encoder_attention_heads:
            raise ValueError(f"d_model {self.d_model} is not divisible by {self.encoder_attention_heads} heads")
        if self.activation_function not in _ACTIVATIONS:
            raise ValueError(f"Unsupported activation_function {self.activation_function!r}")
        if self.pooling_kernel_size is not None:
            if self.pooling_type not in ("avg", "max"):
                raise ValueError(f"Unsupported pooling_type {self.pooling_type!r} (expected 'avg' or 'max')")
            # Upstream pools after layer `pooling_position`; outside this range it would never pool and then
            # fail on the token mask, so refuse it up front.
            if not 1 <= self.pooling_position <= self.quantize_position:
                raise ValueError(f"pooling_position {self.pooling_position} must be in [1, {self.quantize_position}]"
                                 " when pooling_kernel_size is set")

    @property
    def vocab_size(self) -> int:
        if self.quantize_vocab_size is None:
            raise ValueError("quantize_vocab_size is not set")
        return self.quantize_vocab_size

    @property
    def pooling(self) -> int:
        return self.pooling_kernel_size or 1

    @property
    def causal_attention(self) -> bool:
        return self.encoder_causal_attention or self.quantize_causal_encoder


class _Conv1d(nn.Conv1d):
    """Kernel-3 convolution: symmetric padding 1, or left-only padding 2 when causal."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, causal: bool) -> None:
        super().__init__(in_channels, out_channels, kernel_size=3, stride=stride, padding=0 if causal else 1)
        self.left_pad = 2 if causal else 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, (self.left_pad, 0)) if self.left_pad else x)


class _SelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.k_proj = nn.Linear(dim, dim, bias=False)
        self.v_proj = nn.Linear(dim, dim)
        self.q_proj = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        batch, length, dim = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, length, self.heads, dim // self.heads).transpose(1, 2)

        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=mask is None)
        return self.out_proj(out.transpose(1, 2).reshape(batch, length, dim))


class _EncoderLayer(nn.Module):
    """Pre-norm transformer block (self-attention, then feed-forward)."""

    def __init__(self, config: WhisperVQConfig) -> None:
        super().__init__()
        dim = config.d_model
        self.self_attn = _SelfAttention(dim, config.encoder_attention_heads)
        self.self_attn_layer_norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, config.encoder_ffn_dim)
        self.fc2 = nn.Linear(config.encoder_ffn_dim, dim)
        self.final_layer_norm = nn.LayerNorm(dim)
        self.activation = _ACTIVATIONS[config.activation_function]

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        x = x + self.self_attn(self.self_attn_layer_norm(x), mask)
        return x + self.fc2(self.activation(self.fc1(self.final_layer_norm(x))))


def block_causal_bias(key_valid: torch.Tensor, block: int | None, dtype: torch.dtype) -> torch.Tensor:
    """Additive attention bias [B, 1, T, T]: a query sees earlier frames and its own block, never padding."""
    length = key_valid.shape[1]
    if block is None:
        allowed = key_valid.bool()[:, None, None, :]
    else:
        pos = torch.arange(length, device=key_valid.device)
        causal = pos[None, :] <= pos[:, None]
        same_block = (pos[None, :] // block) == (pos[:, None] // block)
        allowed = (causal | same_block)[None] & key_valid.bool()[:, None, :]
        allowed = allowed[:, None]
    # finfo.min rather than -inf, as upstream, so a fully masked row would stay finite.
    return (~allowed).to(dtype) * torch.finfo(dtype).min


@dataclass(frozen=True)
class EncoderOutput:
    tokens: torch.Tensor  # [B, T'] int64 codebook indices
    hidden: torch.Tensor  # [B, T', d_model]: codebook vectors + second position table
    token_mask: torch.Tensor  # [B, T'] 1 where the token covers real audio


class WhisperVQEncoder(nn.Module):
    def __init__(self, config: WhisperVQConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        dim, causal = config.d_model, config.encoder_causal_convolution
        self.conv1 = _Conv1d(config.num_mel_bins, dim, stride=1, causal=causal)
        self.conv2 = _Conv1d(dim, dim, stride=2, causal=causal)
        self.embed_positions = nn.Embedding(config.max_source_positions, dim)
        self.layers = nn.ModuleList(_EncoderLayer(config) for _ in range(config.quantize_position))
        self.codebook = nn.Embedding(config.vocab_size, dim)
        self.embed_positions2 = nn.Embedding(math.ceil(config.max_source_positions / config.pooling), dim)
        if config.quantize_ema_decay is not None:
            # Training-only statistics; registered so a strict load accepts checkpoints that carry them.
            self.register_buffer("ema_count", torch.ones(config.vocab_size))
            self.register_buffer("ema_weight", torch.zeros(config.vocab_size, dim))

    @property
    def frames_per_token(self) -> int:
        """Feature frames consumed per output token (conv strides x pooling)."""
        return self.conv1.stride[0] * self.conv2.stride[0] * self.config.pooling

    def _mask(self, key_valid: torch.Tensor, block: int | None, dtype: torch.dtype) -> torch.Tensor | None:
        if self.config.causal_attention:
            return None  # upstream's causal layers ignore the padding mask and attend causally
        return block_causal_bias(key_valid, block, dtype)

    def _pool(self, hidden: torch.Tensor) -> torch.Tensor:
        kernel = self.config.pooling
        x = hidden.transpose(1, 2)
        if x.shape[-1] % kernel:
            x = F.pad(x, (0, kernel - x.shape[-1] % kernel))  # zero-padded, as upstream
        x = F.avg_pool1d(x, kernel) if self.config.pooling_type == "avg" else F.max_pool1d(x, kernel)
        return x.transpose(1, 2)

    def quantize(self, hidden: torch.Tensor) -> torch.Tensor:
        """Index of the nearest codebook vector (squared L2, first index on ties) for every frame."""
        flat = hidden.reshape(-1, hidden.shape[-1])
        codebook = self.codebook.weight
        # Same expansion |c|^2 + |x|^2 - 2 x.c as upstream, so near-ties resolve identically.
        distances = torch.addmm((codebook**2).sum(dim=1) + (flat**2).sum(dim=1, keepdim=True),
                                flat, codebook.t(), alpha=-2.0, beta=1.0)
        return distances.argmin(dim=1).reshape(hidden.shape[:-1])

    def forward(self, input_features: torch.Tensor, attention_mask: torch.Tensor) -> EncoderOutput:
        """input_features [B, mels, frames] (frames a multiple of frames_per_token), attention_mask [B, frames]."""
        config = self.config
        x = F.gelu(self.conv1(input_features))
        x = F.gelu(self.conv2(x)).transpose(1, 2)
        valid = attention_mask[:, :: self.conv1.stride[0] * self.conv2.stride[0]]
        x = x + self.embed_positions.weight[: x.shape[1]]
        block = config.quantize_causal_block_size
        mask = self._mask(valid, block, x.dtype)
        for index, layer in enumerate(self.layers, start=1):
            x = layer(x, mask)
            if config.pooling_kernel_size is not None and index == config.pooling_position:
                x = self._pool(x)
                valid = valid[:, :: config.pooling]
                block = None if block is None else block // config.pooling
                mask = self._mask(valid, block, x.dtype)
        tokens = self.quantize(x)
        hidden = self.codebook(tokens) + self.embed_positions2.weight[: tokens.shape[1]]
        return EncoderOutput(tokens=tokens, hidden=hidden, token_mask=valid)


def load_encoder_state(model_dir: Path, quantize_position: int) -> dict[str, torch.Tensor]:
    """The `model.encoder.*` tensors of every model*.safetensors, minus the final norm and deeper layers."""
    files = sorted(model_dir.glob("model*.safetensors"))
    if not files:
        raise FileNotFoundError(f"No model*.safetensors in {model_dir}")
    prefix, state = "model.encoder.", {}
    for file in files:
        with safe_open(str(file), framework="pt", device="cpu") as handle:
            for key in handle.keys():  # noqa: SIM118 - safe_open handles are not iterable
                if not key.startswith(prefix):
                    continue
                name = key[len(prefix):]
                if name.startswith("layer_norm"):
                    continue  # only used after the full encoder, which quantize-only inference never reaches
                if name.startswith("layers.") and int(name.split(".")[1]) >= quantize_position:
                    continue
                state[name] = handle.get_tensor(key)
    return state


def load_whisper_vq(model_dir: Path, device: torch.device | str = "cpu") -> WhisperVQEncoder:
    """Build from config.json and strictly load the quantize-encoder weights (upstream's filtering, Q6)."""
    config = WhisperVQConfig.from_json(model_dir / "config.json")
    model = WhisperVQEncoder(config)
    model.load_state_dict(load_encoder_state(model_dir, config.quantize_position), strict=True)
    return model.to(device).eval()
