"""Speech-token sampling: upstream's repetition-aware nucleus sampling ("ras"), vectorized on the device.

Upstream walks the sorted distribution in a Python loop and keeps a token while the probability mass
*before* it is below top_p and fewer than top_k are kept; here that is one sort, one cumsum and a mask.
If the drawn token already occurs at least win_size * tau_r times among the last win_size tokens, the
draw is replaced by one from the full (untempered) distribution, as upstream does.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SamplingConfig:
    temperature: float = 1.0
    top_p: float = 0.8
    top_k: int = 25
    win_size: int = 10
    tau_r: float = 0.1
    # Upstream: min_len = 2 x text tokens (EOS masked before), max_len = 20 x text tokens.
    min_token_text_ratio: float = 2.0
    max_token_text_ratio: float = 20.0

    def __post_init__(self) -> None:
        if self.temperature <= 0:
            raise ValueError("temperature must be > 0")
        if not 0 < self.top_p <= 1:
            raise ValueError("top_p must be in (0, 1]")
        if self.top_k < 1:
            raise ValueError("top_k must be >= 1")

    @property
    def greedy(self) -> bool:
        return self.top_k == 1


def nucleus_candidates(logp: torch.Tensor, config: SamplingConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Sorted candidate ids and their (unnormalized) probabilities; excluded candidates have weight 0."""
    probs = (logp / config.temperature).softmax(dim=-1)
    sorted_p, sorted_ids = probs.sort(dim=-1, descending=True, stable=True)
    mass_before = sorted_p.cumsum(dim=-1) - sorted_p
    rank = torch.arange(sorted_p.shape[-1], device=logp.device)
    keep = (mass_before < config.top_p) & (rank < config.top_k)
    keep[..., 0] = True  # the most likely token is always a candidate
    return sorted_ids, torch.where(keep, sorted_p, torch.zeros_like(sorted_p))


def sample_token(logp: torch.Tensor, recent: torch.Tensor, config: SamplingConfig,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """One token id (0-d tensor on logp's device) from log-probabilities [V].

    `recent` holds the last decoded ids (any length; only the last win_size count). top_k == 1 is plain
    argmax: deterministic, no random draw, no repetition fallback.
    """
    if config.greedy:
        return logp.argmax(dim=-1)
    sorted_ids, weights = nucleus_candidates(logp, config)
    # Drawing from the kept prefix only (not the zero-padded vector) consumes the generator exactly as
    # upstream does, so a seeded CPU run reproduces upstream's tokens (pinned by the golden test).
    kept = int((weights > 0).sum())
    choice = sorted_ids[:kept][torch.multinomial(weights[:kept], 1, replacement=True, generator=generator)][0]
    window = recent[-config.win_size:]  # padded with -1 before the first win_size tokens
    if int((window == choice).sum()) >= config.win_size * config.tau_r:
        choice = torch.multinomial(logp.softmax(dim=-1), 1, replacement=True, generator=generator)[0]
    return choice


def sample_token_on_device(logp: torch.Tensor, recent: torch.Tensor, config: SamplingConfig,
                           generator: torch.Generator | None = None) -> torch.Tensor:
    """The same distribution as sample_token without any host sync (GPU path).

    The nucleus draw uses the zero-padded candidate vector, and the full-distribution fallback is always
    drawn and selected with torch.where; so the generator is consumed differently from upstream.
    """
    if config.greedy:
        return logp.argmax(dim=-1)
    sorted_ids, weights = nucleus_candidates(logp, config)
    choice = sorted_ids[torch.multinomial(weights, 1, replacement=True, generator=generator)][0]
    fallback = torch.multinomial(logp.softmax(dim=-1), 1, replacement=True, generator=generator)[0]
    repeated = (recent[-config.win_size:] == choice).sum() >= config.win_size * config.tau_r
    return torch.where(repeated, fallback, choice)
