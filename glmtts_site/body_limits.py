"""An ASGI middleware that refuses request bodies over their route's limit before Django reads them.

Django's ASGI handler reads the whole body before any view runs. This refuses a body whose
`Content-Length` is over the limit at once, and counts a body without one as it arrives. Upload
routes (voice uploads, submits with an inline reference, the admin) may carry MAX_REQUEST_BODY_BYTES;
every other route DATA_UPLOAD_MAX_MEMORY_SIZE. The web server (glmtts_site.serve) enforces the
overall cap itself before buffering; this keeps the per-route rule under any ASGI server.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[..., Awaitable[None]]

UPLOAD_ROUTES = ("/api/v1/voices", "/api/voices", "/api/v1/syntheses", "/api/tts", "/admin/")


def body_limit_for(path: str) -> int:
    if path.startswith(UPLOAD_ROUTES):
        return int(settings.MAX_REQUEST_BODY_BYTES)
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return int(value) if value.isdigit() and len(value) <= 18 else -1
    return None


async def _send_413(send: Send, limit: int) -> None:
    body = json.dumps({"error": {"code": "payload_too_large",
                                 "message": f"The request body is larger than {limit} bytes."}}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"), (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    def __init__(self, app: Asgi) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit_for(scope["path"])
        declared = _declared_length(scope)
        if declared is not None and (declared < 0 or declared > limit):
            await _send_413(send, limit)
            return
        over = False
        received = 0

        async def counting_receive() -> Message:
            nonlocal over, received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:  # no Content-Length, or it lied: stop here, Django sees a disconnect
                    over = True
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, counting_receive, send)
        if over:
            await _send_413(send, limit)
