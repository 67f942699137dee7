"""Sends queued edge purges (glmtts_site.edge_purge) to Cloudflare's purge API.

POST {CLOUDFLARE_API_BASE}/zones/{zone}/purge_cache with `{"tags": [...]}` or `{"files": [...]}`, at most
100 of either per call (Cloudflare's limit on every plan), Bearer token. A 429, a 5xx or no answer is
retried with exponential backoff (honouring Retry-After, at most 60 s) up to CLOUDFLARE_PURGE_ATTEMPTS
times; any other refusal (a bad token, a bad zone) fails at once, since repeating it cannot help.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from django.conf import settings

from glmtts_site.resilience import Backoff

from .metrics import edge_purges

logger = logging.getLogger(__name__)
MAX_PER_CALL = 100
CALL_TIMEOUT_S = 15.0
MAX_RETRY_AFTER_S = 60.0
Sleep = Callable[[float], Awaitable[None]]


class PurgeFailed(Exception):
    """Cloudflare refused the purge, or kept failing until the attempts ran out."""


class PurgeInterrupted(Exception):
    """The worker is stopping between attempts: the purge stays queued for another worker."""


def purge_bodies(payload: dict[str, Any]) -> list[dict[str, list[str]]]:
    """One request body per 100 tags or URLs (a call purges one kind)."""
    bodies = []
    for field, kind in (("tags", "tags"), ("urls", "files")):
        items = [str(item) for item in payload.get(field) or []]
        bodies += [{kind: items[i:i + MAX_PER_CALL]} for i in range(0, len(items), MAX_PER_CALL)]
    return bodies


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return min(MAX_RETRY_AFTER_S, max(0.0, float(response.headers.get("Retry-After", ""))))
    except ValueError:
        return None


def _succeeded(response: httpx.Response) -> bool:
    try:
        return bool(response.json().get("success") is True)
    except (ValueError, AttributeError):
        return False


def _refusal(response: httpx.Response) -> str:
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        errors = []
    detail = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors if isinstance(e, dict))
    return f"HTTP {response.status_code}" + (f" ({detail})" if detail else "")


class CloudflarePurger:
    def __init__(self, *, client: httpx.AsyncClient, sleep: Sleep, stopping: Callable[[], bool]) -> None:
        self.client, self.sleep, self.stopping = client, sleep, stopping
        self.url = f"{settings.CLOUDFLARE_API_BASE.rstrip('/')}/zones/{settings.CLOUDFLARE_ZONE_ID}/purge_cache"
        self.headers = {"Authorization": f"Bearer {settings.CLOUDFLARE_API_TOKEN}"}
        self.attempts = settings.CLOUDFLARE_PURGE_ATTEMPTS

    async def purge(self, raw: str) -> int:
        """Send every call of one queued purge; returns how many calls went. PurgeFailed if one fails."""
        try:
            payload = json.loads(raw)
        except ValueError as exc:
            raise PurgeFailed(f"not a purge: {exc}") from exc
        bodies = purge_bodies(payload if isinstance(payload, dict) else {})
        for body in bodies:
            await self._call(body)
        return len(bodies)

    async def _call(self, body: dict[str, list[str]]) -> None:
        backoff, last = Backoff(first_s=1.0, cap_s=MAX_RETRY_AFTER_S), ""
        for attempt in range(1, self.attempts + 1):
            wait: float | None = None
            try:
                response = await self.client.post(self.url, json=body, headers=self.headers, timeout=CALL_TIMEOUT_S)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 200 and _succeeded(response):
                    edge_purges.labels(outcome="ok").inc()
                    return
                last = _refusal(response)
                if response.status_code != 429 and response.status_code < 500:
                    edge_purges.labels(outcome="failed").inc()
                    raise PurgeFailed(f"Cloudflare refused the purge: {last}")
                wait = _retry_after(response)
            if attempt < self.attempts:
                edge_purges.labels(outcome="retried").inc()
                logger.warning("Edge purge attempt %d failed (%s); retrying", attempt, last)
                await self.sleep(wait if wait is not None else backoff.next_delay())
                if self.stopping():
                    raise PurgeInterrupted(last)
        edge_purges.labels(outcome="failed").inc()
        raise PurgeFailed(f"gave up after {self.attempts} attempts: {last}")
