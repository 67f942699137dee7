"""The GLM-TTS engine behind the worker's streaming protocol: zero-shot cloning of a reference voice.

Segment by segment (upstream's generate_long): split and normalize the text, decode speech codes with
the LLM (prompt cache across segments when `use_prompt_cache`), and stream: flow + vocoder render
chunks while the LLM is still decoding (streaming.py). As upstream, the random state is re-seeded before every
segment, so a segment's audio depends on the seed and its own prompt, not on how many segments came before.

Jobs run concurrently, each on its worker thread: their LLM sequences share one continuous-batching decode
loop (lm/batching.py, `max_batch` slots); their vocoder runs on their own threads, and so does their flow,
except where flow batching is on (by default on CUDA only: acoustic/flow_batching.py), when one thread
renders chunks of the same shape from several jobs in one batch. A job's codes do not depend on the other
jobs in the batch (byte-identical audio on a CPU, tests/workers/glmtts/test_batching.py).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import torch

from workers.engines.glmtts.acoustic.flow_batching import FlowBatcher
from workers.engines.glmtts.checkpoint import CheckpointError, CheckpointLayout
from workers.engines.glmtts.lm.batching import ContinuousBatcher
from workers.engines.glmtts.lm.llm import SpeechTokenLM
from workers.engines.glmtts.lm.sampling import SamplingConfig
from workers.engines.glmtts.longform import Code, PromptCache, TokenizedSegment, generate_long, split_normalized
from workers.engines.glmtts.pipeline import AcousticModels, GlmTtsModels, PromptFeatures, checkpoint_paths_for_version
from workers.engines.glmtts.streaming import FlowRender, StreamingToken2Wav
from workers.engines.glmtts.voice_store import VoiceFeatureStore

from ..base import AudioChunk, EngineError, Event, PresetVoice, Progress, ReferenceClip, VoicePrompt
from ..params import SynthesisParams

_EDGE_BYTES = 1 << 20


def checkpoint_digest(paths: list[Path]) -> str:
    """Identity of the weights without reading gigabytes: names, sizes and the first and last MiB of each."""
    digest = hashlib.sha256()
    for path in paths:
        size = path.stat().st_size
        digest.update(f"{path.name}:{size}".encode())
        with path.open("rb") as handle:
            digest.update(handle.read(_EDGE_BYTES))
            handle.seek(max(0, size - _EDGE_BYTES))
            digest.update(handle.read(_EDGE_BYTES))
    return digest.hexdigest()


def _until(cancel: threading.Event, codes: Iterable[int]) -> Iterator[int]:
    for code in codes:
        if cancel.is_set():
            return
        yield code


FLOW_BATCHING = frozenset({"auto", "on", "off"})  # auto: on CUDA only (on a CPU it is slower and inexact)


class GlmTtsEngine:
    engine_id = "glmtts"
    display_name = "GLM-TTS"
    clones_voices = True
    # Kokoro-style speed and the language hint do not reach GLM-TTS; everything else changes the bytes.
    output_params = frozenset({"sample_rate", "format", "seed", "temperature", "top_p", "top_k",
                               "use_prompt_cache"})
    # It clones the reference it is given and has no presets.
    bundled_presets: frozenset[str] = frozenset()
    needs_reference = True

    def __init__(self, *, ckpt_dir: str, trust_remote_code: bool = False, use_phoneme: bool = False,
                 threads: int = 2, dtype: torch.dtype | None = None, cache_dir: Path | None = None,
                 max_batch: int = 1, flow_batching: str = "auto") -> None:
        self._ckpt_dir, self._trust, self._threads, self._dtype = ckpt_dir, trust_remote_code, threads, dtype
        self.max_batch = max(1, max_batch)  # jobs decoded together (the worker runs this many at once)
        if flow_batching not in FLOW_BATCHING:
            raise ValueError(f"flow_batching must be one of {sorted(FLOW_BATCHING)}, not {flow_batching!r}")
        self._flow_batching = flow_batching
        self._batcher: ContinuousBatcher | None = None
        self._flow_batcher: FlowBatcher | None = None
        self._cache_dir = cache_dir
        self._store: VoiceFeatureStore | None = None
        self.use_phoneme = use_phoneme
        self._models: GlmTtsModels | None = None
        self._lock = threading.Lock()
        self.version = "unloaded"

    @property
    def loaded(self) -> bool:
        return self._models is not None

    def load(self, device: str) -> None:
        try:
            layout = CheckpointLayout.resolve(self._ckpt_dir)
        except CheckpointError as exc:
            raise EngineError("engine_unavailable", str(exc)) from exc
        if device == "cpu":
            torch.set_num_threads(self._threads)
        self._models = GlmTtsModels(layout, device=device, trust_remote_code=self._trust, dtype=self._dtype)
        self._batcher = ContinuousBatcher(self._models.lm, slots=self.max_batch)
        self._flow_batcher = self._new_flow_batcher(self._models.acoustic)
        phoneme = "+g2p" if self.use_phoneme else ""
        self.version = f"glmtts-{checkpoint_digest(checkpoint_paths_for_version(layout))[:12]}{phoneme}"
        self._store = VoiceFeatureStore(self._cache_dir, self.version) if self._cache_dir else None

    def unload(self) -> None:
        if self._batcher is not None:
            self._batcher.close()
        if self._flow_batcher is not None:
            self._flow_batcher.close()
        self._models, self._batcher, self._flow_batcher = None, None, None
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def presets(self) -> list[PresetVoice]:
        return []  # GLM-TTS clones the voice it is given; it has no built-in speakers in PRETRAIN mode

    @property
    def models(self) -> GlmTtsModels:
        if self._models is None:
            raise EngineError("engine_unloaded", "The GLM-TTS engine is not loaded.")
        return self._models

    def use_lm(self, lm: SpeechTokenLM) -> None:
        """Serve another speech-token LLM (benchmarks: random weights of another size): the decode loop
        restarts over it."""
        if self._batcher is not None:
            self._batcher.close()
        self.models.lm = lm
        self._batcher = ContinuousBatcher(lm, slots=self.max_batch)

    def use_acoustic(self, acoustic: AcousticModels) -> None:
        """Render with other flow and vocoder models (benchmarks: random weights of another size)."""
        if self._flow_batcher is not None:
            self._flow_batcher.close()
        self.models.acoustic = acoustic
        self._flow_batcher = self._new_flow_batcher(acoustic)

    def _new_flow_batcher(self, acoustic: AcousticModels) -> FlowBatcher | None:
        wanted = self._flow_batching == "on" or (self._flow_batching == "auto" and acoustic.device.type == "cuda")
        return FlowBatcher(acoustic.flow, max_batch=self.max_batch) if wanted and self.max_batch > 1 else None

    @property
    def flow_batcher(self) -> FlowBatcher | None:
        """The shared flow renderer, or None where each job renders its own chunks."""
        return self._flow_batcher

    @property
    def batcher(self) -> ContinuousBatcher:
        if self._batcher is None:
            raise EngineError("engine_unloaded", "The GLM-TTS engine is not loaded.")
        return self._batcher

    def prepare_voice(self, *, preset: str | None, reference: ReferenceClip | None) -> VoicePrompt:
        if reference is None:
            raise EngineError("reference_required", "GLM-TTS clones a reference voice: choose one of your voices "
                                                    "or upload a clip; it has no preset voices.")
        if not reference.prompt_text.strip():
            raise EngineError("prompt_text_required", "GLM-TTS needs the transcript of the reference clip.")
        features = self._store.load(reference.sha256, reference.prompt_text) if self._store else None
        if features is None:
            with self._lock:
                features = self.models.voice_features(reference.samples, reference.sample_rate,
                                                      reference.prompt_text)
            if self._store:
                self._store.save(reference.sha256, reference.prompt_text, features)
        return VoicePrompt(self.engine_id, f"ref:{reference.sha256}", "cloned voice", cloned=True, data=features)

    def synthesize(self, *, text: str, voice: VoicePrompt, params: SynthesisParams,
                   cancel: threading.Event) -> Iterator[Event]:
        models = self.models
        features: PromptFeatures = voice.data
        if params.sample_rate not in models.acoustic.sample_rates:
            raise EngineError("unsupported_sample_rate", f"This GLM-TTS checkpoint has no {params.sample_rate} Hz "
                                                         "vocoder (vocos2d/generator_jit.ckpt).")
        if params.speed != 1.0:
            raise EngineError("invalid_speed", "GLM-TTS speaks at its natural speed only (speed 1.0).")
        g2p = models.text.apply_g2p if self.use_phoneme else None
        segments = split_normalized(models.text.normalize(text), models.text, g2p=g2p)
        if not segments:
            raise EngineError("empty_text", "There is nothing to say in this text.")
        yield Progress("synthesizing", 0, len(segments))
        cache = PromptCache.start(features.prompt_text, features.prompt_text_ids, features.speech_codes,
                                  enabled=params.use_prompt_cache)
        speak = self._speaker(params, SamplingConfig(temperature=params.temperature, top_p=params.top_p,
                                                     top_k=params.top_k), cancel)
        yield from self._stream(generate_long(segments, cache, tokenize=models.tokenizer.encode, speak=speak),
                                features, params, cancel, len(segments))

    def _speaker(self, params: SynthesisParams, sampling: SamplingConfig,
                 cancel: threading.Event) -> Callable[[list[int], list[int], list[int]], Iterator[int]]:
        """The segment decoder: a slot of the shared batcher, seeded as upstream re-seeds before every
        segment; without the attention KV cache (`use_kv_cache` off, to measure it) the one-sequence path."""
        models, batcher = self.models, self.batcher

        def speak(prompt_text_ids: list[int], text_ids: list[int], prompt_speech: list[int]) -> Iterator[int]:
            if not params.use_kv_cache:
                generator = torch.Generator(device=models.device).manual_seed(params.seed)
                yield from _until(cancel, models.lm.generate(prompt_text_ids, text_ids, prompt_speech,
                                                             sampling=sampling, generator=generator,
                                                             use_kv_cache=False))
                return
            stream = batcher.submit(prompt_text_ids, text_ids, prompt_speech, sampling=sampling, seed=params.seed)
            try:
                yield from _until(cancel, stream)
            finally:
                stream.close()  # a cancelled or abandoned sequence leaves its slot at the next step

        return speak

    def _stream(self, events: Iterator[Code | TokenizedSegment], features: PromptFeatures, params: SynthesisParams,
                cancel: threading.Event, total: int) -> Iterator[Event]:
        """Audio chunks while each segment is still being decoded; progress after each segment."""
        seq, stream = 0, None
        for event in events:
            if cancel.is_set():
                return
            if isinstance(event, Code):
                if stream is None:  # a new segment: fresh noise, seeded like the segment's LLM
                    stream = StreamingToken2Wav(self.models.acoustic, features, params.sample_rate, seed=params.seed,
                                                flow_render=self._flow_render())
                audio = stream.push(event.code)
            else:
                audio = stream.finish() if stream is not None else None
                stream = None
            if audio is not None and len(audio):
                yield AudioChunk(seq, audio, params.sample_rate)
                seq += 1
            if isinstance(event, TokenizedSegment):
                yield Progress("synthesizing", event.index + 1, total)

    def _flow_render(self) -> FlowRender | None:
        return self._flow_batcher.render if self._flow_batcher is not None else None
