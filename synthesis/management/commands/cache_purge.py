"""`python manage.py cache_purge [--engine-version V] [--voice ID] [--all]`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from synthesis.results.cache_admin import cache_purge


class Command(BaseCommand):
    help = "Delete result-cache pointers by engine version, by voice, or all (stored files stay)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--engine-version", default=None)
        parser.add_argument("--voice", default=None, help="A preset name or voice key.")
        parser.add_argument("--all", action="store_true", dest="everything")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            purged = cache_purge(engine_version=options["engine_version"], voice=options["voice"],
                                 everything=options["everything"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Purged {purged} cache entries.")
