"""Site-wide response headers that Django 5.2 has no setting for, and static files for ASGI.

Every middleware here works in both modes. Under Daphne the chain is then async from end to end,
and a request crosses into a thread once, for a sync view, instead of three times (a sync-only
middleware makes Django leave the event loop before it and come back after it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from whitenoise.middleware import WhiteNoiseMiddleware

GetResponse = Callable[[HttpRequest], Any]


class _HeaderMiddleware:
    """Calls the rest of the chain, then `finish(request, response)`, in whichever mode it runs."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self._acall(request)
        response: HttpResponse = self.get_response(request)
        self.finish(request, response)
        return response

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        response: HttpResponse = await self.get_response(request)
        self.finish(request, response)
        return response

    def finish(self, request: HttpRequest, response: HttpResponse) -> None:
        raise NotImplementedError


class ContentSecurityPolicyMiddleware(_HeaderMiddleware):
    """Adds the configured Content-Security-Policy unless a view already set one."""

    def __init__(self, get_response: GetResponse) -> None:
        super().__init__(get_response)
        self.policy: str = settings.CONTENT_SECURITY_POLICY

    def finish(self, request: HttpRequest, response: HttpResponse) -> None:
        if self.policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy


class PrivateByDefaultMiddleware(_HeaderMiddleware):
    """JSON and pages are per-user: `private, no-store` unless a view chose a policy itself.

    Only the content-addressed audio under /a/ and hashed static files are public (they set theirs).
    """

    def finish(self, request: HttpRequest, response: HttpResponse) -> None:
        if "Cache-Control" not in response and not request.path.startswith((settings.STATIC_URL, "/a/")):
            response["Cache-Control"] = "private, no-store"


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise (sync-only in 6.x) that also runs async: a static file is opened in a thread,
    anything else goes on down the chain without leaving the event loop."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        super().__init__(get_response)
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        return self._acall(request) if self.is_async else super().__call__(request)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        if self.autorefresh:  # development: looks on disk per request
            static_file = await sync_to_async(self.find_file, thread_sensitive=False)(request.path_info)
        else:
            static_file = self.files.get(request.path_info)
        if static_file is not None:
            return await sync_to_async(self.serve, thread_sensitive=False)(static_file, request)
        response: HttpResponse = await self.get_response(request)
        return response
