"""Finished results: encode, store content-addressed, publish to the cache, settle followers."""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

import numpy as np
from django.conf import settings
from django.urls import reverse
from redis.exceptions import RedisError

from synthesis.results.cache import CachedResult, cache_put
from synthesis.results.encoding import EDGE_FORMAT, encode
from synthesis.results.storage import store_output

logger = logging.getLogger(__name__)


def audio_token(fingerprint: str) -> str:
    """Stable and unguessable: the public URL of a result reveals nothing about its inputs."""
    key = (settings.AUDIO_URL_KEY or settings.SECRET_KEY).encode()
    return hmac.new(key, fingerprint.encode(), hashlib.sha256).hexdigest()[:32]


def result_paths(pointer: dict[str, Any]) -> list[str]:
    """The public paths (`/a/<token>.<ext>`) of a cached result's files, as the edge caches them."""
    fingerprint, files = str(pointer.get("fingerprint", "")), pointer.get("files") or {}
    token = audio_token(fingerprint) if fingerprint else ""
    return [reverse("audio", kwargs={"token": token, "ext": ext}) for ext in sorted(files)] if token else []


def result_store(*, fingerprint: str, samples: np.ndarray, sample_rate: int, fmt: str, engine_id: str,
                 engine_version: str, voice_key: str, voice_note: str = "") -> CachedResult:
    files = {name: store_output(fingerprint, name, encode(samples, sample_rate, name))
             for name in dict.fromkeys([fmt, EDGE_FORMAT])}
    result = CachedResult(fingerprint=fingerprint, files=files, duration_s=len(samples) / sample_rate,
                          sample_rate=sample_rate, engine_id=engine_id, engine_version=engine_version,
                          voice_key=voice_key, voice_note=voice_note)
    try:
        cache_put(result)
    except RedisError as exc:  # the files are stored; the next identical request is a miss, not an error
        logger.warning("Could not write the result cache pointer: %s", exc)
    return result
