"""Voice tasks fail like jobs do (the worker in-process: real Redis and database, the test engine): a
failed task is delivered again after the visibility timeout, and one that keeps failing goes to the
voice tasks' dead-letter stream, its transcript then saying "failed" so that its owner can type one."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis
import soundfile as sf
from asgiref.sync import sync_to_async
from pytest_django.fixtures import Settings as SettingsWrapper

from tests.support.engines import ToneEngine
from voices.models import TranscriptState, Voice, VoiceFeatures
from voices.tasks import FEATURES, TRANSCRIBE, enqueue_voice_task, voice_tasks_key
from workers.runner import WorkerRunner

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fast_retries(settings: SettingsWrapper, redis_isolated: redis.Redis) -> None:
    settings.QUEUE_VISIBILITY_TIMEOUT_S = 0.5
    settings.QUEUE_MAX_DELIVERIES = 2
    settings.WORKER_HEARTBEAT_INTERVAL_S = 0.3


@pytest.fixture
async def worker() -> AsyncIterator[WorkerRunner]:
    runner = WorkerRunner(worker_id="voices", engines={"kokoro": ToneEngine()})
    task = asyncio.create_task(runner.run())
    await _until(lambda: runner.consumer is not None, "the worker to be ready")
    yield runner
    runner.request_stop("test over")
    await asyncio.wait({task}, timeout=30)


async def _until(predicate: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not await sync_to_async(predicate)():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


def _clip_bytes() -> bytes:
    rate = 24000
    t = np.arange(3 * rate) / rate
    buffer = io.BytesIO()
    sf.write(buffer, (0.2 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), rate, format="FLAC", subtype="PCM_16")
    return buffer.getvalue()


@sync_to_async
def _voice(media: Path, *, readable: bool) -> Voice:
    (media / "voices").mkdir(exist_ok=True)
    if readable:
        (media / "voices" / "clip.flac").write_bytes(_clip_bytes())
    return Voice.objects.create(name="Mine", audio="voices/clip.flac", audio_sha256="a" * 64,
                                transcript_state=TranscriptState.PENDING)


def _dead_letters(client: redis.Redis) -> list[str]:
    entries: Any = client.xrange(f"{voice_tasks_key()}:dead")
    return [fields[b"job"].decode() for _, fields in entries]


async def test_a_failed_task_is_tried_again_and_then_succeeds(worker: WorkerRunner, media_tmp: Path,
                                                              redis_isolated: redis.Redis) -> None:
    voice = await _voice(media_tmp, readable=False)  # its file is not there yet: the first attempt fails
    await sync_to_async(enqueue_voice_task)(str(voice.pk), FEATURES)
    await asyncio.sleep(0.3)
    (media_tmp / "voices" / "clip.flac").write_bytes(_clip_bytes())
    await _until(lambda: VoiceFeatures.objects.filter(voice=voice, state="ready").exists(), "the retried task")
    assert _dead_letters(redis_isolated) == []


async def test_a_task_that_keeps_failing_is_dead_lettered_and_says_so(worker: WorkerRunner, media_tmp: Path,
                                                                      redis_isolated: redis.Redis) -> None:
    voice = await _voice(media_tmp, readable=False)
    await sync_to_async(enqueue_voice_task)(str(voice.pk), TRANSCRIBE)
    await _until(lambda: bool(_dead_letters(redis_isolated)), "the dead letter")
    assert _dead_letters(redis_isolated) == [f"{TRANSCRIBE}:{voice.pk}"]
    assert (await sync_to_async(Voice.objects.get)(pk=voice.pk)).transcript_state == TranscriptState.FAILED
