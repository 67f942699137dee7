"""Cancel and delete, for owners (API, websocket) and staff (admin)."""

from __future__ import annotations

from synthesis.jobs.dispatch import redispatch
from synthesis.jobs.events import EventType, publish_event_sync, request_cancel
from synthesis.jobs.services import job_mark_cancelled, job_mark_retried
from synthesis.models import JobStatus, SynthesisJob


def job_cancel(*, job: SynthesisJob) -> SynthesisJob:
    """Queued jobs end at once; a running one stops at the worker's next chunk boundary."""
    if job.status == JobStatus.QUEUED:
        if job_mark_cancelled(job_id=str(job.pk)):
            publish_event_sync(str(job.pk), EventType.CANCELLED, {})  # no worker will: tell the followers
    elif job.status == JobStatus.RUNNING:
        request_cancel(str(job.pk))
    job.refresh_from_db()
    return job


def job_delete(*, job: SynthesisJob) -> None:
    """The row goes; stored audio stays (content-addressed files are shared by identical jobs)."""
    if not job.is_final:
        job_cancel(job=job)
        job_mark_cancelled(job_id=str(job.pk))
    job.delete()


def job_retry(*, job: SynthesisJob) -> bool:
    """Staff: run a failed or cancelled job again (its owner's quota is not charged twice)."""
    if not job_mark_retried(job_id=str(job.pk)):
        return False
    redispatch(str(job.pk))
    return True
