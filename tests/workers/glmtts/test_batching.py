"""Continuous batching (lm/batching.py, lm/slots.py): a sequence decoded beside others, joining late or
waiting for a slot gets exactly the codes it gets alone; a closed stream frees its slot; a stopped decoder
ends its readers. And through the engine: jobs run together give byte-identical audio to each job alone."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import pytest

from workers.engines.base import AudioChunk, ReferenceClip
from workers.engines.glmtts.engine import GlmTtsEngine
from workers.engines.glmtts.lm.batching import ContinuousBatcher, DecoderClosed
from workers.engines.glmtts.lm.llm import SpeechTokenLM
from workers.engines.glmtts.lm.sampling import SamplingConfig
from workers.engines.params import SynthesisParams

from .conftest import golden
from .expectations import llm_texts
from .tiny_ckpt import build_tiny_checkpoint

T = TypeVar("T")
JOIN_S = 120.0  # a generous bound for a loaded CI machine; a hang fails instead of blocking the suite
PROMPT_TEXT, TEXT = llm_texts()


def _requests(lm: SpeechTokenLM) -> list[tuple[list[int], list[int], list[int], SamplingConfig, int]]:
    gold = golden("d_llm")
    prompt_text, text, speech = (gold["prompt_text_ids"][0].tolist(), gold["text_ids"][0].tolist(),
                                 gold["prompt_speech_ids"][0].tolist())
    return [(prompt_text, text, speech, SamplingConfig(), 7),
            (prompt_text, text[:6], speech, SamplingConfig(top_k=1), 0),
            (prompt_text, text[2:], speech[:40], SamplingConfig(temperature=0.9, top_p=0.9, top_k=50), 3),
            (prompt_text[:5], text + text, speech, SamplingConfig(temperature=0.8, top_k=10), 11)]


def _concurrently(calls: list[Callable[[], T]]) -> list[T]:
    results: dict[int, T] = {}
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            results[index] = calls[index]()
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_S)
    assert not errors, errors
    assert len(results) == len(calls), "a reader did not finish"
    return [results[index] for index in range(len(calls))]


def _alone(lm: SpeechTokenLM, slots: int) -> list[list[int]]:
    batcher = ContinuousBatcher(lm, slots=slots)
    try:
        return [list(batcher.submit(p, t, s, sampling=c, seed=seed)) for p, t, s, c, seed in _requests(lm)]
    finally:
        batcher.close()


@pytest.mark.parametrize("slots", [4, 2])
def test_sequences_decoded_together_get_the_codes_they_get_alone(lm: SpeechTokenLM, slots: int) -> None:
    alone = _alone(lm, slots)
    batcher = ContinuousBatcher(lm, slots=slots)
    started = threading.Event()
    first, *rest = _requests(lm)

    def leader() -> list[int]:
        codes = []
        for code in batcher.submit(first[0], first[1], first[2], sampling=first[3], seed=first[4]):
            codes.append(code)
            if len(codes) == 10:
                started.set()  # the others join while this one is mid-flight
        return codes

    def joiner(request: tuple[list[int], list[int], list[int], SamplingConfig, int]) -> Callable[[], list[int]]:
        def read() -> list[int]:
            assert started.wait(JOIN_S)
            return list(batcher.submit(request[0], request[1], request[2], sampling=request[3], seed=request[4]))
        return read

    try:
        together = _concurrently([leader, *(joiner(request) for request in rest)])
    finally:
        batcher.close()
    assert together == alone
    assert batcher.max_active == min(slots, len(alone))  # they did share steps ...
    assert batcher.steps < sum(map(len, alone))  # ... fewer than one per code


def test_a_closed_stream_frees_its_slot(lm: SpeechTokenLM) -> None:
    (p, t, s, config, seed), *_ = _requests(lm)
    batcher = ContinuousBatcher(lm, slots=1)
    try:
        expected = list(batcher.submit(p, t, s, sampling=config, seed=seed))
        abandoned = iter(batcher.submit(p, t, s, sampling=config, seed=seed))
        assert [next(abandoned) for _ in range(5)] == expected[:5]
        abandoned.close()  # a cancelled job leaves the loop; the only slot must come free
        assert _concurrently([lambda: list(batcher.submit(p, t, s, sampling=config, seed=seed))]) == [expected]
    finally:
        batcher.close()


def test_a_stopped_decoder_ends_its_readers(lm: SpeechTokenLM) -> None:
    (p, t, s, config, seed), *_ = _requests(lm)
    batcher = ContinuousBatcher(lm, slots=2)
    stream = iter(batcher.submit(p, t * 20, s, sampling=config, seed=seed))
    next(stream)
    assert batcher.close()
    with pytest.raises(DecoderClosed):  # at once: a stopped decoder tells every reader, none polls forever
        list(stream)
    with pytest.raises(DecoderClosed):
        batcher.submit(p, t, s, sampling=config, seed=seed)


@pytest.fixture(scope="module")
def batching_engine(tmp_path_factory: pytest.TempPathFactory) -> GlmTtsEngine:
    engine = GlmTtsEngine(ckpt_dir=str(build_tiny_checkpoint(tmp_path_factory.mktemp("glmtts"))), max_batch=4)
    engine.load("cpu")
    return engine


def test_jobs_run_together_are_byte_identical_to_each_job_alone(batching_engine: GlmTtsEngine) -> None:
    wav = golden("00_waveforms")["wav24k"].numpy()
    voice = batching_engine.prepare_voice(preset=None, reference=ReferenceClip(
        samples=wav, sample_rate=24000, sha256="b" * 64, prompt_text=PROMPT_TEXT))
    jobs = [(TEXT, SynthesisParams(seed=1)), ("a short one.", SynthesisParams(seed=2, top_k=1)),
            (f"{TEXT} and a second sentence that makes two segments of it.", SynthesisParams(seed=3)),
            ("the third job, here.", SynthesisParams(seed=4, temperature=0.8, top_k=10))]

    def synthesize(text: str, params: SynthesisParams) -> Callable[[], bytes]:
        def run() -> bytes:
            events = batching_engine.synthesize(text=text, voice=voice, params=params, cancel=threading.Event())
            return np.concatenate([e.samples for e in events if isinstance(e, AudioChunk)]).tobytes()
        return run

    alone = [synthesize(text, params)() for text, params in jobs]
    together = _concurrently([synthesize(text, params) for text, params in jobs])
    assert together == alone
    assert batching_engine.batcher.max_active >= 3
    assert all(len(audio) > 0 for audio in alone)


def test_cpu_slots_are_exact_rows(tmp_path: Path, lm: SpeechTokenLM) -> None:
    """The CPU path attends per row over its own length (what makes the rows exact); CUDA masks a batch."""
    batcher = ContinuousBatcher(lm, slots=3)
    assert batcher.decoder.exact_rows and batcher.exact
    assert batcher.close()
