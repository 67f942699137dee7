"""Real Daphne, real worker, real websocket client: streaming, drop-and-resume, fan-out."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import User
from websockets.asyncio.client import connect

from accounts.services import api_token_create
from synthesis.models import JobStatus, SynthesisJob
from tests.support.processes import Daphne, Workers
from tests.support.streams import read_stream

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
LONG = " ".join(["One sentence opens the stream.", "A second sentence follows it.", "Then a third one arrives.",
                 "The fourth keeps it going.", "A fifth comes near the end.", "The sixth sentence closes it."])


@pytest.fixture
def stack(daphne: Daphne, workers: Workers) -> Daphne:
    workers.start("ws-worker")
    return daphne


@pytest.fixture
def token(owner: User) -> str:
    return api_token_create(user=owner, name="ws").raw


def _submit(stack: Daphne, token: str, text: str) -> str:
    response = httpx.post(f"{stack.url}/api/v1/syntheses", json={"text": text},
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def _socket(stack: Daphne, token: str, job_id: str) -> Any:
    return connect(f"ws://127.0.0.1:{stack.port}/ws/jobs/{job_id}/", origin=stack.url,  # type: ignore[arg-type]
                   additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=30)


def test_stream_drop_and_resume_without_gap_or_duplicate(stack: Daphne, token: str) -> None:
    job_id = _submit(stack, token, LONG)

    async def scenario() -> tuple[list[int], bytes, str, list[int], bytes, dict]:
        async with _socket(stack, token, job_id) as ws:
            await ws.send(json.dumps({"type": "resume", "after_seq": -1}))
            first_seqs, first_audio, _ = await read_stream(ws, stop_after=2)
        status = await asyncio.to_thread(lambda: SynthesisJob.objects.get(pk=job_id).status)
        async with _socket(stack, token, job_id) as ws:  # the reconnect after a dropped connection
            await ws.send(json.dumps({"type": "resume", "after_seq": first_seqs[-1]}))
            rest_seqs, rest_audio, done = await read_stream(ws)
        return first_seqs, first_audio, status, rest_seqs, rest_audio, done

    first_seqs, first_audio, status_when_dropped, rest_seqs, rest_audio, done = asyncio.run(scenario())
    assert status_when_dropped == JobStatus.RUNNING  # audio arrived while the job was still running
    assert first_seqs + rest_seqs == list(range(len(first_seqs) + len(rest_seqs)))
    assert done["type"] == "tts.done"
    job = SynthesisJob.objects.get(pk=job_id)
    assert len(first_audio + rest_audio) == pytest.approx((job.audio_duration_s or 0) * 24000 * 2, abs=4)


@pytest.fixture
def roomy_stack(tmp_path: Path, workers: Workers, redis_isolated: Any, transactional_db: None) -> Iterator[Daphne]:
    """The stack with room for fifty sockets of one user (the default cap is WS_MAX_PER_USER=20)."""
    web = Daphne(tmp_path, WS_MAX_PER_USER="60")
    workers.start("ws-worker")
    yield web
    web.stop()


def test_fifty_sockets_on_one_job_all_get_done(roomy_stack: Daphne, token: str) -> None:
    stack = roomy_stack
    job_id = _submit(stack, token, "Fifty listeners hear this at once. And a second sentence for them.")

    async def listener() -> str:
        async with _socket(stack, token, job_id) as ws:
            await ws.send(json.dumps({"type": "resume", "after_seq": -1}))
            _, _, last = await read_stream(ws)
            return str(last.get("type"))

    async def crowd() -> list[str]:
        return await asyncio.gather(*(listener() for _ in range(50)))

    assert asyncio.run(crowd()) == ["tts.done"] * 50


def test_synthesize_socket_streams_a_new_job(stack: Daphne, token: str) -> None:
    async def scenario() -> tuple[list[int], dict]:
        async with connect(f"ws://127.0.0.1:{stack.port}/ws/synthesize/", origin=stack.url,  # type: ignore[arg-type]
                           additional_headers={"Authorization": f"Bearer {token}"}) as ws:
            await ws.send(json.dumps({"type": "synthesize", "text": "Submitted over the socket. Streamed back."}))
            seqs, _, last = await read_stream(ws)
            return seqs, last

    seqs, last = asyncio.run(scenario())
    assert seqs == list(range(len(seqs))) and seqs and last["type"] == "tts.done"
