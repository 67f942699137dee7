"""The engines this site offers, in one table, and how a worker builds them from the settings.

The engines themselves are a library (workers/engines/ and workers/text/: no Django, nothing of the
site); this module is where the site's settings meet them. An engine's module is imported on first
use, so a web process that asks only for static facts (output parameters, presets) imports GLM-TTS
(and torch) only when it asks about GLM-TTS.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings

from .engines.base import Engine


def _kokoro_options() -> dict[str, Any]:
    return {"model_path": settings.KOKORO_MODEL_PATH, "voices_path": settings.KOKORO_VOICES_PATH,
            "threads": settings.ENGINE_THREADS, "cache_dir": Path(settings.ENGINE_CACHE_DIR)}


def _glmtts_options() -> dict[str, Any]:
    return {"ckpt_dir": settings.GLMTTS_CKPT_DIR, "trust_remote_code": settings.GLMTTS_TRUST_REMOTE_CODE,
            "use_phoneme": settings.GLMTTS_USE_PHONEME, "threads": settings.ENGINE_THREADS,
            "cache_dir": Path(settings.ENGINE_CACHE_DIR), "max_batch": settings.WORKER_MAX_BATCH,
            "flow_batching": settings.GLMTTS_FLOW_BATCH}


def _glmtts_unavailable() -> str | None:
    if not settings.GLMTTS_CKPT_DIR:
        return "GLM-TTS is not configured on this server (GLMTTS_CKPT_DIR is unset)."
    return None


@dataclass(frozen=True)
class EngineSpec:
    engine_id: str
    class_path: str  # "module:Class"
    options: Callable[[], dict[str, Any]]  # the constructor's keywords, from the settings
    unavailable: Callable[[], str | None] = field(default=lambda: None)  # why not offered here, or None


ENGINE_SPECS: dict[str, EngineSpec] = {spec.engine_id: spec for spec in (
    EngineSpec("kokoro", "workers.engines.kokoro:KokoroEngine", _kokoro_options),
    EngineSpec("glmtts", "workers.engines.glmtts.engine:GlmTtsEngine", _glmtts_options, _glmtts_unavailable),
)}


def _spec(engine_id: str) -> EngineSpec:
    try:
        return ENGINE_SPECS[engine_id]
    except KeyError:
        raise ValueError(f"Unknown engine {engine_id!r}; known: {', '.join(sorted(ENGINE_SPECS))}") from None


@cache
def engine_class(engine_id: str) -> type:
    """The engine's class, for its static facts (output_params, presets), without loading any model."""
    module, _, name = _spec(engine_id).class_path.partition(":")
    return getattr(importlib.import_module(module), name)


def engine_unavailable_reason(engine_id: str) -> str | None:
    """Why a known engine cannot be offered on this deployment, or None when it can."""
    return _spec(engine_id).unavailable()


def offered_engine_ids() -> list[str]:
    return sorted(e for e in ENGINE_SPECS if engine_unavailable_reason(e) is None)


def build_engine(engine_id: str) -> Engine:
    engine: Engine = engine_class(engine_id)(**_spec(engine_id).options())
    return engine
