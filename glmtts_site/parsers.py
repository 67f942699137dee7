"""Reading JSON from clients: every way it can be malformed is a 400, never a 500.

The standard library raises RecursionError (not ValueError) for deeply nested input such as
100,000 opening brackets, and DRF's JSONParser only turns ValueError into a 400.
"""

from __future__ import annotations

import json
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


def json_loads_untrusted(data: str | bytes) -> Any:
    """json.loads for client input: raises ValueError for anything malformed, including nesting too
    deep, bytes that are not UTF-8, and NaN or Infinity (not JSON; DRF's strict parser refuses them)."""
    try:  # UTF-8 only, as DRF reads it (json.loads would guess UTF-16 or UTF-32 from bytes)
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class JSONParser(parsers.JSONParser):
    """DRF's, with nesting too deep a 400 like any other malformed JSON."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None
