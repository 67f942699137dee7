"""`python manage.py create_api_token USERNAME [--create-user] [--name NAME]` prints a new token."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for a user and print it (shown only once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--create-user", action="store_true", help="Create the user if missing.")
        parser.add_argument("--name", default="cli", help="A name to recognise the token by.")

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        username: str = options["username"]
        user = user_model.objects.filter(username=username).first()
        if user is None:
            if not options["create_user"]:
                raise CommandError(f"No user {username!r}; pass --create-user to create one.")
            # No password login until the person sets one; the token is their way in.
            user = user_model.objects.create_user(username=username, password=secrets.token_urlsafe(24))
            user.set_unusable_password()
            user.save(update_fields=["password"])
        issued = api_token_create(user=user, name=options["name"])
        self.stdout.write(issued.raw)
