"""Which engines exist and how a worker builds them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from .base import Engine


def _kokoro() -> Engine:
    from .kokoro import KokoroEngine

    return KokoroEngine(model_path=settings.KOKORO_MODEL_PATH, voices_path=settings.KOKORO_VOICES_PATH,
                        threads=settings.ENGINE_THREADS)


def _glmtts() -> Engine:
    from .glmtts.engine import GlmTtsEngine

    return GlmTtsEngine(ckpt_dir=settings.GLMTTS_CKPT_DIR, trust_remote_code=settings.GLMTTS_TRUST_REMOTE_CODE,
                        use_phoneme=settings.GLMTTS_USE_PHONEME, threads=settings.ENGINE_THREADS,
                        cache_dir=Path(settings.ENGINE_CACHE_DIR))


ENGINE_FACTORIES: dict[str, Callable[[], Engine]] = {"kokoro": _kokoro, "glmtts": _glmtts}


def engine_unavailable_reason(engine_id: str) -> str | None:
    """Why a known engine cannot be offered on this deployment, or None when it can."""
    if engine_id == "glmtts" and not settings.GLMTTS_CKPT_DIR:
        return "GLM-TTS is not configured on this server (GLMTTS_CKPT_DIR is unset)."
    return None


def offered_engine_ids() -> list[str]:
    return sorted(e for e in ENGINE_FACTORIES if engine_unavailable_reason(e) is None)


def engine_class(engine_id: str) -> type:
    """The engine's class, for its static facts (output_params), without loading any model."""
    if engine_id == "kokoro":
        from .kokoro import KokoroEngine

        return KokoroEngine
    if engine_id == "glmtts":
        from .glmtts.engine import GlmTtsEngine

        return GlmTtsEngine
    raise ValueError(f"Unknown engine {engine_id!r}")


def build_engine(engine_id: str) -> Engine:
    try:
        factory = ENGINE_FACTORIES[engine_id]
    except KeyError:
        raise ValueError(f"Unknown engine {engine_id!r}; known: {', '.join(sorted(ENGINE_FACTORIES))}") from None
    return factory()
