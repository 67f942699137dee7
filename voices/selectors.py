"""Reads for voices; every permission rule of the library lives here."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.models import User
from django.db.models import Case, Q, QuerySet, Value, When

from .models import Visibility, Voice


def voice_list_for(*, user: User, search: str = "") -> QuerySet[Voice]:
    """Own voices, public ones, and the engines' presets."""
    voices = Voice.objects.filter(Q(owner=user) | Q(visibility__in=[Visibility.PUBLIC, Visibility.SYSTEM]))
    if search:
        voices = voices.filter(Q(name__icontains=search) | Q(description__icontains=search)
                               | Q(prompt_text__icontains=search))
    # Mine first, then what others published, then the engines' presets.
    rank = Case(When(owner=user, then=Value(0)), When(visibility=Visibility.SYSTEM, then=Value(2)), default=Value(1))
    return voices.annotate(rank=rank).order_by("rank", "name")


def voice_get_for(*, user: User, voice_id: UUID | str, share_token: str = "") -> Voice:
    """A voice this user may see and use; another user's private voice is "not found", never "forbidden"."""
    rule = Q(owner=user) | Q(visibility__in=[Visibility.PUBLIC, Visibility.SYSTEM])
    if share_token:
        rule |= Q(visibility=Visibility.LINK, share_token=share_token)
    return Voice.objects.get(rule, pk=voice_id)


def voice_get_owned(*, user: User, voice_id: UUID | str) -> Voice:
    return Voice.objects.get(owner=user, pk=voice_id)
