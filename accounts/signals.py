"""Keep this process's token cache honest: a change to a token or its user drops the entries at once."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import ApiToken
from .token_cache import token_cache


@receiver([post_save, post_delete], sender=ApiToken, dispatch_uid="accounts.token_cache.token")
def _forget_token(sender: type[ApiToken], instance: ApiToken, **kwargs: Any) -> None:
    token_cache.forget_token(instance.digest)


@receiver([post_save, post_delete], sender=get_user_model(), dispatch_uid="accounts.token_cache.user")
def _forget_users_tokens(sender: type[Any], instance: Any, **kwargs: Any) -> None:
    if instance.pk is not None:
        token_cache.forget_user(instance.pk)
