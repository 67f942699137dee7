"""Reads for synthesis jobs, scoped to the asking user."""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.urls import get_script_prefix, get_urlconf, reverse

from synthesis.models import FINAL_STATUSES, SynthesisJob


def job_list_for(*, user: User, filters: dict[str, Any] | None = None) -> QuerySet[SynthesisJob]:
    jobs = SynthesisJob.objects.filter(owner=user).select_related("voice")
    for name, value in (filters or {}).items():
        if value is not None:
            jobs = jobs.filter(**{name: value})
    return jobs.order_by("-created_at")


def job_get_for(*, user: User, job_id: UUID | str) -> SynthesisJob:
    """Another user's job is "not found" (DoesNotExist), never "forbidden"."""
    return SynthesisJob.objects.select_related("voice").get(pk=job_id, owner=user)


def job_has_ended(job_id: UUID | str) -> bool:
    """Whether the job's row is final (not permission-scoped: for readers that hold the job already)."""
    return SynthesisJob.objects.filter(pk=job_id, status__in=list(FINAL_STATUSES)).exists()


def audio_urls(job: SynthesisJob) -> dict[str, str]:
    """Public, cookie-free, content-addressed URLs of a finished job's files, per format."""
    if not job.output_token:
        return {}
    where = (get_urlconf(), get_script_prefix())
    return {fmt: _audio_url(where, job.output_token, fmt) for fmt in job.files}


def job_status_url(job: SynthesisJob) -> str:
    """`reverse("api-synthesis-detail", ...)` for this job, from a template made once per URL
    configuration and script prefix (the id is the only part that changes)."""
    head, tail = _status_url_template((get_urlconf(), get_script_prefix()))
    return f"{head}{job.pk}{tail}"


_SENTINEL_ID = UUID(int=0)


@lru_cache(maxsize=64)
def _status_url_template(where: tuple[str | None, str]) -> tuple[str, str]:
    url = reverse("api-synthesis-detail", kwargs={"job_id": _SENTINEL_ID})
    head, _, tail = url.partition(str(_SENTINEL_ID))
    return head, tail


@lru_cache(maxsize=4096)
def _audio_url(where: tuple[str | None, str], token: str, fmt: str) -> str:
    """Remembered per URL configuration and script prefix: a result's URLs never change, and every
    repeat of a popular request would otherwise reverse the same two URLs again."""
    return reverse("audio", kwargs={"token": token, "ext": fmt})


def job_by_token(token: str) -> SynthesisJob | None:
    return SynthesisJob.objects.filter(output_token=token).exclude(files={}).order_by("created_at").first()
