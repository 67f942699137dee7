"""Every submit path bounds and types its input the same way: a 400 naming the field, never a 500."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient

from glmtts_site.errors import ApiError
from synthesis.results.publish import result_store
from synthesis.submit.services import synthesis_submit
from tests.support.results import ENGINE_VERSION, announce_engine, speech_like
from workers.engines.params import SynthesisParams

SUBMIT = "/api/v1/syntheses"
SPEECH = "/v1/audio/speech"


def _post_json(client: APIClient, url: str, body: object) -> tuple[int, dict[str, str]]:
    response = client.post(url, data=json.dumps(body), content_type="application/json")
    return response.status_code, response.json().get("error", {})


@pytest.mark.parametrize("field", ["temperature", "top_p", "speed"])
def test_a_json_boolean_is_not_a_number(token_client: APIClient, field: str) -> None:
    status, error = _post_json(token_client, SUBMIT, {"text": "Hello there.", field: True})
    assert status == 400 and error["field"] == field


@pytest.mark.parametrize("field", ["seed", "top_k"])
def test_a_fraction_is_not_an_integer(token_client: APIClient, field: str) -> None:
    status, error = _post_json(token_client, SUBMIT, {"text": "Hello there.", field: 2.5})
    assert status == 400 and error["field"] == field


@pytest.mark.parametrize("text", ["nul \x00 byte", "bell \x07", "lone \ud800 surrogate", "c1 \x85 control"])
@pytest.mark.parametrize("url,field", [(SUBMIT, "text"), (SPEECH, "input")])
def test_control_characters_are_refused(token_client: APIClient, url: str, field: str, text: str) -> None:
    status, error = _post_json(token_client, url, {field: text})
    assert status == 400 and error["field"] == field


@pytest.mark.parametrize("speed", ["abc", "", [1], {"x": 1}, True, "1e999", 9.0])
def test_openai_speed_is_validated(token_client: APIClient, speed: object) -> None:
    status, error = _post_json(token_client, SPEECH, {"input": "Hello.", "speed": speed})
    assert status == 400 and error["field"] == "speed"


@pytest.mark.parametrize("body", [{"input": "Hello.", "temperature": 1}, {"input": 5}, {}, [],
                                  {"input": "Hello.", "model": "gpt-9"}, {"input": "x" * 5001}])
def test_openai_input_is_validated(token_client: APIClient, body: object) -> None:
    status, error = _post_json(token_client, SPEECH, body)
    assert status == 400 and error["code"] == "invalid"


def test_openai_aac_keeps_its_own_code(token_client: APIClient) -> None:
    status, error = _post_json(token_client, SPEECH, {"input": "Hello.", "response_format": "aac"})
    assert status == 400 and error["code"] == "unsupported_format"


@pytest.mark.parametrize("text", ["9" * 4500, "Pay $" + "9" * 400 + ".99 now.", "1" * 40 + "th place"])
def test_giant_numbers_are_accepted_not_a_500(token_client: APIClient, text: str) -> None:
    announce_engine()  # the web process computes the fingerprint: text normalization runs here
    status, _ = _post_json(token_client, SUBMIT, {"text": text})
    assert status == 202


@pytest.mark.parametrize(("url", "body"), [(SUBMIT, {"text": "Hello there.", "voice": "nobody"}),
                                           (SPEECH, {"input": "Hello there.", "voice": "nobody"})])
def test_an_unknown_preset_is_refused_at_submit(token_client: APIClient, url: str, body: dict[str, str]) -> None:
    status, error = _post_json(token_client, url, body)
    assert status == 400 and error["code"] == "unknown_voice" and error["field"] == "voice"


def test_published_presets_are_the_ones_a_worker_has(db: None) -> None:
    from synthesis.submit.presets import check_voice_choice, forget_presets
    from voices.services import presets_sync

    check_voice_choice(engine_id="kokoro", voice_preset="jf_alpha", has_reference=False)  # bundled
    presets_sync(engine_id="kokoro", presets=[("custom_voice", "Custom", "en")])
    forget_presets()
    check_voice_choice(engine_id="kokoro", voice_preset="custom_voice", has_reference=False)
    with pytest.raises(ApiError, match="reference voice"):
        check_voice_choice(engine_id="glmtts", voice_preset="", has_reference=False)
    with pytest.raises(ApiError, match="not both"):
        check_voice_choice(engine_id="kokoro", voice_preset="jf_alpha", has_reference=True)


@pytest.mark.parametrize(("scope", "hit"), [("shared", True), ("user", False)])
def test_results_are_shared_across_users_only_when_so_configured(
        owner: User, other_user: User, settings: SettingsWrapper, scope: str, hit: bool) -> None:
    settings.RESULT_CACHE_SCOPE = scope
    settings.QUOTA_CONCURRENT_JOBS = 10
    announce_engine()
    text = "Same words, two people."
    first = synthesis_submit(owner=owner, text=text, params=SynthesisParams()).job
    assert not first.cache_hit
    result_store(fingerprint=first.fingerprint, samples=speech_like(2.0), sample_rate=24000, fmt="wav",
                 engine_id="kokoro", engine_version=ENGINE_VERSION, voice_key="default")  # as its worker would
    assert synthesis_submit(owner=owner, text=text, params=SynthesisParams()).job.cache_hit  # mine, always
    assert synthesis_submit(owner=other_user, text=text, params=SynthesisParams()).job.cache_hit is hit
