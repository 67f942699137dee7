"""Every reader of a job's events ends when the job's row is final, even if the stream never gets its
terminal event (a worker killed between its final write and that event): the websocket sends the
final frame from the row, the SSE/OpenAI reader and the synthesize command's follower stop."""

from __future__ import annotations

import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import User

from synthesis.jobs import events
from synthesis.jobs.events import follow_events, publish_event_sync
from synthesis.jobs.selectors import job_has_ended
from synthesis.jobs.services import job_create
from synthesis.models import JobStatus, SynthesisJob
from synthesis.realtime import consumers, streaming
from synthesis.realtime.streaming import job_events
from tests.support.sockets import open_socket

pytestmark = pytest.mark.django_db(transaction=True)
GRACE_S = 0.5


@pytest.fixture(autouse=True)
def short_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (consumers, events, streaming):
        monkeypatch.setattr(module, "END_GRACE_S", GRACE_S)


@database_sync_to_async
def _done_without_its_end(owner: User) -> SynthesisJob:
    job = job_create(owner=owner, text="A job whose worker died after its final write.", enqueue=False)
    publish_event_sync(str(job.pk), "tts.started", {"attempt": 1, "worker": "killed"})
    SynthesisJob.objects.filter(pk=job.pk).update(status=JobStatus.DONE, audio_duration_s=1.5, sample_rate=24000)
    return job


async def test_a_websocket_follower_gets_the_final_frame_from_the_row(owner: User) -> None:
    job = await _done_without_its_end(owner)
    communicator = open_socket(f"/ws/jobs/{job.pk}/", user=owner)
    assert (await communicator.connect())[0]
    frames: list[dict[str, Any]] = []
    while True:
        message = await communicator.receive_output(timeout=10)
        if message["type"] == "websocket.close":
            break
        frames.append(json.loads(message["text"]))
    assert [frame["type"] for frame in frames] == ["tts.started", "tts.done"]
    assert frames[-1]["duration"] == 1.5 and message["code"] == 1000


async def test_the_sse_reader_ends_when_the_row_is_final(owner: User) -> None:
    job = await _done_without_its_end(owner)
    seen = [event.type async for event in job_events(str(job.pk), idle_timeout_s=60)]
    assert seen == ["tts.started"]


async def test_an_unfinished_job_keeps_its_readers(owner: User) -> None:
    job = await database_sync_to_async(job_create)(owner=owner, text="Still queued.", enqueue=False)
    with pytest.raises(streaming.JobWaitTimeout):
        async for _ in job_events(str(job.pk), idle_timeout_s=3 * GRACE_S):
            pass


def test_the_command_follower_ends_when_the_row_is_final(owner: User) -> None:
    job = job_create(owner=owner, text="A job the synthesize command follows.", enqueue=False)
    publish_event_sync(str(job.pk), "tts.started", {"attempt": 1, "worker": "killed"})
    SynthesisJob.objects.filter(pk=job.pk).update(status=JobStatus.DONE)
    seen = [event.type for event in follow_events(str(job.pk), timeout_s=30,
                                                  row_is_final=lambda: job_has_ended(job.pk))]
    assert seen == ["tts.started"]
