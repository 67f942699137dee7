from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from glmtts_site.redis_conn import _client_for
from tests.support.heartbeats import write_heartbeat as _write_heartbeat


def test_health_is_seed_compatible(client: Client) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


@pytest.mark.django_db
def test_ready_without_worker_is_503_naming_the_worker_tersely(client: Client) -> None:
    response = client.get("/ready")
    assert response.status_code == 503
    # No internals for anonymous callers: the verdict, and each engine's state in a word.
    assert response.json() == {"status": "not_ready", "failing": ["worker"], "engines": {"kokoro": "no_worker"}}


@pytest.mark.django_db
def test_staff_see_each_check(client: Client, staff_user: User) -> None:
    client.force_login(staff_user)
    body = client.get("/ready").json()
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]
    assert not body["checks"]["worker"]["ok"]


@pytest.mark.django_db
def test_ready_with_fresh_heartbeat_is_200(client: Client, staff_user: User) -> None:
    _write_heartbeat()
    client.force_login(staff_user)
    response = client.get("/ready")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["worker"]["engines"] == ["kokoro"]


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["stalled", "starting"])
def test_a_stalled_or_starting_worker_is_not_ready(client: Client, staff_user: User, status: str) -> None:
    _write_heartbeat(status=status)
    client.force_login(staff_user)
    response = client.get("/ready")
    assert response.status_code == 503
    assert status in response.json()["checks"]["worker"]["message"]


@pytest.mark.django_db
def test_stale_heartbeat_does_not_count(client: Client, settings: SettingsWrapper) -> None:
    _write_heartbeat()
    settings.WORKER_HEARTBEAT_STALE_S = -1.0  # every heartbeat is now "too old"
    assert client.get("/ready").status_code == 503


@pytest.mark.django_db
def test_ready_names_redis_when_it_is_down(client: Client, settings: SettingsWrapper) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    _client_for.cache_clear()
    response = client.get("/ready")
    assert response.status_code == 503
    assert set(response.json()["failing"]) == {"redis", "worker"}
