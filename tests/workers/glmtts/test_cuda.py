"""The GPU paths (`pytest -m cuda`, run by bench/gpu_suite.sh; skipped where there is no CUDA device): bf16
LLM and flow, continuous batching and batched flow renders within a stated tolerance, sampling on the
device, CAM++ on CUDA, the GPU status and what an offload gives back."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch

from workers.control import gpu_status, release_gpu_memory
from workers.engines.base import AudioChunk, ReferenceClip
from workers.engines.glmtts.engine import GlmTtsEngine
from workers.engines.glmtts.lm.sampling import SamplingConfig, sample_token_on_device
from workers.engines.glmtts.lm.slots import SlotDecoder
from workers.engines.params import SynthesisParams

from .conftest import golden
from .expectations import TOLERANCES, llm_texts
from .tiny_ckpt import build_tiny_checkpoint

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")]
PROMPT_TEXT, TEXT = llm_texts()
# bf16 rounding of a batched product against a one-row one, on the log-probabilities of one step (ours:
# bf16 keeps 8 bits of mantissa, ~0.4 % relative, and a step sums a few hundred such products).
BATCHED_LOGP_ATOL = 0.1


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> GlmTtsEngine:
    engine = GlmTtsEngine(ckpt_dir=str(build_tiny_checkpoint(tmp_path_factory.mktemp("glmtts"))), max_batch=4)
    engine.load("cuda")
    return engine


def _voice(engine: GlmTtsEngine) -> ReferenceClip:
    wav = golden("00_waveforms")["wav24k"].numpy()
    return ReferenceClip(samples=wav, sample_rate=24000, sha256="c" * 64, prompt_text=PROMPT_TEXT)


def test_bf16_engine_speaks_on_cuda_with_jobs_batched(engine: GlmTtsEngine) -> None:
    assert next(engine.models.lm.model.parameters()).dtype == torch.bfloat16
    assert not engine.batcher.decoder.exact_rows  # one masked attention for the whole batch
    voice = engine.prepare_voice(preset=None, reference=_voice(engine))
    audio: dict[int, np.ndarray] = {}

    def run(seed: int) -> None:
        events = engine.synthesize(text=TEXT, voice=voice, params=SynthesisParams(seed=seed), cancel=threading.Event())
        audio[seed] = np.concatenate([e.samples for e in events if isinstance(e, AudioChunk)])

    threads = [threading.Thread(target=run, args=(seed,)) for seed in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sorted(audio) == [0, 1, 2] and all(np.isfinite(a).all() and len(a) for a in audio.values())


def test_flow_batching_is_on_by_default_and_rows_match_alone_within_tolerance(engine: GlmTtsEngine) -> None:
    batcher, flow = engine.flow_batcher, engine.models.acoustic.flow
    assert batcher is not None  # auto: on CUDA
    g = golden("e_flow")
    inputs = flow.prepare(*(g[k].to("cuda") for k in ("token", "prompt_token", "prompt_feat", "embedding")))
    noises = [torch.randn(1, inputs.condition.shape[1], 80, generator=torch.Generator().manual_seed(seed))
              .to("cuda", inputs.condition.dtype) for seed in range(3)]
    mels: dict[int, torch.Tensor] = {}
    batcher.gather_s = 2.0
    threads = [threading.Thread(target=lambda i=i: mels.__setitem__(i, batcher.render(inputs, noises[i])))
               for i in range(3)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    finally:
        batcher.gather_s = 0.005  # the module's engine serves the other CUDA tests
    assert sorted(mels) == [0, 1, 2] and batcher.max_rows >= 2
    for index, mel in mels.items():  # bf16: the bounds of the bf16 flow against float32
        drift = (mel.float() - flow.render(inputs, noises[index]).float()).abs()
        assert float(drift.mean()) < TOLERANCES["bf16_flow_mean_abs"]
        assert float(drift.max()) < TOLERANCES["bf16_flow_max_abs"]


def test_a_batched_step_matches_the_row_alone_within_tolerance(engine: GlmTtsEngine) -> None:
    lm = engine.models.lm
    gold = golden("d_llm")
    prompt = lm.prompt_ids(gold["prompt_text_ids"][0].tolist(), gold["text_ids"][0].tolist(),
                           gold["prompt_speech_ids"][0].tolist())
    with torch.inference_mode():
        alone, batched = SlotDecoder(lm.model, 4), SlotDecoder(lm.model, 4)
        alone.prefill(0, lm.embed(prompt))
        for slot in range(4):
            batched.prefill(slot, lm.embed(prompt[:, : prompt.shape[1] - 3 * slot]))
        lengths = [prompt.shape[1] - 3 * slot for slot in range(4)]
        tokens = torch.full((4,), lm.special.ats + 5, device=lm.device)
        one = alone.step(tokens, [lengths[0], 0, 0, 0], [0])[0]
        many = batched.step(tokens, lengths, [0, 1, 2, 3])[0]
    assert (one - many).abs().max().item() < BATCHED_LOGP_ATOL


def test_sampling_stays_on_the_device() -> None:
    logp = torch.randn(32768, device="cuda").log_softmax(-1)
    recent = torch.full((10,), -1, device="cuda")
    token = sample_token_on_device(logp, recent, SamplingConfig(), torch.Generator(device="cuda").manual_seed(0))
    assert token.device.type == "cuda" and 0 <= int(token) < 32768


@pytest.mark.skipif("CUDAExecutionProvider" not in onnxruntime.get_available_providers(),
                    reason="this onnxruntime has no CUDA provider")
def test_campplus_runs_on_the_cuda_provider(engine: GlmTtsEngine) -> None:
    assert engine.models.campplus.session.get_providers()[0] == "CUDAExecutionProvider"


def test_gpu_status_and_offload_give_memory_back(tmp_path: Path) -> None:
    engine = GlmTtsEngine(ckpt_dir=str(build_tiny_checkpoint(tmp_path / "glmtts")))
    engine.load("cuda")
    loaded = gpu_status("cuda")
    assert loaded is not None and loaded["total_mib"] > 0 and loaded["allocated_mib"] > 0
    engine.unload()
    release_gpu_memory("cuda")
    after = gpu_status("cuda")
    assert after is not None and after["allocated_mib"] < loaded["allocated_mib"]
