"""Voice library API (and seed 001's /api/voices). One view class per operation."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import authenticated_user
from glmtts_site.edge import PRIVATE, ranged_file_response
from glmtts_site.pagination import BoundedLimitOffsetPagination, page_of
from glmtts_site.serializers import StrictBooleanField, StrictInputSerializer
from glmtts_site.stored_files import stored_file

from . import selectors, services
from .models import Visibility, Voice

VISIBILITIES = [Visibility.PRIVATE, Visibility.LINK, Visibility.PUBLIC]


class VoiceOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    language = serializers.CharField()
    visibility = serializers.CharField()
    is_preset = serializers.BooleanField()
    engine = serializers.CharField(source="engine_id")
    preset_name = serializers.CharField()
    mine = serializers.SerializerMethodField()
    duration_s = serializers.FloatField(allow_null=True)
    sample_rate = serializers.IntegerField(allow_null=True)
    audio_sha256 = serializers.CharField()
    warnings = serializers.ListField(child=serializers.CharField())
    voice_match = serializers.BooleanField(help_text="Engines that cannot clone match their preset to this voice.")
    prompt_text = serializers.CharField()
    prompt_source = serializers.CharField()
    transcript_state = serializers.CharField()
    detected_language = serializers.CharField()
    features = serializers.SerializerMethodField()
    audio_url = serializers.SerializerMethodField()
    share_url = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_mine(self, voice: Voice) -> bool:
        return voice.owner_id is not None and voice.owner_id == self.context.get("user_id")

    def get_features(self, voice: Voice) -> list[dict[str, Any]]:
        return [{"engine": f.engine_id, "engine_version": f.engine_version, "state": f.state, **f.summary}
                for f in voice.features.all()]

    def get_audio_url(self, voice: Voice) -> str | None:
        return f"/api/v1/voices/{voice.pk}/audio" if voice.audio else None

    def get_share_url(self, voice: Voice) -> str | None:
        if voice.visibility != Visibility.LINK or not self.get_mine(voice):
            return None
        return f"/api/v1/voices/{voice.pk}?share={voice.share_token}"


def _out(request: Request, voice: Voice | Any, *, many: bool = False) -> Any:
    return VoiceOutputSerializer(voice, many=many, context={"user_id": request.user.pk}).data


def _visible(request: Request, voice_id: str) -> Voice:
    try:
        return selectors.voice_get_for(user=authenticated_user(request), voice_id=voice_id,
                                       share_token=request.query_params.get("share", ""))
    except Voice.DoesNotExist:
        raise NotFound("No such voice.") from None


def _owned(request: Request, voice_id: str) -> Voice:
    try:
        return selectors.voice_get_owned(user=authenticated_user(request), voice_id=voice_id)
    except Voice.DoesNotExist:
        raise NotFound("No such voice.") from None


class VoiceListApi(APIView):
    @extend_schema(parameters=[OpenApiParameter("q", str), OpenApiParameter("limit", int),
                               OpenApiParameter("offset", int)],
                   responses=page_of(VoiceOutputSerializer, "VoicePage"), operation_id="api_v1_voices_list",
                   summary="My voices, public voices and presets")
    def get(self, request: Request) -> Response:
        voices = selectors.voice_list_for(user=authenticated_user(request), search=request.query_params.get("q", ""))
        paginator = BoundedLimitOffsetPagination()
        page = paginator.paginate_queryset(voices.prefetch_related("features"), request, view=self)
        return paginator.get_paginated_response(_out(request, page, many=True))


class VoiceCreateApi(APIView):
    class InputSerializer(StrictInputSerializer):
        name = serializers.CharField(max_length=80)
        audio = serializers.FileField()
        prompt_text = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
        skip_whisper = serializers.BooleanField(required=False, default=False)
        description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
        language = serializers.ChoiceField(choices=["", "en", "zh"], required=False, default="")
        visibility = serializers.ChoiceField(choices=VISIBILITIES, required=False, default=Visibility.PRIVATE)

    @extend_schema(request={"multipart/form-data": InputSerializer}, responses={201: VoiceOutputSerializer},
                   summary="Upload a reference voice (2-30 s; WAV, FLAC, OGG or MP3; at most 10 MB)")
    def post(self, request: Request) -> Response:
        data = VoiceCreateApi.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        upload = fields.pop("audio")
        audio = services.upload_bytes(upload, field="audio")
        voice = services.voice_create(owner=authenticated_user(request), data=audio, filename=upload.name, **fields)
        return Response(_out(request, voice), status=status.HTTP_201_CREATED)


class VoiceCollectionApi(VoiceListApi, VoiceCreateApi):
    """GET lists, POST uploads."""


class VoiceDetailApi(APIView):
    @extend_schema(parameters=[OpenApiParameter("share", str)], responses=VoiceOutputSerializer, summary="One voice")
    def get(self, request: Request, voice_id: str) -> Response:
        return Response(_out(request, _visible(request, voice_id)))


class VoiceUpdateApi(APIView):
    class InputSerializer(StrictInputSerializer):
        name = serializers.CharField(max_length=80, required=False)
        description = serializers.CharField(max_length=500, required=False, allow_blank=True)
        prompt_text = serializers.CharField(max_length=1000, required=False, allow_blank=True)
        visibility = serializers.ChoiceField(choices=VISIBILITIES, required=False)
        voice_match = StrictBooleanField(required=False, help_text="Off: engines that cannot clone speak the "
                                                                   "plain preset of this voice's pitch range.")

    @extend_schema(request=InputSerializer, responses=VoiceOutputSerializer,
                   summary="Rename, edit the transcript, change who can see it, or switch voice matching")
    def patch(self, request: Request, voice_id: str) -> Response:
        data = VoiceUpdateApi.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        voice = services.voice_update(voice=_owned(request, voice_id), **data.validated_data)
        return Response(_out(request, voice))


class VoiceDeleteApi(APIView):
    @extend_schema(responses={204: None}, summary="Delete a voice (running jobs keep their copy)")
    def delete(self, request: Request, voice_id: str) -> Response:
        services.voice_delete(voice=_owned(request, voice_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class VoiceItemApi(VoiceDetailApi, VoiceUpdateApi, VoiceDeleteApi):
    """GET reads, PATCH edits, DELETE removes."""


class VoiceTranscribeApi(APIView):
    @extend_schema(request=None, responses={202: VoiceOutputSerializer}, summary="Transcribe the voice again")
    def post(self, request: Request, voice_id: str) -> Response:
        voice = services.voice_retranscribe(voice=_owned(request, voice_id))
        return Response(_out(request, voice), status=status.HTTP_202_ACCEPTED)


class VoiceAudioApi(APIView):
    @extend_schema(responses={(200, "audio/flac"): bytes}, summary="The canonical reference audio (preview)")
    def get(self, request: Request, voice_id: str) -> HttpResponseBase:
        voice = _visible(request, voice_id)
        stored = stored_file(voice.audio.name or "")
        if stored is None:
            raise NotFound("This voice has no reference audio.")
        django_request: HttpRequest = request._request
        return ranged_file_response(django_request, stored, content_type="audio/flac",
                                    etag=f'"{voice.audio_sha256}"', headers={
                                        "Cache-Control": PRIVATE,
                                        "Content-Disposition": f'inline; filename="{voice.original_filename}.flac"'})
