"""L1/L2/L3 cache-aside against the real Redis and real files."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.files.storage import default_storage
from pytest_django.fixtures import Settings as SettingsWrapper

from synthesis.jobs.services import job_create_cached
from synthesis.results import cache as result_cache
from synthesis.results.cache import cache_get, cache_key
from synthesis.results.publish import result_store
from synthesis.submit.fingerprint import request_fingerprint, voice_identity
from tests.support.results import ENGINE_VERSION, announce_engine, cached_result_for, speech_like
from workers.engines.params import SynthesisParams


@pytest.fixture(autouse=True)
def _fresh_l1() -> None:
    result_cache.l1.clear()


def _stats(client: redis.Redis) -> dict[str, int]:
    from glmtts_site.redis_conn import redis_key

    raw: dict[bytes, bytes] = client.hgetall(redis_key("cache", "stats"))  # type: ignore[assignment]
    return {k.decode(): int(v) for k, v in raw.items()}


def test_miss_then_hit(redis_isolated: redis.Redis) -> None:
    assert cache_get("0" * 64) is None
    fingerprint = cached_result_for("A cached sentence.")
    hit = cache_get(fingerprint)
    assert hit is not None and hit.sample_rate == 24000 and set(hit.files) == {"wav", "mp3"}
    assert _stats(redis_isolated) == {"misses": 1, "hits": 1}


def test_pointer_has_the_configured_ttl(settings: SettingsWrapper, redis_isolated: redis.Redis) -> None:
    settings.CACHE_TTL_S = 120
    fingerprint = cached_result_for("A short-lived sentence.")
    assert 100 < cache.ttl(cache_key(fingerprint)) <= 120  # type: ignore[attr-defined]


def test_expired_pointer_is_a_miss(redis_isolated: redis.Redis) -> None:
    fingerprint = cached_result_for("An expiring sentence.")
    cache.expire(cache_key(fingerprint), 0)  # type: ignore[attr-defined]  # what the TTL does at its end
    result_cache.l1.clear()
    assert cache_get(fingerprint) is None


def test_pointer_to_a_missing_file_is_deleted_and_missed(media_tmp: Path, redis_isolated: redis.Redis) -> None:
    fingerprint = cached_result_for("A sentence whose file vanished.", SynthesisParams(format="flac"))
    hit = cache_get(fingerprint)
    assert hit is not None
    default_storage.delete(hit.files["flac"])
    result_cache.l1.clear()
    assert cache_get(fingerprint) is None
    assert cache.get(cache_key(fingerprint)) is None
    assert _stats(redis_isolated)["stale"] == 1


def test_l1_answers_without_asking_redis(redis_isolated: redis.Redis) -> None:
    fingerprint = cached_result_for("Hot phrase.")
    assert cache_get(fingerprint) is not None  # now in this process's L1
    cache.delete(cache_key(fingerprint))
    assert cache_get(fingerprint) is not None


def test_redis_down_reads_are_misses(settings: SettingsWrapper) -> None:
    dead = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": dead}}
    settings.REDIS_URL = dead
    from glmtts_site.redis_conn import _client_for

    _client_for.cache_clear()
    assert cache_get("1" * 64) is None


def test_a_pointer_from_another_version_still_reads(redis_isolated: redis.Redis) -> None:
    """A rolling deploy: a newer worker writes a field this web process does not know, an older one
    leaves out one it does; either way the pointer is a hit, never a TypeError."""
    fingerprint = cached_result_for("Written by another version.")
    pointer = dict(cache.get(cache_key(fingerprint)))
    cache.set(cache_key(fingerprint), {**pointer, "from_the_future": 1})
    assert cache_get(fingerprint) is not None
    result_cache.l1.clear()
    pointer.pop("voice_note")
    cache.set(cache_key(fingerprint), pointer)
    hit = cache_get(fingerprint)
    assert hit is not None and hit.voice_note == ""


def test_a_hit_says_how_the_voice_was_rendered(owner: User) -> None:
    params = SynthesisParams()
    announce_engine()
    fingerprint = request_fingerprint(engine_id="kokoro", engine_version=ENGINE_VERSION,
                                      voice=voice_identity(preset=""), text="Rendered how?", params=params.to_dict())
    result = result_store(fingerprint=fingerprint, samples=speech_like(1.0), sample_rate=24000, fmt="wav",
                          engine_id="kokoro", engine_version=ENGINE_VERSION, voice_key="preset:x",
                          voice_note="Nezumi (nearest preset, not cloned)")
    job = job_create_cached(owner=owner, text="Rendered how?", engine_id="kokoro", voice_preset="", prompt_text="",
                            params=params, result=result)
    assert job.voice_note == "Nezumi (nearest preset, not cloned)"
