from __future__ import annotations

from pathlib import Path

from glmtts_site.stack import ROOT, find_redis_server, private_redis_command, read_procfile


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
