"""Fault injection under load, with real processes; prints one table row per fault.

    .venv/bin/python -m bench.faults [--kills 50] [--sigterms 5] [--only sigkill,redis,...]

Scenarios: SIGKILL of workers mid-job; SIGTERM mid-job (hand-back); Redis restarted without and with
persistence (AOF); every database connection killed (PostgreSQL only, with DATABASE_URL); a web node
SIGKILLed while clients follow jobs through it. Columns: jobs done / failed / stuck (not final when the
run ends), 5xx on reads and on submits, chunk gaps and duplicates seen by resuming websocket clients,
followers that never heard the end, workers that exited unasked, workers alive at the end, and
recovery, p50 and max: for a killed worker, the kill -> its job running again elsewhere; for an
outage (Redis restart, database connections killed), the longest time queued work then waited
while a worker sat idle.
Queue timings are shortened (visibility timeout 3 s) so that a run takes minutes.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.common import device_line, table
from bench.faults.clients import Api, Followers
from bench.faults.procs import Procs, fault_env
from bench.faults.scenarios import Load, Row, describe, kill_workers, longest_idle_wait, wait_for_serving

HEADERS = ["fault", "injected", "jobs", "done", "failed", "stuck", "read 5xx", "submit 5xx", "chunk gaps",
           "duplicate chunks", "followers without end", "worker exits", "workers alive", "recovery p50 s",
           "recovery max s", "note"]


def setup(var_dir: Path) -> str:
    """Django in this process (the run's database), one user and its API token."""
    os.environ.update(fault_env(var_dir, "redis://127.0.0.1:1/0"))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import User

    from accounts.models import ApiToken
    from accounts.tokens import display_prefix, new_raw_token, token_digest

    raw = new_raw_token()
    user = User.objects.create_user("faults", password=None)
    ApiToken.objects.create(user=user, name="faults", prefix=display_prefix(raw), digest=token_digest(raw))
    return raw


@contextmanager
def stack(var_dir: Path, token: str, *, webs: int, workers: int, aof: bool = False) -> Iterator[
        tuple[Procs, Api, Followers]]:
    from django.conf import settings

    from glmtts_site.redis_conn import _client_for

    procs = Procs(var_dir, {})
    procs.env = fault_env(var_dir, procs.redis_url)
    settings.REDIS_URL = procs.redis_url
    _client_for.cache_clear()
    procs.start_redis(aof=aof)
    ports = [procs.start_web() for _ in range(webs)]
    for index in range(workers):
        procs.start_worker(f"w{index}")
    wait_for_serving(procs, workers)
    followers = Followers(ports, token)
    try:
        yield procs, Api(ports, token), followers
    finally:
        followers.close()
        procs.stop_all()


def run_kills(var_dir: Path, token: str, name: str, sig: signal.Signals, kills: int) -> Row:
    row = Row(name)
    with stack(var_dir, token, webs=1, workers=3) as (procs, api, followers):
        # One worker more than jobs in flight: a job that loses its worker finds a free one, so its
        # recovery time is the queue's (the visibility timeout for SIGKILL, at once for a hand-back).
        load = Load(api, followers, in_flight=2)
        signalled: set[str] = set()

        def spawn() -> None:
            signalled.update(name for name in procs.workers if procs.workers[name].poll() is not None)
            procs.start_worker(f"r{len(procs.workers)}")

        kill_workers(procs, load, row, kills=kills, sig=sig, spawn=spawn)
        load.finish(row, grace_s=240)
        signalled.update(name for name in procs.workers if procs.workers[name].poll() is not None)
        row.workers_alive = len(procs.alive_workers())
        expected = sig == signal.SIGKILL or all(procs.workers[n].returncode == 0 for n in signalled)
        row.note = "signalled workers exited 0 (hand-back)" if sig == signal.SIGTERM and expected else row.note
    return row


def run_redis_restart(var_dir: Path, token: str, *, aof: bool, restarts: int = 2) -> Row:
    row = Row(f"Redis restart ({'AOF' if aof else 'no persistence'}), 3 s down")
    with stack(var_dir, token, webs=1, workers=2, aof=aof) as (procs, api, followers):
        load = Load(api, followers, in_flight=3)
        time.sleep(8)
        for _ in range(restarts):
            procs.kill_redis()
            time.sleep(3)
            procs.start_redis(aof=aof)
            row.faults += 1
            row.recoveries.append(longest_idle_wait(procs, load, window_s=25))
        load.finish(row, grace_s=240)
        row.worker_exits = 2 - len(procs.alive_workers())
        row.workers_alive = len(procs.alive_workers())
    row.note = "submits during the outage answer 503 (documented)"
    return row


def run_db_kill(var_dir: Path, token: str, kills: int = 4) -> Row:
    from django.db import connection

    row = Row("all database connections killed")
    if connection.vendor != "postgresql":
        row.note = "skipped: needs PostgreSQL (DATABASE_URL)"
        return row
    with stack(var_dir, token, webs=1, workers=2) as (procs, api, followers):
        load = Load(api, followers, in_flight=3)
        time.sleep(8)
        for _ in range(kills):
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            row.faults += 1
            row.recoveries.append(longest_idle_wait(procs, load, window_s=25))
        load.finish(row, grace_s=240)
        row.worker_exits = 2 - len(procs.alive_workers())
        row.workers_alive = len(procs.alive_workers())
    return row


def run_web_kill(var_dir: Path, token: str, kills: int = 3) -> Row:
    row = Row("web node SIGKILLed while clients follow")
    with stack(var_dir, token, webs=2, workers=2) as (procs, api, followers):
        load = Load(api, followers, in_flight=4)
        for index in range(kills):
            time.sleep(6)
            port = api.ports[index % 2]
            procs.kill_web(port)
            row.faults += 1
            killed_at = time.monotonic()
            procs.start_web(port)
            row.recoveries.append(time.monotonic() - killed_at)
        load.finish(row, grace_s=240)
        row.worker_exits = 2 - len(procs.alive_workers())
        row.workers_alive = len(procs.alive_workers())
    row.note = "recovery: the node answering again; followers resume on the other node meanwhile"
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=50, help="worker SIGKILLs mid-job")
    parser.add_argument("--sigterms", type=int, default=5, help="worker SIGTERMs mid-job")
    parser.add_argument("--only", default="sigkill,sigterm,redis,redis-aof,db,web")
    args = parser.parse_args()
    var_dir = Path(tempfile.mkdtemp(prefix="glmtts-faults-"))
    token = setup(var_dir)
    runs = {"sigkill": lambda: run_kills(var_dir, token, "worker SIGKILL mid-job", signal.SIGKILL, args.kills),
            "sigterm": lambda: run_kills(var_dir, token, "worker SIGTERM mid-job", signal.SIGTERM, args.sigterms),
            "redis": lambda: run_redis_restart(var_dir, token, aof=False),
            "redis-aof": lambda: run_redis_restart(var_dir, token, aof=True),
            "db": lambda: run_db_kill(var_dir, token), "web": lambda: run_web_kill(var_dir, token)}
    rows = []
    for name in args.only.split(","):
        started = time.monotonic()
        try:
            rows.append(runs[name]())
        except Exception as exc:  # one scenario that cannot finish must not lose the others' rows
            rows.append(Row(name, note=f"bench could not finish: {type(exc).__name__}: {exc}"))
        print(f"  {rows[-1].scenario}: {time.monotonic() - started:.0f} s;",
              " | ".join(str(cell) for cell in describe(rows[-1])), flush=True)
    print(f"\nDevice: {device_line()}; visibility timeout 3 s; logs in {var_dir}\n")
    print(table(HEADERS, [[str(cell) for cell in describe(row)] for row in rows]))


if __name__ == "__main__":
    main()
