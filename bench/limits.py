"""What refusing hostile requests costs the web process: memory while a 200 MB body is refused, and the
time and memory of refusing a decompression bomb and an oversized clip, on the real server.

    .venv/bin/python bench/limits.py

Peak RSS is sampled every 10 ms from /proc while each request runs; the baseline is the process's RSS
just before it. Goal (issue 14): within +100 MB of the baseline, and a bomb refused in < 1 s.
"""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import ROOT, device_line, setup_django, table

MB = 1024 * 1024


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class PeakRss:
    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self.stop = pid, _rss_mb(pid), threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, _rss_mb(self.pid))
            time.sleep(0.01)

    def __enter__(self) -> PeakRss:
        self.baseline = _rss_mb(self.pid)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def _raw_post(port: int, path: str, headers: dict[str, str], body_chunks: int, chunked: bool) -> str:
    """Send headers, then up to body_chunks MB of body; return the status line the server answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        block = b"x" * MB
        try:
            for _ in range(body_chunks):
                sock.sendall((b"%x\r\n" % MB + block + b"\r\n") if chunked else block)
        except OSError:
            pass  # refused and closed: what we wanted
        try:
            return sock.recv(200).split(b"\r\n", 1)[0].decode()
        except OSError:
            return "connection closed"


def _bomb() -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros((192000 * 119, 8), np.int16), 192000, format="FLAC", subtype="PCM_16")
    return buffer.getvalue()


def main() -> None:
    var_dir = setup_django("limits")
    from django.contrib.auth.models import User

    from accounts.services import api_token_create

    token = api_token_create(user=User.objects.create_user("limits", password=None), name="limits").raw
    port = 8793
    log = (var_dir / "web.log").open("wb")
    server = subprocess.Popen([sys.executable, "-m", "glmtts_site.serve", "-b", "127.0.0.1", "-p", str(port)],
                              cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    rows = []
    try:
        for _ in range(100):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        auth = {"Authorization": f"Bearer {token}"}
        cases = [("200 MB upload, Content-Length declared", {"Content-Type": "multipart/form-data; boundary=x",
                                                             "Content-Length": str(200 * MB), **auth}, False),
                 ("200 MB upload, chunked", {"Content-Type": "multipart/form-data; boundary=x",
                                             "Transfer-Encoding": "chunked", **auth}, True)]
        for name, headers, chunked in cases:
            with PeakRss(server.pid) as rss:
                started = time.perf_counter()
                status = _raw_post(port, "/api/v1/voices", headers, 200, chunked)
                elapsed = time.perf_counter() - started
            rows.append([name, status, f"{elapsed:.2f}", f"{rss.baseline:.0f}", f"{rss.peak - rss.baseline:+.0f}"])
        bomb = _bomb()
        for name, data in [(f"FLAC bomb ({len(bomb) // 1024} KB: 8 ch, 192 kHz, 119 s)", bomb),
                           ("11 MB clip", b"RIFF" + b"\0" * (11 * MB))]:
            with PeakRss(server.pid) as rss:
                started = time.perf_counter()
                response = httpx.post(f"http://127.0.0.1:{port}/api/v1/voices", headers=auth,
                                      files={"audio": ("clip.flac", data)}, data={"name": "x"}, timeout=60)
                elapsed = time.perf_counter() - started
            code = f"{response.status_code} {response.json()['error']['code']}"
            rows.append([name, code, f"{elapsed:.2f}", f"{rss.baseline:.0f}", f"{rss.peak - rss.baseline:+.0f}"])
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"Device: {device_line()}; one web process (glmtts_site.serve)\n")
    print(table(["request", "answer", "time s", "RSS before MiB", "peak RSS change MiB"], rows))


if __name__ == "__main__":
    main()
