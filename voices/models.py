from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Visibility(models.TextChoices):
    PRIVATE = "private"
    LINK = "link", "shared by link"
    PUBLIC = "public"
    SYSTEM = "system", "system preset"


class TranscriptState(models.TextChoices):
    NONE = "none"
    PENDING = "transcribing"
    DONE = "done"
    FAILED = "failed"


class Voice(models.Model):
    """A reference voice (canonical mono 16-bit FLAC) or a system preset of an engine."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="voices")
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=500, blank=True)
    language = models.CharField(max_length=8, blank=True, help_text="en, zh, or empty when unknown")
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PRIVATE)
    share_token = models.CharField(max_length=32, blank=True, db_index=True)
    engine_id = models.CharField(max_length=40, blank=True, help_text="Presets only: the engine they belong to.")
    preset_name = models.CharField(max_length=80, blank=True)

    audio = models.FileField(upload_to="voices/", blank=True)
    audio_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    audio_bytes = models.PositiveIntegerField(default=0)
    duration_s = models.FloatField(null=True, blank=True)
    sample_rate = models.PositiveIntegerField(null=True, blank=True)
    original_filename = models.CharField(max_length=120, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    voice_match = models.BooleanField(
        default=True, help_text="Engines that cannot clone move their preset towards this voice (the default "
                                "engine's voice match); off: the plain preset of its pitch range.")

    prompt_text = models.TextField(blank=True)
    prompt_source = models.CharField(max_length=12, blank=True, choices=[("typed", "typed"),
                                                                           ("transcribed", "transcribed")])
    transcript_state = models.CharField(max_length=14, choices=TranscriptState.choices, default=TranscriptState.NONE)
    detected_language = models.CharField(max_length=8, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["engine_id", "preset_name"], condition=models.Q(owner=None),
                                               name="one_row_per_preset")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_preset(self) -> bool:
        return bool(self.preset_name)


class VoiceFeatures(models.Model):
    """Prompt features of a voice for one engine version, computed once in the worker (seed 002)."""

    voice = models.ForeignKey(Voice, on_delete=models.CASCADE, related_name="features")
    engine_id = models.CharField(max_length=40)
    engine_version = models.CharField(max_length=120)
    audio_sha256 = models.CharField(max_length=64)
    state = models.CharField(max_length=10, default="pending",
                             choices=[("pending", "pending"), ("ready", "ready"), ("failed", "failed")])
    summary = models.JSONField(default=dict, blank=True,
                               help_text="e.g. the preset matched to the voice, its similarity and label")
    error = models.TextField(blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["voice", "engine_id", "engine_version"],
                                               name="one_feature_set_per_engine_version")]

    def __str__(self) -> str:
        return f"{self.voice_id} {self.engine_id} {self.engine_version} [{self.state}]"
