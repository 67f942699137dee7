"""`python manage.py run_worker [--device cpu|cuda:N]`: the inference worker process."""

from __future__ import annotations

import asyncio
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from workers.runner import WorkerRunner


def _valid_device(value: str) -> str:
    if value == "cpu" or (value.startswith("cuda:") and value[5:].isdigit()):
        return value
    raise CommandError(f"--device must be cpu or cuda:N, got {value!r}")


class Command(BaseCommand):
    help = "Run an inference worker: resident engines, Redis queue, heartbeats."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--device", default="cpu", help="cpu or cuda:N")
        parser.add_argument("--worker-id", default=None, help="Defaults to host:pid:random.")

    def handle(self, *args: Any, **options: Any) -> None:
        runner = WorkerRunner(device=_valid_device(options["device"]), worker_id=options["worker_id"])
        asyncio.run(runner.run())
