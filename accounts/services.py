"""Writes for accounts: sign-up, password change, API tokens."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from redis.exceptions import RedisError

from glmtts_site.errors import ApiError
from glmtts_site.ratelimit import RateLimited, rate_limit, rate_limit_peek

from .models import ApiToken
from .token_cache import token_cache
from .tokens import display_prefix, last_use_is_due, new_raw_token, token_digest

logger = logging.getLogger(__name__)

MAX_ACTIVE_TOKENS = 50


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    raw: str


def _validate_password(password: str, user: User, *, field: str = "password") -> None:
    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as exc:
        raise ApiError(" ".join(exc.messages), code="weak_password", field=field) from exc


def password_checked(*, user: User, password: str, field: str) -> None:
    """The user's password, checked with a throttle on failures (password_failure): once a user has
    failed too often, even the right password waits (429), so a stolen session cannot guess it."""
    wait = rate_limit_peek("password_failure", user.pk)
    if wait > 0:
        raise RateLimited(f"Too many wrong passwords; retry in {int(wait) + 1} s.",
                          headers={"Retry-After": str(int(wait) + 1)})
    if not user.check_password(password):
        with contextlib.suppress(RateLimited):
            rate_limit("password_failure", user.pk)
        raise ApiError("The current password is wrong.", code="wrong_password", field=field)


def login_wait_s(*, username: str, ip: str) -> float:
    """Seconds before this username, or this address, may try to sign in again (0: now). With Redis
    unreachable nobody is throttled (logged): signing in must not depend on it."""
    try:
        return max(rate_limit_peek("login_failure", username.strip().lower()),
                   rate_limit_peek("login_failure_ip", ip))
    except RedisError as exc:
        logger.warning("Sign-in throttle unavailable: %s", exc)
        return 0.0


def login_failed(*, username: str, ip: str) -> None:
    """Count a wrong password against the username and the address (login_failure, login_failure_ip)."""
    for name, identity in (("login_failure", username.strip().lower()), ("login_failure_ip", ip)):
        with contextlib.suppress(RateLimited, RedisError):
            rate_limit(name, identity)


def user_create(*, username: str, password: str, email: str = "") -> User:
    user_model = get_user_model()
    if user_model.objects.filter(username__iexact=username).exists():
        raise ApiError("That username is taken.", code="username_taken", field="username")
    _validate_password(password, user_model(username=username, email=email))
    user: User = user_model.objects.create_user(username=username, email=email, password=password)
    return user


def api_token_create(*, user: User, name: str) -> IssuedToken:
    rate_limit("token_create", user.pk)
    active = ApiToken.objects.filter(user=user, revoked_at__isnull=True).count()
    if active >= MAX_ACTIVE_TOKENS:
        raise ApiError(f"At most {MAX_ACTIVE_TOKENS} active tokens; revoke one first.",
                       code="too_many_tokens", status_code=409)
    raw = new_raw_token()
    token = ApiToken.objects.create(
        user=user, name=name, prefix=display_prefix(raw), digest=token_digest(raw)
    )
    return IssuedToken(token=token, raw=raw)


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_token_touch(*, token: ApiToken) -> None:
    now = timezone.now()
    if last_use_is_due(token.last_used_at, now):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
        token_cache.note_used(token.digest, now)


@transaction.atomic
def password_change(*, user: User, old_password: str, new_password: str) -> None:
    password_checked(user=user, password=old_password, field="old_password")
    _validate_password(new_password, user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
