from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class JobStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL_STATUSES = frozenset({JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED})


class SynthesisJob(models.Model):
    """One request to turn text into speech. The row, not Redis, is the source of truth."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="synthesis_jobs")
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    text = models.TextField()
    engine_id = models.CharField(max_length=40)
    engine_version = models.CharField(max_length=120, blank=True)
    # Preset name (e.g. "jf_alpha") or a stored reference clip with its transcript.
    voice_preset = models.CharField(max_length=80, blank=True)
    reference_audio = models.FileField(upload_to="references/", blank=True)
    voice = models.ForeignKey("voices.Voice", null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs",
                              help_text="The library voice it was asked for (what 'run again' sends again); "
                                        "empty for an inline reference or a preset named directly.")
    prompt_text = models.TextField(blank=True)
    skip_whisper = models.BooleanField(default=False)
    params = models.JSONField(default=dict, help_text="Sampling and output parameters as submitted.")
    fingerprint = models.CharField(max_length=64, db_index=True)

    attempts = models.PositiveSmallIntegerField(default=0)
    worker_id = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    queue_wait_s = models.FloatField(null=True, blank=True)
    first_chunk_s = models.FloatField(null=True, blank=True, help_text="Time to first audio chunk.")
    total_s = models.FloatField(null=True, blank=True)
    rtf = models.FloatField(null=True, blank=True, help_text="Compute seconds per second of audio.")

    output = models.FileField(upload_to="outputs/", blank=True)
    output_sha256 = models.CharField(max_length=64, blank=True)
    audio_duration_s = models.FloatField(null=True, blank=True)
    sample_rate = models.PositiveIntegerField(null=True, blank=True)
    transcript = models.TextField(blank=True, help_text="Whisper transcript of the reference, if made.")
    voice_note = models.CharField(max_length=200, blank=True,
                                  help_text="How the voice was rendered, e.g. 'Kumo (male), matched to your voice: "
                                            "resembles it (similarity 0.72; ...) — this engine cannot clone'.")
    cache_hit = models.BooleanField(default=False)
    # Files of the finished result per format (storage names) and the token of its public URLs.
    files = models.JSONField(default=dict, blank=True)
    output_token = models.CharField(max_length=40, blank=True, db_index=True)
    # Single-flight: an identical job already in flight; this one finishes with its result.
    leader = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="followers")
    quota_held = models.BooleanField(default=False, help_text="Holds one of its owner's concurrent-job slots.")
    characters_charged = models.PositiveIntegerField(
        default=0, help_text="Characters counted against the owner's daily quota: all at submit; what was "
                             "produced (its share of the segments) once cancelled or failed; 0 for cache hits.")
    dispatched_at = models.DateTimeField(
        null=True, blank=True, help_text="When it went on the worker queue; empty while it waits for its owner's "
                                         "turn (see synthesis.jobs.dispatch).")
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"]), models.Index(fields=["owner", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.id} [{self.status}] {self.text[:40]!r}"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES
