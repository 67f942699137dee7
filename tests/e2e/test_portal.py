"""The portal end to end in real Chromium, against a real Daphne + worker + Redis started by the test.

Screenshots of every page land in test-artifacts/e2e/ (kept after a failure too).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from synthesis.jobs.services import job_create
from synthesis.models import JobStatus, SynthesisJob
from synthesis.results.storage import read_output
from tests.conftest import PASSWORD
from tests.support.processes import ROOT, Daphne, Workers, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
TEXT = "The portal speaks while it writes. Every sentence arrives on its own. The last one ends the test."


@pytest.fixture
def reference_wav(workers: Workers, tmp_path: Path) -> Path:
    """A reference clip made by the default engine itself, through the queue (before the browser
    starts: Playwright's sync API runs an event loop, and the ORM must not run inside one)."""
    # Queued before the worker starts, so it runs ahead of the preset previews the worker asks for at start.
    job = job_create(owner=None, text="This is my voice, recorded for the portal test.", voice_preset="jf_nezumi")
    workers.extra_env["PRESET_PREVIEWS"] = "true"  # the studio's preset previews, made at start
    workers.start("e2e")
    wait_for(lambda: SynthesisJob.objects.get(pk=job.pk).status == JobStatus.DONE, timeout_s=90,
             what="the reference clip")
    job.refresh_from_db()
    path = tmp_path / "my-voice.wav"
    path.write_bytes(read_output(job.files["wav"]))
    return path


@pytest.fixture
def browser_page(daphne: Daphne, reference_wav: Path) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs it (apt-get install -y chromium).")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--disable-sync", "--autoplay-policy=no-user-gesture-required"])
        page = browser.new_page(base_url=daphne.url, viewport={"width": 1100, "height": 900})
        try:
            yield page
        finally:
            page.screenshot(path=str(ARTIFACTS / "last.png"), full_page=True)
            browser.close()


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _switch_voice_match(page: Any, voice_id: str) -> None:
    """The library's switch reaches the voice (off, then on again for the rest of the walk)."""
    def stored() -> bool:
        return bool(page.request.get(f"/api/v1/voices/{voice_id}").json()["voice_match"])

    switch = page.locator(f"#match-{voice_id}")
    assert switch.is_checked() and stored()  # on by default
    switch.uncheck()
    wait_for(lambda: not stored(), timeout_s=30, what="voice match switched off")
    page.wait_for_selector(f"#match-{voice_id}:not(:checked)")  # the list re-read from the server says so
    page.locator(f"#match-{voice_id}").check()
    wait_for(stored, timeout_s=30, what="voice match switched on again")


def _preview_plays(page: Any) -> None:
    """A preset voice's sample (made by the worker at start) plays from the button beside the picker."""
    wait_for(lambda: any(p["voice"] == "jm_kumo" for p in page.request.get("/api/v1/previews").json()["previews"]),
             timeout_s=90, what="Kumo's preview")
    page.goto("/")
    page.wait_for_function("() => [...document.getElementById('voice').options].some(o => o.text.startsWith('Kumo'))")
    page.evaluate("""() => { const select = document.getElementById('voice');
        select.value = [...select.options].find((o) => o.text.startsWith('Kumo')).value;
        select.dispatchEvent(new Event('change')); }""")
    page.wait_for_selector("#voice-preview:not([hidden])")
    page.click("#voice-preview")
    page.wait_for_function("() => document.getElementById('voice-preview').getAttribute('aria-pressed') === 'true'")
    _shot(page, "06b-preset-preview")
    page.click("#voice-preview")  # and stops
    assert page.get_attribute("#voice-preview", "aria-pressed") == "false"


def test_sign_up_upload_synthesize_stream_download_and_cache(browser_page: Any, reference_wav: Path) -> None:
    page = browser_page
    reference = reference_wav

    page.goto("/accounts/signup/")
    page.fill("#id_username", "listener")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    _shot(page, "01-signup")
    page.click("button[type=submit]")
    page.wait_for_url("**/")

    page.goto("/voices/")
    page.fill("#name", "My test voice")
    page.set_input_files("#audio", str(reference))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("text=My test voice")
    page.wait_for_function("() => !document.body.innerText.includes('Transcribing')", timeout=90_000)
    _shot(page, "02-voices")
    voice_id = page.eval_on_selector("#voice-list li:has-text('My test voice')", "li => li.dataset.voiceId")
    _switch_voice_match(page, voice_id)

    page.goto(f"/?voice={voice_id}")
    page.wait_for_function(f"() => document.getElementById('voice').value === '{voice_id}'")
    note = page.inner_text("#voice-note")  # the default engine cannot clone, and the studio says so
    assert page.is_visible("#voice-note") and "cannot clone" in note, note
    page.fill("#text", TEXT)
    _shot(page, "03-studio")
    page.click("#submit")
    page.wait_for_function("() => document.getElementById('progress').value > 0", timeout=120_000)
    assert "elapsed" in page.inner_text("#elapsed")
    page.wait_for_function("() => window.__glmtts.doneAt !== null", timeout=120_000)
    stats = page.evaluate("() => window.__glmtts")
    assert stats["cacheHit"] is False
    assert stats["chunksScheduled"] >= 3 and stats["firstChunkAt"] < stats["doneAt"]
    assert "cannot clone" in page.inner_text("#result-voice")
    duration = page.evaluate("""() => new Promise((resolve) => {
        const audio = document.getElementById('result-audio');
        if (audio.readyState >= 1) resolve(audio.duration);
        else audio.addEventListener('loadedmetadata', () => resolve(audio.duration)); })""")
    assert duration > 3
    _shot(page, "04-studio-done")
    for link in ("#download-wav", "#download-mp3"):
        href = page.get_attribute(link, "href")
        assert page.get_attribute(link, "download").startswith("my-test-voice-the-portal-speaks")
        download = page.request.get(href)
        assert download.status == 200 and len(download.body()) > 1000
    _pause_stops_playback(page)

    page.click("#submit")  # the same request again: from the cache, and it plays at once
    page.wait_for_function("() => window.__glmtts.doneAt !== null && window.__glmtts.cacheHit === true")
    assert page.is_visible("#cache-note")
    page.wait_for_function("() => window.__glmtts.playing()", timeout=10_000)
    _shot(page, "05-studio-cache")

    page.goto("/history/")
    page.wait_for_selector("#job-list li:has-text('from cache')")
    computed = page.locator("#job-list li", has_not_text="from cache").first
    assert "Voice: My test voice" in computed.inner_text()
    _shot(page, "06-history")
    computed.locator("button.again").click()  # the same voice, engine and parameters: a cache hit
    page.wait_for_url("**/?job=*")
    page.wait_for_function("() => window.__glmtts.doneAt !== null && window.__glmtts.cacheHit === true")
    assert page.eval_on_selector("#voice", "select => select.value") == voice_id
    assert page.is_checked("input[name=voice_match]")  # the job ran with its voice matched, and says so

    _preview_plays(page)

    page.goto("/tokens/")
    page.fill("#token-name", "laptop")
    page.click("#token-form button[type=submit]")
    page.wait_for_selector("#new-token-box:not([hidden])")
    assert page.inner_text("#new-token").startswith("gtts_")
    _shot(page, "07-tokens")
    page.once("dialog", lambda dialog: dialog.accept())  # revoking asks first
    page.click("#token-list li:has-text('laptop') button.danger")
    page.wait_for_selector("#new-token-box", state="hidden")  # the revoked secret leaves the screen
    assert page.inner_text("#new-token") == ""
    for width, height in ((1280, 900), (390, 800)):
        page.set_viewport_size({"width": width, "height": height})
        for name, url in (("studio", "/"), ("history", "/history/"), ("voices", "/voices/")):
            page.goto(url)
            page.wait_for_load_state("networkidle")
            _shot(page, f"08-{name}-{width}")


def _pause_stops_playback(page: Any) -> None:
    """Play the finished audio with the one player, pause it: the position stops moving."""
    page.click("#stop")
    page.click("#play-pause")
    page.wait_for_function("() => window.__glmtts.playing() && window.__glmtts.position() > 0.2", timeout=10_000)
    page.click("#play-pause")
    first = page.evaluate("() => window.__glmtts.position()")
    page.wait_for_timeout(700)
    assert page.evaluate("() => window.__glmtts.playing()") is False
    assert page.evaluate("() => window.__glmtts.position()") == first
