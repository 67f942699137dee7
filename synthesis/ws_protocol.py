"""Turning stored job events into websocket frames (pure, no I/O), and the job's group name."""

from __future__ import annotations

from typing import Any

from .events import JobEvent
from .models import SynthesisJob
from .selectors import audio_urls

CLIENT_MESSAGE_LIMIT = 32 * 1024  # clients only send control messages and one text to synthesize


def job_group(job_id: str) -> str:
    return f"job.{job_id}"


def frame_for(event: JobEvent) -> dict[str, Any] | None:
    """The JSON frame for an event (chunks are followed by one binary PCM16 frame); None to skip."""
    data = event.data
    if event.type == "tts.progress":
        return {"type": "tts.progress", "stage": data["stage"], "fraction": round(data["fraction"], 4),
                "segment": data["done"], "segments": data["total"]}
    if event.type == "tts.chunk":
        return {"type": "tts.chunk", "seq": data["seq"], "sample_rate": data["sample_rate"],
                "samples": data["samples"], "duration": data["duration"]}
    if event.type in ("tts.started", "tts.failed", "tts.cancelled", "tts.requeued"):
        return {"type": event.type, **data}
    return None  # tts.done is built from the committed row, not the event


def done_frame(job: SynthesisJob) -> dict[str, Any]:
    return {"type": "tts.done", "job_id": str(job.pk), "audio_urls": audio_urls(job),
            "duration": job.audio_duration_s, "sample_rate": job.sample_rate, "cache_hit": job.cache_hit,
            "voice": job.voice_note,
            "timings": {"queue_wait_s": job.queue_wait_s, "first_chunk_s": job.first_chunk_s,
                        "total_s": job.total_s, "rtf": job.rtf}}


def final_frame(job: SynthesisJob) -> dict[str, Any]:
    if job.status == "done":
        return done_frame(job)
    if job.status == "cancelled":
        return {"type": "tts.cancelled", "job_id": str(job.pk)}
    return {"type": "tts.failed", "job_id": str(job.pk), "code": job.error_code, "message": job.error_message}
