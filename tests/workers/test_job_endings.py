"""A job's end survives the faults around it (the worker in-process: real Redis and database, the
test engine): a final write that meets a lost connection still finishes the job in its first
attempt, and a job left final without its end event (its worker killed between the two) gets that
event from the next worker that meets its entry, so that its followers hear the end."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from asgiref.sync import sync_to_async
from django.db import connection
from pytest_django.fixtures import Settings as SettingsWrapper

from synthesis.jobs.events import last_event_type, publish_event_sync, read_events
from synthesis.jobs.services import job_create
from synthesis.models import JobStatus, SynthesisJob
from tests.support.engines import ToneEngine
from tests.support.inproc import until
from workers.engines.base import Event, VoicePrompt
from workers.engines.params import SynthesisParams

pytestmark = pytest.mark.django_db(transaction=True)
TEXT = "A line whose ending matters. It has a second sentence too."


@pytest.fixture(autouse=True)
def fast_worker(settings: SettingsWrapper, redis_isolated: redis.Redis) -> None:
    settings.QUEUE_VISIBILITY_TIMEOUT_S = 2.0
    settings.WORKER_HEARTBEAT_INTERVAL_S = 0.3


class ConnectionLosingEngine(ToneEngine):
    """After its last chunk, the inference thread's database connection dies behind Django's back:
    the job's final write is the first to meet it."""

    def synthesize(self, *, text: str, voice: VoicePrompt, params: SynthesisParams,
                   cancel: threading.Event) -> Iterator[Event]:
        yield from super().synthesize(text=text, voice=voice, params=params, cancel=cancel)
        assert connection.connection is not None
        connection.connection.close()


@sync_to_async
def _row(job_id: str) -> SynthesisJob:
    return SynthesisJob.objects.get(pk=job_id)


async def _final(job_id: str, timeout_s: float = 60) -> SynthesisJob:
    deadline = time.monotonic() + timeout_s
    while not (job := await _row(job_id)).is_final:
        assert time.monotonic() < deadline, f"job {job_id} is still {job.status}"
        await asyncio.sleep(0.1)
    return job


async def test_a_final_write_that_loses_its_connection_finishes_in_the_first_attempt(serve: Any) -> None:
    engine = ConnectionLosingEngine()
    await serve(engine)
    job = await sync_to_async(job_create)(owner=None, text=TEXT)
    done = await _final(str(job.pk))
    assert done.status == JobStatus.DONE and done.attempts == 1 and engine.runs == 1
    await until(lambda: last_event_type(str(job.pk)) == "tts.done", "the end event")


@sync_to_async
def _left_done_without_its_end() -> str:
    """A job a killed worker left behind: row done, chunks streamed, no tts.done, entry pending."""
    job = job_create(owner=None, text=TEXT)
    publish_event_sync(str(job.pk), "tts.started", {"attempt": 1, "worker": "killed"})
    SynthesisJob.objects.filter(pk=job.pk).update(status=JobStatus.DONE, attempts=1, audio_duration_s=2.5,
                                                  sample_rate=24000)
    return str(job.pk)


async def test_a_job_left_final_without_its_end_gets_it_from_the_next_worker(serve: Any) -> None:
    job_id = await _left_done_without_its_end()
    engine = ToneEngine()
    await serve(engine)
    await until(lambda: last_event_type(job_id) == "tts.done", "the end event")
    events = await sync_to_async(read_events)(job_id)
    assert [event.type for event in events] == ["tts.started", "tts.done"]
    assert events[-1].data["duration"] == 2.5 and engine.runs == 0  # from the row; nothing synthesized again
    assert (await _row(job_id)).attempts == 1
