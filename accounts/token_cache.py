"""A short-lived per-process cache of API-token resolutions (digest -> active token and its user).

Every Bearer request used to look its token up in the database (a join on the user). Here a
resolved token is remembered for `API_TOKEN_CACHE_TTL_S` seconds (0 turns the cache off):
- a revocation, a token deletion, or a change or deletion of the user clears the entries
  concerned in this process at once (model signals); other processes notice within the TTL;
- a lookup that was already reading the database when an entry was dropped does not store
  what it read (a generation count), so the drop cannot be undone by a slow reader;
- only successful resolutions are kept (a wrong token always reaches the database), and the
  raw secret never is: entries are keyed by its SHA-256 digest, like the table;
- callers get their own copies of the token and user, so no request sees another's changes.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from django.db.models import Model

from .models import ApiToken

CAPACITY = 4096
_M = TypeVar("_M", bound=Model)


@dataclass
class _Entry:
    token: ApiToken  # with `token.user` loaded; never handed out itself
    expires_at: float


class TokenCache:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.generation = 0  # bumped by every drop; a put from an older generation is ignored

    def get(self, digest: str) -> ApiToken | None:
        """A private copy of the cached token (and its user), or None when absent or expired."""
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            if entry.expires_at <= time.monotonic():
                del self._entries[digest]
                return None
            self._entries.move_to_end(digest)
            return _private_copy(entry.token)

    def put(self, token: ApiToken, ttl_s: float, *, generation: int) -> None:
        """Remember `token`, read from the database while `generation` was current."""
        if ttl_s <= 0:
            return
        entry = _Entry(token=_private_copy(token), expires_at=time.monotonic() + ttl_s)
        with self._lock:
            if generation != self.generation:
                return
            self._entries[token.digest] = entry
            self._entries.move_to_end(token.digest)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def note_used(self, digest: str, when: datetime) -> None:
        """Keep the cached last-use time current, so last-use writes stay throttled."""
        with self._lock:
            entry = self._entries.get(digest)
            if entry is not None:
                entry.token.last_used_at = when

    def forget_token(self, digest: str) -> None:
        with self._lock:
            self.generation += 1
            self._entries.pop(digest, None)

    def forget_user(self, user_id: int) -> None:
        with self._lock:
            self.generation += 1
            stale = [digest for digest, entry in self._entries.items() if entry.token.user_id == user_id]
            for digest in stale:
                del self._entries[digest]

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def _private_copy(token: ApiToken) -> ApiToken:
    duplicate = _shallow_copy(token)
    duplicate.user = _shallow_copy(token.user)
    return duplicate


def _shallow_copy(instance: _M) -> _M:
    """A copy with its own field values and model state, without related or prefetched caches
    (what Model.__getstate__ keeps, minus those caches; copy.copy pickles its way there, slowly)."""
    duplicate = instance.__class__.__new__(instance.__class__)
    duplicate.__dict__.update(instance.__dict__)
    duplicate.__dict__.pop("_prefetched_objects_cache", None)
    state = copy.copy(instance._state)
    state.__dict__.pop("related_managers_cache", None)
    state.fields_cache = {}
    duplicate._state = state
    return duplicate


token_cache = TokenCache()
