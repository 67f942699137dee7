"""Cache-aside for results: L1 per-process LRU -> L2 Redis pointer -> L3 stored file.

L2 keys are `tts:v1:<fingerprint>` in the django-redis cache, holding a small pointer (storage names
per format, duration, sample rate, engine version, created) with a TTL of CACHE_TTL_S. A pointer whose
file is gone is deleted and counts as a miss. Hit/miss counters live in Redis, so every web process and
worker adds to the same numbers. If Redis is down, lookups are misses (logged and counted locally).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

from glmtts_site.metrics.web import count_lookup
from glmtts_site.redis_conn import get_redis, redis_key
from synthesis.results.storage import output_exists

logger = logging.getLogger(__name__)
KEY_PREFIX = "tts:v1:"
STATS_KEY = ("cache", "stats")
_local_errors = {"redis_errors": 0}


@dataclass(frozen=True)
class CachedResult:
    fingerprint: str
    files: dict[str, str]  # format -> storage name
    duration_s: float
    sample_rate: int
    engine_id: str
    engine_version: str
    voice_key: str
    created: float = field(default_factory=time.time)
    voice_note: str = ""  # how the voice was rendered, shown with every hit as with the job that made it

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> CachedResult:
        """Fields this version knows (a pointer written by a newer or older process still reads)."""
        return cls(**{name: value for name, value in raw.items() if name in _RESULT_FIELDS})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_RESULT_FIELDS = frozenset(CachedResult.__dataclass_fields__)


class _LocalLru:
    """L1: a small per-process LRU; entries also expire, so purges reach every process in time."""

    def __init__(self, capacity: int, ttl_s: float) -> None:
        self.capacity, self.ttl_s = capacity, ttl_s
        self._items: OrderedDict[str, tuple[float, CachedResult]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> CachedResult | None:
        with self._lock:
            item = self._items.get(key)
            if item is None or item[0] < time.monotonic():
                self._items.pop(key, None)
                return None
            self._items.move_to_end(key)
            return item[1]

    def put(self, key: str, value: CachedResult) -> None:
        with self._lock:
            self._items[key] = (time.monotonic() + self.ttl_s, value)
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


l1 = _LocalLru(capacity=1024, ttl_s=settings.RESULT_L1_TTL_S)


def cache_key(fingerprint: str) -> str:
    return KEY_PREFIX + fingerprint


def _count(field_name: str) -> None:
    try:
        get_redis().hincrby(redis_key(*STATS_KEY), field_name, 1)
    except RedisError:
        _local_errors["redis_errors"] += 1


def _files_present(result: CachedResult) -> bool:
    return all(output_exists(name) for name in result.files.values())


def l1_lookup(fingerprint: str) -> CachedResult | None:
    """This process's copy (L1), if its files are still there; nothing is counted."""
    local = l1.get(cache_key(fingerprint))
    if local is not None and _files_present(local):
        count_lookup("L1", "hit")
        return local
    return None


def cache_get(fingerprint: str) -> CachedResult | None:
    key = cache_key(fingerprint)
    local = l1_lookup(fingerprint)
    if local is not None:
        _count("hits")
        return local
    count_lookup("L1", "miss")
    try:
        raw = cache.get(key)
    except RedisError as exc:
        logger.warning("Result cache unavailable, treating as a miss: %s", exc)
        _local_errors["redis_errors"] += 1
        return None
    if raw is None:
        count_lookup("L2", "miss")
        _count("misses")
        return None
    count_lookup("L2", "hit")
    result = CachedResult.from_dict(raw)
    if not _files_present(result):  # the pointer outlived its file: drop it
        count_lookup("L3", "stale")
        _delete_quietly(key)
        _count("stale")
        _count("misses")
        return None
    count_lookup("L3", "hit")
    l1.put(key, result)
    _count("hits")
    return result


def cache_put(result: CachedResult) -> None:
    key = cache_key(result.fingerprint)
    cache.set(key, result.to_dict(), timeout=settings.CACHE_TTL_S)
    l1.put(key, result)


def _delete_quietly(key: str) -> None:
    with contextlib.suppress(RedisError):
        cache.delete(key)


