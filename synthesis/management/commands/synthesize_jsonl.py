"""`python manage.py synthesize_jsonl FILE --out DIR`: upstream GLM-TTS batch JSONL through queue and cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from synthesis.submit.batch import parse_jsonl, run_batch


class Command(BaseCommand):
    help = "Synthesize every line of an upstream-style JSONL file (uttid, prompt_text, prompt_speech, syn_text)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("jsonl", type=Path)
        parser.add_argument("--out", required=True, type=Path)
        parser.add_argument("--engine", default="")
        parser.add_argument("--format", default="wav", choices=["wav", "mp3", "ogg", "flac"])
        parser.add_argument("--timeout", type=float, default=3600.0)

    def handle(self, *args: Any, **options: Any) -> None:
        lines, errors = parse_jsonl(options["jsonl"])
        for where, message in errors.items():
            self.stderr.write(f"skipped {where}: {message}")
        if not lines:
            raise CommandError("No usable lines in the file.")
        with tqdm(total=len(lines), unit="utt", file=self.stderr._out) as bar:
            report = run_batch(lines, options["out"], engine_id=options["engine"] or settings.DEFAULT_ENGINE,
                               fmt=options["format"], timeout_s=options["timeout"], on_progress=bar.update)
        for uttid, reason in report.failed.items():
            self.stderr.write(f"failed {uttid}: {reason}")
        self.stdout.write(f"{len(report.written)} written to {options['out']} ({report.cached} from cache), "
                          f"{len(report.failed)} failed, {len(errors)} skipped.")
        if report.failed:
            raise CommandError(f"{len(report.failed)} utterance(s) failed.")
