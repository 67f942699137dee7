"""`python manage.py cache_stats`: hits, misses, hit rate, keys and memory, from shared counters."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from synthesis.results.cache_admin import cache_stats


class Command(BaseCommand):
    help = "Show result-cache statistics (counters shared by every process, in Redis)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        stats = cache_stats()
        row = {"hits": stats.hits, "misses": stats.misses, "hit_rate": round(stats.hit_rate, 4),
               "stale": stats.stale, "keys": stats.keys, "memory_bytes": stats.memory_bytes}
        if options["json"]:
            self.stdout.write(json.dumps(row))
        else:
            for key, value in row.items():
                self.stdout.write(f"{key:>13}: {value}")
