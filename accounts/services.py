"""Writes for accounts: sign-up, password change, API tokens."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone

from glmtts_site.errors import ApiError

from .models import ApiToken
from .token_cache import token_cache
from .tokens import display_prefix, last_use_is_due, new_raw_token, token_digest

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


def user_create(*, username: str, password: str, email: str = "") -> User:
    user_model = get_user_model()
    if user_model.objects.filter(username__iexact=username).exists():
        raise ApiError("That username is taken.", code="username_taken", field="username")
    _validate_password(password, user_model(username=username, email=email))
    user: User = user_model.objects.create_user(username=username, email=email, password=password)
    return user


def api_token_create(*, user: User, name: str) -> IssuedToken:
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
    if not user.check_password(old_password):
        raise ApiError("The current password is wrong.", code="wrong_password", field="old_password")
    _validate_password(new_password, user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
