from __future__ import annotations

from django.urls import path

from . import apis

urlpatterns = [
    path("voices", apis.VoiceCollectionApi.as_view(), name="api-voices"),
    path("voices/<uuid:voice_id>", apis.VoiceItemApi.as_view(), name="api-voice"),
    path("voices/<uuid:voice_id>/transcribe", apis.VoiceTranscribeApi.as_view(), name="api-voice-transcribe"),
    path("voices/<uuid:voice_id>/audio", apis.VoiceAudioApi.as_view(), name="api-voice-audio"),
]
