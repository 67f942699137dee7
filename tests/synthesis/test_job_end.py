"""A job's end gives back what it held exactly once, however often its final write is tried (a write
retried on a fresh connection, a redelivered entry): one quota slot, one settled charge."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings as SettingsWrapper

from synthesis.jobs import services
from synthesis.jobs.quotas import QuotaExceeded, characters_left, take_characters, take_job_slot
from synthesis.models import JobStatus, SynthesisJob
from synthesis.results.publish import result_store
from tests.support.results import speech_like

pytestmark = pytest.mark.django_db(transaction=True)
TEXT = "Forty characters of text, give or take."


@pytest.fixture(autouse=True)
def two_slots(settings: SettingsWrapper) -> None:
    settings.QUOTA_CONCURRENT_JOBS = 2
    settings.QUOTA_CHARS_PER_DAY = 1000


def _held_job(owner: User) -> SynthesisJob:
    """A queued job holding one of its owner's slots and its characters, as a submit leaves it."""
    take_job_slot(owner.pk)
    take_characters(owner.pk, len(TEXT))
    return services.job_create(owner=owner, text=TEXT, quota_held=True, enqueue=False)


def _free_slots(owner: User) -> int:
    free = 0
    while free < 5:
        try:
            take_job_slot(owner.pk)
        except QuotaExceeded:
            return free
        free += 1
    return free


def test_a_done_write_tried_twice_frees_one_slot(owner: User) -> None:
    job, _other = _held_job(owner), _held_job(owner)
    running = services.job_mark_running(job_id=str(job.pk), worker_id="w")
    assert running is not None
    result = result_store(fingerprint="f" * 64, samples=speech_like(1.0), sample_rate=24000, fmt="wav",
                          engine_id="kokoro", engine_version="v", voice_key="k")
    for _ in range(2):  # the second as a retry after the first committed and then lost its connection
        services.job_mark_done(job=running, result=result, first_chunk_s=0.1, total_s=1.0)
    assert SynthesisJob.objects.get(pk=job.pk).quota_held is False
    assert _free_slots(owner) == 1  # the other job still holds its slot


def test_a_cancel_whose_first_try_ended_the_row_still_settles(owner: User) -> None:
    job, _other = _held_job(owner), _held_job(owner)
    # The first try's update committed, then its connection died before anything was given back.
    SynthesisJob.objects.filter(pk=job.pk).update(status=JobStatus.CANCELLED)
    services.job_mark_cancelled(job_id=str(job.pk), produced=0.5)
    services.job_mark_cancelled(job_id=str(job.pk), produced=0.5)  # asked once more: nothing twice
    row = SynthesisJob.objects.get(pk=job.pk)
    assert row.quota_held is False and row.characters_charged == len(TEXT) // 2 + len(TEXT) % 2
    assert characters_left(owner.pk) == 1000 - len(TEXT) - row.characters_charged
    assert _free_slots(owner) == 1


def test_a_failure_whose_first_try_ended_the_row_still_frees_the_slot(owner: User) -> None:
    job, _other = _held_job(owner), _held_job(owner)
    SynthesisJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED)
    for _ in range(2):
        services.job_mark_failed(job_id=str(job.pk), code="engine_error", message="boom", produced=0.0)
    assert SynthesisJob.objects.get(pk=job.pk).characters_charged == 0
    assert characters_left(owner.pk) == 1000 - len(TEXT)  # the other job's characters stay taken
    assert _free_slots(owner) == 1
