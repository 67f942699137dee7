"""List pages: `limit`/`offset`, bounded so no request can ask for everything or overflow the database."""

from __future__ import annotations

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
