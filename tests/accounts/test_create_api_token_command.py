from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient


def test_prints_a_working_token_for_an_existing_user(owner: User, api: APIClient) -> None:
    out = StringIO()
    call_command("create_api_token", "owner", "--name", "deploy", stdout=out)
    raw = out.getvalue().strip()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/me").json()["username"] == "owner"


def test_create_user_flag_creates_a_user_without_a_usable_password(db: None) -> None:
    out = StringIO()
    call_command("create_api_token", "robot", "--create-user", stdout=out)
    robot = User.objects.get(username="robot")
    assert not robot.has_usable_password()
    assert out.getvalue().startswith("gtts_")


def test_unknown_user_without_flag_fails(db: None) -> None:
    with pytest.raises(CommandError, match="--create-user"):
        call_command("create_api_token", "ghost")
