"""Close codes as a real websocket client sees them through the real server (no worker needed)."""

from __future__ import annotations

import asyncio

import pytest
from django.contrib.auth.models import User
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from accounts.services import api_token_create
from synthesis.jobs.services import job_create
from tests.support.processes import Daphne

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


async def _close_code(daphne: Daphne, path: str, headers: dict[str, str], send: str | bytes | None = None) -> int:
    async with connect(f"ws://127.0.0.1:{daphne.port}{path}", origin=daphne.url,  # type: ignore[arg-type]
                       additional_headers=headers, open_timeout=20, max_size=None) as ws:
        if send is not None:
            await ws.send(send)
        try:
            while True:
                await ws.recv()
        except ConnectionClosed as closed:
            assert closed.rcvd is not None
            return int(closed.rcvd.code)


def test_refusals_reach_the_client_as_close_codes(daphne: Daphne, owner: User, other_user: User) -> None:
    job = job_create(owner=owner, text="Waiting in the queue.")
    mine = api_token_create(user=owner, name="ws").raw
    theirs = api_token_create(user=other_user, name="ws").raw
    asyncio.run(_check_close_codes(daphne, str(job.pk), mine, theirs))


async def _check_close_codes(daphne: Daphne, job_id: str, mine: str, theirs: str) -> None:
    assert await _close_code(daphne, f"/ws/jobs/{job_id}/", {}) == 4401
    assert await _close_code(daphne, f"/ws/jobs/{job_id}/", {"Authorization": "Bearer gtts_nope"}) == 4401
    assert await _close_code(daphne, f"/ws/jobs/{job_id}/", {"Authorization": f"Bearer {theirs}"}) == 4404
    auth = {"Authorization": f"Bearer {mine}"}
    assert await _close_code(daphne, f"/ws/jobs/{job_id}/", auth, send="x" * 100_000) == 4413
    assert await _close_code(daphne, f"/ws/jobs/{job_id}/", auth, send=b"\0\1") == 4400
