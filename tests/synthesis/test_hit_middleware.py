"""Plain cache hits answered by the middleware: the same answer as DRF's, and DRF for everything else."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponseBase
from django.test import AsyncClient
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import api_token_create, api_token_revoke
from accounts.token_cache import token_cache
from synthesis.apis import SynthesisCollectionApi
from synthesis.engines_info import recent_versions
from synthesis.models import SynthesisJob
from tests.support.results import cached_result_for

URL = "/api/v1/syntheses"
PHRASE = "A phrase heard before."
# Differ per job by nature; everything else in a hit's answer must be the same on both paths.
PER_JOB = {"id", "created_at", "started_at", "finished_at", "status_url", "websocket_url"}


@pytest.fixture
def drf_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records each request that reached the DRF view (which still answers it)."""
    calls: list[str] = []
    real = SynthesisCollectionApi.dispatch

    def recorded(view: SynthesisCollectionApi, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        calls.append(f"{request.method} {request.get_full_path()}")
        return real(view, request, *args, **kwargs)

    monkeypatch.setattr(SynthesisCollectionApi, "dispatch", recorded)
    return calls


def _post(client: APIClient, body: Any = None, **extra: Any) -> Any:
    payload = json.dumps({"text": PHRASE} if body is None else body)
    return client.post(URL, payload, content_type="application/json", **extra)


def _per_job_removed(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key not in PER_JOB}


def _headers(response: Any) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name != "Content-Length"}


def test_a_repeated_hit_skips_drf_and_answers_exactly_as_drf(token_client: APIClient, owner: User,
                                                             drf_calls: list[str]) -> None:
    cached_result_for(PHRASE)
    first = _post(token_client)  # the token is new to this process: DRF resolves it
    assert drf_calls == [f"POST {URL}"]
    second = _post(token_client)
    assert drf_calls == [f"POST {URL}"]  # answered by the middleware
    assert first.status_code == second.status_code == 200
    assert _headers(first) == _headers(second)
    assert first.content.count(b"\n") == second.content.count(b"\n")  # DRF's compact rendering
    assert _per_job_removed(first.json()) == _per_job_removed(second.json())
    job = SynthesisJob.objects.get(pk=second.json()["id"])  # in the history before the answer left
    assert job.owner == owner and job.cache_hit and token_client.get(f"{URL}/{job.pk}").json() == second.json()


def test_each_persona_gets_its_own_answer(token_client: APIClient, owner: User, other_user: User, anon: APIClient,
                                          drf_calls: list[str]) -> None:
    cached_result_for(PHRASE)
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=other_user, name='t').raw}")
    for client in (token_client, other):
        for _ in range(2):
            assert _post(client).status_code == 200
    assert len(drf_calls) == 2  # one first use per token
    per_owner = [SynthesisJob.objects.filter(owner=user).count() for user in (owner, other_user)]
    assert per_owner == [2, 2]
    anonymous = _post(anon)
    assert anonymous.status_code == 401 and len(drf_calls) == 3
    assert _post(anon, HTTP_AUTHORIZATION="Bearer gtts_not-a-token").status_code == 401


def test_a_revoked_token_is_refused_at_once(token_client: APIClient, owner: User) -> None:
    cached_result_for(PHRASE)
    assert _post(token_client).status_code == 200
    for token in ApiToken.objects.filter(user=owner):
        api_token_revoke(token=token)
    assert _post(token_client).status_code == 401


def _variant(name: str) -> tuple[Any, dict[str, Any]]:
    """A request the fast path must leave to DRF: (JSON body, extra request arguments)."""
    voice_id = {"text": PHRASE, "voice_id": "00000000-0000-0000-0000-000000000000"}
    return {
        "miss": ({"text": "Never said before."}, {}),
        "invalid": ({"text": PHRASE, "speed": 9}, {}),
        "unknown field": ({"text": PHRASE, "sped": 1}, {}),
        "library voice": (voice_id, {}),
        "indented": (None, {"HTTP_ACCEPT": "application/json; indent=4"}),
        "html": (None, {"HTTP_ACCEPT": "text/html"}),
        "format override": (None, {"QUERY_STRING": "format=json"}),
        "not an object": (["text"], {}),
    }[name]


@pytest.mark.parametrize("name", ["miss", "invalid", "unknown field", "library voice", "indented", "html",
                                  "format override", "not an object"])
def test_anything_but_a_plain_hit_goes_to_drf(name: str, token_client: APIClient, owner: User,
                                              drf_calls: list[str]) -> None:
    cached_result_for(PHRASE)
    assert _post(token_client).status_code == 200  # the token is now resolved in this process
    body, extra = _variant(name)
    response = _post(token_client, body, **extra)
    assert len(drf_calls) == 2, name
    expected = {"miss": 202, "indented": 200, "format override": 200, "html": 406}.get(name, 400)
    assert response.status_code == expected, response.content
    if name == "indented":
        assert b"\n    " in response.content


def test_non_json_bodies_go_to_drf(token_client: APIClient, drf_calls: list[str]) -> None:
    cached_result_for(PHRASE)
    assert _post(token_client).status_code == 200
    assert token_client.post(URL, {"text": PHRASE}).status_code == 200  # multipart, answered by DRF
    for body in ('{"text": "x", "speed": NaN}', json.dumps({"text": PHRASE}).encode("utf-16")):
        refused = token_client.post(URL, body, content_type="application/json")
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "malformed_request"
    assert len(drf_calls) == 4


def test_a_session_user_goes_to_drf(owner_client: APIClient, drf_calls: list[str]) -> None:
    cached_result_for(PHRASE)
    for _ in range(2):
        assert _post(owner_client).status_code == 200
    assert len(drf_calls) == 2


def test_stale_engine_versions_go_to_drf_which_reads_them_again(token_client: APIClient,
                                                                drf_calls: list[str]) -> None:
    cached_result_for(PHRASE)
    assert _post(token_client).status_code == 200
    recent_versions.forget()
    assert _post(token_client).status_code == 200 and len(drf_calls) == 2
    assert _post(token_client).status_code == 200 and len(drf_calls) == 2


def test_a_due_last_use_write_goes_to_drf(token_client: APIClient, owner: User, drf_calls: list[str]) -> None:
    cached_result_for(PHRASE)
    assert _post(token_client).status_code == 200
    token_cache.clear()
    long_ago = timezone.now() - timedelta(hours=1)
    ApiToken.objects.filter(user=owner).update(last_used_at=long_ago)
    assert _post(token_client).status_code == 200  # resolved again, with the old last use
    token = ApiToken.objects.get(user=owner)
    assert token.last_used_at is not None and token.last_used_at > long_ago  # DRF wrote the use
    assert len(drf_calls) == 2


def test_the_list_stays_with_drf(token_client: APIClient, drf_calls: list[str]) -> None:
    assert token_client.get(URL).status_code == 200 and drf_calls == [f"GET {URL}"]


def test_under_asgi_a_repeated_hit_is_answered_by_the_middleware(owner: User, drf_calls: list[str]) -> None:
    cached_result_for(PHRASE)
    bearer = {"Authorization": f"Bearer {api_token_create(user=owner, name='t').raw}"}
    post = async_to_sync(AsyncClient().post)
    answers = [post(URL, {"text": PHRASE}, content_type="application/json", headers=bearer) for _ in range(2)]
    assert [answer.status_code for answer in answers] == [200, 200], answers[0].content
    assert len(drf_calls) == 1
    assert _per_job_removed(answers[0].json()) == _per_job_removed(answers[1].json())
    assert SynthesisJob.objects.filter(owner=owner, cache_hit=True).count() == 2


def test_switched_off_every_hit_goes_to_drf(settings: Any, owner: User, drf_calls: list[str]) -> None:
    settings.CACHE_HIT_FAST_PATH = False
    issued = api_token_create(user=owner, name="fast path off")
    client = APIClient()  # a fresh handler: its middleware chain is loaded with the setting off
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
    cached_result_for(PHRASE)
    answers = [_post(client) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert drf_calls == [f"POST {URL}"] * 3
