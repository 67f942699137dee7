"""The GLM-TTS engine end to end on the tiny checkpoint: layout checks, voice features, synthesis."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from workers.engines.base import AudioChunk, EngineError, Progress, ReferenceClip
from workers.engines.glmtts.checkpoint import CheckpointError, CheckpointLayout
from workers.engines.glmtts.engine import GlmTtsEngine
from workers.engines.glmtts.streaming import StreamingToken2Wav, StreamSchedule
from workers.engines.params import SynthesisParams

from .conftest import golden
from .expectations import (
    AUDIO_LIMIT,
    TOLERANCES,
    RecordingLM,
    llm_prompt,
    llm_texts,
    rms,
    samples_per_mel_frame,
    stream_render_counts,
)
from .tiny_ckpt import build_tiny_checkpoint, campplus_projection

PROMPT_TEXT, TEXT = llm_texts()  # golden d_llm's transcript and target text


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_checkpoint(tmp_path_factory.mktemp("glmtts"))


@pytest.fixture(scope="module")
def engine(tiny_root: Path) -> GlmTtsEngine:
    engine = GlmTtsEngine(ckpt_dir=str(tiny_root))
    engine.load("cpu")
    return engine


@pytest.fixture(scope="module")
def reference() -> ReferenceClip:
    wav = golden("00_waveforms")["wav24k"].numpy()
    return ReferenceClip(samples=wav, sample_rate=24000, sha256="f" * 64, prompt_text=PROMPT_TEXT)


def test_layout_names_every_missing_part(tmp_path: Path) -> None:
    (tmp_path / "llm").mkdir()
    with pytest.raises(CheckpointError) as caught:
        CheckpointLayout.resolve(tmp_path)
    for part in ("llm/config.json", "flow/flow.pt", "flow/config.yaml", "hift/hift.pt", "campplus.onnx",
                 "vq32k-phoneme-tokenizer/"):
        assert part in str(caught.value)
    with pytest.raises(CheckpointError, match="GLMTTS_CKPT_DIR is not set"):
        CheckpointLayout.resolve("")


def test_unconfigured_engine_fails_to_load_with_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EngineError) as caught:
        GlmTtsEngine(ckpt_dir=str(tmp_path / "nowhere")).load("cpu")
    assert caught.value.code == "engine_unavailable"


def test_layout_accepts_the_ckpt_dir_or_its_parent(tiny_root: Path) -> None:
    assert CheckpointLayout.resolve(tiny_root).root == CheckpointLayout.resolve(tiny_root / "ckpt").root
    assert CheckpointLayout.resolve(tiny_root).vocos is None


def test_voice_features_match_the_golden_prompt(engine: GlmTtsEngine, reference: ReferenceClip) -> None:
    voice = engine.prepare_voice(preset=None, reference=reference)
    features = voice.data
    assert voice.cloned and features.prompt_text == PROMPT_TEXT
    assert features.prompt_text_ids == golden("d_llm")["prompt_text_ids"][0].tolist()
    assert features.speech_codes == golden("a_speech_tokenizer")["tokens_wav24k_resampled_inside"].tolist()
    np.testing.assert_allclose(features.mels[24000].numpy(), golden("c_prompt_mel")["mel24k"].numpy(), rtol=0,
                               atol=TOLERANCES["features"])
    # The stand-in CAM++ (tiny_ckpt) run on upstream's CAM++ input features.
    upstream_input = golden("b_campplus_features")["campplus_input"].numpy()
    expected_embedding = (upstream_input**2).mean(axis=1) @ campplus_projection()
    np.testing.assert_allclose(features.embedding.numpy(), expected_embedding, rtol=0, atol=TOLERANCES["features"])


def test_greedy_synthesis_reproduces_golden_tokens_and_lengths(engine: GlmTtsEngine, reference: ReferenceClip,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    lm = RecordingLM(engine.batcher.submit)
    monkeypatch.setattr(engine.batcher, "submit", lm)
    rendered: list[int] = []
    push = StreamingToken2Wav.push

    def recording_push(stream: StreamingToken2Wav, code: int) -> np.ndarray | None:
        rendered.append(code)
        return push(stream, code)

    monkeypatch.setattr(StreamingToken2Wav, "push", recording_push)
    voice = engine.prepare_voice(preset=None, reference=reference)
    params = SynthesisParams(top_k=1, seed=0)
    events = list(engine.synthesize(text=TEXT, voice=voice, params=params, cancel=threading.Event()))

    # Golden d_llm is one upstream LLM call: the engine asks exactly that prompt, once, and the codes it
    # decodes and renders are golden's greedy codes.
    assert lm.prompts == [llm_prompt()]
    assert lm.codes == rendered == golden("d_llm")["greedy_tokens"].tolist()
    assert [e.done for e in events if isinstance(e, Progress)] == list(range(len(lm.prompts) + 1))
    chunks = [event for event in events if isinstance(event, AudioChunk)]
    assert len(chunks) == len(stream_render_counts(len(lm.codes), StreamSchedule()))  # streamed
    assert {chunk.sample_rate for chunk in chunks} == {24000}
    assert [chunk.seq for chunk in chunks] == list(range(len(chunks)))
    audio = np.concatenate([chunk.samples for chunk in chunks])
    # As long as upstream's token2wav of the same codes (Q10's truncated frame count, prompt frames dropped).
    golden_wav = golden("g_token2wav")["wav"][0].numpy()
    assert audio.shape == golden_wav.shape
    assert np.isfinite(audio).all() and np.abs(audio).max() <= AUDIO_LIMIT
    loudness = rms(audio) / rms(golden_wav)
    assert 1 / TOLERANCES["loudness_ratio"] < loudness < TOLERANCES["loudness_ratio"], loudness


def test_same_seed_same_audio_and_cancel_stops(engine: GlmTtsEngine, reference: ReferenceClip) -> None:
    voice = engine.prepare_voice(preset=None, reference=reference)
    params = SynthesisParams(seed=7)
    text = "short one. and a second sentence here."

    def run() -> np.ndarray:
        events = engine.synthesize(text=text, voice=voice, params=params, cancel=threading.Event())
        return np.concatenate([e.samples for e in events if isinstance(e, AudioChunk)])

    np.testing.assert_array_equal(run(), run())
    cancel = threading.Event()
    cancel.set()
    assert not [e for e in engine.synthesize(text=text, voice=voice, params=params, cancel=cancel)
                if isinstance(e, AudioChunk)]


def test_refuses_what_it_cannot_do(engine: GlmTtsEngine, reference: ReferenceClip) -> None:
    with pytest.raises(EngineError, match="reference"):
        engine.prepare_voice(preset="jm_kumo", reference=None)
    voice = engine.prepare_voice(preset=None, reference=reference)
    for params, code in ((SynthesisParams(sample_rate=32000), "unsupported_sample_rate"),
                         (SynthesisParams(speed=1.5), "invalid_speed")):
        with pytest.raises(EngineError) as caught:
            list(engine.synthesize(text=TEXT, voice=voice, params=params, cancel=threading.Event()))
        assert caught.value.code == code


def test_bf16_path_runs_end_to_end(tiny_root: Path, reference: ReferenceClip) -> None:
    """The GPU dtype (LLM and flow in bf16, vocoder in fp32), exercised on CPU so CI covers its plumbing."""
    import torch

    engine = GlmTtsEngine(ckpt_dir=str(tiny_root), dtype=torch.bfloat16)
    engine.load("cpu")
    assert next(engine.models.lm.model.parameters()).dtype == torch.bfloat16
    voice = engine.prepare_voice(preset=None, reference=reference)
    events = engine.synthesize(text="a short one.", voice=voice, params=SynthesisParams(seed=3),
                               cancel=threading.Event())
    audio = np.concatenate([e.samples for e in events if isinstance(e, AudioChunk)])
    assert audio.dtype == np.float32 and np.isfinite(audio).all()
    assert len(audio) > 0 and len(audio) % samples_per_mel_frame() == 0


def test_voice_features_are_stored_per_engine_version(tiny_root: Path, reference: ReferenceClip, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    first = GlmTtsEngine(ckpt_dir=str(tiny_root), cache_dir=tmp_path)
    first.load("cpu")
    computed = first.prepare_voice(preset=None, reference=reference).data
    stored = list((tmp_path / "glmtts-voices" / first.version).glob("*.pt"))
    assert len(stored) == 1

    second = GlmTtsEngine(ckpt_dir=str(tiny_root), cache_dir=tmp_path)
    second.load("cpu")
    monkeypatch.setattr(second.models, "voice_features", lambda *a: pytest.fail("features were recomputed"))
    loaded = second.prepare_voice(preset=None, reference=reference).data
    assert loaded.speech_codes == computed.speech_codes and loaded.prompt_text_ids == computed.prompt_text_ids
    np.testing.assert_array_equal(loaded.mels[24000].numpy(), computed.mels[24000].numpy())
    # Another transcript is another prompt: computed afresh, not served from the first file.
    other = ReferenceClip(reference.samples, 24000, reference.sha256, "another transcript.")
    with pytest.raises(pytest.fail.Exception):
        second.prepare_voice(preset=None, reference=other)
    stored[0].write_bytes(b"garbage")  # a damaged file is recomputed, never trusted
    monkeypatch.undo()
    assert second.prepare_voice(preset=None, reference=reference).data.speech_codes == computed.speech_codes
