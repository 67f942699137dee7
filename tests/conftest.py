"""Shared fixtures: three personas, CSRF-enforcing and token clients, real-Redis isolation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient

from accounts.services import api_token_create
from accounts.token_cache import token_cache
from glmtts_site.redis_conn import _client_for, channel_layer_host
from synthesis.submit.presets import forget_presets
from tests.support.processes import Daphne, RedisServer, Workers
from tests.support.s3 import S3Server, s3_server

PASSWORD = "correct horse battery staple 42"


def _make_user(username: str) -> User:
    return User.objects.create_user(username=username, password=PASSWORD, email=f"{username}@example.com")


@pytest.fixture
def owner(db: None) -> User:
    return _make_user("owner")


@pytest.fixture
def other_user(db: None) -> User:
    return _make_user("other")


@pytest.fixture
def staff_user(db: None) -> User:
    user = _make_user("staff")
    user.is_staff = True
    user.is_superuser = True
    user.save()
    return user


@pytest.fixture
def anon() -> APIClient:
    """An API client that is not signed in."""
    return APIClient()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def owner_client(owner: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(owner)
    return client


@pytest.fixture
def other_client(other_user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(other_user)
    return client


@pytest.fixture
def csrf_client() -> Client:
    """A browser-like client that enforces CSRF like production does."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def token_client(owner: User) -> APIClient:
    """An API client authenticated as `owner` with a real Bearer token."""
    client = APIClient()
    issued = api_token_create(user=owner, name="tests")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
    return client


def _delete_prefixed(client: redis.Redis, prefix: str) -> None:
    for key in client.scan_iter(match=f"{prefix}*", count=500):
        client.delete(key)


@pytest.fixture(scope="session")
def redis_server() -> redis.Redis:
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as exc:  # the suite needs the real Redis; say so plainly
        pytest.exit(f"Redis at {settings.REDIS_URL} is not answering: {exc}", returncode=3)
    return client


@pytest.fixture(autouse=True)
def redis_isolated(redis_server: redis.Redis) -> Iterator[redis.Redis]:
    """Every test starts and ends with no keys under this run's prefix (real Redis, own DB)."""
    _delete_prefixed(redis_server, settings.REDIS_KEY_PREFIX)
    from glmtts_site.redis_conn import _client_for

    _client_for.cache_clear()
    yield redis_server
    _delete_prefixed(redis_server, settings.REDIS_KEY_PREFIX)


@pytest.fixture(autouse=True)
def token_cache_empty() -> Iterator[None]:
    """The per-process API-token and preset caches start and end every test empty (no test sees another's)."""
    token_cache.clear()
    forget_presets()
    yield
    token_cache.clear()
    forget_presets()


@pytest.fixture(autouse=True)
def media_tmp(settings: SettingsWrapper, tmp_path: Path) -> Path:
    """Each test writes uploads and outputs under its own temporary MEDIA_ROOT."""
    media = tmp_path / "media"
    media.mkdir()
    settings.MEDIA_ROOT = media
    return media


@pytest.fixture
def workers(tmp_path: Path, redis_isolated: redis.Redis) -> Iterator[Workers]:
    """Start real worker processes with `workers.start(name)`; all are killed after the test."""
    pool = Workers(tmp_path)
    yield pool
    pool.stop_all()


@pytest.fixture
def daphne(tmp_path: Path, redis_isolated: redis.Redis, transactional_db: None) -> Iterator[Daphne]:
    """A real Daphne on a free port (use with `workers` for the whole stack)."""
    server = Daphne(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def own_redis(tmp_path: Path, settings: SettingsWrapper, request: pytest.FixtureRequest) -> Iterator[RedisServer]:
    """A Redis server of the test's own, for queue, cache and channel layer, to kill and restart;
    parametrize indirectly with True for one that persists (AOF)."""
    server = RedisServer(tmp_path / "redis", persistent=getattr(request, "param", False))
    settings.REDIS_URL = server.url
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": server.url}}
    layer = settings.CHANNEL_LAYERS["default"]
    settings.CHANNEL_LAYERS = {"default": {**layer, "CONFIG": {**layer["CONFIG"],
                                                               "hosts": [channel_layer_host(server.url)]}}}
    _client_for.cache_clear()
    yield server
    server.kill()
    _client_for.cache_clear()


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    """A real S3 API server (moto, over HTTP) for the whole run; each test takes buckets of its own."""
    with s3_server() as server:
        yield server


@pytest.fixture
def s3_storage(s3: S3Server, settings: SettingsWrapper) -> str:
    """default_storage is S3Storage on a fresh bucket of the S3 server (as STORAGE_BACKEND=s3 sets it)."""
    bucket = s3.new_bucket()
    settings.STORAGES = {**settings.STORAGES, "default": s3.storage_settings(bucket)}
    return bucket
