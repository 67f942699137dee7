"""Real streaming: chunks leave while the LLM decodes, and joined they sound like one non-streamed pass."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from workers.engines.base import AudioChunk, ReferenceClip
from workers.engines.glmtts.engine import GlmTtsEngine
from workers.engines.glmtts.pipeline import PromptFeatures
from workers.engines.glmtts.speech.features import mel_spectrogram
from workers.engines.glmtts.streaming import StreamingToken2Wav
from workers.engines.params import SynthesisParams

from .conftest import golden
from .tiny_ckpt import build_tiny_checkpoint


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> GlmTtsEngine:
    engine = GlmTtsEngine(ckpt_dir=str(build_tiny_checkpoint(tmp_path_factory.mktemp("glmtts"))))
    engine.load("cpu")
    return engine


@pytest.fixture(scope="module")
def voice(engine: GlmTtsEngine) -> PromptFeatures:
    wav = golden("00_waveforms")["wav24k"].numpy()
    clip = ReferenceClip(wav, 24000, "e" * 64, "the prompt text, spoken by a tiny random model.")
    features: PromptFeatures = engine.prepare_voice(preset=None, reference=clip).data
    return features


def _log_mel(audio: np.ndarray | torch.Tensor) -> torch.Tensor:
    return mel_spectrogram(torch.as_tensor(audio).reshape(1, -1), 24000)


def _whole(engine: GlmTtsEngine, voice: PromptFeatures, codes: list[int], stream: StreamingToken2Wav) -> torch.Tensor:
    """One flow + one vocoder pass over all codes, from the stream's own flow and vocoder noise."""
    models = engine.models.acoustic
    total = models.flow.frame_count(len(voice.speech_codes) + len(codes))
    mel = models.flow.inference(torch.tensor([codes]), torch.tensor([voice.speech_codes]), voice.mels[24000],
                                voice.embedding, noise=stream.noise[:, :total])
    rand_ini, sine_noise = stream.source_noise(mel.shape[2] * 480)
    with torch.inference_mode():
        source = models.hift.source_from_f0(models.hift.predict_f0(mel), rand_ini=rand_ini, sine_noise=sine_noise)
        return models.hift.decode(mel, source).reshape(-1)


def _distance(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> float:
    return float((_log_mel(a) - _log_mel(b)).abs().mean())


def test_streamed_chunks_join_close_to_the_non_streamed_audio(engine: GlmTtsEngine, voice: PromptFeatures,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    codes = golden("d_llm")["greedy_tokens"].tolist()
    stream = StreamingToken2Wav(engine.models.acoustic, voice, 24000, seed=0)
    renders: list[tuple[torch.Tensor, int, int]] = []
    vocode = stream._vocode

    def recording(mel: torch.Tensor, start: int, stop: int) -> np.ndarray:
        renders.append((mel, start, stop))
        return vocode(mel, start, stop)

    monkeypatch.setattr(stream, "_vocode", recording)
    chunks = [audio for audio in (stream.push(code) for code in codes) if audio is not None] + [stream.finish()]
    assert len(chunks) >= 3 and len(chunks[0]) < len(chunks[1])  # the first chunk is small, then they grow
    streamed = np.concatenate(chunks)
    whole = _whole(engine, voice, codes, stream)
    assert streamed.shape == whole.shape == (309 * 480,)
    assert np.abs(streamed).max() <= 0.99 and np.isfinite(streamed).all()

    # Flow: the frames each chunk was made from are within ~1% of the final, full render.
    final, context = renders[-1][0], stream.schedule.context_frames
    for mel, start, stop in renders[:-1]:
        emitted = slice(start, stop - context)
        assert float((mel[:, :, emitted] - final[:, :, emitted]).abs().mean()) < 0.02
    # Audio: the tiny random HiFT turns a 0.5 % mel change into a large one (its f0 head has weights up to
    # ~56 and the harmonic phase integrates f0), so the yardstick is the distance to other speech codes.
    unrelated = _distance(whole, _whole(engine, voice, codes[::-1], stream))
    assert _distance(streamed, whole) < 0.5 * unrelated, (_distance(streamed, whole), unrelated)


def test_first_audio_leaves_before_the_llm_has_finished(engine: GlmTtsEngine, voice: PromptFeatures,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    lm, produced = engine.models.lm, []
    original = lm.generate

    def counting(*args: Any, **kwargs: Any) -> Iterator[int]:
        for code in original(*args, **kwargs):
            produced.append(code)
            yield code

    monkeypatch.setattr(lm, "generate", counting)
    prompt = engine.prepare_voice(preset=None, reference=ReferenceClip(
        golden("00_waveforms")["wav24k"].numpy(), 24000, "e" * 64, "the prompt text, spoken by a tiny random model."))
    text = "this is the target sentence for the tiny glm tts golden fixture."
    seen_at_first_chunk = None
    for event in engine.synthesize(text=text, voice=prompt, params=SynthesisParams(top_k=1),
                                   cancel=threading.Event()):
        if isinstance(event, AudioChunk) and seen_at_first_chunk is None:
            seen_at_first_chunk = len(produced)
    assert seen_at_first_chunk is not None and len(produced) == 155
    assert seen_at_first_chunk == 25  # the first chunk is rendered after 25 codes, long before the 155th


def test_stream_without_codes_is_empty(engine: GlmTtsEngine, voice: PromptFeatures) -> None:
    assert StreamingToken2Wav(engine.models.acoustic, voice, 24000, seed=0).finish().size == 0


def test_unconfigured_engine_is_not_offered(settings: Any, tmp_path: Path) -> None:
    from workers.engine_registry import offered_engine_ids

    settings.GLMTTS_CKPT_DIR = ""
    assert offered_engine_ids() == ["kokoro"]
    settings.GLMTTS_CKPT_DIR = str(tmp_path)
    assert offered_engine_ids() == ["glmtts", "kokoro"]
