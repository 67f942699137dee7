"""Serializer base classes and strict fields shared by every app's API."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

from .api_errors import api_error_from_validation

# C0/C1 control characters (tab, newline and carriage return are text) and lone surrogates, which
# JSON can carry ("\ud800") but UTF-8 cannot encode: the database or the fingerprint would fail later.
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


class StrictInputSerializer(serializers.Serializer):
    """An input serializer that rejects unknown fields instead of silently ignoring them.

    A typo such as `temprature` must be a 400 naming the field, not a request that quietly
    runs with the default.
    """

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["Unknown field."] for name in unknown}
                )
        return super().to_internal_value(data)


class TextField(serializers.CharField):
    """A CharField for text people type: only strings (DRF would take `5` as "5"), and no control
    characters or lone surrogates."""

    default_error_messages = {"control": "Control characters (or invalid Unicode) are not allowed.",
                              "not_a_string": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string")
        value = str(super().to_internal_value(data))
        if _NOT_TEXT.search(value):
            self.fail("control")
        return value


class StrictFloatField(serializers.FloatField):
    """A FloatField that refuses JSON booleans (`true` is not 1.0)."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool):
            self.fail("invalid")
        return float(super().to_internal_value(data))


class StrictIntegerField(serializers.IntegerField):
    """An IntegerField that refuses JSON booleans and floats with a fraction (`2.5` is not 2)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or (isinstance(data, float) and not data.is_integer()):
            self.fail("invalid")
        return int(super().to_internal_value(data))


class StrictBooleanField(serializers.BooleanField):
    """A BooleanField that refuses numbers other than 0 and 1 given as JSON numbers (`2` is not true)."""

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, float):
            self.fail("invalid", input=data)
        return bool(super().to_internal_value(data))


def validated_with(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """Validate outside DRF views (async views, websockets): errors are the same 400 ApiError."""
    serializer = serializer_class(data=data)
    try:
        serializer.is_valid(raise_exception=True)
    except serializers.ValidationError as exc:
        raise api_error_from_validation(exc) from exc
    return dict(serializer.validated_data)
