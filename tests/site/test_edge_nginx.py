"""The edge headers proven behind a real shared cache: deploy/nginx/glmtts-portal.conf (nginx from
Debian) in front of a real Daphne. Origin requests are counted by the origin itself (/metrics)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from prometheus_client.parser import text_string_to_metric_families

from accounts.services import api_token_create
from synthesis.jobs.services import job_create_cached
from synthesis.models import SynthesisJob
from synthesis.results.publish import result_store
from tests.support.edge import Nginx
from tests.support.processes import Daphne
from tests.support.results import ENGINE_VERSION, announce_engine, finished_job, speech_like
from workers.engines.params import SynthesisParams

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
METRICS = "edge-test-metrics"
AUDIO_ROUTE = "/a/<str:token>.<str:ext>"


@pytest.fixture
def stack(tmp_path: Path, redis_isolated: redis.Redis) -> Iterator[tuple[Daphne, Nginx]]:
    web = Daphne(tmp_path, METRICS_TOKEN=METRICS)
    edge = Nginx(tmp_path / "nginx", upstreams=[f"127.0.0.1:{web.port}"])
    try:
        yield web, edge
    finally:
        edge.stop()
        web.stop()


def _long_result(owner: User, text: str, seconds: float) -> SynthesisJob:
    """A stored WAV result over 1 MiB, so that nginx caches it in more than one slice."""
    announce_engine()
    params = SynthesisParams(format="wav")
    result = result_store(fingerprint=text.encode().hex().ljust(64, "0")[:64], samples=speech_like(seconds),
                          sample_rate=24000, fmt="wav", engine_id="kokoro", engine_version=ENGINE_VERSION,
                          voice_key="default")
    return job_create_cached(owner=owner, text=text, engine_id="kokoro", voice_preset="", prompt_text="",
                             params=params, result=result)


def _origin_requests(web: Daphne, route: str) -> float:
    text = httpx.get(f"{web.url}/metrics", headers={"Authorization": f"Bearer {METRICS}"}, timeout=30).text
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == "glmtts_http_requests_total" and sample.labels.get("route") == route)


def test_repeated_audio_gets_from_different_clients_reach_the_origin_once(
        stack: tuple[Daphne, Nginx], owner: User) -> None:
    web, edge = stack
    job = _long_result(owner, "A long result for the edge.", seconds=30.0)  # 1.44 MB: two 1 MiB slices
    path = f"/a/{job.output_token}.wav"
    first = httpx.get(f"{edge.url}{path}", timeout=60)
    whole = Path(web_media(job)).read_bytes()
    assert first.status_code == 200 and first.content == whole and first.headers["x-cache-status"] == "MISS"
    fetched = _origin_requests(web, AUDIO_ROUTE)
    assert fetched == 2  # one request per slice
    for headers in ({"Cookie": "sessionid=someone-else"}, {"Authorization": "Bearer x", "Accept": "*/*"}, {}):
        again = httpx.get(f"{edge.url}{path}?cache-buster=1", headers=headers, timeout=60)
        assert again.status_code == 200 and again.content == whole and again.headers["x-cache-status"] == "HIT"
        assert "set-cookie" not in again.headers and again.headers["etag"] == first.headers["etag"]
    part = httpx.get(f"{edge.url}{path}", headers={"Range": "bytes=1048000-1049999"}, timeout=60)
    assert part.status_code == 206 and part.content == whole[1048000:1050000]
    assert part.headers["content-range"] == f"bytes 1048000-1049999/{len(whole)}"
    assert _origin_requests(web, AUDIO_ROUTE) == fetched  # the range came from the cached slices


def web_media(job: SynthesisJob) -> str:
    return str(default_storage.path(job.files["wav"]))


def test_a_first_range_fetches_only_its_slice(stack: tuple[Daphne, Nginx], owner: User) -> None:
    web, edge = stack
    job = _long_result(owner, "Another long result, seeked first.", seconds=30.0)
    whole = Path(web_media(job)).read_bytes()
    before = _origin_requests(web, AUDIO_ROUTE)
    part = httpx.get(f"{edge.url}/a/{job.output_token}.wav", headers={"Range": "bytes=1100000-1100099"},
                     timeout=60)
    assert part.status_code == 206 and part.content == whole[1100000:1100100]
    assert _origin_requests(web, AUDIO_ROUTE) - before == 1  # the second slice only
    # A suffix range needs the length first: the first slice tells it, then the last one is fetched.
    tail = httpx.get(f"{edge.url}/a/{job.output_token}.wav", headers={"Range": "bytes=-100"}, timeout=60)
    assert tail.status_code == 206 and tail.content == whole[-100:]
    assert _origin_requests(web, AUDIO_ROUTE) - before == 2


def test_api_pages_sessions_and_errors_are_never_stored(stack: tuple[Daphne, Nginx], owner: User) -> None:
    web, edge = stack
    stored = finished_job(owner)  # one thing the cache does keep, to look inside it afterwards
    assert httpx.get(f"{edge.url}/a/{stored.output_token}.mp3", timeout=60).headers["x-cache-status"] == "MISS"
    token = api_token_create(user=owner, name="edge").raw
    for _ in range(2):
        api = httpx.get(f"{edge.url}/api/v1/voices", headers={"Authorization": f"Bearer {token}"}, timeout=60)
        assert api.status_code == 200 and api.headers.get("x-cache-status", "") in ("", "BYPASS", "MISS")
        page = httpx.get(f"{edge.url}/accounts/login/", timeout=60)
        assert page.status_code == 200 and "csrftoken" in page.headers.get("set-cookie", "")
        missing = httpx.get(f"{edge.url}/a/{'0' * 32}.mp3", timeout=60)
        assert missing.status_code == 404 and missing.headers.get("x-cache-status") == "MISS"
    assert _origin_requests(web, "/api/v1/voices") == 2 and _origin_requests(web, "/accounts/login/") == 2
    assert _origin_requests(web, AUDIO_ROUTE) == 3  # the stored result once, and both 404s
    entries = edge.cached_entries()
    assert len(entries) == 1
    assert all(b"Set-Cookie" not in entry and b"set-cookie" not in entry for entry in entries)
    assert all(b"\nKEY: /a/" in entry or b"\nKEY: /static/" in entry for entry in entries)
