"""Bad input is a clear 4xx JSON error, never a 500."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tests.conftest import PASSWORD


def test_malformed_json_is_400(token_client: APIClient) -> None:
    response = token_client.post("/api/v1/tokens", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


def test_unknown_fields_are_rejected_by_name(token_client: APIClient) -> None:
    response = token_client.post("/api/v1/tokens", {"name": "x", "nmae": "y"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and error["field"] == "nmae"


def test_unknown_api_url_is_json_404(token_client: APIClient) -> None:
    response = token_client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_wrong_method_is_json_405(token_client: APIClient) -> None:
    response = token_client.put("/api/v1/me", {}, format="json")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_session_post_without_csrf_token_is_403(owner: User, csrf_client: Client) -> None:
    assert csrf_client.login(username="owner", password=PASSWORD)
    response = csrf_client.post("/api/v1/tokens", {"name": "x"}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"


def test_session_post_with_csrf_token_works(owner: User, csrf_client: Client) -> None:
    assert csrf_client.login(username="owner", password=PASSWORD)
    csrf_client.get("/accounts/password/")  # any page with a form sets the CSRF cookie
    token = csrf_client.cookies["csrftoken"].value
    response = csrf_client.post("/api/v1/tokens", {"name": "x"}, content_type="application/json",
                                headers={"X-CSRFToken": token})
    assert response.status_code == 201


def test_expired_session_is_401(owner: User, csrf_client: Client) -> None:
    assert csrf_client.login(username="owner", password=PASSWORD)
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = csrf_client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
