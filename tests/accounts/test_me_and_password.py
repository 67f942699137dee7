from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import PASSWORD


def test_me_shows_the_signed_in_user(owner_client: APIClient) -> None:
    body = owner_client.get("/api/v1/me").json()
    assert body["username"] == "owner" and body["is_staff"] is False


def test_me_differs_per_user(owner_client: APIClient, other_client: APIClient) -> None:
    assert owner_client.get("/api/v1/me").json()["username"] == "owner"
    assert other_client.get("/api/v1/me").json()["username"] == "other"


def test_anonymous_me_is_401(anon: APIClient) -> None:
    assert anon.get("/api/v1/me").status_code == 401


def test_password_change_api(owner: User, token_client: APIClient) -> None:
    new = "another long passphrase 77"
    response = token_client.post("/api/v1/me/password", {"old_password": PASSWORD, "new_password": new},
                                 format="json")
    assert response.status_code == 204
    owner.refresh_from_db()
    assert owner.check_password(new)


def test_password_change_rejects_wrong_old_password(owner: User, token_client: APIClient) -> None:
    response = token_client.post("/api/v1/me/password",
                                 {"old_password": "nope", "new_password": "another long passphrase 77"},
                                 format="json")
    assert response.status_code == 400
    assert response.json()["error"] == {"code": "wrong_password", "message": "The current password is wrong.",
                                        "field": "old_password"}
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)


def test_password_change_rejects_weak_password(token_client: APIClient) -> None:
    response = token_client.post("/api/v1/me/password", {"old_password": PASSWORD, "new_password": "123"},
                                 format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "weak_password"


def test_password_change_keeps_the_browser_session(owner: User, csrf_client: Client) -> None:
    assert csrf_client.login(username="owner", password=PASSWORD)
    csrf_client.get("/accounts/password/")
    token = csrf_client.cookies["csrftoken"].value
    response = csrf_client.post("/api/v1/me/password",
                                {"old_password": PASSWORD, "new_password": "another long passphrase 77"},
                                content_type="application/json", headers={"X-CSRFToken": token})
    assert response.status_code == 204
    assert csrf_client.get("/api/v1/me").status_code == 200
