from __future__ import annotations

from django.urls import path

from synthesis import apis

urlpatterns = [
    path("syntheses", apis.SynthesisCollectionApi.as_view(), name="api-syntheses"),
    path("syntheses/<uuid:job_id>", apis.SynthesisItemApi.as_view(), name="api-synthesis-detail"),
    path("syntheses/<uuid:job_id>/cancel", apis.SynthesisCancelApi.as_view(), name="api-synthesis-cancel"),
    path("previews", apis.PreviewListApi.as_view(), name="api-previews"),
]
