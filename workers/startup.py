"""What a worker does once at start: load its engines, build the job executor, publish presets (and
ask for their previews)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections

from glmtts_site.resilience import TRANSIENT_ERRORS
from synthesis.submit.previews import previews_request
from voices.services import presets_sync

from .asr import Transcriber, bundled_whisper_dir
from .engine_registry import build_engine
from .engines.base import Engine
from .jobrun import JobExecutor
from .metrics import observe_engine_load

logger = logging.getLogger(__name__)


def load_engines(engine_ids: list[str], device: str) -> dict[str, Engine]:
    engines: dict[str, Engine] = {}
    for engine_id in engine_ids:
        started = time.monotonic()
        engine = build_engine(engine_id)
        engine.load(device)
        engines[engine_id] = engine
        observe_engine_load(engine_id, time.monotonic() - started)
        logger.info("Loaded engine %s (%s) on %s in %.1fs", engine_id, engine.version, device,
                    time.monotonic() - started)
    return engines


def engine_versions(engines: dict[str, Engine]) -> dict[str, str]:
    return {engine.engine_id: engine.version for engine in engines.values()}


def publish_presets(engines: dict[str, Engine]) -> None:
    """Each engine's presets appear in every user's voice library as system voices. An outage is
    raised (the caller retries); anything else is logged: the library misses the presets, but
    synthesis works."""
    close_old_connections()
    try:
        for engine in engines.values():
            presets = engine.presets()
            presets_sync(engine_id=engine.engine_id, presets=[(p.name, p.label, p.language) for p in presets])
            if settings.PRESET_PREVIEWS and presets:
                previews_request(engine_id=engine.engine_id, engine_version=engine.version,
                                 presets=[(p.name, p.language) for p in presets])
    except TRANSIENT_ERRORS:
        raise
    except Exception:
        logger.exception("Could not publish preset voices (are migrations applied?)")
    finally:
        close_old_connections()


def build_executor(engines: dict[str, Engine], worker_id: str, device: str) -> JobExecutor:
    transcriber = Transcriber(model_dir=bundled_whisper_dir(Path(settings.ENGINE_CACHE_DIR)),
                              threads=settings.ENGINE_THREADS)
    return JobExecutor(engines=engines, transcriber=transcriber, worker_id=worker_id, device=device)
