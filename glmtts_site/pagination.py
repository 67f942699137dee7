"""List pages: `limit`/`offset`, bounded so no request can ask for everything or overflow the database."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

MAX_PAGE_SIZE = 100
MAX_OFFSET = 1_000_000


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """DRF's limit/offset pages with a page-size maximum (a larger `limit` gets MAX_PAGE_SIZE) and an
    offset bound (a larger `offset` gets an empty page instead of an integer the database cannot hold)."""

    default_limit = 20
    max_limit = MAX_PAGE_SIZE

    def get_offset(self, request: Request) -> int:
        raw = request.query_params.get(self.offset_query_param, "")
        if len(raw) > len(str(MAX_OFFSET)):  # more digits than any offset we serve: no int() of it
            return MAX_OFFSET if raw.isdigit() else 0
        return min(int(super().get_offset(request)), MAX_OFFSET)


def page_of(item: type[serializers.Serializer], name: str) -> type[serializers.Serializer]:
    """The envelope of a list page, for the schema: what get_paginated_response returns."""
    fields = {
        "count": serializers.IntegerField(help_text="Items in the whole list."),
        "next": serializers.CharField(allow_null=True, help_text="URL of the next page, or null."),
        "previous": serializers.CharField(allow_null=True, help_text="URL of the previous page, or null."),
        "results": item(many=True),
    }
    return type(name, (serializers.Serializer,), {**fields, "__module__": item.__module__, "__qualname__": name})
