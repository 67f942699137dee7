"""The processes a fault run starts and breaks: a private Redis, web nodes and workers.

Everything runs against a throw-away VAR_DIR (SQLite there, or DATABASE_URL when it is set) and a
Redis server of its own, so the run can kill and restart Redis without touching anybody else's.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx
import redis

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")


class Procs:
    def __init__(self, var_dir: Path, env: dict[str, str]) -> None:
        from glmtts_site.stack import find_redis_server

        self.var_dir, self.env = var_dir, env
        self.redis_binary = find_redis_server()
        self.redis_port = free_port()
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.redis: subprocess.Popen[bytes] | None = None
        self.webs: dict[int, subprocess.Popen[bytes]] = {}
        self.workers: dict[str, subprocess.Popen[bytes]] = {}
        self._log_index = 0

    def _log(self, name: str) -> IO[bytes]:
        self._log_index += 1
        return (self.var_dir / f"{self._log_index:03d}-{name}.log").open("wb")

    # Redis ----------------------------------------------------------------------------------------
    def start_redis(self, *, aof: bool) -> None:
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if aof else ["--appendonly", "no"]
        self.redis = subprocess.Popen([self.redis_binary, "--port", str(self.redis_port), "--bind", "127.0.0.1",
                                       "--save", "", "--dir", str(self.var_dir), *persistence],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.redis_url, socket_connect_timeout=0.5)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_until(answers, 20, "Redis")

    def kill_redis(self) -> None:
        if self.redis is not None and self.redis.poll() is None:
            self.redis.kill()
            self.redis.wait()

    # Web nodes ------------------------------------------------------------------------------------
    def start_web(self, port: int | None = None) -> int:
        port = port or free_port()
        self.webs[port] = subprocess.Popen([sys.executable, "-m", "glmtts_site.serve", "-b", "127.0.0.1", "-p",
                                            str(port)], cwd=ROOT, env=self.env, stdout=self._log(f"web-{port}"),
                                           stderr=subprocess.STDOUT)

        def answers() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(answers, 60, f"web node {port}")
        return port

    def kill_web(self, port: int) -> None:
        proc = self.webs.pop(port)
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    # Workers --------------------------------------------------------------------------------------
    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "run_worker", "--worker-id", name],
                                cwd=ROOT, env=self.env, stdout=self._log(f"worker-{name}"), stderr=subprocess.STDOUT)
        self.workers[name] = proc
        return proc

    def alive_workers(self) -> list[str]:
        return [name for name, proc in self.workers.items() if proc.poll() is None]

    def signal_worker(self, name: str, sig: signal.Signals) -> None:
        proc = self.workers[name]
        proc.send_signal(sig)
        if sig == signal.SIGKILL:
            proc.wait()

    def stop_all(self) -> None:
        for proc in [*self.workers.values(), *self.webs.values()]:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.workers.clear()
        self.webs.clear()
        self.kill_redis()


def fault_env(var_dir: Path, redis_url: str) -> dict[str, str]:
    """The environment of every process of a run: fast queue timings, no per-user limits in the way."""
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "glmtts_site.settings.dev", "DEBUG": "false", "VAR_DIR": str(var_dir),
        "MEDIA_ROOT": str(var_dir / "media"), "REDIS_URL": redis_url, "REDIS_KEY_PREFIX": "faults",
        "ENGINE_CACHE_DIR": env.get("ENGINE_CACHE_DIR", str(ROOT / "var" / "cache")), "ENGINE_THREADS": "1",
        "QUEUE_VISIBILITY_TIMEOUT_S": "3", "QUEUE_RECONCILE_INTERVAL_S": "1", "QUEUE_RECONCILE_MIN_AGE_S": "2",
        "QUEUE_MAX_DELIVERIES": "20", "QUEUE_USER_SHARE": "8", "QUOTA_CONCURRENT_JOBS": "100",
        "QUOTA_CHARS_PER_DAY": "100000000", "WORKER_HEARTBEAT_INTERVAL_S": "1", "WORKER_HEARTBEAT_STALE_S": "4",
        "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1", "PRESET_PREVIEWS": "false",
        **{f"RATE_LIMIT_{name}": "off" for name in ("SUBMIT", "IP_COSTLY", "WS_CONNECT")},
        "WS_MAX_PER_USER": "500",
    })
    env.setdefault("DATABASE_URL", f"sqlite:///{var_dir / 'faults.sqlite3'}")
    return env
