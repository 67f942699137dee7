"""Edge-ready file responses: strong ETag, 304, byte ranges (206/416), cache headers.

Django's FileResponse has no Range support, and Safari needs 206 to play audio; this is the small,
tested ranged response the edge (Cloudflare) and browsers need.
"""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from .stored_files import StoredFile

# At most 18 digits a side (any real file size fits): a longer number is a malformed header, ignored,
# never an int() of thousands of digits.
_RANGE = re.compile(r"^bytes=(\d{0,18})-(\d{0,18})$")
IMMUTABLE = "public, max-age=31536000, immutable"
CDN_IMMUTABLE = "public, max-age=31536000"
PRIVATE = "private, no-store"


def engine_tag(engine_id: str, engine_version: str = "") -> str:
    return f"engine-{engine_id}-{engine_version}" if engine_version else f"engine-{engine_id}"


def voice_tag(voice_id: object) -> str:
    return f"voice-{voice_id}"


def audio_cache_tags(*, engine_id: str, engine_version: str, voice: str, voice_id: object = None) -> str:
    """The Cache-Tag header of a result: what a purge by tag (glmtts_site.purge) can name."""
    tags = ["tts", engine_tag(engine_id), engine_tag(engine_id, engine_version), f"voice-{voice}"]
    if voice_id is not None:  # a library voice: its deletion purges exactly its results
        tags.append(voice_tag(voice_id))
    return ",".join(tags)


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


def etag_matches(request: HttpRequest, etag: str) -> bool:
    header = request.headers.get("If-None-Match", "")
    return header.strip() == "*" or etag in [part.strip().removeprefix("W/") for part in header.split(",")]


def ranged_file_response(request: HttpRequest, stored: StoredFile, *, content_type: str,
                         headers: dict[str, str], etag: str = "") -> HttpResponse | StreamingHttpResponse:
    """The stored file (whole, one range, 304 or 416); `etag` replaces the stored file's own."""
    size, etag = stored.size, etag or stored.etag
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
    body = stored.read(start, length) if request.method != "HEAD" else iter(())
    response = StreamingHttpResponse(body, content_type=content_type, status=206 if isinstance(wanted, tuple) else 200)
    response["Content-Length"] = str(length)
    if isinstance(wanted, tuple):
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    for key, value in common.items():
        response[key] = value
    return response
