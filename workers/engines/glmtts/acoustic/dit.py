"""The flow-matching velocity estimator of GLM-TTS: a DiT over [noisy mel | condition | token features].

State-dict names match upstream's `flow/dit.py` + `flow/modules.py` (`estimator.*` inside flow.pt).
Non-streaming use: attention is unmasked (like upstream with is_causal=False); padded frames only have
their attention output zeroed. Streaming callers may pass a boolean `attn_mask` ([B, heads|1, T, T]).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from workers.engines.glmtts.acoustic.dit_modules import (
    AdaLayerNormZero,
    AdaLayerNormZeroFinal,
    EmbeddingConcater,
    FeedForward,
    RotaryEmbedding,
    TextEmbedding,
    TimestepEmbedding,
    apply_rotary,
)
from workers.engines.glmtts.acoustic.flow_config import SPEAKER_EMBEDDING_DIM, DiTConfig

WAVLM_EMBEDDING_DIM = 256


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int, dim_head: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        inner = heads * dim_head
        self.to_q = nn.Linear(dim, inner)
        self.to_k = nn.Linear(dim, inner)
        self.to_v = nn.Linear(dim, inner)
        self.to_out = nn.ModuleList([nn.Linear(inner, dim), nn.Dropout(dropout)])

    def forward(self, x: torch.Tensor, keep: torch.Tensor, rope: torch.Tensor,
                attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        batch = x.shape[0]
        # Deliberately as upstream (quirk Q12): RoPE of width dim_head is applied before the head split,
        # so only head 0 is rotated. The trained weights expect exactly this.
        q = apply_rotary(self.to_q(x), rope)
        k = apply_rotary(self.to_k(x), rope)
        v = self.to_v(x)
        q, k, v = (t.view(batch, -1, self.heads, t.shape[-1] // self.heads).transpose(1, 2) for t in (q, k, v))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        out = out.transpose(1, 2).reshape(batch, -1, q.shape[1] * q.shape[-1])
        out = self.to_out[1](self.to_out[0](out))
        return out.masked_fill(~keep.unsqueeze(-1), 0.0)


class DiTBlock(nn.Module):
    def __init__(self, dim: int, heads: int, dim_head: int, ff_mult: float, dropout: float, extra_dim: int) -> None:
        super().__init__()
        self.attn_norm = AdaLayerNormZero(dim, extra_dim)
        self.attn = Attention(dim, heads, dim_head, dropout)
        self.ff_norm = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.ff = FeedForward(dim, ff_mult, dropout)

    def forward(self, x: torch.Tensor, emb: torch.Tensor, keep: torch.Tensor, rope: torch.Tensor,
                attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        normed, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.attn_norm(x, emb)
        x = x + gate_msa.unsqueeze(1) * self.attn(normed, keep, rope, attn_mask)
        normed = self.ff_norm(x) * (1 + scale_mlp[:, None]) + shift_mlp[:, None]
        return x + gate_mlp.unsqueeze(1) * self.ff(normed)


class DiT(nn.Module):
    def __init__(self, config: DiTConfig) -> None:
        super().__init__()
        if config.text_emb_dim is None:
            raise ValueError("DiT needs text_emb_dim")
        self.config = config
        dim = config.trans_dim
        self.time_embed = TimestepEmbedding(dim)
        self.text_emb_layer = TextEmbedding(config.text_vocab_size, config.text_emb_dim, config.conv_layers)
        self.emb_concator = EmbeddingConcater(config.mel_dim + config.text_emb_dim + config.condition_dim, dim)
        self.rotary_embed = RotaryEmbedding(config.dim_head)
        extra = self.speaker_dim
        self.transformer_blocks = nn.ModuleList(
            [DiTBlock(dim, config.heads, config.dim_head, config.ff_mult, config.dropout, extra)
             for _ in range(config.depth)])
        self.long_skip_connection = nn.Linear(dim * 2, dim, bias=False) if config.long_skip_connection else None
        self.norm_out = AdaLayerNormZeroFinal(dim, extra)
        self.proj_out = nn.Linear(dim, config.mel_dim)

    @property
    def speaker_dim(self) -> int:
        """Width of the speaker vector appended to the time embedding (0 without speaker AdaLN)."""
        if not self.config.spkr_emb_adaLN:
            return 0
        return SPEAKER_EMBEDDING_DIM + (WAVLM_EMBEDDING_DIM if self.config.wav_lm_emb else 0)

    def forward(self, middle_point_btd: torch.Tensor, condition_btd: torch.Tensor, text: torch.Tensor,
                time_step_1d: torch.Tensor, padding_mask_bt: torch.Tensor, spkr_emb_bd: torch.Tensor | None = None,
                attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Velocity [B, T, mel] for state x_t (`middle_point_btd`) at flow times `time_step_1d` ([B] or [1]).

        `text` holds the raw speech tokens [B, N] (resampled to T frames inside); `padding_mask_bt` is True
        on real frames. Keyword names follow upstream's so its recorded call arguments can be replayed.
        """
        batch, n_frames = middle_point_btd.shape[:2]
        emb = self.time_embed(time_step_1d).expand(batch, -1)
        if self.speaker_dim:
            if spkr_emb_bd is None:
                raise ValueError("this DiT conditions AdaLN on a speaker embedding; pass spkr_emb_bd")
            emb = torch.cat((emb, spkr_emb_bd), dim=-1)
        tokens = self.text_emb_layer(text, n_frames)
        x = self.emb_concator(middle_point_btd, condition_btd, tokens)
        rope = self.rotary_embed.angles(n_frames)
        keep = padding_mask_bt.bool()
        residual = x
        for block in self.transformer_blocks:
            x = block(x, emb, keep, rope, attn_mask)
        if self.long_skip_connection is not None:
            x = self.long_skip_connection(torch.cat((x, residual), dim=-1))
        return self.proj_out(self.norm_out(x, emb))
