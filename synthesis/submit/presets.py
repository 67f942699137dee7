"""Which voices a request may name, judged in the web process without loading an engine.

An engine's presets are the system voices its workers published (voices.services.presets_sync),
or, before any worker has, the presets bundled with it; an engine that clones (GLM-TTS) needs a
reference. A bad choice is a 400 at submit, not a job that fails in the worker later. The published
names are remembered for PRESETS_CACHE_S per process (the cache-hit path asks on every submit).
"""

from __future__ import annotations

import threading
import time

from glmtts_site.errors import ApiError
from voices.models import Voice
from workers.engine_registry import engine_class

PRESETS_CACHE_S = 30.0
_known: dict[str, tuple[float, frozenset[str]]] = {}
_lock = threading.Lock()


def known_presets(engine_id: str) -> frozenset[str]:
    with _lock:
        cached = _known.get(engine_id)
    if cached is not None and time.monotonic() - cached[0] < PRESETS_CACHE_S:
        return cached[1]
    published = frozenset(Voice.objects.filter(owner__isnull=True, engine_id=engine_id)
                          .values_list("preset_name", flat=True))
    names = published or frozenset(getattr(engine_class(engine_id), "bundled_presets", frozenset()))
    with _lock:
        _known[engine_id] = (time.monotonic(), names)
    return names


def forget_presets() -> None:
    with _lock:
        _known.clear()


def check_voice_choice(*, engine_id: str, voice_preset: str, has_reference: bool) -> None:
    """ApiError (400) unless the request names a voice this engine can speak."""
    if voice_preset and has_reference:
        raise ApiError("Give a preset voice or a reference voice, not both.", code="invalid", field="voice")
    if voice_preset and voice_preset not in known_presets(engine_id):
        names = ", ".join(sorted(known_presets(engine_id))) or "none"
        raise ApiError(f"No preset voice {voice_preset!r} for {engine_id} (presets: {names}).",
                       code="unknown_voice", field="voice")
    if not has_reference and getattr(engine_class(engine_id), "needs_reference", False):
        raise ApiError(f"{engine_id} clones a reference voice: give voice_id (one of your voices) or "
                       "reference_audio; it has no preset voices.", code="reference_required", field="voice")
