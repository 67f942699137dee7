from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from glmtts_site.stack import ROOT, find_redis_server, private_redis_command, read_procfile
from glmtts_site.stack_state import clear_stack_state, running_stack_redis_url, write_stack_state


def test_procfile_runs_web_and_worker() -> None:
    entries = read_procfile(ROOT / "Procfile")
    assert set(entries) == {"web", "worker"}
    assert entries["web"] == "python -m glmtts_site.serve"  # Daphne with our limits (glmtts_site.serve)
    assert "run_worker" in entries["worker"]


def test_private_redis_keeps_its_data_under_var(tmp_path: Path) -> None:
    command, url = private_redis_command(tmp_path)
    assert command.startswith(find_redis_server())
    assert f"--dir {tmp_path / 'redis'}" in command and "--bind 127.0.0.1" in command
    assert url.startswith("redis://127.0.0.1:")


def test_a_running_stack_is_found_by_its_state_file(tmp_path: Path) -> None:
    assert running_stack_redis_url(tmp_path) is None
    write_stack_state(tmp_path, redis_url="redis://127.0.0.1:6390/0")
    assert running_stack_redis_url(tmp_path) == "redis://127.0.0.1:6390/0"
    clear_stack_state(tmp_path)
    assert running_stack_redis_url(tmp_path) is None


def test_a_dead_stack_is_not_found(tmp_path: Path) -> None:
    state = write_stack_state(tmp_path, redis_url="redis://127.0.0.1:6390/0")
    state.write_text(json.dumps({"redis_url": "redis://127.0.0.1:6390/0", "pid": 2**22 + 12345}))
    assert running_stack_redis_url(tmp_path) is None


def test_commands_of_the_checkout_use_the_running_stacks_redis(tmp_path: Path) -> None:
    """With REDIS_URL unset, a second terminal's `manage.py ...` reaches the private Redis of `make run`."""
    write_stack_state(tmp_path, redis_url="redis://127.0.0.1:6391/0")  # "the stack" is this test process
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(VAR_DIR=str(tmp_path), SECRET_KEY="x" * 50)
    code = "import django; django.setup(); from django.conf import settings; print(settings.REDIS_URL)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE":
                         "glmtts_site.settings.dev"}, capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "redis://127.0.0.1:6391/0"
