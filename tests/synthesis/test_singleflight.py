"""Twenty identical submits at once: one inference, twenty finished jobs with the same audio."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import User
from django.db import close_old_connections
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient

from synthesis.models import JobStatus, SynthesisJob
from synthesis.submit.services import synthesis_submit
from tests.support.processes import Workers, wait_for
from workers import queue
from workers.engines.params import SynthesisParams
from workers.heartbeat import live_workers

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
TEXT = "Everyone asked for this very sentence at the same moment."


def test_twenty_identical_submits_run_one_inference(owner: User, workers: Workers,
                                                    settings: SettingsWrapper) -> None:
    settings.QUOTA_CONCURRENT_JOBS = 50
    workers.start("solo")

    def submit(_: int) -> str:
        try:
            return str(synthesis_submit(owner=owner, text=TEXT, params=SynthesisParams()).job.pk)
        finally:
            close_old_connections()

    with ThreadPoolExecutor(max_workers=20) as pool:
        job_ids = list(pool.map(submit, range(20)))
    jobs = SynthesisJob.objects.filter(pk__in=job_ids)
    assert jobs.count() == 20
    assert jobs.filter(leader__isnull=True).count() == 1
    wait_for(lambda: jobs.filter(status=JobStatus.DONE).count() == 20, timeout_s=120, what="all twenty jobs")
    assert len({job.output_token for job in jobs}) == 1
    assert live_workers()[0]["engine_runs"] == 1
    # The entry is acked just after the row is final: give the worker that moment.
    wait_for(lambda: queue.queue_depth() == {"length": 0, "pending": 0, "dead": 0}, timeout_s=10,
             what="the queue to drain")

    # The worker's key equals the web's: the next identical request is a hit, served at once.
    client = APIClient()
    client.force_authenticate(owner)
    again = client.post("/api/v1/syntheses", {"text": TEXT}, format="json")
    assert again.status_code == 200 and again.json()["cache_hit"] is True
    assert client.get(again.json()["audio_urls"]["wav"]).status_code == 200
