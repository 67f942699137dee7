from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from synthesis.audio_views import audio
from synthesis.compat import openai_views
from synthesis.compat import seed_views as compat_views
from voices.seed_api import SeedVoicesApi
from workers import admin_views
from workers.apis import GpuOffloadApi, GpuStatusApi

from . import health
from .metrics.exposition import metrics

handler400 = "glmtts_site.api_errors.json_400"
handler404 = "glmtts_site.api_errors.json_404"
handler500 = "glmtts_site.api_errors.json_500"

api_v1 = [
    path("", include("accounts.urls")),
    path("", include("workers.urls")),
    path("", include("synthesis.urls")),
    path("", include("voices.urls")),
]

urlpatterns = [
    path("health", health.health, name="health"),
    path("a/<str:token>.<str:ext>", audio, name="audio"),
    path("ready", health.ready, name="ready"),
    path("metrics", metrics, name="metrics"),
    path("admin/ops/cache/", admin.site.admin_view(admin_views.cache_page), name="admin-ops-cache"),
    path("admin/ops/workers/", admin.site.admin_view(admin_views.workers_page), name="admin-ops-workers"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include(api_v1)),
    # Seed 001 paths, kept for its clients.
    path("api/tts", compat_views.SeedTtsApi.as_view(), name="seed-tts"),
    path("api/voices", SeedVoicesApi.as_view(), name="seed-voices"),
    path("api/gpu/status", GpuStatusApi.as_view(), name="seed-gpu-status"),
    path("api/gpu/offload", GpuOffloadApi.as_view(), name="seed-gpu-offload"),
    # OpenAI-compatible speech API (base_url=<site>/v1).
    path("v1/audio/speech", openai_views.SpeechApi.as_view(), name="openai-speech"),
    path("v1/audio/voices", openai_views.VoicesApi.as_view(), name="openai-voices"),
    path("v1/models", openai_views.ModelsApi.as_view(), name="openai-models"),
    path("", include("frontend.urls")),
]
