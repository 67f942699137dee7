"""Reads for accounts, scoped to the asking user."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import QuerySet
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

from .models import ApiToken
from .token_cache import token_cache
from .tokens import TOKEN_PREFIX, last_use_is_due, token_digest


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
    """The active token matching `raw`, with its active user; None otherwise.

    Resolutions are cached per process for API_TOKEN_CACHE_TTL_S (see token_cache): a revocation
    is seen at once by this process and within that many seconds by the others.
    """
    if not raw.startswith(TOKEN_PREFIX):
        return None
    digest = token_digest(raw)
    cached = token_cache.get(digest)
    if cached is not None:
        return cached
    generation = token_cache.generation
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=digest, revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is not None:
        token_cache.put(token, settings.API_TOKEN_CACHE_TTL_S, generation=generation)
    return token


def api_token_resolved_recently(*, raw: str) -> ApiToken | None:
    """The token if this process resolved it recently and its last use needs no write: an answer
    without any I/O (the cache-hit middleware). None means "ask `api_token_authenticate`"."""
    token = token_cache.get(token_digest(raw)) if raw.startswith(TOKEN_PREFIX) else None
    if token is None or last_use_is_due(token.last_used_at):
        return None
    return token
