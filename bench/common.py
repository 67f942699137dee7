"""Shared set-up for benchmarks: an isolated Django environment (temp DB, own Redis prefix)."""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django(tag: str) -> Path:
    """Point Django at a throw-away SQLite DB and a private Redis key prefix, then migrate."""
    var_dir = Path(tempfile.mkdtemp(prefix=f"glmtts-bench-{tag}-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "glmtts_site.settings.dev")
    os.environ["VAR_DIR"] = str(var_dir)
    os.environ["ENGINE_CACHE_DIR"] = os.environ.get("ENGINE_CACHE_DIR", str(ROOT / "var" / "cache"))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{var_dir / 'bench.sqlite3'}")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
    os.environ["REDIS_KEY_PREFIX"] = f"bench:{tag}:{uuid.uuid4().hex[:8]}"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["PRESET_PREVIEWS"] = "false"  # no background jobs beside the measured ones
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return var_dir


def cleanup_redis() -> None:
    from django.conf import settings

    from glmtts_site.redis_conn import get_redis

    client = get_redis()
    for key in client.scan_iter(match=f"{settings.REDIS_KEY_PREFIX}*", count=500):
        client.delete(key)


def device_line() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    system = f"{platform.system()} {platform.machine()}, Python {platform.python_version()}"
    return f"{model}, {os.cpu_count()} cores, {system}"


def table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
