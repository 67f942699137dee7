"""Websocket URL patterns of every app, gathered for the ASGI router."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

websocket_urlpatterns: list[URLPattern | URLResolver] = []
