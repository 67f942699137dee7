"""Warm the result cache with phrases people ask for often."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings

from synthesis.models import JobStatus, SynthesisJob
from synthesis.results.cache import CachedResult
from synthesis.submit.services import system_submit
from workers.engines.params import SynthesisParams


@dataclass(frozen=True)
class WarmReport:
    cached: int
    queued: int
    done: int


def warm_phrases(lines: list[str], *, voice: str = "", engine_id: str = "", fmt: str = "wav",
                 wait: bool = False, timeout_s: float = 3600.0) -> WarmReport:
    phrases = list(dict.fromkeys(line.strip() for line in lines if line.strip()))
    params = SynthesisParams(format=fmt)
    engine_id = engine_id or settings.DEFAULT_ENGINE
    jobs: list[SynthesisJob] = []
    cached = 0
    for phrase in phrases:
        submitted = system_submit(owner=None, text=phrase, engine_id=engine_id, voice_preset=voice, params=params)
        if isinstance(submitted, CachedResult):
            cached += 1
            continue
        jobs.append(submitted.job)
    done = 0
    deadline = time.monotonic() + timeout_s
    while wait and jobs and time.monotonic() < deadline:
        done = SynthesisJob.objects.filter(pk__in=[j.pk for j in jobs], status=JobStatus.DONE).count()
        finished = SynthesisJob.objects.filter(pk__in=[j.pk for j in jobs]).exclude(
            status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).count()
        if finished == len(jobs):
            break
        time.sleep(0.5)
    return WarmReport(cached=cached, queued=len(jobs), done=done)
