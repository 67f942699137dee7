from __future__ import annotations

from django.urls import path

from . import apis

urlpatterns = [
    path("workers", apis.WorkerStatusApi.as_view(), name="api-workers"),
    path("engines", apis.EngineStatusApi.as_view(), name="api-engines"),
    path("gpu/status", apis.GpuStatusApi.as_view(), name="api-gpu-status"),
    path("gpu/offload", apis.GpuOffloadApi.as_view(), name="api-gpu-offload"),
]
