"""Public audio URLs: strong ETag, 304, exact 206/416, edge headers, and never a cookie."""

from __future__ import annotations

import hashlib

import pytest
from django.contrib.auth.models import User
from django.test import Client

from glmtts_site.edge import parse_range
from tests.support.results import finished_job


@pytest.fixture
def audio_url(owner: User) -> str:
    job = finished_job(owner, fmt="wav")
    return job.files and f"/a/{job.output_token}.mp3"


def _body(response: object) -> bytes:
    return b"".join(response.streaming_content)  # type: ignore[attr-defined]


@pytest.mark.parametrize("header,size,expected", [
    ("bytes=0-99", 1000, (0, 99)), ("bytes=500-", 1000, (500, 999)), ("bytes=-100", 1000, (900, 999)),
    ("bytes=990-2000", 1000, (990, 999)), ("bytes=-5000", 1000, (0, 999)),
    ("bytes=1000-", 1000, "invalid"), ("bytes=50-10", 1000, "invalid"), ("bytes=-0", 1000, "invalid"),
    ("bytes=0-1,5-9", 1000, None), ("items=0-5", 1000, None), ("bytes=-", 1000, None),
])
def test_parse_range(header: str, size: int, expected: object) -> None:
    assert parse_range(header, size) == expected


def test_full_response_has_edge_headers_and_no_cookie(client: Client, audio_url: str) -> None:
    response = client.get(audio_url)
    body = _body(response)
    assert response.status_code == 200 and response["Content-Type"] == "audio/mpeg"
    assert response["ETag"] == f'"{hashlib.sha256(body).hexdigest()}"'
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["CDN-Cache-Control"] == "public, max-age=31536000"
    assert "engine-kokoro" in response["Cache-Tag"] and "voice-default" in response["Cache-Tag"]
    assert response["Content-Length"] == str(len(body)) and response["Accept-Ranges"] == "bytes"
    assert "Set-Cookie" not in response and "Cookie" not in response.get("Vary", "")


def test_signed_in_browser_gets_no_cookie_either(owner: User, audio_url: str) -> None:
    browser = Client()
    browser.force_login(owner)
    response = browser.get(audio_url)
    assert response.status_code == 200
    assert not response.cookies and "Cookie" not in response.get("Vary", "")


def test_if_none_match_gives_304(client: Client, audio_url: str) -> None:
    etag = client.get(audio_url)["ETag"]
    response = client.get(audio_url, headers={"If-None-Match": etag, "Range": "bytes=0-10"})
    assert response.status_code == 304 and response["ETag"] == etag


def test_ranges_are_exact(client: Client, audio_url: str) -> None:
    full = _body(client.get(audio_url))
    size = len(full)
    first = client.get(audio_url, headers={"Range": "bytes=0-99"})
    assert first.status_code == 206 and first["Content-Range"] == f"bytes 0-99/{size}"
    assert _body(first) == full[:100] and first["Content-Length"] == "100"
    suffix = client.get(audio_url, headers={"Range": "bytes=-64"})
    assert suffix["Content-Range"] == f"bytes {size - 64}-{size - 1}/{size}" and _body(suffix) == full[-64:]
    tail = client.get(audio_url, headers={"Range": f"bytes={size - 10}-"})
    assert _body(tail) == full[-10:]


def test_unsatisfiable_range_is_416(client: Client, audio_url: str) -> None:
    response = client.get(audio_url, headers={"Range": "bytes=999999999-"})
    assert response.status_code == 416 and response["Content-Range"].startswith("bytes */")


def test_malformed_range_sends_the_whole_file(client: Client, audio_url: str) -> None:
    assert client.get(audio_url, headers={"Range": "bytes=abc"}).status_code == 200


def test_unknown_token_and_format_are_404(client: Client, audio_url: str) -> None:
    assert client.get("/a/" + "0" * 32 + ".mp3").status_code == 404
    assert client.get(audio_url.replace(".mp3", ".flac")).status_code == 404


def test_audio_urls_do_not_accept_writes(client: Client, audio_url: str) -> None:
    assert client.post(audio_url).status_code == 405


def test_json_and_pages_are_private(client: Client, db: None) -> None:
    for url in ("/health", "/accounts/login/", "/api/v1/me", "/api/schema/"):
        policy = client.get(url)["Cache-Control"]
        assert "private" in policy and "no-store" in policy, url
