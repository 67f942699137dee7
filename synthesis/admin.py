from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from synthesis.jobs.control import job_cancel, job_retry
from synthesis.models import SynthesisJob


@admin.register(SynthesisJob)
class SynthesisJobAdmin(admin.ModelAdmin):
    # Columns that fit a laptop screen: a short id and text, seconds and RTF rounded.
    list_display = ["short_id", "owner", "status", "engine_id", "voice", "excerpt", "cache_hit", "created_at",
                    "audio_s", "total_time_s", "rtf_rounded", "attempts", "error_code"]
    list_display_links = ["short_id"]
    list_filter = ["status", "engine_id", "cache_hit", "created_at"]
    search_fields = ["id", "text", "owner__username", "fingerprint", "error_code"]
    readonly_fields = [f.name for f in SynthesisJob._meta.fields]
    actions = ["retry", "cancel"]
    list_select_related = ["owner", "voice"]

    @admin.display(description="id", ordering="id")
    def short_id(self, job: SynthesisJob) -> str:
        return str(job.pk)[:8]

    @admin.display(description="text")
    def excerpt(self, job: SynthesisJob) -> str:
        return job.text if len(job.text) <= 40 else f"{job.text[:39]}…"

    @admin.display(description="audio s", ordering="audio_duration_s")
    def audio_s(self, job: SynthesisJob) -> str:
        return _seconds(job.audio_duration_s)

    @admin.display(description="total s", ordering="total_s")
    def total_time_s(self, job: SynthesisJob) -> str:
        return _seconds(job.total_s)

    @admin.display(description="RTF", ordering="rtf")
    def rtf_rounded(self, job: SynthesisJob) -> str:
        return "–" if job.rtf is None else f"{job.rtf:.2f}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Retry (failed or cancelled jobs)")
    def retry(self, request: HttpRequest, queryset: QuerySet[SynthesisJob]) -> None:
        retried = sum(1 for job in queryset if job_retry(job=job))
        self.message_user(request, f"Requeued {retried} job(s).")

    @admin.action(description="Cancel")
    def cancel(self, request: HttpRequest, queryset: QuerySet[SynthesisJob]) -> None:
        for job in queryset:
            job_cancel(job=job)
        self.message_user(request, f"Cancel requested for {queryset.count()} job(s).")


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"
