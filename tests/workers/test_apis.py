from __future__ import annotations

import asyncio
import time

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from glmtts_site.redis_conn import new_async_redis
from workers.heartbeat import WorkerState, heartbeat_write

STAFF_URLS = ["/api/v1/workers", "/api/v1/gpu/status", "/api/gpu/status"]


@pytest.fixture
def staff_client(staff_user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(staff_user)
    return client


def _heartbeat() -> None:
    async def write() -> None:
        client = new_async_redis()
        await heartbeat_write(client, WorkerState(worker_id="w1", hostname="h", pid=1, device="cuda:0",
                                                  started_at=time.time(), engines={"kokoro": "v"},
                                                  loaded={"kokoro": True}, gpu={"total_mib": 80000.0}))
        await client.aclose()

    asyncio.run(write())


@pytest.mark.parametrize("url", STAFF_URLS)
def test_staff_sees_worker_and_gpu_status(staff_client: APIClient, url: str) -> None:
    _heartbeat()
    response = staff_client.get(url)
    assert response.status_code == 200
    assert "w1" in response.content.decode()


def test_gpu_status_lists_memory_per_worker(staff_client: APIClient) -> None:
    _heartbeat()
    assert staff_client.get("/api/gpu/status").json()["gpus"] == [
        {"worker_id": "w1", "device": "cuda:0", "loaded": {"kokoro": True}, "total_mib": 80000.0}]


@pytest.mark.parametrize("url", STAFF_URLS)
def test_regular_user_is_refused(owner_client: APIClient, url: str) -> None:
    response = owner_client.get(url)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize("url", [*STAFF_URLS, "/api/v1/gpu/offload"])
def test_anonymous_is_refused(anon: APIClient, url: str, db: None) -> None:
    assert anon.get(url).status_code == 401


def test_offload_is_staff_only(staff_client: APIClient, owner_client: APIClient, anon: APIClient) -> None:
    assert staff_client.post("/api/v1/gpu/offload", {}, format="json").status_code == 202
    assert owner_client.post("/api/v1/gpu/offload", {}, format="json").status_code == 403
    assert anon.post("/api/gpu/offload", {}, format="json").status_code == 401


def test_offload_rejects_unknown_fields(staff_client: APIClient) -> None:
    response = staff_client.post("/api/v1/gpu/offload", {"worker": "x"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["field"] == "worker"
