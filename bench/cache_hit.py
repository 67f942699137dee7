"""Cache-hit throughput: `POST /api/v1/syntheses` answered from the cache against a bare Django JSON
view (`GET /health`) on the same Daphne, measured side by side in one run.

    .venv/bin/python bench/cache_hit.py [--seconds 10] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import ROOT, cleanup_redis, device_line, setup_django, table

TEXT = "Most requests repeat, and a repeated request should never burn the GPU again."


async def _load(url: str, *, method: str, body: dict[str, str] | None, headers: dict[str, str], seconds: float,
                concurrency: int) -> tuple[int, list[float], int]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        async def user() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.request(method, url, json=body)
                latencies.append(time.perf_counter() - started)
                errors += response.status_code != 200
        await asyncio.gather(*(user() for _ in range(concurrency)))
    return len(latencies), latencies, errors


def _row(name: str, count: int, latencies: list[float], errors: int, seconds: float) -> list[str]:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return [name, f"{count / seconds:.0f}", f"{statistics.median(ordered) * 1000:.1f}", f"{p99 * 1000:.1f}",
            str(errors)]


def _serve(port: int, var_dir: Path) -> subprocess.Popen[bytes]:
    log = (var_dir / "daphne.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                             "glmtts_site.asgi:application"], cwd=ROOT, env=dict(os.environ), stdout=log,
                            stderr=subprocess.STDOUT)
    for _ in range(100):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("Daphne did not start")


def _first_result(var_dir: Path) -> None:
    """A real worker makes the audio once; then it leaves, so the benchmark measures the web side only."""
    from synthesis.events import follow_events
    from synthesis.services import job_create

    log = (var_dir / "worker.log").open("wb")
    worker = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "run_worker"], cwd=ROOT,
                              env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT)
    try:
        job = job_create(owner=None, text=TEXT)
        for _ in follow_events(str(job.id), timeout_s=300):
            pass
    finally:
        worker.terminate()
        worker.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--port", type=int, default=8790)
    args = parser.parse_args()
    var_dir = setup_django("cache")
    from django.contrib.auth.models import User

    from accounts.services import api_token_create

    user = User.objects.create_user("bench", password=None)
    token = api_token_create(user=user, name="bench").raw
    _first_result(var_dir)
    server = _serve(args.port, var_dir)
    base = f"http://127.0.0.1:{args.port}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        assert httpx.post(f"{base}/api/v1/syntheses", json={"text": TEXT}, headers=headers).json()["cache_hit"]
        run = {"seconds": args.seconds, "concurrency": args.concurrency, "headers": headers}
        asyncio.run(_load(f"{base}/health", method="GET", body=None, **run | {"seconds": 2}))  # warm-up
        bare = asyncio.run(_load(f"{base}/health", method="GET", body=None, **run))
        hits = asyncio.run(_load(f"{base}/api/v1/syntheses", method="POST", body={"text": TEXT}, **run))
    finally:
        server.terminate()
        server.wait(timeout=30)
        cleanup_redis()
    print(f"Device: {device_line()}; one Daphne process; {args.concurrency} concurrent clients; "
          f"{args.seconds:.0f} s each\n")
    print(table(["endpoint", "req/s", "p50 ms", "p99 ms", "errors"], [
        _row("GET /health (bare Django JSON view)", bare[0], bare[1], bare[2], args.seconds),
        _row("POST /api/v1/syntheses (cache hit)", hits[0], hits[1], hits[2], args.seconds)]))
    print(f"cache-hit throughput = {hits[0] / bare[0]:.2f} x the bare view")


if __name__ == "__main__":
    main()
