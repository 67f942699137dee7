"""`python manage.py cache_warm PHRASES.txt --voice ID`: pre-generate common phrases (seed 003)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from synthesis.submit.cache_warm import warm_phrases


class Command(BaseCommand):
    help = "Queue one synthesis per line of a phrase file, so they answer from the cache later."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("phrases", type=Path)
        parser.add_argument("--voice", default="", help="Preset voice name.")
        parser.add_argument("--engine", default="")
        parser.add_argument("--format", default="wav", choices=["wav", "mp3", "ogg", "flac"])
        parser.add_argument("--wait", action="store_true", help="Wait until every phrase is done.")

    def handle(self, *args: Any, **options: Any) -> None:
        lines = options["phrases"].read_text(encoding="utf-8").splitlines()
        report = warm_phrases(lines, voice=options["voice"], engine_id=options["engine"], fmt=options["format"],
                              wait=options["wait"])
        self.stdout.write(f"{report.cached} already cached, {report.queued} queued"
                          + (f", {report.done} done" if options["wait"] else "") + ".")
