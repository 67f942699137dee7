"""The portal's pages as the server renders them (their scripts run in tests/e2e)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client


def test_favicon_is_served_wherever_a_browser_asks(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 301 or response.status_code == 302
    icon = client.get(response["Location"])
    assert icon.status_code == 200 and b"<svg" in b"".join(icon.streaming_content)  # type: ignore[attr-defined]


def test_studio_names_each_engine_and_whether_it_clones(owner: User, client: Client) -> None:
    client.force_login(owner)
    page = client.get("/").content.decode()
    assert "Kokoro (preset voices)" in page
    assert 'id="voice-note"' in page and 'id="engine-state"' in page and 'id="play-pause"' in page


def test_history_offers_filters(owner: User, client: Client) -> None:
    client.force_login(owner)
    page = client.get("/history/").content.decode()
    for control in ("filter-status", "filter-engine", "filter-cache_hit"):
        assert f'id="{control}"' in page
    assert '<option value="kokoro">Kokoro</option>' in page


def test_pages_are_for_signed_in_users(client: Client, db: None) -> None:
    for url in ("/", "/history/", "/voices/", "/tokens/"):
        assert client.get(url).status_code == 302
