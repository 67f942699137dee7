"""Site-wide response headers that Django 5.2 has no setting for."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from redis.exceptions import RedisError

from .api_errors import STATUS_CODES, api_error_for, api_error_response, is_api_path
from .errors import error_body
from .ratelimit import RateLimited, client_ip, rate_limit

logger = logging.getLogger(__name__)


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


class ApiErrorsMiddleware:
    """Under the API prefixes, every error answer is our JSON error body.

    Exceptions that non-DRF views raise (the async seed and OpenAI views, the public audio view)
    are mapped by `api_error_for`, and body-less error answers that Django makes itself (405 from
    `require_POST`, a bare 413) get the JSON body with a stable code; their headers stay.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (response.status_code in STATUS_CODES and is_api_path(request.path)
                and not response.get("Content-Type", "").startswith("application/json")):
            body = JsonResponse(error_body(STATUS_CODES[response.status_code],
                                           response.reason_phrase or "Request refused."),
                                status=response.status_code)
            for header in ("Allow", "Retry-After", "WWW-Authenticate", "Cache-Control"):
                if header in response:
                    body[header] = response[header]
            return body
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        mapped = api_error_for(exception) if is_api_path(request.path) else None
        return api_error_response(mapped) if mapped is not None else None


COSTLY_POST_ROUTES = ("/api/v1/syntheses", "/api/tts", "/v1/audio/speech", "/api/v1/voices", "/api/voices",
                      "/api/v1/tokens", "/api/v1/me/password", "/accounts/login/", "/accounts/signup/",
                      "/accounts/password/")


class ClientRateLimitMiddleware:
    """POSTs to the costly routes are limited per client address (RATE_LIMITS["ip_costly"]) whoever is
    signed in, on top of the per-user limits in the services: many accounts from one address, or none,
    still get one address's share. With Redis unreachable it lets requests through (logged): the
    routes behind it answer an outage themselves."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path.startswith(COSTLY_POST_ROUTES):
            try:
                rate_limit("ip_costly", client_ip(request))
            except RateLimited as exc:
                if is_api_path(request.path):
                    return api_error_response(exc)
                response = HttpResponse(exc.message, status=429, content_type="text/plain; charset=utf-8")
                response["Retry-After"] = exc.headers["Retry-After"]
                return response
            except RedisError as exc:
                logger.warning("Address rate limit unavailable: %s", exc)
        return self.get_response(request)
