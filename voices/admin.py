from __future__ import annotations

from django.contrib import admin, messages
from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from . import services
from .models import Visibility, Voice, VoiceFeatures


class VoiceFeaturesInline(admin.TabularInline):
    model = VoiceFeatures
    extra = 0
    can_delete = False
    readonly_fields = ["engine_id", "engine_version", "state", "summary", "error", "computed_at"]
    fields = ["engine_id", "engine_version", "state", "summary", "error", "computed_at"]


@admin.register(Voice)
class VoiceAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "visibility", "player", "duration_s", "transcript_state", "preset_name",
                    "rendered_as", "voice_match", "created_at"]
    list_filter = ["visibility", "transcript_state", "engine_id", "language", "voice_match"]
    search_fields = ["name", "description", "prompt_text", "owner__username"]
    readonly_fields = ["player", "audio_sha256", "audio_bytes", "duration_s", "sample_rate", "warnings",
                       "prompt_source", "transcript_state", "detected_language", "engine_id", "preset_name",
                       "share_token", "created_at", "updated_at"]
    fields = ["name", "owner", "description", "language", "visibility", "voice_match", "player", "prompt_text",
              *readonly_fields[1:]]
    inlines = [VoiceFeaturesInline]
    actions = ["retranscribe", "recompute_features", "publish", "unpublish"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Voice]:
        return super().get_queryset(request).prefetch_related("features")  # the label column, one query

    def get_urls(self) -> list[URLPattern]:
        audio = path("<uuid:voice_id>/audio/", self.admin_site.admin_view(self.audio_view), name="voices_voice_audio")
        return [audio, *super().get_urls()]

    def audio_view(self, request: HttpRequest, voice_id: str) -> FileResponse:
        voice = get_object_or_404(Voice, pk=voice_id)
        if not voice.audio or not default_storage.exists(voice.audio.name or ""):
            raise Http404("No reference audio.")
        return FileResponse(default_storage.open(voice.audio.name or "", "rb"), content_type="audio/flac")

    @admin.display(description="Rendered by engines that cannot clone")
    def rendered_as(self, voice: Voice) -> str:
        """The honest label: a preset that resembles the voice, with its similarity; never "cloned"."""
        labels = [str(f.summary.get("label", "")) for f in voice.features.all() if f.state == "ready"]
        return "; ".join(label for label in labels if label) or "—"

    @admin.display(description="Audio")
    def player(self, voice: Voice) -> str:
        if not voice.audio:
            return "—"
        src = reverse("admin:voices_voice_audio", args=[voice.pk])
        return format_html('<audio controls preload="none" src="{}"></audio>', src)

    @admin.action(description="Transcribe again")
    def retranscribe(self, request: HttpRequest, queryset: QuerySet[Voice]) -> None:
        voices = [v for v in queryset if not v.is_preset]
        for voice in voices:
            services.voice_retranscribe(voice=voice)
        self.message_user(request, f"Queued {len(voices)} transcription(s).")

    @admin.action(description="Recompute prompt features")
    def recompute_features(self, request: HttpRequest, queryset: QuerySet[Voice]) -> None:
        voices = [v for v in queryset if not v.is_preset]
        for voice in voices:
            services.voice_recompute_features(voice=voice)
        self.message_user(request, f"Queued features for {len(voices)} voice(s).")

    @admin.action(description="Publish (public)")
    def publish(self, request: HttpRequest, queryset: QuerySet[Voice]) -> None:
        changed = queryset.exclude(visibility=Visibility.SYSTEM).update(visibility=Visibility.PUBLIC)
        self.message_user(request, f"Published {changed} voice(s).")

    @admin.action(description="Unpublish (private)")
    def unpublish(self, request: HttpRequest, queryset: QuerySet[Voice]) -> None:
        changed = queryset.exclude(visibility=Visibility.SYSTEM).update(visibility=Visibility.PRIVATE)
        self.message_user(request, f"Unpublished {changed} voice(s).", level=messages.INFO)
