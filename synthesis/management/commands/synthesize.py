"""`python manage.py synthesize --text ... [--voice ...] --out FILE`: one job through queue and worker."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from redis.exceptions import RedisError

from glmtts_site.errors import ApiError
from synthesis.jobs.events import EventType, follow_events
from synthesis.jobs.selectors import job_has_ended
from synthesis.jobs.services import job_create_cached, reference_from_bytes
from synthesis.models import JobStatus, SynthesisJob
from synthesis.results.cache import CachedResult
from synthesis.results.storage import read_output
from synthesis.submit.services import system_submit
from workers.engines.params import SynthesisParams
from workers.heartbeat import engine_has_worker

WORKER_WAIT_S = 5.0


def _wait_for_a_worker(engine_id: str) -> None:
    """Refuse within seconds when no live worker serves the engine on this Redis (instead of waiting
    for the whole timeout on a queue nobody reads)."""
    deadline = time.monotonic() + WORKER_WAIT_S
    while True:
        try:
            if engine_has_worker(engine_id):
                return
        except RedisError as exc:
            raise CommandError(f"Redis at {settings.REDIS_URL} does not answer ({exc}). Is the portal running "
                               "(make run)? Set REDIS_URL to its Redis.") from exc
        if time.monotonic() > deadline:
            raise CommandError(f"No worker serving {engine_id!r} sent a heartbeat to {settings.REDIS_URL}. Start "
                               "the portal (make run) or a worker (python manage.py run_worker), or set REDIS_URL "
                               "to the Redis the running portal uses.")
        time.sleep(0.25)


class Command(BaseCommand):
    help = "Synthesize text through the job queue and a running worker, and save the WAV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--text", required=True)
        parser.add_argument("--out", required=True, type=Path)
        parser.add_argument("--voice", default="", help="Preset voice name (e.g. jf_alpha).")
        parser.add_argument("--reference", type=Path, help="A reference clip to speak like.")
        parser.add_argument("--prompt-text", default="", help="What the reference says.")
        parser.add_argument("--skip-whisper", action="store_true")
        parser.add_argument("--engine", default="")
        parser.add_argument("--user", default="", help="Owner username (default: no owner).")
        parser.add_argument("--sample-rate", type=int, default=24000, choices=[24000, 32000])
        parser.add_argument("--speed", type=float, default=1.0)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--language", default="auto", choices=["auto", "en", "zh"])
        parser.add_argument("--timeout", type=float, default=600.0, help="Seconds to wait for the worker.")

    def handle(self, *args: Any, **options: Any) -> None:
        owner = User.objects.filter(username=options["user"]).first() if options["user"] else None
        if options["user"] and owner is None:
            raise CommandError(f"No user {options['user']!r}.")
        params = SynthesisParams(sample_rate=options["sample_rate"], speed=options["speed"], seed=options["seed"],
                                 language=options["language"])
        _wait_for_a_worker(options["engine"] or settings.DEFAULT_ENGINE)
        try:
            reference = reference_from_bytes(options["reference"].read_bytes(), field="--reference") \
                if options["reference"] else None
            submitted = system_submit(owner=owner, text=options["text"], engine_id=options["engine"],
                                      voice_preset=options["voice"], reference=reference, params=params,
                                      prompt_text=options["prompt_text"], skip_whisper=options["skip_whisper"])
        except ApiError as exc:
            raise CommandError(exc.message) from exc
        if isinstance(submitted, CachedResult):  # recorded like a user's cache hit, in the owner's history
            job = job_create_cached(owner=owner, text=options["text"], engine_id=options["engine"] or
                                    settings.DEFAULT_ENGINE, voice_preset=options["voice"],
                                    prompt_text=options["prompt_text"].strip(), params=params, result=submitted)
            self.stderr.write(f"Job {job.id} answered from the cache")
        else:
            job = submitted.job
            self.stderr.write(f"Job {job.id} queued")
            self._follow(job, options["timeout"])
            job.refresh_from_db()
        if job.status != JobStatus.DONE:
            raise CommandError(f"Job {job.id} {job.status}: {job.error_code} {job.error_message}".strip())
        options["out"].write_bytes(read_output(job.output.name or ""))
        self.stdout.write(f"{options['out']} {job.audio_duration_s:.2f}s {job.sample_rate} Hz "
                          f"(first chunk {job.first_chunk_s or 0:.2f}s, total {job.total_s or 0:.2f}s, "
                          f"RTF {job.rtf or 0:.2f}; voice: {job.voice_note})")

    def _follow(self, job: SynthesisJob, timeout_s: float) -> None:
        try:
            for event in follow_events(str(job.id), timeout_s=timeout_s,
                                       row_is_final=lambda: job_has_ended(job.id)):
                if event.type == EventType.PROGRESS:
                    self.stderr.write(f"  {event.data['stage']} {event.data['done']}/{event.data['total']}")
                elif event.type in (EventType.STARTED, EventType.REQUEUED):
                    self.stderr.write(f"  {event.type.split('.')[1]} {event.data}")
        except TimeoutError as exc:
            raise CommandError(f"{exc}. Is a worker running (python manage.py run_worker)?") from exc
