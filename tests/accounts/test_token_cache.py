"""The per-process cache of API-token resolutions: fast, isolated per token, and revocable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient

from accounts import token_cache as token_cache_module
from accounts.models import ApiToken
from accounts.selectors import api_token_authenticate
from accounts.services import api_token_create
from accounts.token_cache import token_cache
from tests.support.clock import ManualClock, manual_clock


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    return manual_clock(monkeypatch, token_cache_module)


def _bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_a_known_token_is_resolved_without_the_database(owner: User) -> None:
    raw = api_token_create(user=owner, name="ci").raw
    with CaptureQueriesContext(connection) as first:
        assert api_token_authenticate(raw=raw).user.pk == owner.pk  # type: ignore[union-attr]
    with CaptureQueriesContext(connection) as again:
        assert api_token_authenticate(raw=raw).user.pk == owner.pk  # type: ignore[union-attr]
    assert len(first) == 1 and len(again) == 0


def test_each_token_resolves_to_its_own_user(owner: User, other_user: User) -> None:
    mine, theirs = api_token_create(user=owner, name="a").raw, api_token_create(user=other_user, name="b").raw
    for _ in range(2):  # from the database, then from the cache
        assert _bearer(mine).get("/api/v1/me").json()["username"] == "owner"
        assert _bearer(theirs).get("/api/v1/me").json()["username"] == "other"


def test_callers_get_copies_so_no_request_sees_anothers_changes(owner: User) -> None:
    raw = api_token_create(user=owner, name="ci").raw
    first = api_token_authenticate(raw=raw)
    assert first is not None
    first.user.first_name, first.name = "Changed", "changed"
    again = api_token_authenticate(raw=raw)
    assert again is not None and again is not first and again.user is not first.user
    assert again.user.first_name == "" and again.name == "ci"


def test_revocation_here_is_refused_at_once(owner: User) -> None:
    issued = api_token_create(user=owner, name="ci")
    client = _bearer(issued.raw)
    assert client.get("/api/v1/me").status_code == 200  # now cached
    assert client.delete(f"/api/v1/tokens/{issued.token.pk}").status_code == 204
    response = client.get("/api/v1/me")
    assert response.status_code == 401 and response.json()["error"]["code"] == "authentication_failed"


def test_deactivating_the_user_here_is_refused_at_once(owner: User) -> None:
    client = _bearer(api_token_create(user=owner, name="ci").raw)
    assert client.get("/api/v1/me").status_code == 200
    owner.is_active = False
    owner.save()
    assert client.get("/api/v1/me").status_code == 401


def test_revocation_by_another_process_takes_effect_within_the_ttl(owner: User, clock: ManualClock,
                                                                   settings: SettingsWrapper) -> None:
    settings.API_TOKEN_CACHE_TTL_S = 5
    issued = api_token_create(user=owner, name="ci")
    client = _bearer(issued.raw)
    assert client.get("/api/v1/me").status_code == 200
    # Another process revokes: no signal reaches this one, only the database changes.
    ApiToken.objects.filter(pk=issued.token.pk).update(revoked_at=timezone.now())
    clock.now += 4.9
    assert client.get("/api/v1/me").status_code == 200  # the documented delay
    clock.now += 0.2
    assert client.get("/api/v1/me").status_code == 401


def test_a_zero_ttl_turns_the_cache_off(owner: User, settings: SettingsWrapper) -> None:
    settings.API_TOKEN_CACHE_TTL_S = 0
    raw = api_token_create(user=owner, name="ci").raw
    api_token_authenticate(raw=raw)
    with CaptureQueriesContext(connection) as again:
        api_token_authenticate(raw=raw)
    assert len(again) == 1 and len(token_cache) == 0


def test_a_lookup_in_flight_cannot_bring_back_a_dropped_token(owner: User) -> None:
    issued = api_token_create(user=owner, name="ci")
    token = ApiToken.objects.select_related("user").get(pk=issued.token.pk)
    generation = token_cache.generation  # a request starts reading the database ...
    token_cache.forget_token(token.digest)  # ... while the token is revoked here
    token_cache.put(token, 5, generation=generation)
    assert token_cache.get(token.digest) is None


def test_wrong_tokens_are_never_cached(db: None) -> None:
    for _ in range(3):
        assert api_token_authenticate(raw="gtts_not-a-real-token") is None
    assert len(token_cache) == 0


def test_the_cache_is_bounded(owner: User, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(token_cache, "capacity", 2)
    raws = [api_token_create(user=owner, name=f"t{i}").raw for i in range(3)]
    for raw in raws:
        api_token_authenticate(raw=raw)
    assert len(token_cache) == 2


def test_last_use_is_written_at_most_once_a_minute(owner: User, monkeypatch: pytest.MonkeyPatch) -> None:
    issued = api_token_create(user=owner, name="ci")
    client = _bearer(issued.raw)
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            assert client.get("/api/v1/me").status_code == 200
    writes = [q for q in queries if q["sql"].startswith("UPDATE") and "last_used_at" in q["sql"]]
    assert len(writes) == 1
    later = timezone.now() + timedelta(minutes=2)
    monkeypatch.setattr("accounts.services.timezone.now", lambda: later)
    with CaptureQueriesContext(connection) as queries:
        client.get("/api/v1/me")
    assert sum(q["sql"].startswith("UPDATE") for q in queries) == 1
    issued.token.refresh_from_db()
    assert issued.token.last_used_at == later
