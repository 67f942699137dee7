"""Real stored results for API and edge tests, without running an engine."""

from __future__ import annotations

import numpy as np
from django.contrib.auth.models import User

from glmtts_site.redis_conn import get_redis
from synthesis.engines_info import engines_key
from synthesis.jobs.services import job_create_cached
from synthesis.models import SynthesisJob
from synthesis.results.publish import result_store
from synthesis.submit.fingerprint import request_fingerprint, voice_identity
from workers.engines.params import SynthesisParams

ENGINE_VERSION = "kokoro-test-version"


def announce_engine(version: str = ENGINE_VERSION) -> None:
    get_redis().hset(engines_key(), "kokoro", version)


def speech_like(seconds: float, rate: int = 24000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.2 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2).astype(np.float32)


def cached_result_for(text: str, params: SynthesisParams | None = None, voice: str = "") -> str:
    """Store audio for (text, params) as a worker would and return its fingerprint."""
    params = params or SynthesisParams()
    announce_engine()
    fingerprint = request_fingerprint(engine_id="kokoro", engine_version=ENGINE_VERSION,
                                      voice=voice_identity(preset=voice), text=text, params=params.to_dict())
    result_store(fingerprint=fingerprint, samples=speech_like(2.0, params.sample_rate),
                 sample_rate=params.sample_rate, fmt=params.format, engine_id="kokoro",
                 engine_version=ENGINE_VERSION, voice_key=voice or "default")
    return fingerprint


def finished_job(owner: User | None, text: str = "Stored speech for tests.", fmt: str = "wav") -> SynthesisJob:
    params = SynthesisParams(format=fmt)
    fingerprint = cached_result_for(text, params)
    from synthesis.results.cache import cache_get

    result = cache_get(fingerprint)
    assert result is not None
    return job_create_cached(owner=owner, text=text, engine_id="kokoro", voice_preset="", prompt_text="",
                             params=params, result=result)
