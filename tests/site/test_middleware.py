"""Site-wide headers and static files, through both of Django's handlers (WSGI, and ASGI as Daphne runs it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.test import AsyncClient, Client

STATIC_JS = Path(settings.BASE_DIR) / "frontend" / "static" / "frontend" / "js"


def _get(handler: str, path: str) -> Any:
    if handler == "wsgi":
        return Client().get(path)
    return async_to_sync(AsyncClient().get)(path)


@pytest.mark.parametrize("handler", ["wsgi", "asgi"])
def test_json_is_private_and_carries_the_policy(handler: str, db: None) -> None:
    response = _get(handler, "/api/v1/syntheses")  # anonymous: a JSON 401 that set no policy itself
    assert response.status_code == 401
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("handler", ["wsgi", "asgi"])
def test_a_view_keeps_its_own_cache_policy(handler: str, db: None) -> None:
    response = _get(handler, "/health")  # never_cache
    assert response["Cache-Control"] != "private, no-store" and "no-cache" in response["Cache-Control"]


@pytest.mark.parametrize("handler", ["wsgi", "asgi"])
def test_static_files_are_served_and_public(handler: str, db: None) -> None:
    name = sorted(path.name for path in STATIC_JS.glob("*.js"))[0]
    response = _get(handler, f"{settings.STATIC_URL}frontend/js/{name}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == (STATIC_JS / name).read_bytes()
    assert "private" not in response.get("Cache-Control", "")
