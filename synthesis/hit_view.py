"""`/api/v1/syntheses`, with plain cache hits answered on the event loop.

Most submits repeat a request (seeds 002/003), so the hit is the hottest path of the site. Under
Daphne a DRF view is sync: Django runs it in a thread it starts for the request. This async view
answers the plain hit itself, without that thread: a JSON body of known fields, a Bearer token
this process resolved recently, a voice preset or the default voice, and a result in this
process's L1 under recently read engine versions. The job row is written by the history
writer's threads, before the answer leaves, as on the DRF path.

Everything else goes to the DRF view unchanged: the first use of a token, session sign-in, voices
from the library, uploads, misses, and every error (the fast path never answers one: input it
does not accept goes to DRF, which judges it). Both paths give the same answer (tested).
"""

from __future__ import annotations

import json
from typing import Any

from asgiref.sync import sync_to_async
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from accounts.models import ApiToken
from accounts.selectors import api_token_resolved_recently
from glmtts_site.errors import ApiError

from .apis import SynthesisCollectionApi
from .history import history_insert_async
from .models import SynthesisJob
from .serializers import SUBMIT_FIELDS, JobOutputSerializer, validated_by_fields
from .submit import local_cache_hit
from .voice_input import submit_args

_drf_view = SynthesisCollectionApi.as_view()
_drf_view_async = sync_to_async(_drf_view)  # thread-sensitive: where Django runs any sync view
_PLAIN_FIELDS = SUBMIT_FIELDS.keys() - {"voice_id", "voice_share", "reference_audio"}
_PLAIN_ACCEPT = {"", "*/*", "application/json"}  # what DRF's negotiation answers with plain JSON


def _drf_response_headers() -> dict[str, str]:
    """Allow (and Vary) as DRF's view sets them; set up as as_view does (which adds HEAD to GET)."""
    view = SynthesisCollectionApi()
    view.setup(HttpRequest())
    return dict(view.default_response_headers)


_DRF_HEADERS = _drf_response_headers()


@csrf_exempt  # as DRF's views are: its session authentication checks CSRF itself
async def synthesis_collection(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        job = await _plain_cache_hit(request)
        if job is not None:
            return _json_response(job)
    response: HttpResponse = await _drf_view_async(request)
    return response


# drf-spectacular (and DRF's schema tools) document the DRF view this one stands for.
synthesis_collection.cls = SynthesisCollectionApi  # type: ignore[attr-defined]
synthesis_collection.initkwargs = {}  # type: ignore[attr-defined]


async def _plain_cache_hit(request: HttpRequest) -> SynthesisJob | None:
    token = _recent_bearer_token(request)
    fields = _plain_json_fields(request) if token is not None else None
    if token is None or fields is None:
        return None
    try:
        args = submit_args(token.user, validated_by_fields(fields))
        job = local_cache_hit(owner=token.user, **args.as_kwargs())
    except (serializers.ValidationError, ApiError):
        return None  # DRF gives the error answer
    if job is not None:
        await history_insert_async(job)
    return job


def _recent_bearer_token(request: HttpRequest) -> ApiToken | None:
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw or " " in raw.strip():
        return None
    return api_token_resolved_recently(raw=raw.strip())


def _plain_json_fields(request: HttpRequest) -> dict[str, Any] | None:
    """The JSON object of a plain submit, parsed as DRF's JSONParser would; None for anything else."""
    charset = (request.content_params or {}).get("charset", "utf-8").lower()
    if (request.content_type != "application/json" or charset not in ("utf-8", "utf8") or request.GET
            or request.headers.get("Accept", "").strip() not in _PLAIN_ACCEPT):
        return None
    try:
        fields = json.loads(request.body.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError, SuspiciousOperation):  # malformed or too large: DRF answers it
        return None
    if type(fields) is not dict or not fields.keys() <= _PLAIN_FIELDS:
        return None
    return fields


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # DRF's strict JSON refuses NaN and Infinity too


def _json_response(job: SynthesisJob) -> HttpResponse:
    """The 200 that DRF's view gives for a hit: same body (its renderer), same headers."""
    response = HttpResponse(JSONRenderer().render(JobOutputSerializer(job).data), content_type="application/json")
    for name, value in _DRF_HEADERS.items():
        if name == "Vary":
            patch_vary_headers(response, [value])
        else:
            response[name] = value
    return response
