"""What the web process knows about engines without loading them: versions that workers
announced in Redis, and which parameters change each engine's output."""

from __future__ import annotations

from glmtts_site.redis_conn import get_redis, redis_key

from .params import SynthesisParams

ALL_OUTPUT_PARAMS = frozenset(SynthesisParams().to_dict()) - {"use_kv_cache", "use_prompt_cache"}


def engines_key() -> str:
    return redis_key("engines")


def announced_versions() -> dict[str, str]:
    """engine id -> version as last loaded by a worker. Raises RedisError when Redis is down."""
    raw: dict[bytes, bytes] = get_redis().hgetall(engines_key())  # type: ignore[assignment]
    return {k.decode(): v.decode() for k, v in raw.items()}


def output_params_for(engine_id: str) -> frozenset[str]:
    from workers.engines.registry import engine_class

    return frozenset(getattr(engine_class(engine_id), "output_params", ALL_OUTPUT_PARAMS))
