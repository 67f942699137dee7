"""Preset previews: a starting worker queues one sample per preset (once across workers and per engine
version), the worker makes it like any job, and the studio lists it with a public audio URL."""

from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient

from synthesis.models import JobStatus, SynthesisJob
from synthesis.submit.previews import PREVIEW_TEXTS, preview_list, preview_text, previews_request
from tests.support.engines import ToneEngine
from tests.support.results import announce_engine
from workers.runner import WorkerRunner

pytestmark = pytest.mark.django_db(transaction=True)
PRESETS = [("jm_kumo", "en,zh"), ("jf_alpha", "zh")]


def test_each_preset_is_asked_for_once_per_engine_version() -> None:
    assert previews_request(engine_id="kokoro", engine_version="v1", presets=PRESETS) == 2
    assert previews_request(engine_id="kokoro", engine_version="v1", presets=PRESETS) == 0  # a second worker
    jobs = SynthesisJob.objects.filter(owner=None).order_by("voice_preset")
    assert [(job.voice_preset, job.text) for job in jobs] == [("jf_alpha", PREVIEW_TEXTS["zh"]),
                                                              ("jm_kumo", PREVIEW_TEXTS["en"])]
    jobs.update(status=JobStatus.DONE, engine_version="v1")
    assert previews_request(engine_id="kokoro", engine_version="v1", presets=PRESETS) == 0  # made already
    assert previews_request(engine_id="kokoro", engine_version="v2", presets=PRESETS) == 2  # a new version


def test_the_preview_sentence_is_in_the_presets_first_language() -> None:
    assert preview_text("zh,en") == PREVIEW_TEXTS["zh"]
    assert preview_text("") == preview_text("fr") == PREVIEW_TEXTS["en"]


async def test_a_starting_worker_makes_the_previews_and_the_studio_lists_them(settings: SettingsWrapper) -> None:
    settings.PRESET_PREVIEWS = True
    settings.WORKER_HEARTBEAT_INTERVAL_S = 0.3
    runner = WorkerRunner(worker_id="previews", engines={"kokoro": ToneEngine()})
    task = asyncio.create_task(runner.run())
    try:
        deadline = time.monotonic() + 60
        while not (previews := await sync_to_async(preview_list)()):
            assert time.monotonic() < deadline, "no preview was made"
            await asyncio.sleep(0.1)
    finally:
        runner.request_stop("test over")
        await asyncio.wait({task}, timeout=30)
    [preview] = previews
    assert (preview.engine, preview.voice, preview.text) == ("kokoro", "jm_kumo", PREVIEW_TEXTS["en"])
    assert preview.audio_url.endswith(".mp3") and preview.duration > 0
    audio = await sync_to_async(Client().get)(preview.audio_url)
    assert audio.status_code == 200 and audio["Content-Type"] == "audio/mpeg"


def test_only_the_current_engine_versions_previews_are_listed(owner_client: APIClient) -> None:
    announce_engine("v2")
    previews_request(engine_id="kokoro", engine_version="v1", presets=PRESETS[:1])
    SynthesisJob.objects.filter(owner=None).update(status=JobStatus.DONE, engine_version="v1",
                                                   files={"mp3": "x.mp3"}, output_token="t" * 32)
    assert preview_list() == []
    response = owner_client.get("/api/v1/previews")
    assert response.status_code == 200 and response.json() == {"previews": []}


def test_previews_need_a_signed_in_user(anon: APIClient, other_client: APIClient) -> None:
    assert anon.get("/api/v1/previews").status_code == 401
    assert other_client.get("/api/v1/previews").status_code == 200  # the same samples for every user
