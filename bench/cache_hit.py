"""Cache-hit throughput: `POST /api/v1/syntheses` answered from the cache against a bare Django JSON
view (`GET /health`) on the same Daphne, measured side by side in one run.

    .venv/bin/python bench/cache_hit.py [--seconds 10] [--concurrency 16] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import ROOT, cleanup_redis, device_line, setup_django, table

TEXT = "Most requests repeat, and a repeated request should never burn the GPU again."


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed_s: float = 0.0  # until the last request of each slice returned, not just the deadline

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed_s


async def _load(url: str, *, method: str, body: dict[str, str] | None, headers: dict[str, str], seconds: float,
                concurrency: int, into: Load) -> None:
    started_at = time.perf_counter()
    deadline = started_at + seconds
    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        async def user() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.request(method, url, json=body)
                into.latencies.append(time.perf_counter() - started)
                into.errors += response.status_code != 200
        await asyncio.gather(*(user() for _ in range(concurrency)))
    into.elapsed_s += time.perf_counter() - started_at


def _interleaved(targets: dict[str, tuple[str, str, dict[str, str] | None]], *, headers: dict[str, str],
                 seconds: float, concurrency: int, rounds: int) -> dict[str, Load]:
    """Each target gets `seconds` in all, in `rounds` alternating slices, so a machine that speeds up or
    slows down during the run (other load, CPU clocks) weighs on both sides alike."""
    totals = {name: Load() for name in targets}
    for _ in range(rounds):
        for name, (url, method, body) in targets.items():
            asyncio.run(_load(url, method=method, body=body, headers=headers, seconds=seconds / rounds,
                              concurrency=concurrency, into=totals[name]))
    return totals


def _row(name: str, load: Load) -> list[str]:
    ordered = sorted(load.latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return [name, f"{load.rate:.0f}", f"{statistics.median(ordered) * 1000:.1f}", f"{p99 * 1000:.1f}",
            str(load.errors)]


def _serve(port: int, var_dir: Path) -> subprocess.Popen[bytes]:
    log = (var_dir / "daphne.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "glmtts_site.serve", "-b", "127.0.0.1", "-p", str(port)],
                            cwd=ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT)
    for _ in range(100):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("Daphne did not start")


def _first_result(var_dir: Path) -> None:
    """A real worker makes the audio once; then it leaves, so the benchmark measures the web side only."""
    from synthesis.jobs.events import follow_events
    from synthesis.jobs.services import job_create

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
    parser.add_argument("--rounds", type=int, default=5, help="alternating slices per endpoint")
    parser.add_argument("--port", type=int, default=8790)
    args = parser.parse_args()
    # The limits stay on, so their checks (one Redis call each per hit) are part of what is measured; only
    # their rates are raised, for 16 clients sharing one token and one address.
    for name in ("SUBMIT", "IP_COSTLY"):
        os.environ.setdefault(f"RATE_LIMIT_{name}", "1000000000/min")
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
        targets = {"bare": (f"{base}/health", "GET", None),
                   "hits": (f"{base}/api/v1/syntheses", "POST", {"text": TEXT})}
        run = {"headers": headers, "concurrency": args.concurrency}
        warm_up = _interleaved(targets, seconds=4, rounds=2, **run)  # both sides alike
        results = _interleaved(targets, seconds=args.seconds, rounds=args.rounds, **run)
        bare, hits = results["bare"], results["hits"]
        submitted = 1 + len(warm_up["hits"].latencies) + len(hits.latencies)
    finally:
        server.terminate()
        server.wait(timeout=30)
        cleanup_redis()
    print(f"Device: {device_line()}; one Daphne process; {args.concurrency} concurrent clients; "
          f"{args.seconds:.0f} s each, in {args.rounds} alternating rounds\n")
    print(table(["endpoint", "req/s", "p50 ms", "p99 ms", "errors"], [
        _row("GET /health (bare Django JSON view)", bare), _row("POST /api/v1/syntheses (cache hit)", hits)]))
    print(f"cache-hit throughput = {hits.rate / bare.rate:.2f} x the bare view")
    _check_history(user, submitted)


def _check_history(user: Any, submitted: int) -> None:
    """Every hit must have left its job row in the user's history (nothing skipped to go faster)."""
    from synthesis.models import SynthesisJob

    recorded = SynthesisJob.objects.filter(owner=user, cache_hit=True).count()
    print(f"history rows recorded for the hits: {recorded} of {submitted} submits")
    if recorded != submitted:
        raise SystemExit("Some cache hits were not recorded in the user's history.")


if __name__ == "__main__":
    main()
