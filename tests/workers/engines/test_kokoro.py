"""The default engine really speaks: Whisper understands it, it is deterministic, and it streams."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings

from tests.support.asr_metrics import char_error_rate, word_error_rate
from workers.asr import Transcriber, bundled_whisper_dir
from workers.engines.audio import resample
from workers.engines.base import AudioChunk, EngineError, Event, Progress, ReferenceClip
from workers.engines.kokoro import KokoroEngine
from workers.engines.params import SynthesisParams

pytestmark = pytest.mark.slow

ENGLISH = [
    "The weather is lovely today, so we will walk to the park.",
    "Please send the report to my office before noon.",
    "She opened the window and listened to the birds singing.",
    "Our train leaves from the central station in the morning.",
    "Reading a good book is the best way to spend a quiet evening.",
]
CHINESE = ["今天天气很好，我们一起去公园散步吧。", "请在中午之前把报告发到我的办公室。", "她打开窗户，听见鸟儿在唱歌。"]


@pytest.fixture(scope="module")
def engine() -> KokoroEngine:
    kokoro = KokoroEngine(threads=settings.ENGINE_THREADS, cache_dir=Path(settings.ENGINE_CACHE_DIR))
    kokoro.load("cpu")
    return kokoro


@pytest.fixture(scope="module")
def transcriber() -> Transcriber:
    return Transcriber(model_dir=bundled_whisper_dir(Path(settings.ENGINE_CACHE_DIR)))


def _events(engine: KokoroEngine, text: str, params: SynthesisParams | None = None,
            cancel: threading.Event | None = None, preset: str | None = None) -> Iterator[Event]:
    voice = engine.prepare_voice(preset=preset, reference=None)
    return engine.synthesize(text=text, voice=voice, params=params or SynthesisParams(),
                             cancel=cancel or threading.Event())


def _audio(engine: KokoroEngine, text: str, params: SynthesisParams | None = None,
           preset: str | None = None) -> tuple[np.ndarray, int]:
    chunks = [e for e in _events(engine, text, params, preset=preset) if isinstance(e, AudioChunk)]
    return np.concatenate([c.samples for c in chunks]), chunks[0].sample_rate


def test_english_is_intelligible(engine: KokoroEngine, transcriber: Transcriber) -> None:
    heard = [transcriber.transcribe(*_audio(engine, s), language="en").text for s in ENGLISH]
    assert word_error_rate(ENGLISH, heard) <= 0.10, heard


def test_chinese_is_intelligible(engine: KokoroEngine, transcriber: Transcriber) -> None:
    heard = [transcriber.transcribe(*_audio(engine, s), language="zh").text for s in CHINESE]
    assert char_error_rate(CHINESE, heard) <= 0.15, heard


def test_whisper_detects_the_language_by_itself(engine: KokoroEngine, transcriber: Transcriber) -> None:
    assert transcriber.transcribe(*_audio(engine, CHINESE[0])).language == "zh"
    assert transcriber.transcribe(*_audio(engine, ENGLISH[0])).language == "en"


def test_same_inputs_give_the_same_bytes(engine: KokoroEngine) -> None:
    first, _ = _audio(engine, ENGLISH[1])
    second, _ = _audio(engine, ENGLISH[1])
    assert first.tobytes() == second.tobytes()


def test_long_text_streams_its_first_chunk_before_the_rest_is_made(engine: KokoroEngine) -> None:
    text = " ".join(ENGLISH)
    events = list(_events(engine, text))
    first_chunk = next(i for i, e in enumerate(events) if isinstance(e, AudioChunk))
    progress = [e for e in events if isinstance(e, Progress)]
    finished = next(i for i, e in enumerate(events) if isinstance(e, Progress) and e.done == e.total)
    assert progress[-1].total == 5
    assert first_chunk < finished
    done_before_first_chunk = [e.done for e in events[:first_chunk] if isinstance(e, Progress)]
    assert max(done_before_first_chunk) == 0  # audio left after the first segment, not at the end
    assert [e.seq for e in events if isinstance(e, AudioChunk)] == list(range(6))


def test_32k_output(engine: KokoroEngine) -> None:
    audio, rate = _audio(engine, ENGLISH[2], SynthesisParams(sample_rate=32000))
    assert rate == 32000 and 2.0 < len(audio) / rate < 6.0


def test_cancel_stops_between_chunks(engine: KokoroEngine) -> None:
    cancel = threading.Event()
    chunks = 0
    for event in _events(engine, " ".join(ENGLISH), cancel=cancel):
        if isinstance(event, AudioChunk):
            chunks += 1
            cancel.set()
    assert chunks == 1


def test_a_presets_own_voice_gets_that_preset_unprocessed_and_says_so(engine: KokoroEngine) -> None:
    audio, rate = _audio(engine, ENGLISH[3] + " " + ENGLISH[4], preset="jf_tebukuro")
    clip = ReferenceClip(samples=audio, sample_rate=rate, sha256=hashlib.sha256(audio.tobytes()).hexdigest())
    voice = engine.prepare_voice(preset=None, reference=clip)
    assert voice.nearest_preset == "Tebukuro (female)" and voice.match is None  # WORLD would only cost it
    assert voice.label.startswith("Tebukuro (female), the preset nearest your voice: resembles it (similarity ")
    assert "cannot clone" in voice.label and "cloned" not in voice.label
    assert voice.cloned is False and voice.similarity is not None and voice.similarity > 0.8
    again = engine.prepare_voice(preset=None, reference=clip)  # the second time from the disk cache
    assert (again.key, again.label, again.similarity, again.match) == (voice.key, voice.label, voice.similarity, None)


def test_voice_match_changes_the_audio_and_can_be_switched_off(engine: KokoroEngine) -> None:
    reference, rate = _audio(engine, ENGLISH[3] + " " + ENGLISH[4], preset="jm_kumo")
    lowered = resample(reference, rate, 36000)  # read at 24 kHz: slower, at two thirds of its pitch
    clip = ReferenceClip(samples=lowered, sample_rate=rate, sha256=hashlib.sha256(lowered.tobytes()).hexdigest())
    voice = engine.prepare_voice(preset=None, reference=clip)
    assert voice.match is not None and ", matched to your voice: resembles it" in voice.label

    def spoken(text: str, *, match: bool) -> np.ndarray:
        return np.concatenate([e.samples for e in engine.synthesize(
            text=text, voice=voice, params=SynthesisParams(voice_match=match), cancel=threading.Event())
            if isinstance(e, AudioChunk)])

    matched, plain = spoken(ENGLISH[0], match=True), spoken(ENGLISH[0], match=False)
    assert len(matched) == len(plain) and not np.array_equal(matched, plain)
    assert np.max(np.abs(matched)) <= 0.98 + 1e-6
    assert _likeness(matched, plain) < 0.5  # resynthesized: a new waveform (new phases)
    chinese, chinese_plain = spoken(CHINESE[0], match=True), spoken(CHINESE[0], match=False)
    assert not np.array_equal(chinese, chinese_plain)  # its EQ ...
    assert _likeness(chinese, chinese_plain) > 0.8  # ... on the preset's own waveform: its tones untouched


def _likeness(audio: np.ndarray, other: np.ndarray) -> float:
    """Correlation of two waveforms at lag 0: near 1 for a filtered copy, low for a resynthesis."""
    return float(np.dot(audio, other) / (np.linalg.norm(audio) * np.linalg.norm(other)))


def test_unknown_preset_and_bad_speed_are_engine_errors(engine: KokoroEngine) -> None:
    with pytest.raises(EngineError):
        engine.prepare_voice(preset="nobody", reference=None)
    with pytest.raises(EngineError):
        list(_events(engine, "Hello.", SynthesisParams(speed=3.0)))
