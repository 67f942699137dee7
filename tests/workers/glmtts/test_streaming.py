"""Real streaming: chunks leave while the LLM decodes, and joined they sound like one non-streamed pass."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from workers.engines.base import AudioChunk, ReferenceClip
from workers.engines.glmtts.engine import GlmTtsEngine
from workers.engines.glmtts.pipeline import PromptFeatures
from workers.engines.glmtts.speech.features import mel_spectrogram
from workers.engines.glmtts.streaming import StreamingToken2Wav, StreamSchedule
from workers.engines.params import SynthesisParams

from .conftest import golden
from .expectations import (
    AUDIO_LIMIT,
    TOLERANCES,
    RecordingLM,
    llm_texts,
    samples_per_mel_frame,
    stream_render_counts,
)
from .tiny_ckpt import build_tiny_checkpoint

PROMPT_TEXT, TEXT = llm_texts()  # golden d_llm's transcript and target text


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> GlmTtsEngine:
    engine = GlmTtsEngine(ckpt_dir=str(build_tiny_checkpoint(tmp_path_factory.mktemp("glmtts"))))
    engine.load("cpu")
    return engine


@pytest.fixture(scope="module")
def voice(engine: GlmTtsEngine) -> PromptFeatures:
    features: PromptFeatures = engine.prepare_voice(preset=None, reference=_reference()).data
    return features


def _reference() -> ReferenceClip:
    return ReferenceClip(golden("00_waveforms")["wav24k"].numpy(), 24000, "e" * 64, PROMPT_TEXT)


def _log_mel(audio: np.ndarray | torch.Tensor) -> torch.Tensor:
    return mel_spectrogram(torch.as_tensor(audio).reshape(1, -1), 24000)


def _whole_mel(engine: GlmTtsEngine, voice: PromptFeatures, codes: list[int], noise: torch.Tensor) -> torch.Tensor:
    """One flow pass over all codes from the first frames of `noise`."""
    flow = engine.models.acoustic.flow
    total = flow.frame_count(len(voice.speech_codes) + len(codes))
    return flow.inference(torch.tensor([codes]), torch.tensor([voice.speech_codes]), voice.mels[24000],
                          voice.embedding, noise=noise[:, :total])


def _whole(engine: GlmTtsEngine, voice: PromptFeatures, codes: list[int], stream: StreamingToken2Wav) -> torch.Tensor:
    """One flow + one vocoder pass over all codes, from the stream's own flow and vocoder noise."""
    models = engine.models.acoustic
    mel = _whole_mel(engine, voice, codes, stream.noise)
    rand_ini, sine_noise = stream.source_noise(mel.shape[2] * samples_per_mel_frame())
    with torch.inference_mode():
        source = models.hift.source_from_f0(models.hift.predict_f0(mel), rand_ini=rand_ini, sine_noise=sine_noise)
        return models.hift.decode(mel, source).reshape(-1)


def _distance(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> float:
    return float((_log_mel(a) - _log_mel(b)).abs().mean())


def test_streamed_chunks_join_close_to_the_non_streamed_audio(engine: GlmTtsEngine, voice: PromptFeatures,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    codes = golden("d_llm")["greedy_tokens"].tolist()
    stream = StreamingToken2Wav(engine.models.acoustic, voice, 24000, seed=0)
    renders: list[tuple[torch.Tensor, int, int, int]] = []
    vocode = stream._vocode

    def recording(mel: torch.Tensor, start: int, stop: int) -> np.ndarray:
        renders.append((mel, start, stop, len(stream.codes)))
        return vocode(mel, start, stop)

    monkeypatch.setattr(stream, "_vocode", recording)
    chunks = [audio for audio in (stream.push(code) for code in codes) if audio is not None] + [stream.finish()]
    # One chunk per step of the engine's chunk schedule; the first is small, then they grow until the last.
    assert [count for *_, count in renders] == stream_render_counts(len(codes), stream.schedule)
    assert len(chunks) == len(renders)
    sizes = [len(chunk) for chunk in chunks[:-1]]
    assert all(smaller < larger for smaller, larger in itertools.pairwise(sizes))
    streamed = np.concatenate(chunks)
    whole = _whole(engine, voice, codes, stream)
    assert streamed.shape == whole.shape == golden("g_token2wav")["wav"][0].shape
    assert np.abs(streamed).max() <= AUDIO_LIMIT and np.isfinite(streamed).all()

    # Flow: the frames each chunk was vocoded from barely move once all codes are in, compared with how far
    # an independent noise draw moves them (TOLERANCES["stream_mel_vs_noise_spread"]).
    final, context = renders[-1][0], stream.schedule.context_frames
    other_noise = _whole_mel(engine, voice, codes, torch.randn(stream.noise.shape,
                                                               generator=torch.Generator().manual_seed(1)))
    for mel, start, stop, _ in renders[:-1]:
        emitted = slice(start, stop - context)
        moved = float((mel[:, :, emitted] - final[:, :, emitted]).abs().mean())
        spread = float((other_noise[:, :, emitted] - final[:, :, emitted]).abs().mean())
        assert moved < TOLERANCES["stream_mel_vs_noise_spread"] * spread, (moved, spread)
    # Audio: the tiny random HiFT turns a 0.5 % mel change into a large one (its f0 head has weights up to
    # ~56 and the harmonic phase integrates f0), so the yardstick is the distance to other speech codes.
    unrelated = _distance(whole, _whole(engine, voice, codes[::-1], stream))
    assert _distance(streamed, whole) < TOLERANCES["stream_audio_vs_unrelated"] * unrelated, (
        _distance(streamed, whole), unrelated)


def test_first_audio_leaves_before_the_llm_has_finished(engine: GlmTtsEngine, voice: PromptFeatures,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    lm = RecordingLM(engine.batcher.submit)
    monkeypatch.setattr(engine.batcher, "submit", lm)
    prompt = engine.prepare_voice(preset=None, reference=_reference())
    seen_at_first_chunk = None
    for event in engine.synthesize(text=TEXT, voice=prompt, params=SynthesisParams(top_k=1),
                                   cancel=threading.Event()):
        if isinstance(event, AudioChunk) and seen_at_first_chunk is None:
            seen_at_first_chunk = len(lm.codes)
    greedy = golden("d_llm")["greedy_tokens"].tolist()
    assert lm.codes == greedy
    # The engine's first chunk is due after `first_tokens` codes: that is when it must leave, not later, and
    # for golden's greedy decoding that is before the LLM has finished.
    first_tokens = StreamSchedule().first_tokens
    assert first_tokens < len(greedy)
    assert seen_at_first_chunk == first_tokens


def test_stream_without_codes_is_empty(engine: GlmTtsEngine, voice: PromptFeatures) -> None:
    assert StreamingToken2Wav(engine.models.acoustic, voice, 24000, seed=0).finish().size == 0


def test_unconfigured_engine_is_not_offered(settings: Any, tmp_path: Path) -> None:
    from workers.engine_registry import offered_engine_ids

    settings.GLMTTS_CKPT_DIR = ""
    assert offered_engine_ids() == ["kokoro"]
    settings.GLMTTS_CKPT_DIR = str(tmp_path)
    assert offered_engine_ids() == ["glmtts", "kokoro"]
