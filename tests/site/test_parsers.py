"""Malformed JSON from clients is a 400 (or a websocket error message), never a 500."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from glmtts_site.parsers import json_loads_untrusted

TOO_DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("data", [TOO_DEEP, b"\xff\xfe{}", '{"speed": NaN}', "[Infinity]", "{", "",
                                  '{"text": "x"}'.encode("utf-16")])
def test_every_malformed_input_is_a_value_error(data: str | bytes) -> None:
    with pytest.raises(ValueError):
        json_loads_untrusted(data)


def test_well_formed_input_is_read_as_json() -> None:
    assert json_loads_untrusted(b'{"text": "caf\xc3\xa9", "speed": 1.5, "n": [1, null]}') == {
        "text": "café", "speed": 1.5, "n": [1, None]}


@pytest.mark.parametrize("url", ["/api/v1/syntheses", "/api/v1/tokens", "/v1/audio/speech"])
@pytest.mark.parametrize("body", [TOO_DEEP, b"\xff\xfe{}"])
def test_rest_endpoints_answer_malformed_json_with_400(token_client: APIClient, url: str, body: str | bytes) -> None:
    response = token_client.post(url, data=body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "malformed_request"
