"""/metrics: off by default, a bearer token and/or an address allow-list, the text format."""

from __future__ import annotations

import pytest
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from glmtts_site.redis_conn import _client_for

from .scrape import TOKEN, scrape, value


def test_off_unless_configured(client: Client) -> None:
    response = client.get("/metrics")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("header", ["", "Bearer wrong-token", f"Basic {TOKEN}", "Bearer "])
def test_a_token_is_required_when_set(client: Client, settings: SettingsWrapper, header: str) -> None:
    settings.METRICS_TOKEN = TOKEN
    response = client.get("/metrics", HTTP_AUTHORIZATION=header) if header else client.get("/metrics")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "not_authenticated"


def test_the_right_token_reads_the_text_format(settings: SettingsWrapper) -> None:
    settings.METRICS_TOKEN = TOKEN
    samples = scrape()
    assert value(samples, "glmtts_redis_up") == 1.0
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response["Cache-Control"].startswith("max-age=0") and "Set-Cookie" not in response


def test_the_allow_list_checks_the_peer_never_a_forwarded_header(settings: SettingsWrapper) -> None:
    settings.METRICS_ALLOW_IPS = "10.0.0.0/8, 192.168.1.7"
    settings.CLIENT_IP_HEADER = "X-Forwarded-For"
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics", HTTP_X_FORWARDED_FOR="10.1.1.1").status_code == 403
    assert Client(REMOTE_ADDR="10.9.8.7").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="192.168.1.7").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="192.168.1.8").get("/metrics").status_code == 403


def test_with_both_set_a_scrape_needs_both(settings: SettingsWrapper) -> None:
    settings.METRICS_ALLOW_IPS, settings.METRICS_TOKEN = "10.0.0.0/8", TOKEN
    assert Client(REMOTE_ADDR="10.0.0.2").get("/metrics").status_code == 401
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 403
    assert Client(REMOTE_ADDR="10.0.0.2").get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_only_get(settings: SettingsWrapper) -> None:
    settings.METRICS_TOKEN = TOKEN
    assert Client().post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405


def test_an_unreachable_redis_still_answers(settings: SettingsWrapper) -> None:
    settings.METRICS_TOKEN = TOKEN
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    _client_for.cache_clear()
    try:
        samples = scrape()
    finally:
        _client_for.cache_clear()
    assert value(samples, "glmtts_redis_up") == 0.0
    assert value(samples, "glmtts_http_requests_total", route="/metrics") >= 0
