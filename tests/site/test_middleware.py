"""Site-wide headers and static files, in both of Django's modes (sync: WSGI and the test client;
async: Daphne, where the whole chain stays on the event loop)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync, iscoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client

from glmtts_site.middleware import ContentSecurityPolicyMiddleware, PrivateByDefaultMiddleware, StaticFilesMiddleware

STATIC_JS = Path(settings.BASE_DIR) / "frontend" / "static" / "frontend" / "js"


def _get(mode: str, path: str) -> Any:
    if mode == "sync":
        return Client().get(path)
    return async_to_sync(AsyncClient().get)(path)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_json_is_private_and_carries_the_policy(mode: str, db: None) -> None:
    response = _get(mode, "/api/v1/syntheses")  # anonymous: a JSON 401 that set no policy itself
    assert response.status_code == 401
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_view_keeps_its_own_cache_policy(mode: str, db: None) -> None:
    response = _get(mode, "/health")  # never_cache
    assert response["Cache-Control"] != "private, no-store" and "no-cache" in response["Cache-Control"]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_static_files_are_served_and_public(mode: str, db: None) -> None:
    name = sorted(path.name for path in STATIC_JS.glob("*.js"))[0]
    response = _get(mode, f"{settings.STATIC_URL}frontend/js/{name}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == (STATIC_JS / name).read_bytes()
    assert "private" not in response.get("Cache-Control", "")


def test_each_middleware_runs_in_the_mode_of_the_chain() -> None:
    async def async_view(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    def sync_view(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    for middleware in (ContentSecurityPolicyMiddleware, PrivateByDefaultMiddleware, StaticFilesMiddleware):
        assert iscoroutinefunction(middleware(async_view))
        assert not iscoroutinefunction(middleware(sync_view))
