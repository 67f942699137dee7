"""Single-flight: identical requests in flight at once share one inference.

The first job for a fingerprint takes `<prefix>:tts:inflight:<fp>` (SET NX EX) and runs; later
identical jobs become its followers and finish with its result.
"""

from __future__ import annotations

import redis

from glmtts_site.redis_conn import get_redis, redis_key

# Delete the key only if it still names this job (a newer leader may have taken it).
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
INFLIGHT_TTL_S = 3600


def inflight_key(fingerprint: str) -> str:
    return redis_key("tts", "inflight", fingerprint)


def claim_or_leader(fingerprint: str, job_id: str, client: redis.Redis | None = None) -> str | None:
    """None if `job_id` now leads this fingerprint; else the id of the job already leading it."""
    client = client or get_redis()
    if client.set(inflight_key(fingerprint), job_id, nx=True, ex=INFLIGHT_TTL_S):
        return None
    leader = client.get(inflight_key(fingerprint))
    if leader is None:  # released between our SET and GET: try once more
        return None if client.set(inflight_key(fingerprint), job_id, nx=True, ex=INFLIGHT_TTL_S) else job_id
    return leader.decode() if isinstance(leader, bytes) else str(leader)


def release(fingerprint: str, job_id: str, client: redis.Redis | None = None) -> None:
    (client or get_redis()).eval(_RELEASE, 1, inflight_key(fingerprint), job_id)
