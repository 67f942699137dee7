"""Rate limits shared in Redis: every costly path, per user and per address, 429 with Retry-After."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient

from glmtts_site.ratelimit import RateLimited, parse_rate, rate_limit, rate_limit_peek
from tests.conftest import PASSWORD
from tests.support.results import cached_result_for
from tests.support.voices import wav


@pytest.fixture
def limits(settings: SettingsWrapper) -> dict[str, str]:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS}
    limits: dict[str, str] = settings.RATE_LIMITS
    return limits


@pytest.mark.parametrize(("text", "limit", "period"), [("30/min", 30, 60), ("5/15min", 5, 900), ("1/s", 1, 1),
                                                        ("1000/day", 1000, 86400)])
def test_rates_parse(text: str, limit: int, period: float) -> None:
    rate = parse_rate(text)
    assert rate is not None and (rate.limit, rate.period_s) == (limit, period)


@pytest.mark.parametrize("text", ["off", "", "none"])
def test_a_limit_can_be_turned_off(text: str) -> None:
    assert parse_rate(text) is None


@pytest.mark.parametrize("text", ["30", "x/min", "0/min", "5/fortnight"])
def test_a_bad_rate_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rate(text)


@pytest.mark.django_db
def test_gcra_allows_the_burst_then_refuses_with_a_retry_time(limits: dict[str, str]) -> None:
    limits["submit"] = "3/min"
    for _ in range(3):
        rate_limit("submit", "someone")
    with pytest.raises(RateLimited) as refused:
        rate_limit("submit", "someone")
    assert 1 <= int(refused.value.headers["Retry-After"]) <= 21
    assert rate_limit_peek("submit", "someone") > 0 and rate_limit_peek("submit", "another") == 0
    rate_limit("submit", "another")  # identities are separate


def _submit(client: APIClient, url: str, text: str) -> Any:
    if url == "/v1/audio/speech":
        return client.post(url, data=json.dumps({"input": text, "response_format": "wav"}),
                           content_type="application/json")
    if url == "/api/tts":
        return client.post(url, {"text": text})
    return client.post(url, {"text": text}, format="json")


@pytest.mark.parametrize("url", ["/api/v1/syntheses", "/api/tts", "/v1/audio/speech"])
def test_every_submit_path_shares_the_users_limit_cache_hits_included(token_client: APIClient, url: str,
                                                                      limits: dict[str, str]) -> None:
    limits["submit"] = "2/min"
    cached_result_for("Heard before, twice.")  # hits: no worker needed, and they still count
    assert _submit(token_client, url, "Heard before, twice.").status_code == 200
    assert _submit(token_client, url, "Heard before, twice.").status_code == 200
    refused = _submit(token_client, url, "Heard before, twice.")
    assert refused.status_code == 429 and refused["Retry-After"].isdigit()
    assert refused.json()["error"]["code"] == "rate_limited"


def test_transcriptions_and_uploads_are_limited(owner: User, owner_client: APIClient,
                                                limits: dict[str, str]) -> None:
    limits["voice_upload"] = "2/hour"
    for index in range(2):
        upload = {"name": f"v{index}", "audio": _clip(), "prompt_text": "a steady tone"}
        assert owner_client.post("/api/v1/voices", upload, format="multipart").status_code == 201
    third = owner_client.post("/api/v1/voices", {"name": "v3", "audio": _clip(), "prompt_text": "x"},
                              format="multipart")
    assert third.status_code == 429
    limits["transcribe"] = "1/hour"
    voice_id = owner_client.get("/api/v1/voices").json()["results"][0]["id"]
    assert owner_client.post(f"/api/v1/voices/{voice_id}/transcribe").status_code == 202
    assert owner_client.post(f"/api/v1/voices/{voice_id}/transcribe").status_code == 429


def _clip() -> Any:
    import io

    handle = io.BytesIO(wav())
    handle.name = "clip.wav"
    return handle


def test_tokens_are_limited(owner_client: APIClient, limits: dict[str, str]) -> None:
    limits["token_create"] = "1/hour"
    assert owner_client.post("/api/v1/tokens", {"name": "a"}, format="json").status_code == 201
    assert owner_client.post("/api/v1/tokens", {"name": "b"}, format="json").status_code == 429


def test_many_accounts_from_one_address_share_its_limit(owner_client: APIClient, other_client: APIClient,
                                                        limits: dict[str, str]) -> None:
    limits["ip_costly"] = "2/min"
    assert owner_client.post("/api/v1/tokens", {"name": "a"}, format="json").status_code == 201
    assert other_client.post("/api/v1/tokens", {"name": "b"}, format="json").status_code == 201
    refused = other_client.post("/api/v1/tokens", {"name": "c"}, format="json")
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"


def _login(client: Client, password: str) -> int:
    client.get("/accounts/login/")
    return client.post("/accounts/login/", {"csrfmiddlewaretoken": client.cookies["csrftoken"].value,
                                            "username": "owner", "password": password}).status_code


def test_after_too_many_wrong_passwords_even_the_right_one_waits(owner: User) -> None:
    browser = Client(enforce_csrf_checks=True)
    assert [_login(browser, "wrong") for _ in range(5)] == [400] * 5
    assert _login(browser, PASSWORD) == 429
    assert _login(Client(enforce_csrf_checks=True), PASSWORD) == 429  # the username is throttled, not a cookie


def test_the_password_api_throttles_wrong_old_passwords(owner_client: APIClient) -> None:
    body = {"old_password": "wrong", "new_password": "another correct horse 43"}
    assert [owner_client.post("/api/v1/me/password", body, format="json").status_code
            for _ in range(5)] == [400] * 5
    right = owner_client.post("/api/v1/me/password", {**body, "old_password": PASSWORD}, format="json")
    assert right.status_code == 429 and right["Retry-After"].isdigit()


def test_signups_per_address_are_limited(db: None, limits: dict[str, str]) -> None:
    limits["signup"] = "1/hour"
    browser = Client(enforce_csrf_checks=True)

    def signup(name: str) -> int:
        browser.get("/accounts/signup/")
        return browser.post("/accounts/signup/", {"csrfmiddlewaretoken": browser.cookies["csrftoken"].value,
                                                  "username": name, "password1": PASSWORD,
                                                  "password2": PASSWORD}).status_code

    assert signup("first") == 302
    browser.post("/accounts/logout/", {"csrfmiddlewaretoken": browser.cookies["csrftoken"].value})
    assert signup("second") == 429
