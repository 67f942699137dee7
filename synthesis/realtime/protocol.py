"""Turning stored job events into websocket frames (pure, no I/O)."""

from __future__ import annotations

import time
from typing import Any

from synthesis.jobs.events import EventType, JobEvent
from synthesis.jobs.selectors import audio_urls
from synthesis.models import SynthesisJob

# Close codes (docs/api.md: websockets). Daphne lets an application close only with 1000 or 3000-4999;
# 1009 comes from the server itself for a message over WS_SERVER_MAX_MESSAGE_BYTES, never read.
CLOSE_BAD_FRAME = 4400  # a binary frame: clients send JSON text only
CLOSE_NOT_SIGNED_IN = 4401
CLOSE_NOT_FOUND = 4404  # no such job, or another user's (the same answer)
CLOSE_TOO_BIG = 4413  # a message over WS_MAX_MESSAGE_BYTES that reached the consumer
CLOSE_TOO_MANY = 4429  # too many sockets for this user, handshakes per minute, or messages per second
CLOSE_SERVER_ERROR = 4500
CLOSE_UNAVAILABLE = 4503  # Redis or the database is unreachable: reconnect with resume
CLOSE_CODES = {1000: "the job ended (after its final frame)", 1009: "message over the server's limit",
               CLOSE_BAD_FRAME: "binary frame", CLOSE_NOT_SIGNED_IN: "not signed in", CLOSE_NOT_FOUND: "no such job",
               CLOSE_TOO_BIG: "message too big", CLOSE_TOO_MANY: "too many sockets, handshakes or messages",
               CLOSE_SERVER_ERROR: "server error", CLOSE_UNAVAILABLE: "live updates unavailable, reconnect"}
MAX_SEQ = 10**9


class MessageBucket:
    """Client messages per socket: `rate` a second with bursts of `burst` (a ping flood is closed)."""

    def __init__(self, rate: float = 10.0, burst: float = 30.0) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.at = burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def parse_after_seq(value: Any) -> int | None:
    """`resume`'s after_seq: an integer from -1 (everything) up; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int) or not -1 <= value <= MAX_SEQ:
        return None
    return value


def frame_for(event: JobEvent) -> dict[str, Any] | None:
    """The JSON frame for an event (chunks are followed by one binary PCM16 frame); None to skip."""
    data = event.data
    if event.type == EventType.PROGRESS:
        # The same fields on every surface (websocket and SSE); done/total are the stream's own names.
        return {"type": EventType.PROGRESS, "stage": data["stage"], "fraction": round(data["fraction"], 4),
                "segment": data["done"], "segments": data["total"], "done": data["done"], "total": data["total"]}
    if event.type == EventType.CHUNK:
        return {"type": EventType.CHUNK, "seq": data["seq"], "sample_rate": data["sample_rate"],
                "samples": data["samples"], "duration": data["duration"]}
    if event.type in (EventType.STARTED, EventType.FAILED, EventType.CANCELLED, EventType.REQUEUED):
        return {"type": event.type, **data}
    return None  # tts.done is built from the committed row, not the event


def done_frame(job: SynthesisJob) -> dict[str, Any]:
    return {"type": EventType.DONE, **done_payload(job)}


def done_payload(job: SynthesisJob) -> dict[str, Any]:
    """What every surface says of a finished job (the done event, the websocket and SSE frames): one builder."""
    return {"job_id": str(job.pk), "audio_urls": audio_urls(job),
            "duration": job.audio_duration_s, "sample_rate": job.sample_rate, "cache_hit": job.cache_hit,
            "voice": job.voice_note,
            "timings": {"queue_wait_s": job.queue_wait_s, "first_chunk_s": job.first_chunk_s,
                        "total_s": job.total_s, "rtf": job.rtf}}


def final_frame(job: SynthesisJob) -> dict[str, Any]:
    if job.status == "done":
        return done_frame(job)
    if job.status == "cancelled":
        return {"type": EventType.CANCELLED, "job_id": str(job.pk)}
    return {"type": EventType.FAILED, "job_id": str(job.pk), "code": job.error_code, "message": job.error_message}
