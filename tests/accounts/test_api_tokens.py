from __future__ import annotations

from django.contrib.auth.models import User
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import api_token_create


def test_owner_creates_token_and_sees_secret_once(owner_client: APIClient) -> None:
    created = owner_client.post("/api/v1/tokens", {"name": "laptop"}, format="json")
    assert created.status_code == 201
    assert created.json()["token"].startswith("gtts_")
    listed = owner_client.get("/api/v1/tokens").json()
    assert [t["name"] for t in listed] == ["laptop"]
    assert "token" not in listed[0] and "digest" not in listed[0]


def test_token_is_stored_only_as_a_digest(owner: User) -> None:
    issued = api_token_create(user=owner, name="ci")
    row = ApiToken.objects.get(pk=issued.token.pk)
    assert issued.raw not in (row.digest, row.prefix)
    assert len(row.digest) == 64


def test_bearer_token_authenticates_and_records_last_use(owner: User, api: APIClient) -> None:
    issued = api_token_create(user=owner, name="ci")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
    body = api.get("/api/v1/me").json()
    assert body["username"] == "owner" and body["auth"] == "token"
    issued.token.refresh_from_db()
    assert issued.token.last_used_at is not None


def test_revoked_token_stops_working(owner: User, api: APIClient) -> None:
    issued = api_token_create(user=owner, name="ci")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
    assert api.delete(f"/api/v1/tokens/{issued.token.pk}").status_code == 204
    response = api.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_other_user_cannot_revoke_owners_token(owner: User, other_client: APIClient) -> None:
    issued = api_token_create(user=owner, name="ci")
    response = other_client.delete(f"/api/v1/tokens/{issued.token.pk}")
    assert response.status_code == 404
    issued.token.refresh_from_db()
    assert issued.token.is_active


def test_other_user_does_not_see_owners_tokens(owner: User, other_client: APIClient) -> None:
    api_token_create(user=owner, name="ci")
    assert other_client.get("/api/v1/tokens").json() == []


def test_anonymous_cannot_list_create_or_revoke_tokens(owner: User, anon: APIClient) -> None:
    issued = api_token_create(user=owner, name="ci")
    for response in (anon.get("/api/v1/tokens"), anon.post("/api/v1/tokens", {"name": "x"}, format="json"),
                     anon.delete(f"/api/v1/tokens/{issued.token.pk}")):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_wrong_and_malformed_tokens_are_401_json(anon: APIClient, db: None) -> None:
    for header in ("Bearer gtts_not-a-real-token", "Bearer nonsense", "Bearer a b", "Bearer "):
        anon.credentials(HTTP_AUTHORIZATION=header)
        response = anon.get("/api/v1/me")
        assert response.status_code == 401, header
        assert response["Content-Type"] == "application/json"
        assert response.json()["error"]["code"] in {"authentication_failed", "not_authenticated"}


def test_token_of_deactivated_user_is_refused(owner: User, api: APIClient) -> None:
    issued = api_token_create(user=owner, name="ci")
    owner.is_active = False
    owner.save()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
    assert api.get("/api/v1/me").status_code == 401


def test_token_name_is_required(owner_client: APIClient) -> None:
    response = owner_client.post("/api/v1/tokens", {}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "name"
