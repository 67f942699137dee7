"""Public audio: `/a/<token>.<ext>`, cookie-free and content-addressed, for browsers and the edge.

These views never touch request.user or the session, so responses carry no Set-Cookie and no
`Vary: Cookie`, and an edge cache in front may keep them for a year.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from django.core.files.storage import default_storage
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from glmtts_site.edge import CDN_IMMUTABLE, IMMUTABLE, ranged_file_response
from synthesis.jobs.selectors import job_by_token
from synthesis.results.encoding import CONTENT_TYPES


@lru_cache(maxsize=4096)
def _etag_of(path: Path, size: int, mtime_ns: int) -> str:
    """sha256 of the bytes; content-addressed files never change, so hashing once per process is enough."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f'"{digest.hexdigest()}"'


def _strong_etag(path: Path) -> str:
    stat = path.stat()
    return _etag_of(path, stat.st_size, stat.st_mtime_ns)


@csrf_exempt  # safe methods only: any other is a 405, not a CSRF failure
@require_safe
def audio(request: HttpRequest, token: str, ext: str) -> HttpResponseBase:
    job = job_by_token(token)
    name = job.files.get(ext) if job else None
    if job is None or not name or not default_storage.exists(name):
        raise Http404("No such audio.")
    path = Path(default_storage.path(name))
    voice = job.voice_preset or ("reference" if job.reference_audio else "default")
    headers = {
        "Cache-Control": IMMUTABLE,
        "CDN-Cache-Control": CDN_IMMUTABLE,
        "Cache-Tag": f"tts,engine-{job.engine_id},engine-{job.engine_id}-{job.engine_version},voice-{voice}",
        "Content-Disposition": f'inline; filename="speech-{token[:8]}.{ext}"',
        "X-Content-Type-Options": "nosniff",
        "Access-Control-Allow-Origin": "*",
    }
    return ranged_file_response(request, path, content_type=CONTENT_TYPES[ext], etag=_strong_etag(path),
                                headers=headers)
