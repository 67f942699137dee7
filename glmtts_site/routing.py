"""Websocket URL patterns of every app, gathered for the ASGI router."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from synthesis.realtime.consumers import JobStreamConsumer, SynthesizeConsumer

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path("ws/jobs/<uuid:job_id>/", JobStreamConsumer.as_asgi()),
    path("ws/synthesize/", SynthesizeConsumer.as_asgi()),
]
