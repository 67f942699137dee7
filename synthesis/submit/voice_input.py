"""Turning a validated request (voice_id, preset name, inline reference, sampling fields) into submit arguments."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from django.contrib.auth.models import User

from glmtts_site.errors import ApiError
from synthesis.jobs.services import ReferenceUpload, reference_from_bytes
from voices.models import Voice
from voices.selectors import voice_get_for
from voices.services import upload_bytes
from workers.engines.params import STRATEGY_PRESETS, SynthesisParams


@dataclass(frozen=True)
class SubmitArgs:
    text: str
    params: SynthesisParams
    engine_id: str
    voice_preset: str
    reference: ReferenceUpload | None
    prompt_text: str
    skip_whisper: bool
    voice: Voice | None = None

    def as_kwargs(self) -> dict[str, Any]:
        return dict(self.__dict__)


def submit_args(user: User, data: dict[str, Any]) -> SubmitArgs:
    upload = data.get("reference_audio")
    field = "reference_audio"
    reference = reference_from_bytes(upload_bytes(upload, field=field), field=field) if upload else None
    preset, engine_id = data.get("voice", ""), data.get("engine", "")
    prompt_text, skip_whisper = data.get("prompt_text", ""), data.get("skip_whisper", False)
    voice: Voice | None = None
    if data.get("voice_id"):
        if reference is not None:
            raise ApiError("Give voice_id or reference_audio, not both.", field="voice_id")
        try:
            voice = voice_get_for(user=user, voice_id=data["voice_id"], share_token=data.get("voice_share", ""))
        except Voice.DoesNotExist:
            raise ApiError("No such voice.", code="unknown_voice", field="voice_id") from None
        if voice.is_preset:
            preset, engine_id = voice.preset_name, engine_id or voice.engine_id
        else:
            with voice.audio.open("rb") as handle:
                reference = ReferenceUpload(f"{voice.pk}.flac", handle.read())
            prompt_text = prompt_text or voice.prompt_text
            skip_whisper = skip_whisper or bool(prompt_text)
    params = params_from(data)
    if voice is not None and not voice.voice_match:  # the voice's owner switched matching off
        params = replace(params, voice_match=False)
    return SubmitArgs(text=data["text"], params=params, engine_id=engine_id, voice_preset=preset,
                      reference=reference, prompt_text=prompt_text, skip_whisper=skip_whisper, voice=voice)


def params_from(data: dict[str, Any]) -> SynthesisParams:
    """The strategy fills in sampling values the request left out; explicit ones win."""
    preset = STRATEGY_PRESETS[data.get("strategy", "balanced")]
    return SynthesisParams(
        sample_rate=int(data.get("sample_rate", 24000)), format=data.get("format", "wav"),
        seed=data.get("seed", 0), speed=data.get("speed", 1.0), strategy=data.get("strategy", "balanced"),
        temperature=float(data.get("temperature") or preset["temperature"]),
        top_p=float(data.get("top_p") or preset["top_p"]), top_k=int(data.get("top_k") or preset["top_k"]),
        language=data.get("language", "auto"), use_kv_cache=data.get("use_kv_cache", True),
        use_prompt_cache=data.get("use_prompt_cache", True), voice_match=data.get("voice_match", True))
