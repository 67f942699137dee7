"""Real worker processes on the real Redis and the test database: crash, hand-back, reconcile."""

from __future__ import annotations

import signal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import redis
from django.core.management import call_command
from pytest_django.fixtures import Settings as SettingsWrapper

from synthesis.jobs.events import events_key, read_events
from synthesis.jobs.services import job_create
from synthesis.models import JobStatus, SynthesisJob
from tests.support.processes import Workers, wait_for
from workers import queue
from workers.control import send_offload
from workers.heartbeat import live_workers

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LONG_TEXT = " ".join([
    "The first sentence starts the story.", "The second sentence carries it forward a little.",
    "A third one adds some colour to the scene.", "The fourth sentence slows the pace down.",
    "Then a fifth arrives with a small surprise.", "The sixth sentence brings the story home.",
    "And the seventh one finally closes it.",
])


def _status(job: SynthesisJob) -> str:
    job.refresh_from_db()
    return job.status


def _event_types(job: SynthesisJob) -> list[str]:
    return [event.type for event in read_events(str(job.id))]


def _output_files(media: Path) -> list[Path]:
    return sorted((media / "outputs").rglob("*.wav")) if (media / "outputs").exists() else []


def test_killed_worker_job_is_finished_once_by_another(workers: Workers, media_tmp: Path) -> None:
    first = workers.start("first")
    job = job_create(owner=None, text=LONG_TEXT)
    wait_for(lambda: "tts.chunk" in _event_types(job), timeout_s=60, what="the first chunk")
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert _status(job) == JobStatus.RUNNING  # the row still says running: its worker just died
    workers.start("second")
    wait_for(lambda: _status(job) == JobStatus.DONE, timeout_s=120, what="the reclaimed job to finish")
    wait_for(lambda: "tts.done" in _event_types(job), timeout_s=10, what="done, published after the commit")
    assert job.attempts == 2 and job.worker_id == "second"
    assert _event_types(job).count("tts.done") == 1
    assert len(_output_files(media_tmp)) == 1 and job.audio_duration_s and job.audio_duration_s > 5

    # The same worker serves the command-line client end to end.
    out = media_tmp / "cli.wav"
    stdout = StringIO()
    call_command("synthesize", "--text", "The command line works too.", "--out", str(out), stdout=stdout,
                 stderr=StringIO())
    assert out.read_bytes()[:4] == b"RIFF" and "24000 Hz" in stdout.getvalue()


def test_sigterm_hands_the_running_job_to_another_worker(workers: Workers) -> None:
    leaving = workers.start("leaving")
    staying = workers.start("staying")
    staying.send_signal(signal.SIGSTOP)  # make sure "leaving" takes the job
    job = job_create(owner=None, text=LONG_TEXT)
    wait_for(lambda: "tts.chunk" in _event_types(job), timeout_s=60, what="the first chunk")
    staying.send_signal(signal.SIGCONT)
    leaving.send_signal(signal.SIGTERM)
    assert leaving.wait(timeout=30) == 0, workers.log("leaving")
    wait_for(lambda: _status(job) == JobStatus.DONE, timeout_s=120, what="the handed-back job to finish")
    wait_for(lambda: "tts.done" in _event_types(job), timeout_s=10, what="done, published after the commit")
    assert job.worker_id == "staying"
    assert "tts.requeued" in _event_types(job) and _event_types(job).count("tts.done") == 1
    assert [w["worker_id"] for w in live_workers()] == ["staying"]


def test_lost_stream_is_reconciled_and_poison_entries_are_dead_lettered(
        workers: Workers, redis_isolated: redis.Redis, settings: SettingsWrapper) -> None:
    settings.QUEUE_USER_SHARE = 10  # both jobs go on the stream at once (no waiting for a turn)
    lost = job_create(owner=None, text="Redis forgot about me.")
    redis_isolated.delete(queue.stream_key(), queue.entries_key())  # a restart without persistence
    poison = job_create(owner=None, text="I crash every worker that touches me.")
    # Three workers already took the poison entry and died: delivery count 3, long idle.
    redis_isolated.xgroup_create(queue.stream_key(), queue.GROUP, id="0", mkstream=True)
    entry_id: Any = redis_isolated.hget(queue.entries_key(), str(poison.id))  # enqueued on commit
    redis_isolated.xreadgroup(queue.GROUP, "crashed", {queue.stream_key(): ">"})
    redis_isolated.xclaim(queue.stream_key(), queue.GROUP, "crashed", 0, [entry_id], idle=600_000, retrycount=3)

    workers.start("healer")
    wait_for(lambda: _status(lost) == JobStatus.DONE, timeout_s=60, what="the lost job to be re-enqueued")
    wait_for(lambda: _status(poison) == JobStatus.FAILED, timeout_s=60, what="the poison job to fail")
    assert poison.error_code == "too_many_attempts"
    assert queue.queue_depth()["dead"] >= 1
    dead: Any = redis_isolated.xrange(queue.dead_letter_key())
    assert any(fields[b"job"].decode() == str(poison.id) for _, fields in dead)
    assert redis_isolated.exists(events_key(str(lost.id)))

    # Offload on request: the engine leaves memory, and the next job brings it back.
    assert send_offload("*") == 1
    wait_for(lambda: live_workers()[0]["loaded"] == {"kokoro": False}, timeout_s=30, what="the offload")
    again = job_create(owner=None, text="Loaded again on demand.")
    wait_for(lambda: _status(again) == JobStatus.DONE, timeout_s=60, what="a job after offload")
    assert live_workers()[0]["loaded"] == {"kokoro": True}
