"""DRF content negotiation, remembered.

DRF's choice of renderer depends only on the requested format (suffix or `?format=`), the Accept
header and the view's renderers, yet it re-parses the Accept header on every request. API clients
send the same few headers again and again, so the answer is kept per such triple (bounded).
Refusals (406, unknown format) are not kept: they are raised afresh each time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

MAX_REMEMBERED = 256
_chosen: dict[tuple[Any, ...], tuple[int, str]] = {}


class RememberingContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request: Request, renderers: Iterable[BaseRenderer],
                        format_suffix: str | None = None) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        requested_format = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        key = (requested_format, request.META.get("HTTP_ACCEPT", "*/*"), tuple(type(r) for r in renderers))
        known = _chosen.get(key)
        if known is None:
            renderer, media_type = super().select_renderer(request, renderers, format_suffix)
            known = (renderers.index(renderer), media_type)
            if len(_chosen) >= MAX_REMEMBERED:
                _chosen.clear()  # client-controlled keys: bounded, and a refill costs one parse each
            _chosen[key] = known
        return renderers[known[0]], known[1]


class JsonWhateverAccepted(BaseContentNegotiation):
    """For views whose successes are not DRF responses (audio): their errors are JSON whatever the
    client accepts (the OpenAI SDK asks for application/octet-stream), never a 406."""

    def select_parser(self, request: Request, parsers: Iterable[Any]) -> Any:
        return DefaultContentNegotiation().select_parser(request, parsers)

    def select_renderer(self, request: Request, renderers: Iterable[BaseRenderer],
                        format_suffix: str | None = None) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, str(renderer.media_type)
