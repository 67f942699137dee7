"""Websocket authentication for non-browser clients: `Authorization: Bearer <token>` header.

Browsers authenticate with their session cookie (AuthMiddlewareStack); other clients send the
API token in a header on the upgrade request, which keeps it out of URLs and access logs.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware

from .selectors import api_token_authenticate
from .tokens import parse_bearer


@database_sync_to_async
def _user_for_token(raw: str) -> Any:
    token = api_token_authenticate(raw=raw)
    return token.user if token else None


class BearerTokenWebsocketMiddleware(BaseMiddleware):
    """Runs inside AuthMiddlewareStack: a valid Bearer header wins over the session user."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        headers = dict(scope.get("headers", []))
        bearer = parse_bearer(headers.get(b"authorization", b"").decode("latin-1"))
        if bearer.is_bearer:  # a malformed one is refused as DRF refuses it, not passed over for the session
            user = await _user_for_token(bearer.token) if bearer.token else None
            scope = {**scope, "user": user} if user else {**scope, "user": None, "auth_error": "invalid_token"}
        return await super().__call__(scope, receive, send)
