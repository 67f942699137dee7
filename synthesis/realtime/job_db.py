"""Database work of the websocket consumers, wrapped for the event loop."""

from __future__ import annotations

import contextlib
from typing import Any

from channels.db import database_sync_to_async
from django.contrib.auth.models import User

from glmtts_site.errors import ApiError
from synthesis.jobs import selectors
from synthesis.jobs.control import job_cancel
from synthesis.models import JobStatus, SynthesisJob
from synthesis.serializers import validated_input
from synthesis.submit.services import synthesis_submit
from synthesis.submit.voice_input import submit_args


@database_sync_to_async
def load_owned_job(user: User, job_id: str) -> SynthesisJob | None:
    try:
        return selectors.job_get_for(user=user, job_id=job_id)
    except (SynthesisJob.DoesNotExist, ValueError):
        return None


@database_sync_to_async
def refresh_job(job: SynthesisJob) -> SynthesisJob:
    job.refresh_from_db()
    return job


@database_sync_to_async
def queue_position(job: SynthesisJob) -> int:
    """1-based place among queued jobs that will run before this one."""
    ahead = SynthesisJob.objects.filter(status=JobStatus.QUEUED, leader__isnull=True, created_at__lt=job.created_at)
    return ahead.count() + 1


@database_sync_to_async
def cancel_owned_job(user: User, job_id: str) -> None:
    with contextlib.suppress(SynthesisJob.DoesNotExist):
        job_cancel(job=selectors.job_get_for(user=user, job_id=job_id))


@database_sync_to_async
def submit_from_socket(user: User, fields: dict[str, Any]) -> SynthesisJob:
    data = validated_input(fields)
    if data.get("reference_audio"):
        raise ApiError("Upload reference audio over HTTP; the socket takes preset voices.", field="reference_audio")
    return synthesis_submit(owner=user, **submit_args(user, dict(data)).as_kwargs()).job
