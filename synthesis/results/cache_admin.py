"""Cache invalidation, statistics and warm-up (used by management commands and the admin)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from glmtts_site.edge import engine_tag
from glmtts_site.edge_purge import request_purge
from glmtts_site.redis_conn import get_redis, redis_key
from synthesis.results.cache import KEY_PREFIX, STATS_KEY, l1
from synthesis.results.publish import result_paths


def _raw_keys(pattern: str) -> list[str]:
    """Cache keys (as cache.get takes them) of result pointers, found with SCAN on the real Redis."""
    head = cache.make_key("")
    match = cache.make_key(KEY_PREFIX + pattern)
    return [full.decode()[len(head):] for full in get_redis().scan_iter(match=match, count=500)]


def cache_purge(*, engine_version: str | None = None, voice: str | None = None, everything: bool = False) -> int:
    """Delete cache pointers (not the stored files); returns how many went."""
    if not (everything or engine_version or voice):
        raise ValueError("Say what to purge: an engine version, a voice, or everything.")
    doomed: dict[str, dict[str, Any]] = {}
    for key in _raw_keys("*"):
        pointer = cache.get(key)
        if pointer is None:
            continue
        if everything or pointer.get("engine_version") == engine_version or _voice_matches(pointer, voice):
            doomed[key] = pointer
    if doomed:
        cache.delete_many(list(doomed))
    l1.clear()
    _purge_edge(list(doomed.values()), engine_version=engine_version, everything=everything)
    return len(doomed)


def _purge_edge(pointers: list[dict[str, Any]], *, engine_version: str | None, everything: bool) -> None:
    """The edge forgets what the origin forgot: every result by its tag, one engine version by its tag,
    a voice's results (no tag names them all) by URL."""
    if everything:
        request_purge(tags=["tts"], reason="results")
    elif engine_version:
        engines = {str(p.get("engine_id", "")) for p in pointers} - {""}
        request_purge(tags=[engine_tag(engine, engine_version) for engine in engines], reason="results")
    else:
        request_purge(paths=[path for p in pointers for path in result_paths(p)], reason="results")


def _voice_matches(pointer: dict[str, Any], voice: str | None) -> bool:
    if not voice:
        return False
    key = str(pointer.get("voice_key", ""))
    return key in (voice, f"preset:{voice}") or key.endswith(f":{voice}")


@dataclass(frozen=True)
class CacheStats:
    hits: int
    misses: int
    stale: int
    keys: int
    memory_bytes: int

    @property
    def hit_rate(self) -> float:
        return self.hits / (self.hits + self.misses) if self.hits + self.misses else 0.0


def cache_stats() -> CacheStats:
    client = get_redis()
    raw: dict[bytes, bytes] = client.hgetall(redis_key(*STATS_KEY))  # type: ignore[assignment]
    counters = {k.decode(): int(v) for k, v in raw.items()}
    keys = _raw_keys("*")
    memory = 0
    for key in keys:
        memory += int(client.memory_usage(cache.make_key(key)) or 0)
    return CacheStats(hits=counters.get("hits", 0), misses=counters.get("misses", 0),
                      stale=counters.get("stale", 0), keys=len(keys), memory_bytes=memory)

