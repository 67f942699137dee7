"""Edge-ready file responses: strong ETag, 304, byte ranges (206/416), cache headers.

Django's FileResponse has no Range support, and Safari needs 206 to play audio; this is the small,
tested ranged response the edge (Cloudflare) and browsers need.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

# At most 18 digits a side (any real file size fits): a longer number is a malformed header, ignored,
# never an int() of thousands of digits.
_RANGE = re.compile(r"^bytes=(\d{0,18})-(\d{0,18})$")
CHUNK = 64 * 1024
IMMUTABLE = "public, max-age=31536000, immutable"
CDN_IMMUTABLE = "public, max-age=31536000"
PRIVATE = "private, no-store"


def parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """(start, end inclusive) for one satisfiable range; None to send it all; "invalid" for 416."""
    match = _RANGE.match(header.strip())
    if not match or "," in header:
        return None  # malformed or multi-range: ignore the header and send the whole file (RFC 9110)
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix range: the last N bytes
        length = int(last)
        return (max(0, size - length), size - 1) if length > 0 and size > 0 else "invalid"
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        return "invalid"
    return start, end


def _file_chunks(path: Path, start: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            block = handle.read(min(CHUNK, remaining))
            if not block:
                break
            remaining -= len(block)
            yield block


def etag_matches(request: HttpRequest, etag: str) -> bool:
    header = request.headers.get("If-None-Match", "")
    return header.strip() == "*" or etag in [part.strip().removeprefix("W/") for part in header.split(",")]


def ranged_file_response(request: HttpRequest, path: Path, *, content_type: str, etag: str,
                         headers: dict[str, str]) -> HttpResponse | StreamingHttpResponse:
    size = path.stat().st_size
    common = {"ETag": etag, "Accept-Ranges": "bytes", **headers}
    if etag_matches(request, etag):  # If-None-Match wins over Range
        not_modified = HttpResponse(status=304)
        for key, value in common.items():
            not_modified[key] = value
        return not_modified
    wanted = parse_range(request.headers.get("Range", ""), size) if request.headers.get("Range") else None
    if wanted == "invalid":
        unsatisfiable = HttpResponse(status=416)
        unsatisfiable["Content-Range"] = f"bytes */{size}"
        for key, value in common.items():
            unsatisfiable[key] = value
        return unsatisfiable
    start, end = wanted if isinstance(wanted, tuple) else (0, size - 1)
    length = end - start + 1 if size else 0
    body = _file_chunks(path, start, length) if request.method != "HEAD" else iter(())
    response = StreamingHttpResponse(body, content_type=content_type, status=206 if isinstance(wanted, tuple) else 200)
    response["Content-Length"] = str(length)
    if isinstance(wanted, tuple):
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    for key, value in common.items():
        response[key] = value
    return response
