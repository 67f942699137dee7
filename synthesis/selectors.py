"""Reads for synthesis jobs, scoped to the asking user."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.urls import reverse

from .models import SynthesisJob


def job_list_for(*, user: User, filters: dict[str, Any] | None = None) -> QuerySet[SynthesisJob]:
    jobs = SynthesisJob.objects.filter(owner=user)
    for name, value in (filters or {}).items():
        if value is not None:
            jobs = jobs.filter(**{name: value})
    return jobs.order_by("-created_at")


def job_get_for(*, user: User, job_id: UUID | str) -> SynthesisJob:
    """Another user's job is "not found" (DoesNotExist), never "forbidden"."""
    return SynthesisJob.objects.get(pk=job_id, owner=user)


def audio_urls(job: SynthesisJob) -> dict[str, str]:
    """Public, cookie-free, content-addressed URLs of a finished job's files, per format."""
    if not job.output_token:
        return {}
    return {fmt: reverse("audio", kwargs={"token": job.output_token, "ext": fmt}) for fmt in job.files}


def job_by_token(token: str) -> SynthesisJob | None:
    return SynthesisJob.objects.filter(output_token=token).exclude(files={}).order_by("created_at").first()
