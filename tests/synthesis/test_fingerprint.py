from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from synthesis.engines_info import ALL_OUTPUT_PARAMS
from synthesis.submit.fingerprint import compute_fingerprint, request_fingerprint, voice_identity
from workers.engines.params import SynthesisParams

BASE = SynthesisParams()


def _key(params: SynthesisParams = BASE, **changes: Any) -> str:
    args: dict[str, Any] = {"engine_id": "glmtts", "engine_version": "v1", "voice": voice_identity(preset="a"),
                            "text": "hello", "params": params.to_dict(), "output_params": ALL_OUTPUT_PARAMS}
    args.update(changes)
    return compute_fingerprint(**args)


@pytest.mark.parametrize("field,value", [
    ("sample_rate", 32000), ("format", "mp3"), ("seed", 7), ("speed", 1.1), ("strategy", "quality"),
    ("temperature", 0.7), ("top_p", 0.9), ("top_k", 5), ("language", "zh"),
])
def test_every_output_affecting_parameter_changes_the_key(field: str, value: Any) -> None:
    assert _key(replace(BASE, **{field: value})) != _key()


@pytest.mark.parametrize("change", [
    {"engine_id": "kokoro"}, {"engine_version": "v2"}, {"text": "hello!"},
    {"voice": voice_identity(preset="b")},
    {"voice": voice_identity(reference_sha256="f" * 64, prompt_text="hi")},
])
def test_engine_voice_and_text_change_the_key(change: dict[str, Any]) -> None:
    assert _key(**change) != _key()


def test_reference_prompt_text_changes_the_key() -> None:
    one = voice_identity(reference_sha256="f" * 64, prompt_text="hello there")
    other = voice_identity(reference_sha256="f" * 64, prompt_text="hello world")
    assert _key(voice=one) != _key(voice=other)


def _engine_key(engine_id: str, params: SynthesisParams) -> str:
    """The key as each engine really computes it (its own output parameters)."""
    return request_fingerprint(engine_id=engine_id, engine_version="v", voice=voice_identity(preset="a"),
                               text="Hello.", params=params.to_dict())


@pytest.mark.parametrize("engine_id", ["kokoro", "glmtts"])
def test_the_kv_cache_switch_never_changes_the_key(engine_id: str) -> None:
    """The true attention KV cache changes the speed, not the bytes."""
    assert _engine_key(engine_id, replace(BASE, use_kv_cache=False)) == _engine_key(engine_id, BASE)


def test_the_prompt_cache_keys_glmtts_only() -> None:
    """GLM-TTS's cross-segment prompt cache changes what it says (earlier segments prompt later ones);
    Kokoro has none."""
    off = replace(BASE, use_prompt_cache=False)
    assert _engine_key("glmtts", off) != _engine_key("glmtts", BASE)
    assert _engine_key("kokoro", off) == _engine_key("kokoro", BASE)


def test_numbers_are_canonical() -> None:
    as_int = {**BASE.to_dict(), "speed": 1}
    assert _key(params=BASE) == compute_fingerprint(
        engine_id="glmtts", engine_version="v1", voice=voice_identity(preset="a"), text="hello",
        params=as_int, output_params=ALL_OUTPUT_PARAMS)


def test_kokoro_ignores_sampling_parameters_it_does_not_have() -> None:
    def key(params: SynthesisParams) -> str:
        return request_fingerprint(engine_id="kokoro", engine_version="v", voice=voice_identity(preset="a"),
                                   text="Hello.", params=params.to_dict())

    assert key(replace(BASE, seed=5, temperature=0.5, top_k=3)) == key(BASE)
    assert key(replace(BASE, speed=1.2)) != key(BASE)


def test_normalized_text_is_keyed_not_the_spelling() -> None:
    def key(text: str) -> str:
        return request_fingerprint(engine_id="kokoro", engine_version="v", voice=voice_identity(preset="a"),
                                   text=text, params=BASE.to_dict())

    assert key("I have 3 cats.") == key("I  have three cats.")
    assert key("I have 3 cats.") != key("I have 4 cats.")
