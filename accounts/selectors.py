"""Reads for accounts, scoped to the asking user."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import QuerySet
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

from .models import ApiToken
from .tokens import TOKEN_PREFIX, token_digest


def authenticated_user(request: Request) -> User:
    """The signed-in user of an API request whose view requires authentication."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user


def api_token_list_for(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at")


def api_token_get_for(*, user: User, token_id: int) -> ApiToken:
    """Another user's token is "not found" (DoesNotExist), never "forbidden"."""
    return ApiToken.objects.get(user=user, pk=token_id)


def api_token_authenticate(*, raw: str) -> ApiToken | None:
    """The active token matching `raw`, with its active user; None otherwise."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=token_digest(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    return token
