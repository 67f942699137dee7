"""Site-wide response headers that Django 5.2 has no setting for."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class ContentSecurityPolicyMiddleware:
    """Adds the configured Content-Security-Policy unless a view already set one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy: str = settings.CONTENT_SECURITY_POLICY

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        return response


class PrivateByDefaultMiddleware:
    """JSON and pages are per-user: `private, no-store` unless a view chose a policy itself.

    Only the content-addressed audio under /a/ and hashed static files are public (they set theirs).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Cache-Control" not in response and not request.path.startswith((settings.STATIC_URL, "/a/")):
            response["Cache-Control"] = "private, no-store"
        return response
