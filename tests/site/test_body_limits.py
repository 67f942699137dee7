"""The ASGI body limit (any ASGI server): refused by Content-Length at once, or as the bytes arrive."""

from __future__ import annotations

import json
from typing import Any

import pytest

from glmtts_site.asgi import application
from glmtts_site.body_limits import body_limit_for


async def _call(path: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]]) -> tuple[int, Any, int]:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "path": path,
             "raw_path": path.encode(), "query_string": b"", "root_path": "", "scheme": "http",
             "headers": [(b"host", b"127.0.0.1"), *headers], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    pending = [{"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
               for i, chunk in enumerate(chunks)]
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pending:
            pulled += 1
            return pending.pop(0)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await application(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(body), pulled


@pytest.mark.django_db(transaction=True)
async def test_declared_length_over_the_route_limit_is_refused_unread() -> None:
    size = body_limit_for("/api/v1/tokens") + 1
    status, body, pulled = await _call("/api/v1/tokens", [b"x" * 10], [(b"content-length", str(size).encode())])
    assert status == 413 and body["error"]["code"] == "payload_too_large" and pulled == 0


@pytest.mark.django_db(transaction=True)
async def test_an_undeclared_body_is_cut_off_as_it_arrives() -> None:
    limit = body_limit_for("/api/v1/tokens")
    chunks = [b"x" * 65536] * (limit // 65536 + 50)
    status, body, pulled = await _call("/api/v1/tokens", chunks, [(b"content-type", b"application/json")])
    assert status == 413 and body["error"]["code"] == "payload_too_large"
    assert pulled < len(chunks)  # stopped reading


def test_upload_routes_may_carry_a_clip_other_routes_may_not() -> None:
    assert body_limit_for("/api/v1/voices") > 10 * 1024 * 1024 > body_limit_for("/v1/audio/speech")
