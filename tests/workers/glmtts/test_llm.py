"""Golden d: the speech-token LLM reproduces upstream's prompt layout, logits and greedy tokens."""

from __future__ import annotations

import pytest
import torch

from workers.engines.glmtts.lm.llm import SpeechTokenLM
from workers.engines.glmtts.lm.sampling import SamplingConfig

from .conftest import golden
from .expectations import TOLERANCES

GREEDY = SamplingConfig(top_k=1)


@pytest.fixture(scope="module")
def gold() -> dict[str, torch.Tensor]:
    return golden("d_llm")


def _prompt(gold: dict[str, torch.Tensor]) -> tuple[list[int], list[int], list[int]]:
    return (gold["prompt_text_ids"][0].tolist(), gold["text_ids"][0].tolist(), gold["prompt_speech_ids"][0].tolist())


def test_prompt_layout_and_embeddings_match_upstream(lm: SpeechTokenLM, gold: dict[str, torch.Tensor]) -> None:
    ids = lm.prompt_ids(*_prompt(gold))
    assert torch.equal(ids, gold["input_ids"])
    torch.testing.assert_close(lm.embed(ids), gold["inputs_embeds_prefill"], atol=TOLERANCES["float32_ops"], rtol=0)


def test_speech_shift_only_with_both_prompts(lm: SpeechTokenLM) -> None:
    # Quirk Q7: without a prompt text the speech codes are NOT shifted into the audio-token block.
    assert lm.prompt_ids([], [1, 2], [5])[0].tolist() == [1, 2, lm.special.boa, 5]
    assert lm.prompt_ids([9], [1], [5])[0].tolist() == [9, 1, lm.special.boa, 5 + lm.special.ats]


def test_greedy_decode_with_kv_cache_matches_golden(lm: SpeechTokenLM, gold: dict[str, torch.Tensor]) -> None:
    steps: list[torch.Tensor] = []
    tokens = list(lm.generate(*_prompt(gold), sampling=GREEDY, on_step=lambda _i, logp: steps.append(logp)))
    assert tokens == gold["greedy_tokens"].tolist()
    assert len(steps) == len(gold["greedy_logp_top5_values"])  # one per upstream forward call, the EOS step too
    golden_first = gold["greedy_logits_first_steps"]
    first = torch.stack(steps[:len(golden_first)])
    # Golden holds raw logits; ours are log-probs: compare after log_softmax.
    torch.testing.assert_close(first, golden_first.log_softmax(-1), atol=TOLERANCES["llm_logits"], rtol=0)
    top5 = torch.stack(steps).topk(gold["greedy_logp_top5_values"].shape[1], dim=-1)
    torch.testing.assert_close(top5.values, gold["greedy_logp_top5_values"], atol=TOLERANCES["llm_logits"], rtol=0)
    assert torch.equal(top5.indices, gold["greedy_logp_top5_ids"])


def test_full_recompute_gives_the_same_tokens(lm: SpeechTokenLM, gold: dict[str, torch.Tensor]) -> None:
    cached = list(lm.generate(*_prompt(gold), sampling=GREEDY))[:40]
    uncached: list[int] = []
    for code in lm.generate(*_prompt(gold), sampling=GREEDY, use_kv_cache=False):
        uncached.append(code)
        if len(uncached) == 40:
            break
    assert cached == uncached == gold["greedy_tokens"][:40].tolist()


def test_eos_is_masked_before_min_len(lm: SpeechTokenLM, gold: dict[str, torch.Tensor]) -> None:
    prompt_text, text, speech = _prompt(gold)
    greedy = gold["greedy_tokens"].tolist()
    eos_step_ids = gold["greedy_logp_top5_ids"][-1].tolist()  # the forward call after the last greedy code
    assert eos_step_ids[0] == lm.special.eoa and eos_step_ids[1] >= lm.special.ats  # golden: EOS, then a code
    # A min_len past the golden greedy length masks EOS at that step, so decoding must go on with the
    # runner-up there (upstream's top-k sampler would loop forever re-drawing EOS, quirk Q8).
    config = SamplingConfig(top_k=1, min_token_text_ratio=1 + len(greedy) / len(text))
    tokens = list(lm.generate(prompt_text, text, speech, sampling=config))
    assert len(tokens) > len(greedy)
    assert tokens[:len(greedy)] == greedy and tokens[len(greedy)] == eos_step_ids[1] - lm.special.ats


def test_ras_sampling_reproduces_upstream_with_the_same_seed(lm: SpeechTokenLM, gold: dict[str, torch.Tensor]) -> None:
    # Upstream ran seed_util.set_seed(0), then its default sampler (top_p 0.8, top_k 25, window 10, tau_r 0.1).
    generator = torch.Generator().manual_seed(0)
    tokens = list(lm.generate(*_prompt(gold), sampling=SamplingConfig(), generator=generator))
    assert tokens == gold["ras_seed0_tokens"].tolist()
