"""The clients of a fault run: submitters and readers over HTTP, followers over websockets.

A follower resumes after every lost connection (a killed web node, a Redis outage closing it with
4503) from the last chunk it holds, on the next node, and counts what a listener would notice:
chunks missing (gaps) or heard twice (duplicates), and how the job ended.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import httpx

FINAL = ("tts.done", "tts.failed", "tts.cancelled")


class Api:
    """HTTP calls to the web nodes, counting answers by status (5xx are what a fault must not cause)."""

    def __init__(self, ports: list[int], token: str) -> None:
        self.ports, self.token = ports, token
        self.statuses: Counter[int] = Counter()
        self.read_5xx = self.write_5xx = 0
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=30, headers={"Authorization": f"Bearer {token}"})

    def _record(self, status: int, *, read: bool) -> None:
        with self._lock:
            self.statuses[status] += 1
            if status >= 500:
                if read:
                    self.read_5xx += 1
                else:
                    self.write_5xx += 1

    def _call(self, method: str, path: str, *, read: bool, **kwargs: Any) -> httpx.Response | None:
        """The first web node that answers (a killed node refuses connections; the next one serves)."""
        for port in self.ports:
            try:
                response = self._client.request(method, f"http://127.0.0.1:{port}{path}", **kwargs)
            except httpx.TransportError:
                continue
            self._record(response.status_code, read=read)
            return response
        return None

    def submit(self, text: str) -> str | None:
        response = self._call("POST", "/api/v1/syntheses", read=False, json={"text": text})
        return str(response.json()["id"]) if response is not None and response.status_code in (200, 202) else None

    def read(self, job_id: str) -> None:
        self._call("GET", f"/api/v1/syntheses/{job_id}", read=True)
        self._call("GET", "/api/v1/syntheses?limit=5", read=True)


@dataclass
class Follow:
    outcome: str | None = None
    last_seq: int = -1
    gaps: int = 0
    duplicates: int = 0
    reconnects: int = 0
    closes: Counter[int] = field(default_factory=Counter)
    last_frame: str = ""  # the type of the last text frame heard (what a follower without end saw last)


async def follow(job_id: str, ports: list[int], token: str, *, timeout_s: float) -> Follow:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.typing import Origin

    result, node, deadline = Follow(), 0, time.monotonic() + timeout_s
    while result.outcome is None and time.monotonic() < deadline:
        port = ports[node % len(ports)]
        try:
            async with connect(f"ws://127.0.0.1:{port}/ws/jobs/{job_id}/", origin=Origin(f"http://127.0.0.1:{port}"),
                               additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=10) as ws:
                await ws.send(json.dumps({"type": "resume", "after_seq": result.last_seq}))
                async for message in ws:
                    if not isinstance(message, bytes):
                        _take(result, json.loads(message))
                        if result.outcome is not None:
                            break
                if ws.close_code is not None:
                    result.closes[ws.close_code] += 1
        except (OSError, ConnectionClosed, InvalidStatus, TimeoutError) as exc:
            code = getattr(getattr(exc, "rcvd", None), "code", 0) or 0
            result.closes[int(code)] += 1
        if result.outcome is None:
            result.reconnects += 1
            node += 1
            await asyncio.sleep(0.5)
    return result


def _take(result: Follow, frame: dict[str, Any]) -> None:
    kind = frame.get("type")
    result.last_frame = str(kind)
    if kind == "tts.chunk":
        seq = int(frame["seq"])
        if seq <= result.last_seq:
            result.duplicates += 1
        elif seq > result.last_seq + 1:
            result.gaps += seq - result.last_seq - 1
        result.last_seq = max(result.last_seq, seq)
    elif kind in FINAL:
        result.outcome = str(kind)


class Followers:
    """Websocket followers on an event loop of their own (a thread), one per job."""

    def __init__(self, ports: list[int], token: str) -> None:
        self.ports, self.token = ports, token
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.jobs: dict[str, Future[Follow]] = {}

    def start(self, job_id: str, timeout_s: float = 600.0) -> None:
        self.jobs[job_id] = asyncio.run_coroutine_threadsafe(
            follow(job_id, self.ports, self.token, timeout_s=timeout_s), self.loop)

    def results(self, timeout_s: float) -> dict[str, Follow]:
        deadline = time.monotonic() + timeout_s
        done: dict[str, Follow] = {}
        for job_id, future in self.jobs.items():
            try:
                done[job_id] = future.result(timeout=max(0.1, deadline - time.monotonic()))
            except Exception:
                done[job_id] = Follow()
        return done

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
