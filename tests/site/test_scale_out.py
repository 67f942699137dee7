"""Scale-out proof: two Daphne nodes and two workers on one Redis, one database (PostgreSQL when
DATABASE_URL is set) and an S3 API server. A job submitted on A and followed on B is heard whole on
B; the repeat on B is a cache hit; a purge on A reaches B within RESULT_L1_TTL_S; killing a web
node and the worker running a job loses no job."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from django.contrib.auth.models import User
from websockets.asyncio.client import connect
from websockets.typing import Origin

from accounts.services import api_token_create
from synthesis.models import JobStatus, SynthesisJob
from tests.conftest import PASSWORD
from tests.support.processes import Daphne, Workers, wait_for
from tests.support.s3 import S3Server
from tests.support.streams import read_stream

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
TEXT = "Two web nodes and two workers. One answer for everyone."
LONG = " ".join(["The first sentence of a longer job.", "A second sentence keeps it running.",
                 "The third one is still being spoken.", "A fourth sentence follows the third.",
                 "The fifth sentence nears the end.", "And the sixth sentence closes the job."])
L1_TTL_S = 1.0


class Cluster:
    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.workers = Workers(tmp_path, **env)
        self.a = Daphne(tmp_path, "web-a", **env)
        self.b = Daphne(tmp_path, "web-b", **env)

    def stop(self) -> None:
        self.workers.stop_all()
        self.a.stop()
        self.b.stop()


@pytest.fixture
def cluster(tmp_path: Path, redis_isolated: redis.Redis, s3: S3Server, s3_storage: str) -> Iterator[Cluster]:
    env = {**s3.environment(s3_storage), "RESULT_L1_TTL_S": str(L1_TTL_S)}
    nodes = Cluster(tmp_path, env)
    try:
        nodes.workers.start("w1")
        nodes.workers.start("w2")
        yield nodes
    finally:
        nodes.stop()


def _submit(node: Daphne, token: str, text: str) -> dict[str, Any]:
    response = httpx.post(f"{node.url}/api/v1/syntheses", json={"text": text},
                          headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert response.status_code in (200, 202), response.text
    return dict(response.json())


async def _listen(node: Daphne, token: str, job_id: str) -> tuple[list[int], bytes, dict[str, Any]]:
    async with connect(f"ws://127.0.0.1:{node.port}/ws/jobs/{job_id}/", origin=Origin(node.url),
                       additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=30) as ws:
        await ws.send(json.dumps({"type": "resume", "after_seq": -1}))
        return await read_stream(ws)


def _purge_everything_in_the_admin(node: Daphne, staff: User) -> None:
    with httpx.Client(base_url=node.url, timeout=60) as browser:
        browser.get("/admin/login/")
        login = browser.post("/admin/login/?next=/admin/", data={
            "username": staff.username, "password": PASSWORD, "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
            headers={"Referer": f"{node.url}/admin/login/"})
        assert login.status_code == 302, login.text[:500]
        browser.get("/admin/ops/cache/")
        purged = browser.post("/admin/ops/cache/", data={
            "action": "purge", "scope": "all", "confirm": "yes", "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
            headers={"Referer": f"{node.url}/admin/ops/cache/"})
        assert purged.status_code == 302, purged.text[:500]


def test_two_web_nodes_and_two_workers_serve_as_one(cluster: Cluster, owner: User, staff_user: User,
                                                    s3: S3Server, s3_storage: str) -> None:
    token = api_token_create(user=owner, name="scale-out").raw

    # Submitted on A, heard whole on B, run by whichever worker took it, stored in the bucket.
    job_id = _submit(cluster.a, token, TEXT)["id"]
    seqs, audio, last = asyncio.run(_listen(cluster.b, token, job_id))
    job = SynthesisJob.objects.get(pk=job_id)
    assert last["type"] == "tts.done" and seqs == list(range(len(seqs))) and job.worker_id in ("w1", "w2")
    assert len(audio) == pytest.approx((job.audio_duration_s or 0) * (job.sample_rate or 0) * 2, abs=4)
    assert set(job.files.values()) <= set(s3.keys(s3_storage))
    played = httpx.get(f"{cluster.b.url}/a/{job.output_token}.mp3", timeout=60)
    assert played.status_code == 200 and played.content == s3.client().get_object(
        Bucket=s3_storage, Key=job.files["mp3"])["Body"].read()

    # The repeat on B is a cache hit.
    repeat = _submit(cluster.b, token, TEXT)
    assert repeat["cache_hit"] is True and repeat["status"] == "done"

    # A purge in A's admin is seen by B within RESULT_L1_TTL_S (its memory of the result expires).
    _purge_everything_in_the_admin(cluster.a, staff_user)
    purged_at = time.monotonic()
    wait_for(lambda: not _submit(cluster.b, token, TEXT)["cache_hit"], timeout_s=L1_TTL_S + 20,
             what="B to stop answering the purged result")
    assert time.monotonic() - purged_at < L1_TTL_S + 20

    # Kill web node A and the worker running a long job: the job still ends, heard on B.
    long_id = _submit(cluster.a, token, LONG)["id"]
    wait_for(lambda: SynthesisJob.objects.get(pk=long_id).status == JobStatus.RUNNING, timeout_s=120,
             what="a worker to take the long job")
    runner = SynthesisJob.objects.get(pk=long_id).worker_id
    cluster.a.proc.send_signal(signal.SIGKILL)
    cluster.workers.procs[runner].send_signal(signal.SIGKILL)
    _, _, last = asyncio.run(_listen(cluster.b, token, long_id))
    survivor = SynthesisJob.objects.get(pk=long_id)
    assert last["type"] == "tts.done" and survivor.status == JobStatus.DONE
    assert survivor.worker_id != runner and survivor.attempts == 2
