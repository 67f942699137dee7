"""A submit's cache lookup: the request's key under the announced engine version, and the hit.

Hot path (a result this process served recently): the engine version comes from a short-lived
local copy (`engines_info.recent_versions`), the result from L1, and the hit is added to a local
tally flushed to Redis in the background (`hit_counter`), so answering it takes no round trip.
Everything else goes through `cache_get` (L2 pointer, stored files) exactly as before.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable
from functools import lru_cache

from synthesis.engines_info import recent_versions
from synthesis.results.cache import STATS_KEY, CachedResult, cache_get, l1_lookup
from synthesis.results.hit_counter import HitCounter
from synthesis.submit.fingerprint import request_fingerprint, voice_identity
from workers.engines.params import SynthesisParams

l1_hits = HitCounter(STATS_KEY)
atexit.register(l1_hits.flush)  # a clean shutdown hands over the last tally


def cached_lookup(engine_id: str, key_for: Callable[[str], str]) -> tuple[str, CachedResult | None]:
    """(fingerprint, hit or None); the fingerprint is "" while no worker has announced the engine.
    Raises RedisError when Redis cannot be reached to read the versions."""
    version = recent_versions.get().get(engine_id, "")
    if not version:
        return "", None
    fingerprint = key_for(version)
    return fingerprint, _l1_hit(fingerprint) or cache_get(fingerprint)


def local_lookup(engine_id: str, key_for: Callable[[str], str]) -> CachedResult | None:
    """The hit if this process can answer it from memory: engine versions read recently, the
    result in L1 (its files still there). Never waits on Redis; None means "use cached_lookup"."""
    versions = recent_versions.peek()
    version = versions.get(engine_id, "") if versions else ""
    return _l1_hit(key_for(version)) if version else None


def _l1_hit(fingerprint: str) -> CachedResult | None:
    local = l1_lookup(fingerprint)
    if local is not None:
        l1_hits.add()
    return local


def request_key(*, engine_id: str, engine_version: str, voice_preset: str, reference_sha256: str,
                prompt_text: str, text: str, params: SynthesisParams, scope: str = "") -> str:
    """The request's fingerprint; remembered, since normalizing the text is the costly part."""
    # Types are part of the memo key: 1 == 1.0 == True for Python, not always for the fingerprint.
    typed_params = tuple((name, type(value), value) for name, value in vars(params).items())
    return _memo_key(engine_id, engine_version, voice_preset, reference_sha256, prompt_text.strip(), text,
                     typed_params, scope)


@lru_cache(maxsize=1024)
def _memo_key(engine_id: str, engine_version: str, voice_preset: str, reference_sha256: str, prompt_text: str,
              text: str, typed_params: tuple[tuple[str, type, object], ...], scope: str) -> str:
    identity = voice_identity(preset=voice_preset, reference_sha256=reference_sha256, prompt_text=prompt_text)
    params = {name: value for name, _, value in typed_params}
    return request_fingerprint(engine_id=engine_id, engine_version=engine_version, voice=identity, text=text,
                               params=params, scope=scope)
