"""WebsocketCommunicators that are always disconnected at the end of their test.

A consumer that closed its socket still waits for the client's disconnect, as under a real server;
a test that leaves one waiting would leave its channel-layer receive running into the event loop's
teardown. `open_socket` registers each communicator; tests/synthesis/conftest.py disconnects them.
"""

from __future__ import annotations

import contextlib

from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User

from glmtts_site.asgi import application

ORIGIN = (b"origin", b"http://127.0.0.1")
opened: list[WebsocketCommunicator] = []


def open_socket(path: str, *, user: User | None = None, headers: list[tuple[bytes, bytes]] | None = None,
                token: str | None = None) -> WebsocketCommunicator:
    all_headers = [*list(headers if headers is not None else [ORIGIN]), (b"host", b"127.0.0.1")]
    if token:
        all_headers.append((b"authorization", f"Bearer {token}".encode()))
    communicator = WebsocketCommunicator(application, path, headers=all_headers)
    if user is not None:
        communicator.scope["user"] = user  # what AuthMiddlewareStack sets for a signed-in browser
    opened.append(communicator)
    return communicator


async def close_all() -> None:
    while opened:
        communicator = opened.pop()
        with contextlib.suppress(Exception):
            await communicator.disconnect(timeout=3)
