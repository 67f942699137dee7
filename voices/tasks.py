"""Voice work for the worker (transcribe, compute prompt features) on a stream of its own."""

from __future__ import annotations

from glmtts_site.redis_conn import get_redis, redis_key

TRANSCRIBE = "transcribe"
FEATURES = "features"


def voice_tasks_key() -> str:
    return redis_key("voicetasks")


def enqueue_voice_task(voice_id: str, kind: str) -> None:
    # The entry's "job" field is "<kind>:<voice id>", so the worker's generic queue reads it as a job id.
    get_redis().xadd(voice_tasks_key(), {"job": f"{kind}:{voice_id}"})
