"""Rate limits and concurrency caps shared by every web process through Redis.

Rates use GCRA (the generic cell rate algorithm: a bucket of `limit` requests refilled evenly over
`period`) in one Lua script with Redis's own clock, so all web nodes agree without synchronised
clocks, every check is one atomic round trip, and a refusal knows exactly when the next request
will pass (Retry-After). DRF's throttles keep their history in the cache non-atomically, which is
why they are not used here (edge-and-security.md). Caps (open websockets per user) are sorted sets
of members with an expiry score: a member whose node died stops counting when it expires.

Limits are named (settings.RATE_LIMITS: name -> "N/period"); `RATE_LIMIT_<NAME>` in the environment
overrides one, and "off" turns it off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import redis
import redis.asyncio as aioredis
from django.conf import settings
from django.http import HttpRequest

from .errors import ApiError
from .metrics.web import count_refusal
from .redis_conn import get_redis, redis_key

_GCRA = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local interval = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < t then tat = t end
local wait = tat + interval - period - t
if wait > 0 then return tostring(wait) end
redis.call('SET', KEYS[1], tostring(tat + interval), 'PX', math.ceil(period * 1000) + 1000)
return '0'
"""
_CAP_TAKE = """
local now = redis.call('TIME')
local t = tonumber(now[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) == false and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], t + tonumber(ARGV[3]), ARGV[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
return 1
"""
_PERIODS = {"s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*$")


class RateLimited(ApiError):
    status_code = 429
    code = "rate_limited"


@dataclass(frozen=True)
class Rate:
    limit: int
    period_s: float

    @property
    def interval_s(self) -> float:
        return self.period_s / self.limit


@lru_cache(maxsize=64)
def parse_rate(text: str) -> Rate | None:
    """"30/min", "5/15min", "1000/day" -> Rate; "off" (or "") -> None."""
    if text.strip().lower() in ("", "off", "none"):
        return None
    match = _RATE.match(text.lower())
    if not match or match.group(3) not in _PERIODS or int(match.group(1)) < 1:
        raise ValueError(f"Not a rate: {text!r} (use e.g. 30/min, 5/15min, 1000/day, or off)")
    count, multiple, unit = int(match.group(1)), int(match.group(2) or 1), match.group(3)
    return Rate(count, float(multiple * _PERIODS[unit]))


def rate_for(name: str) -> Rate | None:
    return parse_rate(settings.RATE_LIMITS[name])


def _key(name: str, identity: str) -> str:
    return redis_key("rl", name, identity)


def _refused(name: str, wait_s: float) -> RateLimited:
    count_refusal("rate_limit", name)
    retry = max(1, int(wait_s + 0.999))
    return RateLimited(f"Too many requests ({name}); retry in {retry} s.", headers={"Retry-After": str(retry)})


def rate_limit(name: str, identity: str | int, *, client: redis.Redis | None = None) -> None:
    """Count one request of `identity` against limit `name`; raises RateLimited (429) when over."""
    rate = rate_for(name)
    if rate is None:
        return
    wait = float((client or get_redis()).eval(_GCRA, 1, _key(name, str(identity)), rate.interval_s, rate.period_s))
    if wait > 0:
        raise _refused(name, wait)


async def rate_limit_async(name: str, identity: str | int, client: aioredis.Redis) -> None:
    rate = rate_for(name)
    if rate is None:
        return
    wait = float(await client.eval(_GCRA, 1, _key(name, str(identity)), rate.interval_s, rate.period_s))
    if wait > 0:
        raise _refused(name, wait)


def rate_limit_peek(name: str, identity: str | int, *, client: redis.Redis | None = None) -> float:
    """Seconds until `identity` may pass limit `name` again (0 = it may now), without counting."""
    rate = rate_for(name)
    if rate is None:
        return 0.0
    raw = (client or get_redis()).get(_key(name, str(identity)))
    if raw is None:
        return 0.0
    now_s, now_us = (client or get_redis()).time()
    return max(0.0, float(raw) + rate.interval_s - rate.period_s - (now_s + now_us / 1e6))


async def cap_take(name: str, identity: str | int, member: str, cap: int, ttl_s: int,
                   client: aioredis.Redis) -> bool:
    """Hold one of `cap` slots of `identity` for `member` (refreshable; expires after ttl_s)."""
    return bool(await client.eval(_CAP_TAKE, 1, _key(name, str(identity)), member, cap, ttl_s))


async def cap_release(name: str, identity: str | int, member: str, client: aioredis.Redis) -> None:
    await client.zrem(_key(name, str(identity)), member)


def client_ip(request: HttpRequest) -> str:
    """The client's address: the proxy's header when one is configured (Cloudflare's CF-Connecting-IP,
    or the first X-Forwarded-For entry), else the socket's peer. Never trusted unless configured."""
    header = settings.CLIENT_IP_HEADER
    if header:
        value = request.headers.get(header, "")
        if value:
            return value.split(",")[0].strip()[:64]
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def scope_client_ip(scope: dict[str, object]) -> str:
    """client_ip for an ASGI scope (websockets)."""
    header = settings.CLIENT_IP_HEADER.lower().encode() if settings.CLIENT_IP_HEADER else b""
    if header:
        for name, value in scope.get("headers", []):  # type: ignore[attr-defined]
            if name == header and value:
                return str(value.decode("latin-1").split(",")[0].strip()[:64])
    client = scope.get("client")
    return str(client[0]) if isinstance(client, list | tuple) and client else "unknown"
