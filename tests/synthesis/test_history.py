"""Cache-hit rows go through one shared connection with group commit; nothing is skipped or early."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, connections, transaction
from django.db.models.signals import post_save, pre_save
from django.forms.models import model_to_dict
from django.utils import timezone

from synthesis.jobs import history
from synthesis.jobs.history import HistoryWriter, _Queued, history_insert
from synthesis.models import JobStatus, SynthesisJob
from workers.engines.params import SynthesisParams

pytestmark = pytest.mark.django_db(transaction=True)


def _hit_row(owner: User | None, now: datetime | None = None) -> SynthesisJob:
    now = now or timezone.now()
    job = SynthesisJob(owner=owner, text="A phrase heard before.", engine_id="kokoro",
                       params=SynthesisParams().to_dict(), fingerprint="f" * 64, status=JobStatus.DONE,
                       cache_hit=True, started_at=now, finished_at=now, queue_wait_s=0.0, total_s=0.0,
                       files={"wav": "outputs/ff/f.wav", "mp3": "outputs/ff/f.mp3"}, output_token="t" * 32,
                       audio_duration_s=2.0, sample_rate=24000, engine_version="v1")
    job.output.name = "outputs/ff/f.wav"
    return job


def _stored(job_id: uuid.UUID) -> dict[str, Any]:
    row = model_to_dict(SynthesisJob.objects.get(pk=job_id), exclude=["id"])
    row["created_at"] = SynthesisJob.objects.values_list("created_at", flat=True).get(pk=job_id)
    return row


def test_a_row_reads_back_exactly_as_model_save_writes_it(owner: User) -> None:
    now = timezone.now()
    saved, written = _hit_row(owner, now), _hit_row(owner, now)
    saved.save()
    history_insert(written)
    assert not written._state.adding and written._state.db == "default"
    expected, actual = _stored(saved.pk), _stored(written.pk)
    assert abs((actual.pop("created_at") - expected.pop("created_at")).total_seconds()) < 5
    assert actual == expected


def test_concurrent_hits_are_all_committed_before_each_returns(owner: User) -> None:
    seen_at_return: list[bool] = []

    def hit() -> None:
        job = _hit_row(owner)
        try:
            history_insert(job)
            seen_at_return.append(SynthesisJob.objects.filter(pk=job.pk).exists())
        finally:
            connections.close_all()  # this thread's own connection must not outlive the test database

    threads = [threading.Thread(target=hit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen_at_return == [True] * 20
    assert SynthesisJob.objects.filter(owner=owner, cache_hit=True).count() == 20


def test_one_bad_row_fails_only_its_own_request(owner: User) -> None:
    writer = HistoryWriter()
    good, bad = _Queued(_hit_row(owner)), _Queued(_hit_row(owner))
    bad.job.owner_id = 987654  # no such user
    writer._insert_group([good, bad])
    writer.close()
    assert good.done and good.error is None and SynthesisJob.objects.filter(pk=good.job.pk).exists()
    assert bad.done and isinstance(bad.error, IntegrityError)
    assert not SynthesisJob.objects.filter(pk=bad.job.pk).exists()


def test_the_error_of_a_failed_insert_reaches_its_caller(owner: User) -> None:
    first = _hit_row(owner)
    history_insert(first)
    twin = _hit_row(owner)
    twin.pk = first.pk
    with pytest.raises(IntegrityError):
        history_insert(twin)
    history_insert(_hit_row(owner))  # and the next one still works


def test_a_lost_connection_is_replaced_and_the_request_still_succeeds(owner: User) -> None:
    history_insert(_hit_row(owner))
    shared = history.writer._db
    assert shared is not None and shared.connection is not None
    shared.connection.close()  # the database went away behind Django's back
    job = _hit_row(owner)
    history_insert(job)  # the driver's "closed connection" error is met by one retry on a fresh one
    assert SynthesisJob.objects.filter(pk=job.pk).exists()
    assert history.writer._db is not shared
    history_insert(after := _hit_row(owner))
    assert SynthesisJob.objects.filter(pk=after.pk).exists()


def test_a_rows_own_error_is_raised_at_once_and_keeps_the_connection(owner: User) -> None:
    bad = _hit_row(owner)
    bad.owner_id = 987654  # an IntegrityError is the row's fault: raised at once, connection kept
    history_insert(_hit_row(owner))
    shared = history.writer._db
    with pytest.raises(IntegrityError):
        history_insert(bad)
    assert history.writer._db is shared


def test_inside_a_transaction_the_row_belongs_to_it(owner: User) -> None:
    job = _hit_row(owner)
    with pytest.raises(RuntimeError), transaction.atomic():
        history_insert(job)
        assert SynthesisJob.objects.filter(pk=job.pk).exists()
        raise RuntimeError("roll back")
    assert not SynthesisJob.objects.filter(pk=job.pk).exists()


def test_save_signals_are_sent_around_the_commit(owner: User) -> None:
    seen: list[tuple[str, bool]] = []

    def before(sender: Any, instance: SynthesisJob, **kwargs: Any) -> None:
        seen.append(("pre_save", SynthesisJob.objects.filter(pk=instance.pk).exists()))

    def after(sender: Any, instance: SynthesisJob, created: bool, **kwargs: Any) -> None:
        seen.append(("post_save" if created else "updated", SynthesisJob.objects.filter(pk=instance.pk).exists()))

    pre_save.connect(before, sender=SynthesisJob)
    post_save.connect(after, sender=SynthesisJob)
    try:
        history_insert(_hit_row(owner))
    finally:
        pre_save.disconnect(before, sender=SynthesisJob)
        post_save.disconnect(after, sender=SynthesisJob)
    assert seen == [("pre_save", False), ("post_save", True)]
