"""Writes for synthesis jobs. Every state change goes through here."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from glmtts_site.db_retry import on_fresh_connection
from synthesis.jobs import quotas, singleflight
from synthesis.jobs.dispatch import dispatch_new, dispatch_next_for, redispatch
from synthesis.jobs.history import history_insert
from synthesis.models import JobStatus, SynthesisJob
from synthesis.results.cache import CachedResult
from synthesis.results.publish import audio_token
from voices.models import Voice
from voices.services import reference_validated
from workers.engines.params import SynthesisParams

UNFINISHED = (JobStatus.QUEUED, JobStatus.RUNNING)
ENDED_WITHOUT_RESULT = (JobStatus.FAILED, JobStatus.CANCELLED)
# Every status change of a job, written once: the service, the status it sets, the statuses it changes.
# Each one is a conditional update on these, so a late, repeated or racing call changes nothing it should
# not (tests/synthesis/test_transitions.py). job_mark_done is the run's own end, written by the worker
# holding the job's lock; the rest of the code changes no status.
TRANSITIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "job_mark_running": (JobStatus.RUNNING, UNFINISHED),  # a worker takes it (again, after a crash)
    "job_mark_done": (JobStatus.DONE, UNFINISHED),
    "job_mark_failed": (JobStatus.FAILED, UNFINISHED),
    "job_mark_cancelled": (JobStatus.CANCELLED, UNFINISHED),
    "job_mark_requeued": (JobStatus.QUEUED, UNFINISHED),  # handed back, or its run crashed
    "job_mark_retried": (JobStatus.QUEUED, ENDED_WITHOUT_RESULT),  # staff: run it again
}


def _changeable(service: str) -> list[str]:
    return list(TRANSITIONS[service][1])


@dataclass(frozen=True)
class ReferenceUpload:
    """A reference clip in canonical form (mono 16-bit FLAC): a library voice's stored audio, or a
    client's clip after `reference_from_bytes` (the same checks as a library upload)."""

    name: str
    data: bytes


def reference_from_bytes(data: bytes, *, field: str = "reference_audio") -> ReferenceUpload:
    clip = reference_validated(data, field=field)
    return ReferenceUpload(f"{clip.sha256}.flac", clip.canonical)


def job_create(*, owner: User | None, text: str, engine_id: str = "", voice_preset: str = "",
               reference: ReferenceUpload | None = None, prompt_text: str = "", skip_whisper: bool = False,
               params: SynthesisParams | None = None, fingerprint: str = "", quota_held: bool = False,
               enqueue: bool = True, voice: Voice | None = None) -> SynthesisJob:
    """A queued job, dispatched to the workers in its owner's turn (unless the caller dispatches it
    itself). `quota_held`: the caller took the owner's characters and a job slot for it. The request was
    checked by the submit road (`synthesis.submit.services`); this writes the row."""
    job = SynthesisJob(owner=owner, text=text.strip(), engine_id=engine_id or settings.DEFAULT_ENGINE, voice=voice,
                       voice_preset=voice_preset, prompt_text=prompt_text.strip(), skip_whisper=skip_whisper,
                       params=(params or SynthesisParams()).to_dict(), fingerprint=fingerprint,
                       quota_held=quota_held, characters_charged=len(text.strip()) if quota_held else 0)
    with transaction.atomic():
        if reference is not None:
            job.reference_audio.save(f"{job.id}.flac", ContentFile(reference.data), save=False)
        job.save()
        if enqueue:  # the stream entry is added once the row is visible to workers
            dispatch_new(job)
    return job


def job_create_cached(*, owner: User | None, text: str, engine_id: str, voice_preset: str, prompt_text: str,
                      params: SynthesisParams, result: CachedResult, voice: Voice | None = None) -> SynthesisJob:
    """A job answered from the cache: done at once, no worker involved."""
    job = job_cached(owner=owner, text=text, engine_id=engine_id, voice_preset=voice_preset,
                     prompt_text=prompt_text, params=params, result=result, voice=voice)
    history_insert(job)  # committed before the answer leaves, grouped with concurrent hits
    return job


def job_cached(*, owner: User | None, text: str, engine_id: str, voice_preset: str, prompt_text: str,
               params: SynthesisParams, result: CachedResult, voice: Voice | None = None) -> SynthesisJob:
    """The finished job row of a cache hit, not saved yet (see `history`)."""
    now = timezone.now()
    job = SynthesisJob(owner=owner, text=text.strip(), engine_id=engine_id, voice_preset=voice_preset, voice=voice,
                       prompt_text=prompt_text, params=params.to_dict(), fingerprint=result.fingerprint,
                       status=JobStatus.DONE, cache_hit=True, started_at=now, finished_at=now, queue_wait_s=0.0,
                       total_s=0.0)
    _apply_result(job, result)
    return job


def _apply_result(job: SynthesisJob, result: CachedResult) -> None:
    fmt = str(job.params.get("format", "wav"))
    job.files, job.output_token = dict(result.files), audio_token(result.fingerprint)
    job.output.name = result.files.get(fmt, next(iter(result.files.values())))
    job.audio_duration_s, job.sample_rate, job.engine_version = result.duration_s, result.sample_rate, \
        result.engine_version
    job.voice_note = job.voice_note or result.voice_note


@on_fresh_connection
def job_mark_running(*, job_id: str, worker_id: str) -> SynthesisJob | None:
    """Claim the row for a run; returns it as is when final (nothing to do)."""
    now = timezone.now()
    with transaction.atomic():
        job = SynthesisJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status not in _changeable("job_mark_running"):
            return job
        job.status, job.worker_id, job.started_at = JobStatus.RUNNING, worker_id, now
        job.attempts = F("attempts") + 1
        job.queue_wait_s = (now - job.created_at).total_seconds()
        job.save(update_fields=["status", "worker_id", "started_at", "attempts", "queue_wait_s"])
    job.refresh_from_db()
    return job


@on_fresh_connection
def job_record(*, job: SynthesisJob, fields: list[str]) -> None:
    """Store what a run learnt about its job (transcript, voice note, fingerprint), nothing else."""
    job.save(update_fields=fields)


@on_fresh_connection
def job_mark_done(*, job: SynthesisJob, result: CachedResult, first_chunk_s: float | None,
                  total_s: float) -> SynthesisJob:
    _apply_result(job, result)
    job.status, job.first_chunk_s, job.total_s = JobStatus.DONE, first_chunk_s, total_s
    job.rtf = total_s / result.duration_s if result.duration_s else None
    job.finished_at = timezone.now()
    job.error_code = job.error_message = ""
    job.save()
    _job_ended(job)
    for follower in job.followers.filter(status__in=UNFINISHED):
        _apply_result(follower, result)
        follower.status, follower.finished_at = JobStatus.DONE, timezone.now()
        follower.total_s = (follower.finished_at - follower.created_at).total_seconds()
        follower.save()
        _job_ended(follower)
    return job


@on_fresh_connection
def job_mark_failed(*, job_id: str, code: str, message: str, produced: float = 0.0) -> None:
    """`produced`: the share of the job's segments made before it failed (what its owner pays for)."""
    SynthesisJob.objects.filter(pk=job_id, status__in=_changeable("job_mark_failed")).update(
        status=JobStatus.FAILED, error_code=code, error_message=message[:2000], finished_at=timezone.now())
    job = SynthesisJob.objects.filter(pk=job_id, status=JobStatus.FAILED).first()
    if job is not None:  # (also when an earlier try ended it and then lost its connection: the rest once)
        _job_ended(job, produced=produced)
        for follower in job.followers.filter(status__in=UNFINISHED):
            job_mark_failed(job_id=str(follower.pk), code=code, message=message)


@on_fresh_connection
def job_mark_cancelled(*, job_id: str, produced: float = 0.0) -> bool:
    """`produced`: the share of the job's segments made (and streamed) before the cancel: it is paid
    for; the rest of the characters go back to the owner's daily quota."""
    ended = SynthesisJob.objects.filter(pk=job_id, status__in=_changeable("job_mark_cancelled")).update(
        status=JobStatus.CANCELLED, finished_at=timezone.now())
    job = SynthesisJob.objects.filter(pk=job_id, status=JobStatus.CANCELLED).first()
    if job is not None:  # (also when an earlier try ended it and then lost its connection: the rest once)
        _job_ended(job, produced=produced)
        _promote_a_follower(job)
    return bool(ended)


def _promote_a_follower(job: SynthesisJob) -> None:
    """A cancelled leader's followers still want the audio: the oldest takes over and runs."""
    waiting = list(job.followers.filter(status=JobStatus.QUEUED).order_by("created_at"))
    if not waiting:
        return
    heir, others = waiting[0], waiting[1:]
    SynthesisJob.objects.filter(pk=heir.pk).update(leader=None)
    SynthesisJob.objects.filter(pk__in=[o.pk for o in others]).update(leader=heir)
    singleflight.claim_or_leader(heir.fingerprint, str(heir.pk))
    redispatch(str(heir.pk))  # it was waiting on a leader, not for its owner's turn


@on_fresh_connection
def job_mark_requeued(*, job_id: str, reason: str) -> None:
    """Back to queued after a handed-back or crashed run; the row keeps why."""
    SynthesisJob.objects.filter(pk=job_id, status__in=_changeable("job_mark_requeued")).update(
        status=JobStatus.QUEUED, worker_id="", error_message=reason[:2000])


@on_fresh_connection
def job_mark_retried(*, job_id: str) -> bool:
    """Staff: a failed or cancelled job goes back to the queue with a clean slate (its owner is not
    charged again: it holds no quota). True if it did; the caller dispatches it."""
    return bool(SynthesisJob.objects.filter(pk=job_id, status__in=_changeable("job_mark_retried")).update(
        status=JobStatus.QUEUED, error_code="", error_message="", finished_at=None, leader=None))


def _job_ended(job: SynthesisJob, *, produced: float | None = None) -> None:
    """Give back what an unfinished job held: its single-flight key, its quota slot, and (`produced` given:
    it ended without its result) the characters of what it did not produce; then its owner's next job
    takes the free share of the queue."""
    if job.leader_id is None and job.fingerprint:
        singleflight.release(job.fingerprint, str(job.pk))
    held = job.characters_charged
    charged = held if produced is None else min(held, math.ceil(len(job.text) * max(0.0, min(1.0, produced))))
    # Once per job, however often it is asked (a write retried on a fresh connection): one conditional
    # update clears the flag and settles the charge, and the instance follows, so that a retried save
    # cannot write the flag back.
    if job.owner_id is not None and SynthesisJob.objects.filter(pk=job.pk, quota_held=True).update(
            quota_held=False, characters_charged=charged):
        job.quota_held, job.characters_charged = False, charged
        quotas.release_job_slot(job.owner_id)
        if held > charged:
            quotas.refund_characters(job.owner_id, held - charged)
    owner_id = job.owner_id
    transaction.on_commit(lambda: dispatch_next_for(owner_id))
