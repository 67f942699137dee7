"""What the web process knows about engines without loading them: versions that workers
announced in Redis, and which parameters change each engine's output."""

from __future__ import annotations

import time

from django.conf import settings

from glmtts_site.redis_conn import get_redis, redis_key
from workers.engine_registry import engine_class
from workers.engines.params import SynthesisParams

ALL_OUTPUT_PARAMS = frozenset(SynthesisParams().to_dict()) - {"use_kv_cache", "use_prompt_cache"}


def engines_key() -> str:
    return redis_key("engines")


def announced_versions() -> dict[str, str]:
    """engine id -> version as last loaded by a worker. Raises RedisError when Redis is down."""
    raw: dict[bytes, bytes] = get_redis().hgetall(engines_key())  # type: ignore[assignment]
    return {k.decode(): v.decode() for k, v in raw.items()}


class _RecentVersions:
    """announced_versions(), remembered for ENGINE_VERSIONS_CACHE_S seconds (0 = ask every time).

    Workers announce a version when they load an engine, so it changes rarely; between two reads a
    web process may key lookups with the version it read last for at most that long. An empty
    answer (no worker yet) is never remembered, so the first announcement is seen at once.
    """

    def __init__(self) -> None:
        self._read: tuple[object, str, float, dict[str, str]] = (None, "", 0.0, {})  # client, key, when, what

    def get(self) -> dict[str, str]:
        versions = self.peek()
        if versions is not None:
            return versions
        versions = announced_versions()
        client, key = get_redis(), engines_key()
        self._read = (client, key, time.monotonic(), versions) if versions else (None, "", 0.0, {})
        return versions

    def peek(self) -> dict[str, str] | None:
        """The versions if read recently enough, else None; never asks Redis."""
        max_age = float(settings.ENGINE_VERSIONS_CACHE_S)
        client, key = get_redis(), engines_key()  # another Redis client or key prefix: read afresh
        read_with, read_key, read_at, versions = self._read
        if max_age > 0 and read_with is client and read_key == key and time.monotonic() - read_at < max_age:
            return versions
        return None

    def forget(self) -> None:
        self._read = (None, "", 0.0, {})


recent_versions = _RecentVersions()


def output_params_for(engine_id: str) -> frozenset[str]:
    return frozenset(getattr(engine_class(engine_id), "output_params", ALL_OUTPUT_PARAMS))
