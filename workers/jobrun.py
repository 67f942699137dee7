"""Runs one synthesis job (blocking; the worker calls it in a thread).

Order matters for exactly-once results: the output is stored content-addressed *before* the row
is marked done, and a rerun first looks for that stored output, so a worker killed anywhere in
between leaves a job that the next worker finishes without synthesizing twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synthesis.jobs import services
from synthesis.jobs.events import TERMINAL_EVENTS, EventType, last_event_type
from synthesis.models import JobStatus, SynthesisJob
from synthesis.realtime.protocol import done_payload
from synthesis.results import storage
from synthesis.results.publish import result_store
from synthesis.results.validation import AudioRejected, validate_audio
from synthesis.submit.fingerprint import cache_scope, request_fingerprint, voice_identity
from voices.audio import VoiceRejected, decode_reference
from workers.engines.params import SynthesisParams
from workers.text.language import resolve_language

from . import metrics as worker_metrics
from .asr import Transcriber
from .engines.audio import decode_audio, sha256_hex, to_pcm16
from .engines.base import AudioChunk, Engine, EngineError, Progress, ReferenceClip, VoicePrompt
from .voice_cache import VoicePromptCache

logger = logging.getLogger(__name__)
Emit = Callable[[str, dict[str, Any], bytes | None], None]


def _stage(name: str) -> dict[str, Any]:
    """A progress event for a step before synthesis (it also tells the watchdog the job is alive)."""
    return {"stage": name, "done": 0, "total": 1, "fraction": 0.0}


@dataclass
class _RunState:
    started: float
    chunks: list[np.ndarray] = field(default_factory=list)
    first_chunk_s: float | None = None
    produced: float = 0.0  # the share of the text's segments made so far: what a cancel still pays for


@dataclass(frozen=True)
class Outcome:
    status: str  # "done", "failed", "cancelled", "handed_back", "skipped"
    detail: str = ""


class JobExecutor:
    def __init__(self, *, engines: dict[str, Engine], transcriber: Transcriber, worker_id: str,
                 device: str) -> None:
        self.engines, self.transcriber = engines, transcriber
        self.worker_id, self.device = worker_id, device
        self.voices = VoicePromptCache()
        self.engine_runs = 0

    def run(self, job_id: str, *, cancel: threading.Event, shutdown: threading.Event, emit: Emit) -> Outcome:
        job = services.job_mark_running(job_id=job_id, worker_id=self.worker_id)
        if job is None:
            outcome = Outcome("skipped", "job missing")
        elif job.is_final:
            self._repair_end(job, emit)
            outcome = Outcome("skipped", "already final")
        else:
            outcome = self._attempt(job, cancel=cancel, shutdown=shutdown, emit=emit)
        worker_metrics.observe_job(job, outcome.status)
        return outcome

    def _attempt(self, job: SynthesisJob, *, cancel: threading.Event, shutdown: threading.Event,
                 emit: Emit) -> Outcome:
        emit(EventType.STARTED, {"attempt": job.attempts, "worker": self.worker_id}, None)
        state = _RunState(started=time.monotonic())
        try:
            return self._run(job, state, cancel=cancel, shutdown=shutdown, emit=emit)
        except (EngineError, AudioRejected) as exc:
            services.job_mark_failed(job_id=str(job.pk), code=exc.code, message=exc.message, produced=state.produced)
            emit(EventType.FAILED, {"code": exc.code, "message": exc.message}, None)
            return Outcome("failed", exc.code)

    def _engine(self, engine_id: str, emit: Emit) -> Engine:
        engine = self.engines.get(engine_id)
        if engine is None:
            raise EngineError("unknown_engine", f"This worker has no engine {engine_id!r}.")
        if not engine.loaded:  # offloaded while idle: bring it back (said first: it takes a while)
            emit(EventType.PROGRESS, _stage("loading"), None)
            started = time.monotonic()
            engine.load(self.device)
            worker_metrics.observe_engine_load(engine_id, time.monotonic() - started)
        return engine

    def _reference(self, job: SynthesisJob, emit: Emit) -> ReferenceClip | None:
        if not job.reference_audio:
            return None
        with job.reference_audio.open("rb") as handle:
            data = handle.read()
        try:  # the same bounded decode as at upload: a reference stored before those checks is judged too
            samples, rate = decode_reference(data)
        except VoiceRejected as exc:
            raise EngineError("unreadable_reference", f"The reference audio was refused: {exc.message}") from exc
        prompt = job.prompt_text
        if not prompt and not job.skip_whisper:
            emit(EventType.PROGRESS, _stage("transcribing"), None)
            transcript = self.transcriber.transcribe(samples, rate)
            job.transcript = prompt = transcript.text
            services.job_record(job=job, fields=["transcript"])
        return ReferenceClip(samples=samples, sample_rate=rate, sha256=sha256_hex(data), prompt_text=prompt)

    def _prepare(self, job: SynthesisJob, engine: Engine, emit: Emit) -> tuple[VoicePrompt, dict[str, str]]:
        reference = self._reference(job, emit)
        # The identity uses the prompt text as submitted, so the web process computes the same key.
        identity = voice_identity(preset=job.voice_preset, reference_sha256=reference.sha256 if reference else "",
                                  prompt_text=job.prompt_text)
        voice = self.voices.get_or_prepare(engine, identity, lambda: engine.prepare_voice(
            preset=job.voice_preset or None, reference=reference))
        if job.voice_note != voice.label:
            job.voice_note = voice.label
            services.job_record(job=job, fields=["voice_note"])
        return voice, identity

    def _run(self, job: SynthesisJob, state: _RunState, *, cancel: threading.Event, shutdown: threading.Event,
             emit: Emit) -> Outcome:
        engine = self._engine(job.engine_id, emit)
        params = SynthesisParams.from_dict(job.params)
        voice, identity = self._prepare(job, engine, emit)
        language = resolve_language(job.text, params.language)
        fingerprint = request_fingerprint(engine_id=engine.engine_id, engine_version=engine.version,
                                          voice=identity, text=job.text, params=params.to_dict(),
                                          scope=cache_scope(job.owner_id))
        job.fingerprint, job.engine_version = fingerprint, engine.version
        services.job_record(job=job, fields=["fingerprint", "engine_version"])
        existing = storage.output_name(fingerprint, params.format)
        if storage.output_exists(existing):  # an earlier attempt stored it, then died: finish, don't redo
            return self._finish_from_storage(job, existing, state.started, emit)
        self.engine_runs += 1
        stopped = self._stream(job, engine, voice, params, state, cancel=cancel, shutdown=shutdown, emit=emit)
        if stopped is not None:
            return stopped
        if cancel.is_set():
            return self._cancelled(job, state, emit)
        chunks, first_chunk_s, started = state.chunks, state.first_chunk_s, state.started
        audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
        duration = validate_audio(audio, params.sample_rate, text=job.text, speed=params.speed,
                                  language=language)
        result = result_store(fingerprint=fingerprint, samples=audio, sample_rate=params.sample_rate,
                              fmt=params.format, engine_id=engine.engine_id, engine_version=engine.version,
                              voice_key=voice.key, voice_note=voice.label)
        assert abs(result.duration_s - duration) < 1e-6
        services.job_mark_done(job=job, result=result, first_chunk_s=first_chunk_s,
                               total_s=time.monotonic() - started)
        emit(EventType.DONE, done_payload(job), None)
        return Outcome("done")

    def _stream(self, job: SynthesisJob, engine: Engine, voice: VoicePrompt, params: SynthesisParams,
                state: _RunState, *, cancel: threading.Event, shutdown: threading.Event, emit: Emit) -> Outcome | None:
        """Stream the engine's events to the job's event stream; an Outcome if it stopped early."""
        for event in engine.synthesize(text=job.text, voice=voice, params=params, cancel=cancel):
            if shutdown.is_set():
                return Outcome("handed_back", "worker shutting down")
            if cancel.is_set():
                return self._cancelled(job, state, emit)
            if isinstance(event, Progress):
                state.produced = event.done / max(1, event.total)
                emit(EventType.PROGRESS, {"stage": event.stage, "done": event.done, "total": event.total,
                                      "fraction": state.produced}, None)
            elif isinstance(event, AudioChunk):
                if state.first_chunk_s is None:
                    state.first_chunk_s = time.monotonic() - state.started
                state.chunks.append(event.samples)
                emit(EventType.CHUNK, {"seq": event.seq, "sample_rate": event.sample_rate,
                                   "samples": len(event.samples), "duration": round(event.duration_s, 4)},
                     to_pcm16(event.samples))
        return None

    @staticmethod
    def _cancelled(job: SynthesisJob, state: _RunState, emit: Emit) -> Outcome:
        """Cancelled between events: the segments made so far are paid for, the rest refunded."""
        services.job_mark_cancelled(job_id=str(job.id), produced=state.produced)
        emit(EventType.CANCELLED, {}, None)
        return Outcome("cancelled")

    def _finish_from_storage(self, job: SynthesisJob, name: str, started: float, emit: Emit) -> Outcome:
        params = SynthesisParams.from_dict(job.params)
        samples, rate = decode_audio(storage.read_output(name))
        emit(EventType.CHUNK, {"seq": 0, "sample_rate": rate, "samples": len(samples),
                           "duration": round(len(samples) / rate, 4)}, to_pcm16(samples))
        result = result_store(fingerprint=job.fingerprint, samples=samples, sample_rate=rate, fmt=params.format,
                              engine_id=job.engine_id, engine_version=job.engine_version, voice_key="stored",
                              voice_note=job.voice_note)
        services.job_mark_done(job=job, result=result, first_chunk_s=None, total_s=time.monotonic() - started)
        emit(EventType.DONE, done_payload(job), None)
        return Outcome("done", "from stored output")

    def _repair_end(self, job: SynthesisJob, emit: Emit) -> None:
        """A final job whose entry came back: its worker died after the final write and before the
        ack, perhaps before the terminal event too. Readers wait for that event: write it from the row."""
        if last_event_type(str(job.pk)) in TERMINAL_EVENTS:
            return
        if job.status == JobStatus.DONE:
            emit(EventType.DONE, done_payload(job), None)
        elif job.status == JobStatus.FAILED:
            emit(EventType.FAILED, {"code": job.error_code, "message": job.error_message}, None)
        else:
            emit(EventType.CANCELLED, {}, None)
