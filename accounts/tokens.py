"""Token format and hashing (pure functions, no ORM)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.utils import timezone

TOKEN_PREFIX = "gtts_"
# 32 random bytes: guessing is hopeless, so a plain SHA-256 (no salt, no KDF) is enough to
# keep stolen database rows from being usable, and lets us look a token up by its digest.
_SECRET_BYTES = 32
# Writing last_used_at on every request would turn every API read into a DB write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def new_raw_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(_SECRET_BYTES)


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def display_prefix(raw: str) -> str:
    return raw[: len(TOKEN_PREFIX) + 6]


def last_use_is_due(last_used_at: datetime | None, now: datetime | None = None) -> bool:
    """Whether a use now should be written to the token's last_used_at."""
    return last_used_at is None or (now or timezone.now()) - last_used_at > LAST_USED_RESOLUTION
