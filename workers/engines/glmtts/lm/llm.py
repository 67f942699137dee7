"""The speech-token LLM: a transformers Llama that continues [prompt text, text, <boa>, prompt speech].

Upstream (llm/glmtts.py) embeds everything with the one `embed_tokens` table, shifts prompt speech codes
by the id of `<|audio_0|>` only when both a prompt text and prompt speech are present (quirk Q7), masks
EOS (`<|user|>`) for the first 2 x text-token steps and stops after 20 x text tokens. We decode with a
real attention KV cache (prefill once, then one token per forward); `use_kv_cache=False` re-runs the
whole sequence every step, which only exists to measure what the cache saves.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import DynamicCache, LlamaForCausalLM

from workers.engines.glmtts.lm.sampling import Candidates, SamplingConfig, sample_token, sample_token_on_device

AUDIO_CODES = 32768
_SPECIAL_NAMES = {"ats": "<|audio_0|>", "ate": "<|audio_32767|>", "boa": "<|begin_of_audio|>",
                  "eoa": "<|user|>", "pad": "<|endoftext|>"}

StepHook = Callable[[int, torch.Tensor], None]


@dataclass(frozen=True)
class SpecialTokens:
    ats: int  # <|audio_0|>
    ate: int  # <|audio_32767|>
    boa: int  # <|begin_of_audio|>
    eoa: int  # <|user|>, the end of speech
    pad: int  # <|endoftext|>

    @classmethod
    def from_token_ids(cls, lookup: Callable[[str], list[int]]) -> SpecialTokens:
        """Resolve ids with a tokenizer, with upstream's checks (single id, not below <|endoftext|>)."""
        ids: dict[str, int] = {}
        floor = lookup(_SPECIAL_NAMES["pad"])[0]
        for key, name in _SPECIAL_NAMES.items():
            found = lookup(name)
            if len(found) != 1 or found[0] < floor:
                raise ValueError(f"Text tokenizer maps {name} to {found}; expected one id >= {floor}")
            ids[key] = found[0]
        tokens = cls(**ids)
        if tokens.ate - tokens.ats != AUDIO_CODES - 1:
            raise ValueError(f"Audio token block {tokens.ats}..{tokens.ate} is not {AUDIO_CODES} contiguous ids")
        return tokens

    @classmethod
    def from_fixture_vocab(cls, path: Path) -> SpecialTokens:
        return cls(**json.loads(path.read_text())["special_token_ids"])


class SequenceSampler:
    """One sequence's sampling state: its limits, its generator and its window of recent tokens.

    Both decode paths (one sequence here, many in lm/batching.py) draw through this, so a sequence gets the
    same tokens from the same log-probabilities whichever path runs it. Upstream: min_len = 2 x text tokens
    (EOS masked before), max_len = 20 x text tokens.
    """

    def __init__(self, sampling: SamplingConfig, n_text: int, *, eoa: int, device: torch.device,
                 generator: torch.Generator | None, exact: bool) -> None:
        self.sampling, self.eoa, self.generator = sampling, eoa, generator
        self.min_len = int(n_text * sampling.min_token_text_ratio)
        self.max_len = int(n_text * sampling.max_token_text_ratio)
        self.recent = torch.full((sampling.win_size,), -1, dtype=torch.long, device=device)
        self.sample = sample_token if exact else sample_token_on_device
        self.step = 0

    @property
    def exhausted(self) -> bool:
        return self.step >= self.max_len

    @property
    def eos_masked(self) -> bool:
        return self.step < self.min_len

    def masked(self, logp: torch.Tensor) -> torch.Tensor:
        """This step's log-probabilities with EOS masked while the sequence is shorter than min_len."""
        if not self.eos_masked:
            return logp
        logp = logp.clone()
        logp[..., self.eoa] = -float("inf")
        return logp

    def next_token(self, logp: torch.Tensor, candidates: Candidates | None = None) -> torch.Tensor:
        """The token (0-d device tensor) drawn from this step's log-probabilities [V]; `candidates` (the
        nucleus of the masked log-probabilities) when they were computed for many sequences at once."""
        token = self.sample(self.masked(logp), self.recent, self.sampling, self.generator, candidates)
        self.recent = torch.cat([self.recent[1:], token.view(1)])
        self.step += 1
        return token


class SpeechTokenLM:
    def __init__(self, model: LlamaForCausalLM, special: SpecialTokens) -> None:
        self.model = model.eval()
        self.special = special
        self.embed = model.get_input_embeddings()

    @classmethod
    def from_dir(cls, llm_dir: Path, special: SpecialTokens, *, device: str = "cpu",
                 dtype: torch.dtype = torch.float32) -> SpeechTokenLM:
        model = LlamaForCausalLM.from_pretrained(llm_dir, dtype=dtype)
        model.to(device)  # type: ignore[arg-type]  # transformers' decorator hides nn.Module.to's signature
        return cls(model, special)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def prompt_ids(self, prompt_text_ids: list[int], text_ids: list[int], prompt_speech: list[int]) -> torch.Tensor:
        """input_ids [1, N] in upstream's layout (speech codes shifted into the vocabulary, Q7)."""
        shift = self.special.ats if prompt_text_ids and prompt_speech else 0
        ids = [*prompt_text_ids, *text_ids, self.special.boa, *(code + shift for code in prompt_speech)]
        return torch.tensor([ids], dtype=torch.long, device=self.device)

    def generate(self, prompt_text_ids: list[int], text_ids: list[int], prompt_speech: list[int], *,
                 sampling: SamplingConfig, generator: torch.Generator | None = None, use_kv_cache: bool = True,
                 on_step: StepHook | None = None, sync_every: int = 1) -> Iterator[int]:
        """Yield speech codes (0..32767) as they are decoded; stops at EOS or max_len.

        sync_every=1 samples exactly as upstream (same generator draws, one host sync per token). A larger
        value keeps sampling on the device and reads tokens back every `sync_every` steps (one sync per
        batch; up to sync_every - 1 forwards after EOS are wasted): the GPU path.
        Deviation from upstream (Q8): EOS is masked before min_len for every sampler, so greedy decoding
        (top_k=1) cannot loop forever re-drawing EOS. `on_step(i, logp)` sees the raw log-probs of each step.
        """
        steps = self._token_steps(self.prompt_ids(prompt_text_ids, text_ids, prompt_speech), len(text_ids),
                                  sampling, generator, use_kv_cache, on_step, exact=sync_every == 1)
        with torch.inference_mode():
            while batch := list(itertools.islice(steps, max(1, sync_every))):
                for token_id in torch.stack(batch).tolist():
                    if token_id == self.special.eoa:
                        return
                    yield self.to_code(token_id)

    def _token_steps(self, sequence: torch.Tensor, n_text: int, sampling: SamplingConfig,
                     generator: torch.Generator | None, use_kv_cache: bool, on_step: StepHook | None, *,
                     exact: bool) -> Iterator[torch.Tensor]:
        """Sampled token ids as 0-d device tensors, one per forward; never reads them back itself."""
        state = SequenceSampler(sampling, n_text, eoa=self.special.eoa, device=self.device, generator=generator,
                                exact=exact)
        cache = DynamicCache() if use_kv_cache else None
        step_input = sequence
        with torch.inference_mode():
            while not state.exhausted:
                logp = self._next_logp(step_input, cache)
                if on_step is not None:
                    on_step(state.step, logp)
                token = state.next_token(logp)
                yield token
                next_ids = token.view(1, 1)
                step_input = next_ids if use_kv_cache else torch.cat([step_input, next_ids], dim=1)

    def _next_logp(self, input_ids: torch.Tensor, cache: DynamicCache | None) -> torch.Tensor:
        out = self.model(inputs_embeds=self.embed(input_ids), past_key_values=cache, use_cache=cache is not None,
                         logits_to_keep=1)
        return out.logits[0, -1].float().log_softmax(dim=-1)

    def to_code(self, token_id: int) -> int:
        code = token_id - self.special.ats
        if not 0 <= code < AUDIO_CODES:
            # Upstream only prints a warning and passes the id on; a non-audio id would index the flow's
            # token table out of range, so we stop with a clear error instead.
            raise ValueError(f"LLM produced non-speech token id {token_id}")
        return code
