"""The result fingerprint: sha256 of a canonical JSON of every input that changes the output bytes.

In it: engine id and version, the voice (preset name, or reference-audio sha256 + prompt text),
the normalized text, and the engine's output-affecting parameters (sample rate, format, seed and
sampling parameters where the engine samples, speed, language). Not in it: anything that does
not change the bytes (KV-cache switches, user, request id).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings

from synthesis.engines_info import output_params_for
from workers.text.plan import normalized_text, plan_segments

FINGERPRINT_VERSION = 1


def _canonical(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        # 1 and 1.0 must give one key; 17 significant digits keep every float distinct.
        return int(value) if value.is_integer() else float(f"{value:.17g}")
    if isinstance(value, Mapping):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    raise TypeError(f"Cannot fingerprint a {type(value).__name__}")


def voice_identity(*, preset: str = "", reference_sha256: str = "", prompt_text: str = "") -> dict[str, str]:
    if reference_sha256:
        return {"reference_sha256": reference_sha256, "prompt_text": prompt_text.strip()}
    return {"preset": preset}


def cache_scope(owner_id: int | None) -> str:
    """Who may share a result: "" (everyone: the default, RESULT_CACHE_SCOPE=shared) or one owner
    (RESULT_CACHE_SCOPE=user). Shared results are a deliberate choice: the same text in the same preset
    voice is synthesized once for everybody, at the price that a user can tell, from an instant answer,
    that someone asked for that text before. Jobs without an owner share one scope."""
    if settings.RESULT_CACHE_SCOPE != "user":
        return ""
    return f"user:{owner_id}" if owner_id is not None else "system"


def compute_fingerprint(*, engine_id: str, engine_version: str, voice: Mapping[str, str], text: str,
                        params: Mapping[str, Any], output_params: Iterable[str], scope: str = "") -> str:
    payload: dict[str, Any] = {
        "v": FINGERPRINT_VERSION,
        "engine": {"id": engine_id, "version": engine_version},
        "voice": dict(voice),
        "text": text,
        "params": {name: params[name] for name in sorted(output_params) if name in params},
    }
    if scope:  # only then: shared results keep the keys they always had
        payload["scope"] = scope
    canonical = json.dumps(_canonical(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def request_fingerprint(*, engine_id: str, engine_version: str, voice: Mapping[str, str], text: str,
                        params: Mapping[str, Any], scope: str = "") -> str:
    """The fingerprint of a synthesis request, the same in the web process and the worker."""
    return compute_fingerprint(
        engine_id=engine_id, engine_version=engine_version, voice=voice,
        text=normalized_text(plan_segments(text, str(params.get("language", "auto")))),
        params=params, output_params=output_params_for(engine_id), scope=scope)
