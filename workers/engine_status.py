"""Whether each offered engine can take a job now, in words a user reads: from the workers' heartbeats.

The portal shows this while a worker is still loading its engines (a minute or more on a cold CPU),
so a user sees why the voice picker is short and why Synthesize waits, instead of a silent page.
The measured RTF (compute seconds per audio second) of recent jobs lets the studio estimate a wait.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from synthesis.models import JobStatus, SynthesisJob

from .engine_registry import engine_class, offered_engine_ids
from .heartbeat import is_serving, live_workers

RTF_SAMPLE = 50  # the most recent finished jobs per engine that the estimate is made from


@dataclass(frozen=True)
class EngineStatus:
    engine: str
    name: str
    clones_voices: bool
    state: str  # ready, loading, stalled, no_worker
    message: str
    version: str
    rtf: float | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def engine_statuses(workers: list[dict[str, Any]] | None = None) -> list[EngineStatus]:
    """Every offered engine's state. Raises RedisError when Redis is down (heartbeats live there)."""
    workers = live_workers() if workers is None else workers
    return [_status(engine_id, workers) for engine_id in offered_engine_ids()]


def engine_states(workers: list[dict[str, Any]]) -> dict[str, str]:
    """engine id -> state, without the database (for /ready)."""
    return {engine_id: _state(engine_id, workers)[0] for engine_id in offered_engine_ids()}


def _status(engine_id: str, workers: list[dict[str, Any]]) -> EngineStatus:
    cls = engine_class(engine_id)
    name = str(getattr(cls, "display_name", engine_id))
    state, version = _state(engine_id, workers)
    return EngineStatus(engine=engine_id, name=name, clones_voices=bool(getattr(cls, "clones_voices", False)),
                        state=state, message=_message(state, name), version=version, rtf=measured_rtf(engine_id))


def _state(engine_id: str, workers: list[dict[str, Any]]) -> tuple[str, str]:
    having = [w for w in workers if engine_id in w.get("engines", {})]
    serving = [w for w in having if is_serving(w)]
    if serving:
        return "ready", str(serving[0]["engines"][engine_id])
    if any(w.get("status") == "starting" for w in workers):
        return "loading", ""
    if having:
        return "stalled", str(having[0]["engines"][engine_id])
    return "no_worker", ""


def _message(state: str, name: str) -> str:
    return {"ready": f"{name} is ready.",
            "loading": f"{name} is loading; jobs wait until it is ready (a minute or two after a start).",
            "stalled": f"The worker that runs {name} is stuck; it is being recovered, jobs wait in the queue.",
            "no_worker": f"No worker runs {name} right now; jobs wait in the queue until one starts."}[state]


def measured_rtf(engine_id: str) -> float | None:
    """Median RTF of the engine's recent finished (computed, not cached) jobs; None before any."""
    recent = (SynthesisJob.objects.filter(engine_id=engine_id, status=JobStatus.DONE, cache_hit=False,
                                          rtf__isnull=False)
              .order_by("-created_at").values_list("rtf", flat=True)[:RTF_SAMPLE])
    values = [float(value) for value in recent if value is not None]
    return round(statistics.median(values), 3) if values else None
