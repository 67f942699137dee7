"""Batched flow renders (acoustic/flow_batching.py): chunks of one shape from several callers share a solve
and each gets its own mel (within the flow's tolerance of rendering it alone: batched rows are not
bit-exact), other shapes are rendered on their own, a failed render fails only its callers, and a closed
renderer ends every wait. Through the engine with flow batching on: concurrent jobs share renders and
each job's audio stays within tolerance of the job alone."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from workers.engines.base import AudioChunk, ReferenceClip
from workers.engines.glmtts.acoustic.flow import FlowInputs, FlowModel
from workers.engines.glmtts.acoustic.flow_batching import FlowBatcher, FlowBatcherClosed
from workers.engines.glmtts.engine import GlmTtsEngine
from workers.engines.params import SynthesisParams

from .conftest import golden
from .expectations import TOLERANCES, llm_texts
from .test_batching import _concurrently
from .tiny_ckpt import build_tiny_checkpoint

MEL_ATOL = TOLERANCES["flow_mel"]
PROMPT_TEXT, TEXT = llm_texts()


@pytest.fixture(scope="module")
def flow(ckpt_dir: Path) -> FlowModel:
    return FlowModel.from_dir(ckpt_dir / "flow")


def _request(flow: FlowModel, tokens: int, seed: int) -> tuple[FlowInputs, torch.Tensor]:
    g = golden("e_flow")
    inputs = flow.prepare(g["token"][:, :tokens], g["prompt_token"], g["prompt_feat"], g["embedding"])
    generator = torch.Generator().manual_seed(seed)
    return inputs, torch.randn(1, inputs.condition.shape[1], flow.config.mel_dim, generator=generator)


def _render_all(batcher: FlowBatcher, requests: list[tuple[FlowInputs, torch.Tensor]]) -> list[torch.Tensor]:
    return _concurrently([functools.partial(batcher.render, *request) for request in requests])


def test_chunks_of_one_shape_share_a_render_and_each_gets_its_own_mel(flow: FlowModel) -> None:
    requests = [_request(flow, 20, seed) for seed in range(4)]
    batcher = FlowBatcher(flow, max_batch=4, gather_s=2.0)  # generous: all four arrive within it on a busy CI
    try:
        together = _render_all(batcher, requests)
    finally:
        assert batcher.close()
    alone = [flow.render(*request) for request in requests]
    for mel, expected in zip(together, alone, strict=True):
        assert mel.shape == expected.shape
        torch.testing.assert_close(mel, expected, atol=MEL_ATOL, rtol=0)
    assert not torch.equal(alone[0], alone[1])  # each caller's own noise, not a neighbour's mel
    assert batcher.max_rows == 4 and batcher.renders == 1


def test_other_shapes_render_on_their_own(flow: FlowModel) -> None:
    requests = [_request(flow, 20, 0), _request(flow, 17, 1)]
    batcher = FlowBatcher(flow, max_batch=4, gather_s=0.2)
    try:
        together = _render_all(batcher, requests)
    finally:
        assert batcher.close()
    assert [mel.shape for mel in together] == [flow.render(*request).shape for request in requests]
    assert batcher.max_rows == 1 and batcher.renders == 2


def test_a_failed_render_fails_its_caller_and_the_next_one_renders(flow: FlowModel) -> None:
    inputs, noise = _request(flow, 20, 0)
    batcher = FlowBatcher(flow, max_batch=2, gather_s=0.0)
    try:
        with pytest.raises(RuntimeError):
            batcher.render(inputs, noise[:, :-5])  # noise of the wrong length
        torch.testing.assert_close(batcher.render(inputs, noise), flow.render(inputs, noise), atol=MEL_ATOL, rtol=0)
    finally:
        assert batcher.close()


def test_a_closed_renderer_refuses_and_ends_waits(flow: FlowModel) -> None:
    batcher = FlowBatcher(flow, max_batch=2)
    batcher.render(*_request(flow, 20, 0))
    assert batcher.close() and not batcher.running
    with pytest.raises(FlowBatcherClosed):
        batcher.render(*_request(flow, 20, 1))


@pytest.fixture(scope="module")
def flow_batching_engine(tmp_path_factory: pytest.TempPathFactory) -> GlmTtsEngine:
    engine = GlmTtsEngine(ckpt_dir=str(build_tiny_checkpoint(tmp_path_factory.mktemp("glmtts"))), max_batch=3,
                          flow_batching="on")
    engine.load("cpu")
    return engine


def test_jobs_with_flow_batching_share_renders_and_sound_as_alone(flow_batching_engine: GlmTtsEngine) -> None:
    engine = flow_batching_engine
    assert engine.flow_batcher is not None
    wav = golden("00_waveforms")["wav24k"].numpy()
    voice = engine.prepare_voice(preset=None, reference=ReferenceClip(
        samples=wav, sample_rate=24000, sha256="f" * 64, prompt_text=PROMPT_TEXT))
    seeds = [1, 2, 3]

    def synthesize(seed: int) -> Callable[[], np.ndarray]:
        def run() -> np.ndarray:
            events = engine.synthesize(text=TEXT, voice=voice, params=SynthesisParams(seed=seed),
                                       cancel=threading.Event())
            return np.concatenate([e.samples for e in events if isinstance(e, AudioChunk)])
        return run

    alone = [synthesize(seed)() for seed in seeds]
    engine.flow_batcher.gather_s = 1.0  # the jobs reach each chunk boundary within it, however busy CI is
    try:
        together = _concurrently([synthesize(seed) for seed in seeds])
    finally:
        engine.flow_batcher.gather_s = 0.005
    assert engine.flow_batcher.max_rows >= 2  # chunks of different jobs did share a render
    for audio, expected in zip(together, alone, strict=True):
        assert audio.shape == expected.shape
        np.testing.assert_allclose(audio, expected, atol=MEL_ATOL, rtol=0)


def test_flow_batching_is_off_on_a_cpu_unless_asked(tmp_path: Path) -> None:
    engine = GlmTtsEngine(ckpt_dir=str(build_tiny_checkpoint(tmp_path / "glmtts")), max_batch=4)
    engine.load("cpu")
    try:
        assert engine.flow_batcher is None  # auto: CUDA only
    finally:
        engine.unload()
    with pytest.raises(ValueError):
        GlmTtsEngine(ckpt_dir="x", flow_batching="sometimes")
