"""Serving under concurrency, in the form serving engines publish (vLLM-Omni): RTF, time to first audio,
requests/s, audio-seconds per wall-second and playback underruns at c concurrent clients.

Through the real stack: Daphne, a worker process and Redis on this machine, each client a user of its own
over the websocket (`/ws/synthesize/`), one request after another (closed loop). A client "plays" its
audio in real time from its first chunk; an underrun is a moment it has nothing buffered to play.

- `--engine glmtts` (default): random-weight GLM-TTS (bench/serving_worker.py, `--size small` on a CPU,
  `full` = upstream's architecture), once with WORKER_MAX_BATCH=--batch (continuous batching) and once
  with WORKER_MAX_BATCH=1 (one job at a time), same texts and seeds: the ratio is measured in one run.
- `--engine kokoro`: the default engine (it runs one job at a time; no batched mode).

    .venv/bin/python bench/serving.py [--engine glmtts|kokoro] [--clients 1,4,8] [--requests 2] [--batch 8]
        [--size small|full] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import math
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

TEXTS = ["The portal speaks while it is still thinking.", "Every client hears its own voice, at once.",
         "Short lines come back quickly.", "A longer sentence takes a little more time to say out loud.",
         "Batching shares each step among many jobs.", "Nobody waits for anybody else here."]
FIXTURE_WAV = ROOT.parent / "shared" / "fixtures" / "glmtts-tiny" / "golden" / "00_waveforms.safetensors"
PROMPT_TEXT = "the prompt text, spoken by a tiny random model."


@dataclass
class Played:
    """One request as its client heard it."""

    started: float
    first_audio_s: float = math.nan
    total_s: float = math.nan
    audio_s: float = 0.0
    underruns: int = 0
    play_start: float = 0.0
    buffered_s: float = 0.0  # audio received so far
    starved: bool = False
    seqs: list[int] = field(default_factory=list)

    def chunk(self, now: float, duration_s: float) -> None:
        if not self.buffered_s:
            self.first_audio_s, self.play_start = now - self.started, now
        elif now - self.play_start > self.buffered_s:  # playback ran dry before this chunk came
            self.underruns += 1
        self.buffered_s += duration_s
        self.audio_s += duration_s

    @property
    def rtf(self) -> float:
        return self.total_s / self.audio_s if self.audio_s else math.inf


async def _request(port: int, token: str, message: dict[str, Any]) -> Played:
    from websockets.asyncio.client import connect
    from websockets.typing import Origin

    async with connect(f"ws://127.0.0.1:{port}/ws/synthesize/", origin=Origin(f"http://127.0.0.1:{port}"),
                       additional_headers={"Authorization": f"Bearer {token}"}, max_size=2**24) as ws:
        played = Played(started=time.perf_counter())
        await ws.send(json.dumps({"type": "synthesize", **message}))
        rate = 24000
        async for frame in ws:
            now = time.perf_counter()
            if isinstance(frame, bytes):
                played.chunk(now, len(frame) / 2 / rate)
                continue
            data = json.loads(frame)
            rate = data.get("sample_rate", rate)
            if data["type"] == "tts.done":
                played.total_s = now - played.started
                return played
            if data["type"] == "tts.failed":
                raise RuntimeError(f"request failed: {data}")
    raise RuntimeError("socket closed early")


async def _clients(port: int, users: list[tuple[str, dict[str, Any]]], requests: int, round_tag: str,
                   ) -> tuple[list[Played], float]:
    async def client(index: int, token: str, extra: dict[str, Any]) -> list[Played]:
        heard = []
        for n in range(requests):
            text = f"{TEXTS[(index + n) % len(TEXTS)]} {round_tag} {index}.{n}"  # fresh: never a cache hit
            heard.append(await _request(port, token, {"text": text, "seed": 1000 * index + n, **extra}))
        return heard

    started = time.perf_counter()
    results = await asyncio.gather(*(client(i, token, extra) for i, (token, extra) in enumerate(users)))
    return [played for heard in results for played in heard], time.perf_counter() - started


def _start(args: list[str], var_dir: Path, name: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    log = (var_dir / f"{name}.log").open("wb")
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env={**os.environ, **env}, stdout=log,
                            stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def _row(mode: str, clients: int, heard: list[Played], wall_s: float) -> list[str]:
    rtf, ttfa = [p.rtf for p in heard], [p.first_audio_s for p in heard]
    audio = sum(p.audio_s for p in heard)
    starved = sum(1 for p in heard if p.underruns)
    return [mode, str(clients), str(len(heard)), f"{statistics.mean(rtf):.3f}", f"{_p95(rtf):.3f}",
            f"{statistics.mean(ttfa):.3f}", f"{_p95(ttfa):.3f}", f"{len(heard) / wall_s:.3f}",
            f"{audio / wall_s:.2f}", f"{starved} ({sum(p.underruns for p in heard)})"]


def _users(count: int, engine: str) -> list[tuple[str, dict[str, Any]]]:
    """One user per client (each with its own voice for GLM-TTS): shares and quotas are per user."""
    from django.contrib.auth.models import User
    from safetensors.numpy import load_file

    from accounts.services import api_token_create
    from voices.services import voice_create

    users = []
    for index in range(count):
        user = User.objects.create_user(f"client{index}", password=None)
        extra: dict[str, Any] = {}
        if engine == "glmtts":
            import soundfile as sf

            buffer = io.BytesIO()
            sf.write(buffer, load_file(str(FIXTURE_WAV))["wav24k"], 24000, format="WAV", subtype="PCM_16")
            voice = voice_create(owner=user, name="me", data=buffer.getvalue(), filename="me.wav",
                                 prompt_text=PROMPT_TEXT, skip_whisper=True)
            extra = {"engine": "glmtts", "voice_id": str(voice.pk)}
        users.append((api_token_create(user=user, name="bench").raw, extra))
    return users


def _wait_for_web(port: int) -> None:
    deadline = time.time() + 120
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=10)
            return
        except httpx.TransportError:
            if time.time() > deadline:
                raise
            time.sleep(0.5)


def _wait_for_worker(worker: subprocess.Popen[bytes], engine: str, tag: str) -> None:
    from workers.heartbeat import live_workers

    deadline = time.time() + 600
    while not any(w.get("status") == "idle" and engine in w.get("loaded", {}) and tag in w["worker_id"]
                  for w in live_workers()):
        if worker.poll() is not None or time.time() > deadline:
            raise RuntimeError(f"the {tag} worker did not start (see its log)")
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["glmtts", "kokoro"], default="glmtts")
    parser.add_argument("--clients", default="1,4,8")
    parser.add_argument("--requests", type=int, default=2, help="requests per client at each concurrency")
    parser.add_argument("--batch", type=int, default=8, help="WORKER_MAX_BATCH of the batched mode")
    parser.add_argument("--size", default="small")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--port", type=int, default=8793)
    args = parser.parse_args()
    concurrency = [int(c) for c in args.clients.split(",")]
    os.environ.update(RATE_LIMIT_SUBMIT="off", RATE_LIMIT_WS_CONNECT="off", RATE_LIMIT_IP_COSTLY="off",
                      QUOTA_CHARS_PER_DAY="100000000")
    from tests.workers.glmtts.tiny_ckpt import build_tiny_checkpoint

    var_dir = setup_django("serving")
    if args.engine == "glmtts":
        os.environ["GLMTTS_CKPT_DIR"] = str(build_tiny_checkpoint(var_dir / "glmtts"))
    users = _users(max(concurrency), args.engine)
    daphne = _start(["-m", "glmtts_site.serve", "-b", "127.0.0.1", "-p", str(args.port)], var_dir, "daphne", {})
    modes = ([(f"batched (max {args.batch})", args.batch), ("one at a time", 1)] if args.engine == "glmtts"
             else [("one at a time", 1)])
    rows, audio_rate = [], {}
    try:
        _wait_for_web(args.port)
        for mode, batch in modes:
            tag = f"b{batch}"
            command = ([str(ROOT / "bench" / "serving_worker.py"), "--size", args.size, "--device", args.device,
                        "--tag", tag] if args.engine == "glmtts" else [str(ROOT / "manage.py"), "run_worker"])
            worker = _start(command, var_dir, f"worker-{tag}", {"WORKER_MAX_BATCH": str(batch),
                                                                 "WORKER_ENGINES": args.engine})
            try:
                _wait_for_worker(worker, args.engine, tag if args.engine == "glmtts" else "")
                asyncio.run(_clients(args.port, users[:1], 1, f"warm-{tag}"))
                for clients in concurrency:
                    heard, wall = asyncio.run(_clients(args.port, users[:clients], args.requests, f"{tag}-c{clients}"))
                    rows.append(_row(mode, clients, heard, wall))
                    audio_rate[(batch, clients)] = sum(p.audio_s for p in heard) / wall
                    print(" | ".join(rows[-1]), file=sys.stderr, flush=True)  # progress
            finally:
                _stop(worker)
    finally:
        _stop(daphne)
        cleanup_redis()
    label = (f"GLM-TTS, random weights ({args.size}), {args.device}" if args.engine == "glmtts"
             else "Kokoro (default engine)")
    print(f"Device: {device_line()}; Daphne + one worker + Redis on this machine; {label}; "
          f"{args.requests} requests per client, a user each")
    print(table(["mode", "clients", "requests", "RTF mean", "RTF p95", "first audio mean s", "first audio p95 s",
                 "req/s", "audio s per wall s", "requests with underruns (underruns)"], rows))
    for clients in concurrency:
        if (args.batch, clients) in audio_rate and (1, clients) in audio_rate:
            ratio = audio_rate[(args.batch, clients)] / audio_rate[(1, clients)]
            print(f"c={clients}: batched / one at a time, audio s per wall s = {ratio:.2f}x")
    if (args.batch, 1) in audio_rate and (args.batch, max(concurrency)) in audio_rate:
        scale = audio_rate[(args.batch, max(concurrency))] / audio_rate[(args.batch, 1)]
        print(f"batched: c={max(concurrency)} / c=1, audio s per wall s = {scale:.2f}x")


if __name__ == "__main__":
    main()
