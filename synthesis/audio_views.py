"""Public audio: `/a/<token>.<ext>`, cookie-free and content-addressed, for browsers and the edge.

These views never touch request.user or the session, so responses carry no Set-Cookie and no
`Vary: Cookie`, and an edge cache in front may keep them for a year.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from glmtts_site.edge import CDN_IMMUTABLE, IMMUTABLE, audio_cache_tags, ranged_file_response
from glmtts_site.stored_files import signed_url, stored_file
from synthesis.jobs.selectors import job_by_token
from synthesis.results.encoding import CONTENT_TYPES


@csrf_exempt  # safe methods only: any other is a 405, not a CSRF failure
@require_safe
def audio(request: HttpRequest, token: str, ext: str) -> HttpResponseBase:
    job = job_by_token(token)
    name = job.files.get(ext) if job else None
    stored = stored_file(name) if job is not None and name else None
    if job is None or stored is None:
        raise Http404("No such audio.")
    voice = job.voice_preset or ("reference" if job.reference_audio else "default")
    filename = f"speech-{token[:8]}.{ext}"
    if settings.AUDIO_DELIVERY == "redirect":
        url = signed_url(stored.name, content_type=CONTENT_TYPES[ext], filename=filename)
        if url is not None:
            return _redirect(url)
    headers = {
        "Cache-Control": IMMUTABLE,
        "CDN-Cache-Control": CDN_IMMUTABLE,
        "Cache-Tag": audio_cache_tags(engine_id=job.engine_id, engine_version=job.engine_version, voice=voice,
                                     voice_id=job.voice_id),
        "Content-Disposition": f'inline; filename="{filename}"',
        "X-Content-Type-Options": "nosniff",
        "Access-Control-Allow-Origin": "*",
    }
    return ranged_file_response(request, stored, content_type=CONTENT_TYPES[ext], headers=headers)


def _redirect(url: str) -> HttpResponseRedirect:
    """To the object store's signed URL; never cached anywhere, since the URL expires."""
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "no-store"
    response["Access-Control-Allow-Origin"] = "*"
    return response
