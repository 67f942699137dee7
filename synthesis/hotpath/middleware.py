"""Plain cache hits of `POST /api/v1/syntheses`, answered in the middleware chain.

Most submits repeat a request (seeds 002/003), so the hit is the hottest path of the site. This
middleware, last in MIDDLEWARE, answers the plain hit without URL resolution, DRF, or a trip
back to the event loop: a JSON body of known fields, a Bearer token this process resolved
recently, a preset or the default voice, and a result in this process's L1 under recently read
engine versions. The job row is committed before the answer leaves, as on the DRF path.

Everything else goes on to the DRF view unchanged: the first use of a token, session sign-in,
voices from the library, uploads, misses, and every error (this never answers one: input it does
not accept goes to DRF, which judges it). Both give the same answer (tested side by side).

It is sync on purpose. Under ASGI, Django runs a chain of sync middleware in one thread; with
every middleware async-capable, each hook of Django's own (MiddlewareMixin) middleware is a thread
hop of its own, about a dozen per request. Being sync and innermost keeps the chain sync for
every request: in bench/cache_hit.py the bare view went from about 160 to about 270 requests per
second on the 2-core development machine (separate runs, before and after).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed, SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.urls import get_script_prefix, reverse
from django.utils.cache import patch_vary_headers
from django.utils.functional import cached_property
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from accounts.models import ApiToken
from accounts.selectors import api_token_resolved_recently
from accounts.tokens import parse_bearer
from glmtts_site.errors import ApiError
from glmtts_site.parsers import json_loads_untrusted
from glmtts_site.resilience import TRANSIENT_ERRORS
from synthesis.apis import SynthesisCollectionApi
from synthesis.jobs.history import history_insert
from synthesis.models import SynthesisJob
from synthesis.serializers import SUBMIT_FIELDS, JobOutputSerializer, validated_by_fields
from synthesis.submit.services import local_cache_hit
from synthesis.submit.voice_input import submit_args

_PLAIN_FIELDS = SUBMIT_FIELDS.keys() - {"voice_id", "voice_share", "reference_audio"}
# Errors after which DRF gives the answer: its own error answer, or the hit retried on its connection.
_FALL_THROUGH: tuple[type[BaseException], ...] = (serializers.ValidationError, ApiError, *TRANSIENT_ERRORS)
_PLAIN_ACCEPT = {"", "*/*", "application/json"}  # what DRF's negotiation answers with plain JSON


class CacheHitMiddleware:
    sync_capable = True
    async_capable = False  # see the module

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if not settings.CACHE_HIT_FAST_PATH:
            raise MiddlewareNotUsed("CACHE_HIT_FAST_PATH is off")
        self.get_response = get_response
        self.drf_headers = _drf_response_headers()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path_info == self.submit_path_info:
            job = plain_cache_hit(request)
            if job is not None:
                return self._json_response(job)
        return self.get_response(request)

    @cached_property
    def submit_path_info(self) -> str:
        """The submit URL as request.path_info holds it (without the script prefix)."""
        return "/" + reverse("api-syntheses")[len(get_script_prefix()):]

    def _json_response(self, job: SynthesisJob) -> HttpResponse:
        """The 200 that DRF's view gives for a hit: same body (its renderer), same headers."""
        body = JSONRenderer().render(JobOutputSerializer(job).data)
        response = HttpResponse(body, content_type="application/json")
        for name, value in self.drf_headers.items():
            if name == "Vary":
                patch_vary_headers(response, [value])
            else:
                response[name] = value
        return response


def plain_cache_hit(request: HttpRequest) -> SynthesisJob | None:
    """The saved job of a plain hit (see the module), or None: the request is DRF's to answer."""
    token = _recent_bearer_token(request)
    fields = _plain_json_fields(request) if token is not None else None
    if token is None or fields is None:
        return None
    try:
        args = submit_args(token.user, validated_by_fields(fields))
        job = local_cache_hit(owner=token.user, **args.as_kwargs())
        if job is not None:
            history_insert(job)
    except _FALL_THROUGH:
        return None  # DRF gives the answer: the error, or a retry of the hit on the request's connection
    return job


def _recent_bearer_token(request: HttpRequest) -> ApiToken | None:
    bearer = parse_bearer(request.headers.get("Authorization", ""))
    return api_token_resolved_recently(raw=bearer.token) if bearer.token is not None else None


def _plain_json_fields(request: HttpRequest) -> dict[str, Any] | None:
    """The JSON object of a plain submit, parsed as DRF's JSONParser would; None for anything else."""
    charset = (request.content_params or {}).get("charset", "utf-8").lower()
    if (request.content_type != "application/json" or charset not in ("utf-8", "utf8") or request.GET
            or request.headers.get("Accept", "").strip() not in _PLAIN_ACCEPT):
        return None
    try:
        fields = json_loads_untrusted(request.body)
    except (ValueError, SuspiciousOperation):  # malformed or too large: DRF answers it
        return None
    if type(fields) is not dict or not fields.keys() <= _PLAIN_FIELDS:
        return None
    return fields


def _drf_response_headers() -> dict[str, str]:
    """Allow (and Vary) as DRF's view sets them; set up as as_view does (which adds HEAD to GET)."""
    view = SynthesisCollectionApi()
    view.setup(HttpRequest())
    return dict(view.default_response_headers)
