"""Which engines exist and how a worker builds them."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings

from .base import Engine


def _kokoro() -> Engine:
    from .kokoro import KokoroEngine

    return KokoroEngine(model_path=settings.KOKORO_MODEL_PATH, voices_path=settings.KOKORO_VOICES_PATH,
                        threads=settings.ENGINE_THREADS)


ENGINE_FACTORIES: dict[str, Callable[[], Engine]] = {"kokoro": _kokoro}


def engine_class(engine_id: str) -> type:
    """The engine's class, for its static facts (output_params), without loading any model."""
    if engine_id == "kokoro":
        from .kokoro import KokoroEngine

        return KokoroEngine
    raise ValueError(f"Unknown engine {engine_id!r}")


def build_engine(engine_id: str) -> Engine:
    try:
        factory = ENGINE_FACTORIES[engine_id]
    except KeyError:
        raise ValueError(f"Unknown engine {engine_id!r}; known: {', '.join(sorted(ENGINE_FACTORIES))}") from None
    return factory()
