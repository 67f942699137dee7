"""Seed 001's `GET /api/voices` and `POST /api/voices` (multipart `audio`, `text`, `name`)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import authenticated_user
from glmtts_site.serializers import StrictInputSerializer

from . import selectors, services
from .apis import VoiceOutputSerializer


class SeedVoicesApi(APIView):
    class ListSerializer(serializers.Serializer):
        voices = VoiceOutputSerializer(many=True)
        count = serializers.IntegerField()

    class CreatedSerializer(VoiceOutputSerializer):
        voice_id = serializers.UUIDField(help_text="Seed 001's name for id.")

    class InputSerializer(StrictInputSerializer):
        audio = serializers.FileField()
        text = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
        name = serializers.CharField(max_length=80, required=False, default="My voice")

    @extend_schema(responses=ListSerializer, summary="Seed 001: list voices")
    def get(self, request: Request) -> Response:
        voices = selectors.voice_list_for(user=authenticated_user(request))
        data = VoiceOutputSerializer(voices, many=True, context={"user_id": request.user.pk}).data
        return Response({"voices": data, "count": len(data)})

    @extend_schema(request={"multipart/form-data": InputSerializer}, responses={201: CreatedSerializer},
                   summary="Seed 001: upload a voice")
    def post(self, request: Request) -> Response:
        data = SeedVoicesApi.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["audio"]
        voice = services.voice_create(owner=authenticated_user(request), name=data.validated_data["name"],
                                      data=services.upload_bytes(upload, field="audio"), filename=upload.name,
                                      prompt_text=data.validated_data["text"])
        body = VoiceOutputSerializer(voice, context={"user_id": request.user.pk}).data
        return Response({"voice_id": str(voice.pk), **body}, status=status.HTTP_201_CREATED)
