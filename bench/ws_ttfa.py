"""Time to first audio over the websocket against the engine's own first-chunk time, one run.

Starts Daphne and a worker, submits fresh texts over `/ws/synthesize/` and measures, per text, when
the first binary audio frame reaches the client; the worker records when the engine yielded its
first chunk (from the job's start). The difference is what the portal adds: submit, queue, events,
channel layer, socket.

    .venv/bin/python bench/ws_ttfa.py [--runs 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import ROOT, cleanup_redis, device_line, setup_django, table

SENTENCES = ["The portal streams speech while it is still being made.",
             "Each sentence becomes audio the moment it is ready."]


async def _first_audio(port: int, token: str, text: str) -> tuple[float, str]:
    from websockets.asyncio.client import connect
    from websockets.typing import Origin

    async with connect(f"ws://127.0.0.1:{port}/ws/synthesize/", origin=Origin(f"http://127.0.0.1:{port}"),
                       additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        started = time.perf_counter()
        await ws.send(json.dumps({"type": "synthesize", "text": text}))
        first, job_id = 0.0, ""
        async for message in ws:
            if isinstance(message, bytes):
                first = first or time.perf_counter() - started
                continue
            frame = json.loads(message)
            job_id = frame.get("job_id", job_id)
            if frame["type"] in ("tts.done", "tts.failed"):
                return first, job_id
    raise RuntimeError("socket closed early")


def _start(args: list[str], var_dir: Path, name: str) -> subprocess.Popen[bytes]:
    log = (var_dir / f"{name}.log").open("wb")
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=dict(os.environ), stdout=log,
                            stderr=subprocess.STDOUT)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--port", type=int, default=8791)
    args = parser.parse_args()
    var_dir = setup_django("ws")
    from django.contrib.auth.models import User

    from accounts.services import api_token_create
    from synthesis.models import SynthesisJob
    from workers.heartbeat import live_workers

    token = api_token_create(user=User.objects.create_user("bench", password=None), name="bench").raw
    daphne = _start(["-m", "glmtts_site.serve", "-b", "127.0.0.1", "-p", str(args.port)], var_dir, "daphne")
    worker = _start([str(ROOT / "manage.py"), "run_worker"], var_dir, "worker")
    try:
        deadline = time.time() + 180
        while time.time() < deadline and not any(w.get("loaded", {}).get("kokoro") for w in live_workers()):
            time.sleep(0.5)
        httpx.get(f"http://127.0.0.1:{args.port}/health", timeout=30)
        asyncio.run(_first_audio(args.port, token, "Warm up, please."))
        rows = []
        for run in range(args.runs):
            text = f"{SENTENCES[run % 2]} Run {uuid.uuid4().hex[:6]}."  # fresh text: never a cache hit
            client_s, job_id = asyncio.run(_first_audio(args.port, token, text))
            job = SynthesisJob.objects.get(pk=job_id)
            engine_s = job.first_chunk_s or 0.0
            rows.append((client_s, engine_s))
    finally:
        for proc in (worker, daphne):
            proc.terminate()
            proc.wait(timeout=60)
        cleanup_redis()
    client = statistics.median(r[0] for r in rows)
    engine = statistics.median(r[1] for r in rows)
    overheads = sorted((r[0] - r[1]) * 1000 for r in rows)
    print(f"Device: {device_line()}; Daphne + one worker (Kokoro) on this machine; {args.runs} fresh texts")
    print(table(["measure", "median", "min", "max"], [
        ["engine first chunk (worker, from job start) s", f"{engine:.3f}", f"{min(r[1] for r in rows):.3f}",
         f"{max(r[1] for r in rows):.3f}"],
        ["first audio frame at the websocket client s", f"{client:.3f}", f"{min(r[0] for r in rows):.3f}",
         f"{max(r[0] for r in rows):.3f}"],
        ["overhead ms (client - engine)", f"{statistics.median(overheads):.0f}", f"{overheads[0]:.0f}",
         f"{overheads[-1]:.0f}"],
    ]))
    print(f"client/engine ratio = {client / engine:.2f}")


if __name__ == "__main__":
    main()
