"""Reads and actions behind the admin's Cache and Workers pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from glmtts_site.redis_conn import get_redis
from synthesis.jobs.dispatch import redispatch
from synthesis.jobs.services import job_mark_retried

from . import queue


@dataclass(frozen=True)
class DeadLetter:
    entry_id: str
    job_id: str
    reason: str


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def pending_entries(limit: int = 50) -> list[dict[str, Any]]:
    try:
        rows: Any = get_redis().xpending_range(queue.stream_key(), queue.GROUP, min="-", max="+", count=limit)
    except Exception:  # no group yet
        return []
    return [{"entry_id": _text(r["message_id"]), "consumer": _text(r["consumer"]),
             "idle_s": round(int(r["time_since_delivered"]) / 1000, 1), "deliveries": int(r["times_delivered"])}
            for r in rows]


def dead_letters(limit: int = 50) -> list[DeadLetter]:
    rows: Any = get_redis().xrevrange(queue.dead_letter_key(), count=limit)
    return [DeadLetter(_text(entry_id), _text(fields[b"job"]), _text(fields.get(b"reason", b"")))
            for entry_id, fields in rows]


def requeue_dead_letter(entry_id: str) -> str | None:
    """Put a dead-lettered job back on the queue with a clean slate; returns its id."""
    client = get_redis()
    rows: Any = client.xrange(queue.dead_letter_key(), min=entry_id, max=entry_id)
    if not rows:
        return None
    job_id = _text(rows[0][1][b"job"])
    if job_mark_retried(job_id=job_id):  # (a job retried or deleted meanwhile keeps what it has)
        redispatch(job_id)
    client.xdel(queue.dead_letter_key(), entry_id)
    return job_id
