"""Sign up, log in, log out and change password through the real pages, with CSRF enforced."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client

from tests.conftest import PASSWORD


def _csrf(client: Client, url: str) -> str:
    assert client.get(url).status_code == 200
    return client.cookies["csrftoken"].value


def test_sign_up_creates_the_user_and_signs_in(csrf_client: Client, db: None) -> None:
    token = _csrf(csrf_client, "/accounts/signup/")
    response = csrf_client.post("/accounts/signup/", {
        "csrfmiddlewaretoken": token, "username": "newbie", "email": "",
        "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302
    assert User.objects.filter(username="newbie").exists()
    assert csrf_client.get("/").status_code == 200


def test_sign_up_without_csrf_token_is_refused(csrf_client: Client, db: None) -> None:
    response = csrf_client.post("/accounts/signup/", {
        "username": "newbie", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 403
    assert not User.objects.filter(username="newbie").exists()


def test_sign_up_with_taken_username_shows_the_error(owner: User, csrf_client: Client) -> None:
    token = _csrf(csrf_client, "/accounts/signup/")
    response = csrf_client.post("/accounts/signup/", {
        "csrfmiddlewaretoken": token, "username": "owner", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 400
    assert b"already exists" in response.content


def test_log_in_and_log_out(owner: User, csrf_client: Client) -> None:
    token = _csrf(csrf_client, "/accounts/login/")
    response = csrf_client.post("/accounts/login/", {
        "csrfmiddlewaretoken": token, "username": "owner", "password": PASSWORD})
    assert response.status_code == 302
    assert csrf_client.get("/api/v1/me").json()["auth"] == "session"
    token = csrf_client.cookies["csrftoken"].value
    assert csrf_client.post("/accounts/logout/", {"csrfmiddlewaretoken": token}).status_code in (200, 302)
    assert csrf_client.get("/api/v1/me").status_code == 401


def test_wrong_password_does_not_log_in(owner: User, csrf_client: Client) -> None:
    token = _csrf(csrf_client, "/accounts/login/")
    response = csrf_client.post("/accounts/login/", {
        "csrfmiddlewaretoken": token, "username": "owner", "password": "wrong"})
    assert response.status_code == 400
    assert b"correct username and password" in response.content


def test_anonymous_home_redirects_to_login(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_password_change_page(owner: User, csrf_client: Client) -> None:
    assert csrf_client.login(username="owner", password=PASSWORD)
    token = _csrf(csrf_client, "/accounts/password/")
    new = "another long passphrase 77"
    response = csrf_client.post("/accounts/password/", {
        "csrfmiddlewaretoken": token, "old_password": PASSWORD, "new_password1": new, "new_password2": new})
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password(new)


def test_pages_send_security_headers(client: Client, db: None) -> None:
    response = client.get("/accounts/login/")
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
