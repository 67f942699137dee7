"""Which engines can take a job now, from heartbeats: what the studio shows while a worker loads."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from synthesis.models import JobStatus, SynthesisJob
from tests.support.heartbeats import write_heartbeat
from workers.engine_status import engine_states, engine_statuses, measured_rtf

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("beats,state", [
    ([], "no_worker"),
    ([("w1", "starting", {})], "loading"),
    ([("w1", "idle", {"kokoro": "v1"})], "ready"),
    ([("w1", "busy", {"kokoro": "v1"})], "ready"),
    ([("w1", "stalled", {"kokoro": "v1"})], "stalled"),
    ([("w1", "stalled", {"kokoro": "v1"}), ("w2", "starting", {})], "loading"),
    ([("w1", "stalled", {"kokoro": "v1"}), ("w2", "idle", {"kokoro": "v1"})], "ready"),
])
def test_the_state_follows_the_heartbeats(beats: list[tuple[str, str, dict[str, str]]], state: str) -> None:
    for worker_id, status, engines in beats:
        write_heartbeat(worker_id, status, engines)
    (kokoro,) = engine_statuses()
    assert kokoro.engine == "kokoro" and kokoro.state == state
    assert kokoro.name == "Kokoro" and kokoro.clones_voices is False and kokoro.message
    assert engine_states([]) == {"kokoro": "no_worker"}


def _done(owner: User, rtf: float | None, *, cache_hit: bool = False, engine: str = "kokoro") -> None:
    SynthesisJob.objects.create(owner=owner, text="t", engine_id=engine, status=JobStatus.DONE, rtf=rtf,
                                cache_hit=cache_hit)


def test_measured_rtf_is_the_median_of_computed_jobs(owner: User) -> None:
    assert measured_rtf("kokoro") is None
    for rtf in (0.2, 0.4, 0.9):
        _done(owner, rtf)
    _done(owner, 0.0, cache_hit=True)  # a cache hit computed nothing
    _done(owner, 5.0, engine="glmtts")
    _done(owner, None)
    assert measured_rtf("kokoro") == pytest.approx(0.4)


def test_every_signed_in_user_reads_the_engines_anonymous_does_not(owner_client: APIClient,
                                                                   other_client: APIClient, anon: APIClient) -> None:
    write_heartbeat("w1", "idle", {"kokoro": "v7"})
    for client in (owner_client, other_client):
        (kokoro,) = client.get("/api/v1/engines").json()
        assert kokoro["state"] == "ready" and kokoro["version"] == "v7" and kokoro["rtf"] is None
    assert anon.get("/api/v1/engines").status_code == 401
