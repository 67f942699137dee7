from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .jobs_control import job_cancel, job_retry
from .models import SynthesisJob


@admin.register(SynthesisJob)
class SynthesisJobAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "status", "engine_id", "cache_hit", "created_at", "audio_duration_s", "total_s",
                    "rtf", "attempts", "error_code"]
    list_filter = ["status", "engine_id", "cache_hit", "created_at"]
    search_fields = ["id", "text", "owner__username", "fingerprint", "error_code"]
    readonly_fields = [f.name for f in SynthesisJob._meta.fields]
    actions = ["retry", "cancel"]
    list_select_related = ["owner"]

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
