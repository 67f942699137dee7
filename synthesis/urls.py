from __future__ import annotations

from django.urls import path

from . import apis
from .hit_view import synthesis_collection

urlpatterns = [
    path("syntheses", synthesis_collection, name="api-syntheses"),
    path("syntheses/<uuid:job_id>", apis.SynthesisItemApi.as_view(), name="api-synthesis-detail"),
    path("syntheses/<uuid:job_id>/cancel", apis.SynthesisCancelApi.as_view(), name="api-synthesis-cancel"),
]
