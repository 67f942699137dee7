"""Counts and times every HTTP request by its route pattern (never the raw path: ids would make a
label value per job)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from .web import observe_request


def route_of(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:  # answered by a middleware before URL resolution (a cache hit, a refusal)
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return "unmatched"
    return "/" + str(match.route) if match.route else "unmatched"


class RequestMetricsMiddleware:
    """First in MIDDLEWARE, so the time and the status are those the client gets."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        observe_request(route=route_of(request), method=request.method or "", status=response.status_code,
                        seconds=time.perf_counter() - started)
        return response
