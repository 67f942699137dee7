"""OpenAPI schema generation tuned to our "one view per operation" style."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from .negotiation import JsonWhateverAccepted

_REASONS = {400: "Malformed or invalid input (the error names the field)", 401: "Not signed in",
            403: "Forbidden (staff only, or a failed CSRF check)", 404: "No such resource (or not yours)",
            406: "Not acceptable", 409: "Conflict (a quota of voices or tokens, or a cancelled synthesis)",
            413: "Body or file too large", 415: "Unsupported media type", 422: "The synthesis failed",
            429: "Rate limited or over quota (see Retry-After)", 503: "Redis or the database unavailable, or "
            "no worker (see Retry-After)", 504: "The job made no progress for too long"}
WRITES = ("POST", "PUT", "PATCH")
WAITS_FOR_AUDIO = ("openai_speech", "seed_tts")


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. invalid, rate_limited.")
    message = serializers.CharField(help_text="What went wrong, for a person.")
    field = serializers.CharField(required=False, help_text="The input field at fault, if one is.")
    details = serializers.JSONField(required=False, help_text="Every field error (validation only).")


class ErrorSerializer(serializers.Serializer):
    """Every error answer of the API."""

    error = ErrorDetailSerializer()


class OperationAutoSchema(AutoSchema):
    """Names nested serializers after their view (`TokenCreateApi.InputSerializer` -> `TokenCreateInput`)
    and documents the error answers every operation can give, with the one error body they share."""

    def get_serializer_name(self, serializer: Any, direction: Any) -> str:
        cls = serializer if isinstance(serializer, type) else type(serializer)
        outer, _, inner = cls.__qualname__.rpartition(".")
        if outer:
            view = outer.split(".")[-1].removesuffix("Api")
            return view + inner.removesuffix("Serializer")
        return str(super().get_serializer_name(serializer, direction))

    def get_operation(self, *args: Any, **kwargs: Any) -> Any:
        operation = super().get_operation(*args, **kwargs)
        if operation:
            error = {"application/json": {"schema": self.resolve_serializer(ErrorSerializer, "response").ref}}
            for status in sorted(self._error_statuses(operation)):
                operation["responses"].setdefault(str(status), {"description": _REASONS[status],
                                                                "content": error})
        return operation

    def _error_statuses(self, operation: dict[str, Any]) -> set[int]:
        statuses = {400, 503}
        if not any(isinstance(permission, AllowAny) for permission in self.view.get_permissions()):
            statuses |= {401, 403}
        if not isinstance(self.view.get_content_negotiator(), JsonWhateverAccepted):
            statuses.add(406)
        if "{" in self.path or operation.get("operationId") in WAITS_FOR_AUDIO:
            statuses.add(404)
        if self.method in WRITES:
            statuses |= {409, 413, 415, 429}
        if operation.get("operationId") in WAITS_FOR_AUDIO:
            statuses |= {409, 422, 504}
        return statuses
