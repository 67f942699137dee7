"""OpenAPI schema generation tuned to our "one view per operation" style."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema


class OperationAutoSchema(AutoSchema):
    """Names nested serializers after their view: `TokenCreateApi.InputSerializer` -> `TokenCreateInput`.

    Without this every view's `InputSerializer` would collide as one `Input` component.
    """

    def get_serializer_name(self, serializer: Any, direction: Any) -> str:
        cls = serializer if isinstance(serializer, type) else type(serializer)
        outer, _, inner = cls.__qualname__.rpartition(".")
        if outer:
            view = outer.split(".")[-1].removesuffix("Api")
            return view + inner.removesuffix("Serializer")
        return str(super().get_serializer_name(serializer, direction))
