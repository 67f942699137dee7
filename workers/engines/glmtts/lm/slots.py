"""The batched decode step of continuous batching: a fixed set of sequence slots over the LLM's weights.

Why our own step rather than transformers' forward with one of its caches: every sequence here has its own
length, and transformers' caches write all rows of a batch at one cache position (its continuous-batching
manager, generation/continuous_batching, samples with one generation config for the whole batch, not with
each request's own seeded generator and repetition-aware fallback). The step reuses the model's own modules
(norms, projections, rotary embedding, MLP) and only does the bookkeeping itself.

A job's tokens must not depend on which other jobs share its steps (on a CPU: byte-identical audio):
- the step always computes all `slots` rows, busy or not, so every matrix product has one shape; a row's
  result then does not depend on the other rows, whereas products of 1, 2 or 3 rows take other kernels
  with other rounding (measured with MKL on this project's CPUs; tests/workers/glmtts/test_batching.py);
- on a CPU each busy row attends over exactly its own length (a padded, masked batch would sum in another
  order); on CUDA one masked attention over the padded rows (equal within the tested tolerance).
A prefill runs alone through transformers' forward; its keys and values are then copied into the slot.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from transformers import DynamicCache, LlamaForCausalLM
from transformers.cache_utils import DynamicLayer
from transformers.models.llama.modeling_llama import LlamaAttention, LlamaDecoderLayer, apply_rotary_pos_emb

DEFAULT_CAPACITY = 8192  # positions per slot, at most (the model's max_position_embeddings when lower)


class SlotDecoder:
    """`slots` sequences' key/value caches (fixed capacity: strides never change) and the batched step."""

    def __init__(self, model: LlamaForCausalLM, slots: int, *, capacity: int = DEFAULT_CAPACITY) -> None:
        config, parameter = model.config, next(model.parameters())
        self.model, self.slots = model, slots
        self.capacity = min(capacity, config.max_position_embeddings)
        self.heads, self.kv_heads = int(config.num_attention_heads), int(config.num_key_value_heads or 0)
        self.head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads)
        self.device, self.dtype = parameter.device, parameter.dtype
        shape = (slots, self.kv_heads, self.capacity, self.head_dim)
        layers = config.num_hidden_layers
        self.keys = [torch.zeros(shape, dtype=self.dtype, device=self.device) for _ in range(layers)]
        self.values = [torch.zeros(shape, dtype=self.dtype, device=self.device) for _ in range(layers)]
        self.row_ids = torch.arange(slots, device=self.device)
        self.exact_rows = self.device.type == "cpu"

    def prefill(self, slot: int, embeds: torch.Tensor) -> torch.Tensor:
        """Run a prompt [1, P, hidden] alone, keep its keys/values in `slot`; log-probs [V] of the next token."""
        length = embeds.shape[1]
        if length >= self.capacity:
            raise ValueError(f"A prompt of {length} tokens does not fit a decode slot of {self.capacity}")
        cache = DynamicCache()
        out = self.model(inputs_embeds=embeds, past_key_values=cache, use_cache=True, logits_to_keep=1)
        for index, layer in enumerate(cache.layers):
            assert isinstance(layer, DynamicLayer) and layer.keys is not None and layer.values is not None
            self.keys[index][slot, :, :length] = layer.keys[0]
            self.values[index][slot, :, :length] = layer.values[0]
        return out.logits[0, -1].float().log_softmax(dim=-1)

    def step(self, tokens: torch.Tensor, lengths: list[int], busy: list[int]) -> torch.Tensor:
        """One token for every slot: `tokens` [slots] ids, `lengths[slot]` its cached positions; the new
        token goes to that position. Returns log-probs [slots, V]; only the `busy` rows mean anything."""
        model = self.model.model
        positions = torch.tensor(lengths, device=self.device)
        if max(lengths) >= self.capacity:
            raise ValueError(f"A sequence outgrew its decode slot ({self.capacity} positions)")
        hidden = model.embed_tokens(tokens.view(-1, 1))  # [slots, 1, hidden]
        rotary = model.rotary_emb(hidden, positions.view(-1, 1))
        for index, layer in enumerate(model.layers):
            assert isinstance(layer, LlamaDecoderLayer)
            attended = self._attention(index, layer.self_attn, layer.input_layernorm(hidden), rotary, positions,
                                       lengths, busy)
            hidden = hidden + attended
            hidden = hidden + layer.mlp(layer.post_attention_layernorm(hidden))
        logits = self.model.lm_head(model.norm(hidden))[:, -1]
        return logits.float().log_softmax(dim=-1)

    def _attention(self, index: int, attn: LlamaAttention, x: torch.Tensor,
                   rotary: tuple[torch.Tensor, torch.Tensor], positions: torch.Tensor, lengths: list[int],
                   busy: list[int]) -> torch.Tensor:
        rows = x.shape[0]
        q = attn.q_proj(x).view(rows, 1, self.heads, self.head_dim).transpose(1, 2)
        k = attn.k_proj(x).view(rows, 1, self.kv_heads, self.head_dim).transpose(1, 2)
        v = attn.v_proj(x).view(rows, 1, self.kv_heads, self.head_dim).transpose(1, 2)
        q, k = apply_rotary_pos_emb(q, k, *rotary)
        keys, values = self.keys[index], self.values[index]
        keys[self.row_ids, :, positions] = k[:, :, 0]
        values[self.row_ids, :, positions] = v[:, :, 0]
        if self.exact_rows:
            out = torch.zeros_like(q)
            for row in busy:
                end = lengths[row] + 1
                out[row:row + 1] = F.scaled_dot_product_attention(
                    q[row:row + 1], keys[row:row + 1, :, :end], values[row:row + 1, :, :end],
                    scale=attn.scaling, enable_gqa=True)
        else:
            end = max(lengths) + 1
            mask = (torch.arange(end, device=self.device)[None, :] <= positions[:, None]).view(rows, 1, 1, end)
            out = F.scaled_dot_product_attention(q, keys[:, :, :end], values[:, :, :end], attn_mask=mask,
                                                 scale=attn.scaling, enable_gqa=True)
        return attn.o_proj(out.transpose(1, 2).reshape(rows, 1, self.heads * self.head_dim))
