"""`Authorization: Bearer <token>` for DRF views (and, via the same selector, websockets)."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from .selectors import api_token_authenticate
from .services import api_token_touch
from .tokens import parse_bearer


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        bearer = parse_bearer(authentication.get_authorization_header(request).decode("latin-1"))
        if not bearer.is_bearer:
            return None  # no header, or Basic etc.: not ours; let other authenticators decide
        if bearer.token is None:
            raise exceptions.AuthenticationFailed("Malformed Authorization header: use 'Bearer <token>'.")
        token = api_token_authenticate(raw=bearer.token)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        api_token_touch(token=token)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'
