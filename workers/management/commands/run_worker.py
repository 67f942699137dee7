"""`python manage.py run_worker [--engine ID ...] [--device cpu|cuda:N]`: the inference worker."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from workers.engine_registry import ENGINE_SPECS
from workers.runner import EXIT_WEDGED, WorkerRunner


def _valid_device(value: str) -> str:
    if value == "cpu" or (value.startswith("cuda:") and value[5:].isdigit()):
        return value
    raise CommandError(f"--device must be cpu or cuda:N, got {value!r}")


class Command(BaseCommand):
    help = "Run an inference worker: resident engines, Redis queue, heartbeats."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--engine", action="append", dest="engines",
                            help=f"Engine to load (repeatable); default {settings.WORKER_ENGINES}. "
                                 f"Known: {', '.join(sorted(ENGINE_SPECS))}.")
        parser.add_argument("--device", default="cpu", help="cpu or cuda:N")
        parser.add_argument("--worker-id", default=None, help="Defaults to host:pid:random.")

    def handle(self, *args: Any, **options: Any) -> None:
        engines = options["engines"] or list(settings.WORKER_ENGINES)
        unknown = sorted(set(engines) - set(ENGINE_SPECS))
        if unknown:
            raise CommandError(f"Unknown engine(s) {unknown}; known: {sorted(ENGINE_SPECS)}")
        runner = WorkerRunner(device=_valid_device(options["device"]), engine_ids=engines,
                              worker_id=options["worker_id"])
        asyncio.run(runner.run())
        if runner.threads_left_behind:  # a thread stuck in an engine would keep the interpreter from exiting
            logging.shutdown()
            os._exit(runner.exit_code or EXIT_WEDGED)
        if runner.exit_code:
            sys.exit(runner.exit_code)
