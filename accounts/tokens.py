"""Token format and hashing (pure functions, no ORM)."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "gtts_"
# 32 random bytes: guessing is hopeless, so a plain SHA-256 (no salt, no KDF) is enough to
# keep stolen database rows from being usable, and lets us look a token up by its digest.
_SECRET_BYTES = 32


def new_raw_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(_SECRET_BYTES)


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def display_prefix(raw: str) -> str:
    return raw[: len(TOKEN_PREFIX) + 6]
