"""Fair dispatch: which queued jobs are on the worker queue (the Redis stream) now.

The stream is first come, first served. So that one user's backlog cannot starve everybody else,
each owner (jobs without an owner — warm-ups, batches, commands — count as one) has at most
QUEUE_USER_SHARE jobs on it at a time; the rest wait in the database, oldest first, and go on the
stream when one of the owner's jobs ends. Owners therefore take turns. An idle worker pulls a
waiting job regardless of shares (the least-served owner's oldest first), so capacity is never left
unused. This module is the one place that decides; the row's `dispatched_at` records it.

What waits is not lost when Redis is: the reconciler calls `dispatch_due` (owners with a waiting job
and a free share), and re-enqueues dispatched jobs whose entry is gone.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from synthesis.models import JobStatus, SynthesisJob
from workers import queue

UNFINISHED = [JobStatus.QUEUED, JobStatus.RUNNING]


def _owned_by(owner_id: int | None) -> Q:
    return Q(owner__isnull=True) if owner_id is None else Q(owner_id=owner_id)


def _leaders() -> QuerySet[SynthesisJob]:
    """Unfinished jobs that need a worker (followers finish with their leader's result)."""
    return SynthesisJob.objects.filter(status__in=UNFINISHED, leader__isnull=True)


def in_flight(owner_id: int | None) -> int:
    return _leaders().filter(_owned_by(owner_id), dispatched_at__isnull=False).count()


def dispatch(job_id: str) -> bool:
    """Put the job on the stream (once its row is committed); False if it already was."""
    claimed = SynthesisJob.objects.filter(pk=job_id, dispatched_at__isnull=True, status=JobStatus.QUEUED).update(
        dispatched_at=timezone.now())
    if claimed:
        transaction.on_commit(lambda: queue.enqueue(job_id))
    return bool(claimed)


def redispatch(job_id: str) -> None:
    """Staff or the single-flight hand-over: put a queued job on the stream now, whatever the shares."""
    SynthesisJob.objects.filter(pk=job_id).update(dispatched_at=timezone.now())
    transaction.on_commit(lambda: queue.enqueue(job_id))


def dispatch_new(job: SynthesisJob) -> bool:
    """A new job goes on the stream if its owner has a free share; else it waits for its turn."""
    if in_flight(job.owner_id) >= settings.QUEUE_USER_SHARE:
        return False
    return dispatch(str(job.pk))


def dispatch_next_for(owner_id: int | None) -> bool:
    """One of the owner's jobs ended: their oldest waiting job takes the free share."""
    if in_flight(owner_id) >= settings.QUEUE_USER_SHARE:
        return False
    waiting = _leaders().filter(_owned_by(owner_id), dispatched_at__isnull=True).order_by("created_at")
    job_id = waiting.values_list("pk", flat=True).first()
    return dispatch(str(job_id)) if job_id is not None else False


def dispatch_due(limit: int = 50) -> int:
    """Every owner with a waiting job and a free share gets one dispatched (heals lost hand-overs)."""
    waiting_owners = (_leaders().filter(dispatched_at__isnull=True).values("owner_id")
                      .annotate(oldest=Min("created_at")).order_by("oldest")[:limit])
    return sum(dispatch_next_for(row["owner_id"]) for row in waiting_owners)


def dispatch_for_idle_worker() -> bool:
    """An idle worker's pull: the oldest waiting job of the owner with the fewest jobs in flight."""
    waiting = (_leaders().filter(dispatched_at__isnull=True).values("owner_id")
               .annotate(oldest=Min("created_at")).order_by("oldest")[:50])
    candidates = list(waiting)
    if not candidates:
        return False
    flying = dict(_leaders().filter(dispatched_at__isnull=False).values_list("owner_id").annotate(n=Count("pk")))
    owner_id = min(candidates, key=lambda row: (flying.get(row["owner_id"], 0), row["oldest"]))["owner_id"]
    job_id = (_leaders().filter(_owned_by(owner_id), dispatched_at__isnull=True).order_by("created_at")
              .values_list("pk", flat=True).first())
    return dispatch(str(job_id)) if job_id is not None else False
