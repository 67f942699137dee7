"""glmtts_websocket_connections follows sockets as they open and close; a refused one is a refusal."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings as SettingsWrapper

from glmtts_site.metrics.web import limit_refusals, websocket_connections
from synthesis.jobs.services import job_create
from synthesis.models import SynthesisJob
from tests.support.sockets import open_socket

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def _queued_job(owner: User) -> SynthesisJob:
    return job_create(owner=owner, text="A sentence that streams.")


def _open_now() -> float:
    return websocket_connections._value.get()  # this process's gauge, as /metrics reads it


async def test_open_sockets_are_counted_until_they_close(owner: User, settings: SettingsWrapper) -> None:
    settings.WS_MAX_PER_USER = 1
    job = await _queued_job(owner)
    before = _open_now()
    first = open_socket(f"/ws/jobs/{job.pk}/", user=owner)
    assert (await first.connect())[0]
    await first.receive_json_from(timeout=5)
    assert _open_now() == before + 1
    refused_before = limit_refusals.labels(kind="sockets", limit="ws_open")._value.get()
    second = open_socket(f"/ws/jobs/{job.pk}/", user=owner)
    assert (await second.connect())[0]
    assert (await second.receive_json_from(timeout=5))["code"] == "too_many_sockets"
    await second.disconnect()
    assert _open_now() == before + 1
    assert limit_refusals.labels(kind="sockets", limit="ws_open")._value.get() == refused_before + 1
    await first.disconnect()
    assert _open_now() == before
