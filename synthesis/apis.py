"""Synthesis REST API: submit, list, get, cancel, delete; preset previews. One view class per operation."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import authenticated_user
from glmtts_site.negotiation import RememberingContentNegotiation
from glmtts_site.pagination import BoundedLimitOffsetPagination, page_of
from synthesis.jobs import selectors
from synthesis.jobs.control import job_cancel, job_delete
from synthesis.models import JobStatus, SynthesisJob
from synthesis.serializers import JobOutputSerializer, SynthesisInputSerializer, validated_submit_input
from synthesis.submit.previews import preview_list
from synthesis.submit.services import synthesis_submit
from synthesis.submit.voice_input import submit_args


def submit_from_validated(request: Request, data: dict[str, Any]) -> SynthesisJob:
    user = authenticated_user(request)
    return synthesis_submit(owner=user, **submit_args(user, data).as_kwargs()).job


class SynthesisCreateApi(APIView):
    content_negotiation_class = RememberingContentNegotiation  # cache hits are hot; see the module

    @extend_schema(request={"application/json": SynthesisInputSerializer,
                            "multipart/form-data": SynthesisInputSerializer},
                   responses={200: JobOutputSerializer, 202: JobOutputSerializer},
                   summary="Submit a synthesis: 200 with audio URLs on a cache hit, else 202 with the job")
    def post(self, request: Request) -> Response:
        job = submit_from_validated(request, validated_submit_input(request.data))
        code = status.HTTP_200_OK if job.cache_hit else status.HTTP_202_ACCEPTED
        return Response(JobOutputSerializer(job).data, status=code)


class SynthesisListApi(APIView):
    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=JobStatus.choices, required=False)
        engine = serializers.CharField(required=False)
        cache_hit = serializers.BooleanField(required=False, allow_null=True, default=None)

    @extend_schema(parameters=[FilterSerializer, OpenApiParameter("limit", int), OpenApiParameter("offset", int)],
                   responses=page_of(JobOutputSerializer, "JobPage"), operation_id="api_v1_syntheses_list",
                   summary="My syntheses, newest first")
    def get(self, request: Request) -> Response:
        filters = SynthesisListApi.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data
        jobs = selectors.job_list_for(user=authenticated_user(request), filters={
            "status": wanted.get("status"), "engine_id": wanted.get("engine"), "cache_hit": wanted.get("cache_hit")})
        paginator = BoundedLimitOffsetPagination()
        page = paginator.paginate_queryset(jobs, request, view=self)
        return paginator.get_paginated_response(JobOutputSerializer(page, many=True).data)


class SynthesisCollectionApi(SynthesisListApi, SynthesisCreateApi):
    """GET lists, POST submits: two operations on the collection URL."""


def _own_job(request: Request, job_id: str) -> SynthesisJob:
    try:
        return selectors.job_get_for(user=authenticated_user(request), job_id=job_id)
    except SynthesisJob.DoesNotExist:
        raise NotFound("No such synthesis.") from None


class SynthesisDetailApi(APIView):
    @extend_schema(responses=JobOutputSerializer, summary="One synthesis")
    def get(self, request: Request, job_id: str) -> Response:
        return Response(JobOutputSerializer(_own_job(request, job_id)).data)


class SynthesisDeleteApi(APIView):
    @extend_schema(responses={204: None}, summary="Delete a synthesis (cancels it first if it is running)")
    def delete(self, request: Request, job_id: str) -> Response:
        job_delete(job=_own_job(request, job_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SynthesisItemApi(SynthesisDetailApi, SynthesisDeleteApi):
    """GET reads, DELETE deletes: two operations on the item URL."""


class SynthesisCancelApi(APIView):
    @extend_schema(request=None, responses={202: JobOutputSerializer}, summary="Cancel a queued or running synthesis")
    def post(self, request: Request, job_id: str) -> Response:
        job = job_cancel(job=_own_job(request, job_id))
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class PreviewListApi(APIView):
    class OutputSerializer(serializers.Serializer):
        engine = serializers.CharField()
        voice = serializers.CharField(help_text="The preset's name (a system voice's preset_name).")
        text = serializers.CharField()
        audio_url = serializers.CharField(help_text="Public, content-addressed audio (MP3).")
        duration = serializers.FloatField()

    @extend_schema(responses=inline_serializer("PreviewList", {"previews": OutputSerializer(many=True)}),
                   summary="A short sample of each preset voice (made once per engine version by a worker)")
    def get(self, request: Request) -> Response:
        previews = preview_list()
        return Response({"previews": PreviewListApi.OutputSerializer(previews, many=True).data})
