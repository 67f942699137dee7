"""Token format and hashing (pure functions, no ORM)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

TOKEN_PREFIX = "gtts_"
# 32 random bytes: guessing is hopeless, so a plain SHA-256 (no salt, no KDF) is enough to
# keep stolen database rows from being usable, and lets us look a token up by its digest.
_SECRET_BYTES = 32
# Writing last_used_at on every request would turn every API read into a DB write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class BearerHeader:
    """An `Authorization` header read the same way on every surface (DRF, websockets, the hit path):
    `is_bearer` when its scheme is Bearer (any case); `token` the credential, or None when malformed
    (empty, or with spaces inside)."""

    is_bearer: bool
    token: str | None


def parse_bearer(header: str) -> BearerHeader:
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer":
        return BearerHeader(is_bearer=False, token=None)
    raw = raw.strip()
    return BearerHeader(is_bearer=True, token=raw if raw and " " not in raw else None)


def new_raw_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(_SECRET_BYTES)


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def display_prefix(raw: str) -> str:
    return raw[: len(TOKEN_PREFIX) + 6]


def last_use_is_due(last_used_at: datetime | None, now: datetime | None = None) -> bool:
    """Whether a use now should be written to the token's last_used_at."""
    return last_used_at is None or (now or timezone.now()) - last_used_at > LAST_USED_RESOLUTION
