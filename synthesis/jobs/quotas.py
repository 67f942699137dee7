"""Per-user quotas with atomic Redis counters: characters per day and concurrent jobs.

Both are checked and taken in one atomic step (INCRBY, then give back if over), so concurrent
submits can never overshoot; a refused request leaves the counters as they were.
"""

from __future__ import annotations

import datetime as dt

import redis
from django.conf import settings

from glmtts_site.errors import ApiError
from glmtts_site.metrics.web import count_refusal
from glmtts_site.redis_conn import get_redis, redis_key


class QuotaExceeded(ApiError):
    status_code = 429
    code = "quota_exceeded"


def _day_key(user_id: int, now: dt.datetime) -> str:
    return redis_key("quota", "chars", user_id, now.strftime("%Y%m%d"))


def _active_key(user_id: int) -> str:
    return redis_key("quota", "active", user_id)


def _seconds_to_midnight(now: dt.datetime) -> int:
    tomorrow = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((tomorrow - now).total_seconds()))


def take_characters(user_id: int, count: int, client: redis.Redis | None = None) -> None:
    client = client or get_redis()
    now = dt.datetime.now(dt.UTC)
    key = _day_key(user_id, now)
    used = int(client.incrby(key, count))
    client.expire(key, _seconds_to_midnight(now) + 3600)
    limit = settings.QUOTA_CHARS_PER_DAY
    if used > limit:
        client.decrby(key, count)
        count_refusal("quota", "daily_characters")
        raise QuotaExceeded(f"Daily limit of {limit} characters reached; {max(0, limit - used + count)} left today.",
                            headers={"Retry-After": str(_seconds_to_midnight(now))})


def refund_characters(user_id: int, count: int, client: redis.Redis | None = None) -> None:
    client = client or get_redis()
    key = _day_key(user_id, dt.datetime.now(dt.UTC))
    if int(client.decrby(key, count)) < 0:
        client.set(key, 0, keepttl=True)


def characters_left(user_id: int, client: redis.Redis | None = None) -> int:
    used = (client or get_redis()).get(_day_key(user_id, dt.datetime.now(dt.UTC)))
    return max(0, settings.QUOTA_CHARS_PER_DAY - int(used or 0))


def take_job_slot(user_id: int, client: redis.Redis | None = None) -> None:
    client = client or get_redis()
    active = int(client.incr(_active_key(user_id)))
    client.expire(_active_key(user_id), 24 * 3600)  # a lost release heals within a day
    limit = settings.QUOTA_CONCURRENT_JOBS
    if active > limit:
        client.decr(_active_key(user_id))
        count_refusal("quota", "too_many_jobs")
        raise QuotaExceeded(f"At most {limit} jobs may run at once; wait for one to finish.",
                            code="too_many_jobs", headers={"Retry-After": "5"})


def release_job_slot(user_id: int, client: redis.Redis | None = None) -> None:
    client = client or get_redis()
    if int(client.decr(_active_key(user_id))) < 0:
        client.set(_active_key(user_id), 0)
