from __future__ import annotations

from django.urls import path

from . import apis

urlpatterns = [
    path("me", apis.MeApi.as_view(), name="api-me"),
    path("me/password", apis.PasswordChangeApi.as_view(), name="api-password-change"),
    path("tokens", apis.TokenCollectionApi.as_view(), name="api-tokens"),
    path("tokens/<int:token_id>", apis.TokenRevokeApi.as_view(), name="api-token-revoke"),
]
