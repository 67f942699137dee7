"""Admin pages render and their actions work for staff; everyone else is sent to log in."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from synthesis.jobs.services import job_mark_failed
from synthesis.models import JobStatus, SynthesisJob
from synthesis.results.cache import cache_get, l1
from tests.support.results import cached_result_for, finished_job
from tests.support.voices import make_voice as _voice
from voices.models import Visibility, Voice
from workers import queue

PAGES = ["/admin/", "/admin/voices/voice/", "/admin/synthesis/synthesisjob/", "/admin/accounts/apitoken/",
         "/admin/ops/cache/", "/admin/ops/workers/"]


@pytest.fixture
def staff_browser(staff_user: User) -> Client:
    browser = Client()
    browser.force_login(staff_user)
    return browser


@pytest.mark.parametrize("url", PAGES)
def test_staff_sees_every_page(staff_browser: Client, owner: User, url: str) -> None:
    _voice(owner)
    finished_job(owner)
    response = staff_browser.get(url)
    assert response.status_code == 200


@pytest.mark.parametrize("url", PAGES)
def test_regular_users_and_anonymous_are_sent_to_log_in(owner: User, url: str) -> None:
    browser = Client()
    assert browser.get(url).status_code == 302
    browser.force_login(owner)
    assert browser.get(url).status_code == 302


def test_voice_page_has_a_player_and_publish_works(staff_browser: Client, owner: User) -> None:
    voice = _voice(owner)
    page = staff_browser.get(f"/admin/voices/voice/{voice.pk}/change/").content.decode()
    assert "<audio controls" in page
    audio = staff_browser.get(f"/admin/voices/voice/{voice.pk}/audio/")
    assert b"".join(audio.streaming_content)[:4] == b"fLaC"  # type: ignore[attr-defined]
    staff_browser.post("/admin/voices/voice/", {"action": "publish", "_selected_action": [str(voice.pk)]})
    assert Voice.objects.get(pk=voice.pk).visibility == Visibility.PUBLIC


def test_job_retry_action_requeues_failed_jobs(staff_browser: Client, owner: User,
                                               django_capture_on_commit_callbacks: Any) -> None:
    job = SynthesisJob.objects.create(owner=owner, text="Again please.", engine_id="kokoro", fingerprint="")
    job_mark_failed(job_id=str(job.pk), code="boom", message="it broke")
    with django_capture_on_commit_callbacks(execute=True):
        staff_browser.post("/admin/synthesis/synthesisjob/", {"action": "retry", "_selected_action": [str(job.pk)]})
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and not job.error_code
    assert queue.queue_depth()["length"] == 1


def test_cache_page_purges_only_with_confirmation(staff_browser: Client) -> None:
    fingerprint = cached_result_for("Purge me.")
    staff_browser.post("/admin/ops/cache/", {"action": "purge", "scope": "all"})
    l1.clear()
    assert cache_get(fingerprint) is not None
    staff_browser.post("/admin/ops/cache/", {"action": "purge", "scope": "all", "confirm": "yes"})
    l1.clear()
    assert cache_get(fingerprint) is None


def test_cache_page_warms_pasted_phrases(staff_browser: Client) -> None:
    response = staff_browser.post("/admin/ops/cache/", {"action": "warm", "phrases": "One.\nTwo.\n"}, follow=True)
    assert "2 queued" in response.content.decode()
    assert SynthesisJob.objects.count() == 2


def test_workers_page_requeues_a_dead_letter(staff_browser: Client, redis_isolated: Any,
                                             django_capture_on_commit_callbacks: Any) -> None:
    job = SynthesisJob.objects.create(text="Dead.", engine_id="kokoro", status=JobStatus.FAILED,
                                      error_code="too_many_attempts")
    entry_id = redis_isolated.xadd(queue.dead_letter_key(), {"job": str(job.pk), "reason": "crashes"}).decode()
    assert str(job.pk) in staff_browser.get("/admin/ops/workers/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        staff_browser.post("/admin/ops/workers/", {"action": "requeue", "entry_id": entry_id})
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and queue.queue_depth() == {"length": 1, "pending": 0, "dead": 0}


def test_job_list_columns_fit_short_ids_rounded_seconds(staff_browser: Client, owner: User) -> None:
    job = finished_job(owner, text="A rather long sentence that would overflow the job list otherwise.")
    SynthesisJob.objects.filter(pk=job.pk).update(rtf=0.123456789, total_s=3.14159265, audio_duration_s=2.0000001)
    page = staff_browser.get("/admin/synthesis/synthesisjob/").content.decode()
    assert f">{str(job.pk)[:8]}</a>" in page and f">{job.pk}</a>" not in page
    assert "0.12" in page and "3.1" in page and "0.123456789" not in page and "3.14159265" not in page
    assert "A rather long sentence that would overf…" in page and "otherwise." not in page
