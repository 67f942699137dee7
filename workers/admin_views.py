"""Admin pages for operations: the result cache and the workers (staff only, via admin_view)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from glmtts_site.edge_purge import purge_enabled, purges_waiting, recent_purge_errors
from synthesis.results.cache_admin import cache_purge, cache_stats
from synthesis.submit.cache_warm import warm_phrases

from .control import send_offload
from .heartbeat import live_workers
from .ops import dead_letters, pending_entries, requeue_dead_letter
from .queue import queue_depth


def _purge(request: HttpRequest) -> None:
    if request.POST.get("confirm") != "yes":
        messages.error(request, "Tick the confirmation box to purge.")
        return
    scope = request.POST.get("scope")
    value = request.POST.get("value", "").strip()
    kwargs = {"all": {"everything": True}, "engine_version": {"engine_version": value},
              "voice": {"voice": value}}.get(scope or "", {})
    if not kwargs or (scope != "all" and not value):
        messages.error(request, "Choose what to purge and give its value.")
        return
    messages.success(request, f"Purged {cache_purge(**kwargs)} cache entries.")  # type: ignore[arg-type]


def _warm(request: HttpRequest) -> None:
    lines = request.POST.get("phrases", "").splitlines()
    report = warm_phrases(lines, voice=request.POST.get("voice", "").strip())
    messages.success(request, f"{report.cached} phrase(s) already cached, {report.queued} queued.")


@require_http_methods(["GET", "POST"])
def cache_page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        (_purge if request.POST.get("action") == "purge" else _warm)(request)
        return redirect("admin-ops-cache")
    context = {**admin.site.each_context(request), "title": "Result cache", "stats": cache_stats(),
               "edge": _edge_purges()}
    return render(request, "admin/ops/cache.html", context)


def _edge_purges() -> dict[str, Any]:
    errors = [{**error, "when": datetime.fromtimestamp(error["at"], tz=UTC)} for error in recent_purge_errors()]
    return {"enabled": purge_enabled(), "waiting": purges_waiting(), "errors": errors}


@require_http_methods(["GET", "POST"])
def workers_page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        if request.POST.get("action") == "requeue":
            job_id = requeue_dead_letter(request.POST.get("entry_id", ""))
            messages.success(request, f"Requeued job {job_id}." if job_id else "That dead letter is gone.")
        elif request.POST.get("action") == "offload":
            listeners = send_offload(request.POST.get("worker_id") or "*")
            messages.success(request, f"Offload sent to {listeners} worker(s).")
        return redirect("admin-ops-workers")
    context = {**admin.site.each_context(request), "title": "Workers and queue", "workers": live_workers(),
               "depth": queue_depth(), "pending": pending_entries(), "dead": dead_letters()}
    return render(request, "admin/ops/workers.html", context)
