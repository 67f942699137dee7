"""Every API error leaves as `{"error": {"code", "message", "field"?, "details"?}}` with a 4xx/5xx.

Domain code raises `ApiError` subclasses (or DRF's own exceptions); this handler is the one
place that turns them into JSON, so no client ever sees an HTML page or a stack trace.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import ApiError, error_body

logger = logging.getLogger(__name__)


_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.ParseError: "malformed_request",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
}


def first_field_error(detail: Any, prefix: str = "") -> tuple[str | None, str]:
    """The first (field path, message) in a DRF ValidationError detail tree."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            path = key if key == "non_field_errors" else (f"{prefix}.{key}" if prefix else str(key))
            field, message = first_field_error(value, path)
            return (None if field == "non_field_errors" else field), message
    if isinstance(detail, list) and detail:
        return first_field_error(detail[0], prefix)
    return (prefix or None), str(detail)


def _validation_response(exc: exceptions.ValidationError) -> Response:
    field, message = first_field_error(exc.detail)
    text = f"{field}: {message}" if field else message
    return Response(error_body("invalid", text, field=field, details=exc.detail), status=400)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApiError):
        body = error_body(exc.code, exc.message, field=exc.field)
        return Response(body, status=exc.status_code, headers=exc.headers)
    if isinstance(exc, exceptions.ValidationError):
        return _validation_response(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled API error", exc_info=exc)
        return Response(error_body("server_error", "Something went wrong on our side."), status=500)
    assert isinstance(exc, exceptions.APIException)
    code = _CODES.get(type(exc), exc.default_code)
    message = str(exc.detail)
    if isinstance(exc, exceptions.PermissionDenied) and message.startswith("CSRF Failed"):
        code = "csrf_failed"
    response.data = error_body(code, message)
    return response


def _is_api_path(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/v1/"))


def json_404(request: HttpRequest, exception: Exception | None = None) -> Any:
    """Unknown URLs under the API answer JSON; pages keep Django's normal 404 page."""
    if _is_api_path(request):
        return JsonResponse(error_body("not_found", "No such endpoint."), status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Http404())


def json_500(request: HttpRequest) -> Any:
    if _is_api_path(request):
        return JsonResponse(error_body("server_error", "Something went wrong on our side."), status=500)
    from django.views.defaults import server_error

    return server_error(request)


def json_400(request: HttpRequest, exception: Exception | None = None) -> Any:
    if _is_api_path(request):
        return JsonResponse(error_body("bad_request", "The request could not be understood."), status=400)
    from django.views.defaults import bad_request

    return bad_request(request, exception or Exception())
