"""Writes for synthesis jobs. Every state change goes through here."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from glmtts_site.errors import ApiError
from workers import queue

from .models import JobStatus, SynthesisJob
from .params import SynthesisParams

MAX_TEXT_CHARS = 5000


@dataclass(frozen=True)
class ReferenceUpload:
    name: str
    data: bytes


def job_create(*, owner: User | None, text: str, engine_id: str = "", voice_preset: str = "",
               reference: ReferenceUpload | None = None, prompt_text: str = "", skip_whisper: bool = False,
               params: SynthesisParams | None = None) -> SynthesisJob:
    text = text.strip()
    if not text:
        raise ApiError("Text is empty.", code="empty_text", field="text")
    if len(text) > MAX_TEXT_CHARS:
        raise ApiError(f"Text is longer than {MAX_TEXT_CHARS} characters.", code="text_too_long", field="text")
    if reference is not None and skip_whisper and not prompt_text.strip():
        raise ApiError("skip_whisper needs prompt_text: without it nobody knows what the reference says.",
                       code="prompt_text_required", field="prompt_text")
    job = SynthesisJob(owner=owner, text=text, engine_id=engine_id or settings.DEFAULT_ENGINE,
                       voice_preset=voice_preset, prompt_text=prompt_text.strip(), skip_whisper=skip_whisper,
                       params=(params or SynthesisParams()).to_dict())
    with transaction.atomic():
        if reference is not None:
            job.reference_audio.save(f"{job.id}.bin", ContentFile(reference.data), save=False)
        job.save()
        # Enqueue only once the row is visible to workers.
        transaction.on_commit(lambda: queue.enqueue(str(job.id)))
    return job


def job_mark_running(*, job_id: str, worker_id: str) -> SynthesisJob | None:
    """Claim the row for a run; None when the job is already final (nothing to do)."""
    now = timezone.now()
    with transaction.atomic():
        job = SynthesisJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.is_final:
            return job
        job.status, job.worker_id, job.started_at = JobStatus.RUNNING, worker_id, now
        job.attempts = F("attempts") + 1
        job.queue_wait_s = (now - job.created_at).total_seconds()
        job.save(update_fields=["status", "worker_id", "started_at", "attempts", "queue_wait_s"])
    job.refresh_from_db()
    return job


def job_mark_done(*, job: SynthesisJob, output_name: str, output_sha256: str, duration_s: float,
                  sample_rate: int, first_chunk_s: float | None, total_s: float) -> SynthesisJob:
    job.status, job.output.name, job.output_sha256 = JobStatus.DONE, output_name, output_sha256
    job.audio_duration_s, job.sample_rate = duration_s, sample_rate
    job.first_chunk_s, job.total_s = first_chunk_s, total_s
    job.rtf = total_s / duration_s if duration_s else None
    job.finished_at = timezone.now()
    job.error_code = job.error_message = ""
    job.save()
    return job


def job_mark_failed(*, job_id: str, code: str, message: str) -> None:
    SynthesisJob.objects.filter(pk=job_id).exclude(status__in=[JobStatus.DONE, JobStatus.CANCELLED]).update(
        status=JobStatus.FAILED, error_code=code, error_message=message[:2000], finished_at=timezone.now())


def job_mark_cancelled(*, job_id: str) -> None:
    SynthesisJob.objects.filter(pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).update(
        status=JobStatus.CANCELLED, finished_at=timezone.now())


def job_mark_requeued(*, job_id: str, reason: str) -> None:
    """Back to queued after a handed-back or crashed run; the row keeps why."""
    SynthesisJob.objects.filter(pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).update(
        status=JobStatus.QUEUED, worker_id="", error_message=reason[:2000])
