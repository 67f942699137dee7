"""Account APIs: who am I, password change, API tokens. One view class per operation."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from drf_spectacular.utils import extend_schema
from redis.exceptions import RedisError
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from glmtts_site.serializers import StrictInputSerializer
from synthesis.jobs.quotas import characters_left

from . import selectors, services
from .models import ApiToken


class TokenOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at", "is_active"]


def _characters_left(user_id: int) -> int | None:
    try:
        return characters_left(user_id)
    except RedisError:
        return None  # unknown right now; the page still works


class MeApi(APIView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        email = serializers.CharField(help_text="May be empty.")
        is_staff = serializers.BooleanField()
        date_joined = serializers.DateTimeField()
        auth = serializers.CharField(help_text="How this request was authenticated: session or token.")
        characters_left_today = serializers.IntegerField(allow_null=True)
        characters_per_day = serializers.IntegerField()
        concurrent_jobs = serializers.IntegerField()

    @extend_schema(responses=OutputSerializer, summary="The signed-in user")
    def get(self, request: Request) -> Response:
        user = selectors.authenticated_user(request)
        data = {
            "id": user.pk,
            "username": user.get_username(),
            "email": getattr(user, "email", ""),
            "is_staff": user.is_staff,
            "date_joined": getattr(user, "date_joined", None),
            "auth": "token" if isinstance(request.auth, ApiToken) else "session",
            "characters_left_today": _characters_left(user.pk),
            "characters_per_day": settings.QUOTA_CHARS_PER_DAY,
            "concurrent_jobs": settings.QUOTA_CONCURRENT_JOBS,
        }
        return Response(self.OutputSerializer(data).data)


class PasswordChangeApi(APIView):
    class InputSerializer(StrictInputSerializer):
        old_password = serializers.CharField(max_length=128, trim_whitespace=False)
        new_password = serializers.CharField(max_length=128, trim_whitespace=False)

    @extend_schema(request=InputSerializer, responses={204: None}, summary="Change my password")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = selectors.authenticated_user(request)
        services.password_change(user=user, **data.validated_data)
        if not isinstance(request.auth, ApiToken):
            update_session_auth_hash(request._request, user)  # keep this browser signed in
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenListApi(APIView):
    @extend_schema(responses=TokenOutputSerializer(many=True), summary="List my API tokens")
    def get(self, request: Request) -> Response:
        tokens = selectors.api_token_list_for(user=selectors.authenticated_user(request))
        return Response(TokenOutputSerializer(tokens, many=True).data)


class TokenCreateApi(APIView):
    class InputSerializer(StrictInputSerializer):
        name = serializers.CharField(max_length=80)

    class OutputSerializer(TokenOutputSerializer):
        token = serializers.CharField(help_text="The secret; shown only in this response.")

        class Meta(TokenOutputSerializer.Meta):
            fields = [*TokenOutputSerializer.Meta.fields, "token"]

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer}, summary="Create an API token")
    def post(self, request: Request) -> Response:
        data = TokenCreateApi.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = selectors.authenticated_user(request)
        issued = services.api_token_create(user=user, name=data.validated_data["name"])
        issued.token.token = issued.raw  # type: ignore[attr-defined]
        return Response(TokenCreateApi.OutputSerializer(issued.token).data, status=status.HTTP_201_CREATED)


class TokenCollectionApi(TokenListApi, TokenCreateApi):
    """GET lists, POST creates: two operations that share the collection URL."""


class TokenRevokeApi(APIView):
    @extend_schema(responses={204: None}, summary="Revoke an API token")
    def delete(self, request: Request, token_id: int) -> Response:
        try:
            token = selectors.api_token_get_for(user=selectors.authenticated_user(request), token_id=token_id)
        except ApiToken.DoesNotExist:
            raise NotFound("No such token.") from None
        services.api_token_revoke(token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)
