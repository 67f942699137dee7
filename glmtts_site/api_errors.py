"""Every API error leaves as `{"error": {"code", "message", "field"?, "details"?}}` with a 4xx/5xx.

`api_error_for` is the one place that decides which exception families are the client's doing
(bad input: a 4xx) or a passing outage of Redis or the database (a 503 with Retry-After), and what
they are called. Every way out uses it: DRF's exception handler, the async views, the websocket
consumers, Django's 400 handler and the middleware that answers for non-DRF API views. Anything it
does not know is a bug: a logged 500 that says nothing about our insides.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import (
    BadRequest,
    DisallowedHost,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DataError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from redis.exceptions import RedisError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import ApiError, ServiceUnavailable, error_body

logger = logging.getLogger(__name__)

API_PREFIXES = ("/api/", "/v1/", "/a/", "/health", "/ready")

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
# Status codes of responses without a body of ours (Django's 405, a bare 413...) -> stable code.
STATUS_CODES = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                406: "not_acceptable", 408: "request_timeout", 413: "payload_too_large",
                415: "unsupported_media_type", 429: "rate_limited", 503: "service_unavailable"}
RETRY_AFTER_OUTAGE_S = "5"


def api_error_for(exc: BaseException) -> ApiError | None:
    """The client's answer for an exception of a known family; None means a bug (500)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, RequestDataTooBig):
        return ApiError("The request body is larger than this endpoint accepts.", code="payload_too_large",
                        status_code=413)
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return ApiError("The request has too many fields or files.", code="too_many_fields")
    if isinstance(exc, DisallowedHost):
        return ApiError("This host name is not served here.", code="bad_host")
    if isinstance(exc, MultiPartParserError):
        return ApiError("The multipart body could not be parsed (check its boundary).", code="malformed_request")
    if isinstance(exc, SuspiciousOperation | BadRequest | UnreadablePostError | UnicodeDecodeError):
        return ApiError("The request could not be understood.", code="bad_request")
    if isinstance(exc, DataError):  # a value the database cannot hold: input we failed to bound
        logger.warning("Database refused a value: %s", exc)
        return ApiError("A value in the request is out of range.", code="invalid")
    if isinstance(exc, RedisError | OperationalError | InterfaceError):
        logger.warning("Service dependency unavailable: %s: %s", type(exc).__name__, exc)
        return ServiceUnavailable("A service this request needs is unavailable right now; please retry shortly.",
                                  headers={"Retry-After": RETRY_AFTER_OUTAGE_S})
    return None


def api_error_response(exc: ApiError) -> JsonResponse:
    response = JsonResponse(error_body(exc.code, exc.message, field=exc.field), status=exc.status_code)
    for key, value in exc.headers.items():
        response[key] = value
    if exc.status_code == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def server_error_response() -> JsonResponse:
    return JsonResponse(error_body("server_error", "Something went wrong on our side."), status=500)


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


def api_error_from_validation(exc: exceptions.ValidationError) -> ApiError:
    """A serializer's ValidationError as the same 400 that DRF views give, for code outside DRF views."""
    field, message = first_field_error(exc.detail)
    return ApiError(f"{field}: {message}" if field else message, code="invalid", field=field)


def _validation_response(exc: exceptions.ValidationError) -> Response:
    field, message = first_field_error(exc.detail)
    text = f"{field}: {message}" if field else message
    return Response(error_body("invalid", text, field=field, details=exc.detail), status=400)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    mapped = api_error_for(exc)
    if mapped is not None:
        return Response(error_body(mapped.code, mapped.message, field=mapped.field),
                        status=mapped.status_code, headers=mapped.headers)
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


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES)


def json_404(request: HttpRequest, exception: Exception | None = None) -> Any:
    """Unknown URLs under the API answer JSON; pages keep Django's normal 404 page."""
    if is_api_path(request.path):
        return JsonResponse(error_body("not_found", "No such endpoint or resource."), status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Http404())


def json_500(request: HttpRequest) -> Any:
    if is_api_path(request.path):
        return server_error_response()
    from django.views.defaults import server_error

    return server_error(request)


def json_400(request: HttpRequest, exception: Exception | None = None) -> Any:
    """Django's answer to SuspiciousOperation, BadRequest and unparsable bodies outside DRF."""
    if is_api_path(request.path):
        mapped = api_error_for(exception) if exception is not None else None
        return api_error_response(mapped or ApiError("The request could not be understood.", code="bad_request"))
    from django.views.defaults import bad_request

    return bad_request(request, exception or Exception())


def csrf_failure(request: HttpRequest, reason: str = "") -> Any:
    """CSRF_FAILURE_VIEW: JSON under the API, Django's page elsewhere."""
    if is_api_path(request.path):
        return api_error_response(ApiError("CSRF check failed: send the X-CSRFToken header with your session.",
                                           code="csrf_failed", status_code=403))
    from django.views.csrf import csrf_failure as django_csrf_failure

    return django_csrf_failure(request, reason)
