"""The real web server refuses what it must before buffering it (glmtts_site.serve, a real process)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.support.processes import Daphne

pytestmark = pytest.mark.slow
MB = 1024 * 1024


@pytest.fixture
def server(tmp_path: Path, redis_isolated: redis.Redis, transactional_db: None) -> Iterator[Daphne]:
    web = Daphne(tmp_path, REQUEST_READ_TIMEOUT_S="1.5")
    yield web
    web.stop()


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _connect(server: Daphne) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return sock


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 0


def _request_head(path: str, **headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k.replace('_', '-')}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_a_declared_200_mb_body_is_refused_before_it_is_sent(server: Daphne) -> None:
    with _connect(server) as sock:
        sock.sendall(_request_head("/api/v1/voices", Content_Type="multipart/form-data; boundary=x",
                                   Content_Length=str(200 * MB), Expect="100-continue"))
        status, headers, body = _read_response(sock)
    assert status == 413 and headers["content-type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "payload_too_large"


def test_a_chunked_body_is_cut_off_at_the_limit_and_memory_stays_flat(server: Daphne) -> None:
    baseline = _rss_mb(server.proc.pid)
    sent = 0
    block = b"x" * MB
    with _connect(server) as sock:
        sock.sendall(_request_head("/api/v1/voices", Content_Type="application/octet-stream",
                                   Transfer_Encoding="chunked"))
        try:
            while sent < 200 * MB:
                sock.sendall(b"%x\r\n" % len(block) + block + b"\r\n")
                sent += len(block)
        except OSError:
            pass  # the server closed the connection: what we wanted
    assert sent < 100 * MB, "the server kept reading"
    assert _rss_mb(server.proc.pid) - baseline < 100


def test_a_route_without_uploads_refuses_a_large_body_by_its_length(server: Daphne) -> None:
    with _connect(server) as sock:
        sock.sendall(_request_head("/api/v1/tokens", Content_Type="application/json", Content_Length=str(5 * MB)))
        status, _, body = _read_response(sock)
    assert status == 413 and json.loads(body)["error"]["code"] == "payload_too_large"


def test_a_slow_client_is_timed_out_with_408(server: Daphne) -> None:
    with _connect(server) as sock:
        sock.sendall(b"POST /api/v1/tokens HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{")
        started = time.monotonic()
        status, _, body = _read_response(sock)
        assert sock.recv(1) == b""  # and closed
    assert status == 408 and json.loads(body)["error"]["code"] == "request_timeout"
    assert time.monotonic() - started < 30


def test_ordinary_requests_still_work(server: Daphne) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        status, _, body = _read_response(sock)
    assert status == 200 and json.loads(body)["status"] == "healthy"
    with _connect(server) as sock:
        payload = b'{"name": "x"}'
        sock.sendall(_request_head("/api/v1/tokens", Content_Type="application/json",
                                   Content_Length=str(len(payload))) + payload)
        status, _, _ = _read_response(sock)
    assert status == 401  # reached the application, which asks for credentials
