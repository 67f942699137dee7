"""STORAGE_BACKEND=s3 against a real S3 API over HTTP: uploads and results land in the bucket, and the
audio views serve them with ranged GETs on the object, the object's strong ETag, 304 and 416."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient
from storages.backends.s3 import S3Storage

from glmtts_site.stored_files import stored_file
from synthesis.models import SynthesisJob
from tests.support.results import finished_job
from tests.support.s3 import S3Server
from tests.support.voices import wav


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


@pytest.fixture
def ranges_asked(s3_storage: str) -> list[str]:
    """The Range header of every GetObject the storage's client sends."""
    asked: list[str] = []
    client = default_storage.connection.meta.client  # type: ignore[attr-defined]

    def record(request: Any, **_: Any) -> None:
        asked.append(request.headers.get("Range", "").decode() if isinstance(request.headers.get("Range"), bytes)
                     else request.headers.get("Range", ""))

    client.meta.events.register("before-send.s3.GetObject", record)
    return asked


@pytest.fixture
def stored_job(owner: User, s3_storage: str) -> SynthesisJob:
    return finished_job(owner, fmt="wav")


def test_results_are_written_to_the_bucket_not_the_disk(stored_job: SynthesisJob, s3: S3Server, s3_storage: str,
                                                        media_tmp: Any) -> None:
    assert isinstance(default_storage._wrapped, S3Storage)  # type: ignore[attr-defined]
    assert set(stored_job.files.values()) <= set(s3.keys(s3_storage))
    assert not list(media_tmp.rglob("*.wav"))


def test_the_whole_object_with_its_etag_and_edge_headers(client: Client, stored_job: SynthesisJob, s3: S3Server,
                                                         s3_storage: str) -> None:
    key = stored_job.files["wav"]
    head = s3.client().head_object(Bucket=s3_storage, Key=key)
    response = client.get(f"/a/{stored_job.output_token}.wav")
    body = _body(response)
    assert response.status_code == 200 and body == s3.client().get_object(Bucket=s3_storage, Key=key)["Body"].read()
    assert response["ETag"] == head["ETag"] and response["Content-Length"] == str(head["ContentLength"])
    assert response["Cache-Control"] == "public, max-age=31536000, immutable" and "Set-Cookie" not in response
    again = client.get(f"/a/{stored_job.output_token}.wav", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304 and again["ETag"] == head["ETag"]


def test_a_range_is_one_ranged_get_on_the_object(client: Client, stored_job: SynthesisJob, s3: S3Server,
                                                 s3_storage: str, ranges_asked: list[str]) -> None:
    whole = s3.client().get_object(Bucket=s3_storage, Key=stored_job.files["wav"])["Body"].read()
    response = client.get(f"/a/{stored_job.output_token}.wav", HTTP_RANGE="bytes=100-199")
    assert response.status_code == 206 and _body(response) == whole[100:200]
    assert response["Content-Range"] == f"bytes 100-199/{len(whole)}" and response["Content-Length"] == "100"
    assert ranges_asked == ["bytes=100-199"]  # the object's bytes 100-199, never the whole object
    suffix = client.get(f"/a/{stored_job.output_token}.wav", HTTP_RANGE="bytes=-50")
    assert suffix.status_code == 206 and _body(suffix) == whole[-50:]
    beyond = client.get(f"/a/{stored_job.output_token}.wav", HTTP_RANGE=f"bytes={len(whole)}-")
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{len(whole)}"


def test_head_reads_no_object_bytes(client: Client, stored_job: SynthesisJob, ranges_asked: list[str]) -> None:
    response = client.head(f"/a/{stored_job.output_token}.wav")
    assert response.status_code == 200 and int(response["Content-Length"]) > 0
    assert ranges_asked == []


def test_an_object_gone_from_the_bucket_is_a_404(client: Client, stored_job: SynthesisJob, s3: S3Server,
                                                 s3_storage: str) -> None:
    s3.client().delete_object(Bucket=s3_storage, Key=stored_job.files["wav"])
    assert stored_file(stored_job.files["wav"]) is None
    assert client.get(f"/a/{stored_job.output_token}.wav").status_code == 404


def test_redirect_delivery_answers_a_signed_url_of_the_object(client: Client, stored_job: SynthesisJob,
                                                             settings: SettingsWrapper) -> None:
    settings.AUDIO_DELIVERY = "redirect"
    response = client.get(f"/a/{stored_job.output_token}.wav")
    assert response.status_code == 302 and response["Cache-Control"] == "no-store"
    fetched = httpx.get(response["Location"], headers={"Range": "bytes=0-3"}, timeout=30)
    assert fetched.status_code == 206 and fetched.content == b"RIFF"
    assert fetched.headers["content-type"] == "audio/wav"
    assert httpx.get(response["Location"].split("?")[0], timeout=30).status_code == 403  # unsigned: refused


def test_redirect_delivery_on_the_filesystem_serves_from_the_origin(client: Client, owner: User,
                                                                    settings: SettingsWrapper) -> None:
    settings.AUDIO_DELIVERY = "redirect"
    job = finished_job(owner, fmt="wav")
    response = client.get(f"/a/{job.output_token}.wav")
    assert response.status_code == 200 and _body(response)[:4] == b"RIFF"


def test_a_voice_upload_goes_to_the_bucket_and_plays_back_ranged(owner_client: APIClient, other_client: APIClient,
                                                                 anon: APIClient, s3: S3Server,
                                                                 s3_storage: str) -> None:
    upload = io.BytesIO(wav(seconds=3.0))
    upload.name = "me.wav"
    created = owner_client.post("/api/v1/voices", {"name": "Bucketed", "audio": upload}, format="multipart")
    assert created.status_code == 201, created.json()
    assert [key for key in s3.keys(s3_storage) if key.startswith("voices/")]
    url = f"/api/v1/voices/{created.json()['id']}/audio"
    whole = owner_client.get(url)
    body = _body(whole)
    assert whole.status_code == 200 and body[:4] == b"fLaC" and whole["Cache-Control"] == "private, no-store"
    part = owner_client.get(url, HTTP_RANGE="bytes=4-11")
    assert part.status_code == 206 and _body(part) == body[4:12]
    assert other_client.get(url).status_code == 404 and anon.get(url).status_code in (401, 403)
