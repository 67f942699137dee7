"""Whole exception families that bad input (or a passing outage) raises are 4xx/503 JSON, in one place.

Each test here failed before `api_errors.api_error_for` (a 500 or an HTML page), through the real
endpoints, DRF ones and the plain async views alike.
"""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import (
    DisallowedHost,
    RequestDataTooBig,
    SuspiciousFileOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import DataError, InterfaceError, OperationalError
from django.http.multipartparser import MultiPartParserError
from django.http.response import HttpResponseBase
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper
from redis.exceptions import ConnectionError as RedisConnectionError
from rest_framework.test import APIClient

from glmtts_site.api_errors import api_error_for
from glmtts_site.errors import ApiError
from tests.support.results import finished_job


@pytest.mark.parametrize(("exc", "status", "code"), [
    (RequestDataTooBig("x"), 413, "payload_too_large"),
    (TooManyFieldsSent("x"), 400, "too_many_fields"),
    (TooManyFilesSent("x"), 400, "too_many_fields"),
    (DisallowedHost("x"), 400, "bad_host"),
    (SuspiciousFileOperation("x"), 400, "bad_request"),
    (MultiPartParserError("x"), 400, "malformed_request"),
    (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad"), 400, "bad_request"),
    (DataError("value too long"), 400, "invalid"),
    (OperationalError("server closed the connection"), 503, "service_unavailable"),
    (InterfaceError("connection already closed"), 503, "service_unavailable"),
    (RedisConnectionError("refused"), 503, "service_unavailable"),
    (ApiError("mine", code="own", status_code=409), 409, "own"),
])
def test_each_family_has_one_answer(exc: BaseException, status: int, code: str) -> None:
    mapped = api_error_for(exc)
    assert mapped is not None and (mapped.status_code, mapped.code) == (status, code)
    assert "0x" not in mapped.message  # no Python object reprs reach the client


def test_outages_say_when_to_retry() -> None:
    mapped = api_error_for(OperationalError("gone"))
    assert mapped is not None and mapped.headers["Retry-After"].isdigit()


@pytest.mark.parametrize("exc", [KeyError("x"), ZeroDivisionError(), RuntimeError("bug")])
def test_bugs_are_not_mapped(exc: BaseException) -> None:
    assert api_error_for(exc) is None


def _error(response: HttpResponseBase) -> dict[str, str]:
    assert response["Content-Type"].startswith("application/json"), response
    error: dict[str, str] = json.loads(response.content)["error"]  # type: ignore[attr-defined]
    return error


@pytest.mark.parametrize("url", ["/api/v1/syntheses", "/api/tts", "/v1/audio/speech", "/api/v1/voices"])
def test_a_body_over_the_limit_is_413_json_everywhere(token_client: APIClient, settings: SettingsWrapper,
                                                     url: str) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    content_type = "application/json" if "v1/" in url and "voices" not in url else "application/x-www-form-urlencoded"
    body = json.dumps({"text": "x" * 5000}) if content_type == "application/json" else "text=" + "x" * 5000
    response = token_client.post(url, data=body, content_type=content_type)
    assert response.status_code == 413, response.content
    assert _error(response)["code"] == "payload_too_large"


@pytest.mark.parametrize("url", ["/api/v1/syntheses", "/api/tts", "/api/v1/voices"])
def test_too_many_fields_is_400_json(token_client: APIClient, url: str) -> None:
    body = "&".join(f"f{i}=1" for i in range(1200))
    response = token_client.post(url, data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400, response.content
    assert _error(response)["code"] == "too_many_fields"


@pytest.mark.parametrize("url", ["/api/v1/syntheses", "/api/tts", "/api/v1/voices", "/api/voices"])
def test_multipart_without_a_boundary_is_a_400_that_says_so(token_client: APIClient, url: str) -> None:
    response = token_client.post(url, data=b"--x\r\n\r\n", content_type="multipart/form-data")
    assert response.status_code == 400, response.content
    error = _error(response)
    assert error["code"] == "malformed_request" and error["message"]


@pytest.mark.parametrize("path", ["/health", "/ready", "/api/schema/"])
def test_wrong_method_on_plain_views_is_405_json(path: str) -> None:
    response = Client(enforce_csrf_checks=True).post(path)
    assert response.status_code == 405, response.content
    assert _error(response)["code"] == "method_not_allowed"
    assert "GET" in response["Allow"]


@pytest.mark.django_db
def test_wrong_method_on_public_audio_is_405_json_with_allow() -> None:
    job = finished_job(None)
    url = f"/a/{job.output_token}.wav"
    response = Client(enforce_csrf_checks=True).post(url)
    assert response.status_code == 405 and _error(response)["code"] == "method_not_allowed"
    assert "GET" in response["Allow"] and "HEAD" in response["Allow"]


def test_csrf_failure_under_the_api_is_json(owner: object, csrf_client: Client) -> None:
    csrf_client.login(username="owner", password="correct horse battery staple 42")
    response = csrf_client.post("/api/tts", {"text": "hello"})
    assert response.status_code == 403 and _error(response)["code"] == "csrf_failed"


@pytest.mark.django_db
def test_a_range_of_thousands_of_digits_is_ignored_not_a_500() -> None:
    job = finished_job(None)
    response = Client().get(f"/a/{job.output_token}.wav", HTTP_RANGE="bytes=" + "9" * 5000 + "-")
    assert response.status_code == 200
    assert int(response["Content-Length"]) == len(b"".join(response.streaming_content))  # type: ignore[attr-defined]


@pytest.mark.parametrize("query", ["limit=" + "9" * 5000, "offset=" + "9" * 5000, "limit=100000",
                                   "offset=99999999999999999999", "limit=-5&offset=-3", "limit=abc"])
@pytest.mark.parametrize("url", ["/api/v1/syntheses", "/api/v1/voices"])
def test_page_parameters_are_bounded(token_client: APIClient, url: str, query: str) -> None:
    response = token_client.get(f"{url}?{query}")
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) <= 100
