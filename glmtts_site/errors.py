"""Domain errors with a stable code; importable anywhere (no DRF view machinery)."""

from __future__ import annotations

from typing import Any

from rest_framework import status


class ApiError(Exception):
    """A domain error with a stable machine code and a message a person can read."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None,
                 status_code: int | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.field = field
        self.status_code = status_code or self.status_code
        self.headers = headers or {}


class ServiceUnavailable(ApiError):
    """Redis or the database is unreachable for a moment: retry later (never a 500)."""

    status_code = 503
    code = "service_unavailable"


def error_body(code: str, message: str, *, field: str | None = None,
               details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    if details is not None:
        error["details"] = details
    return {"error": error}
