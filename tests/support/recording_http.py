"""A local HTTP server that records every request and answers from a script: a stand-in for
Cloudflare's API in the purge tests (the same HTTP calls production makes, over a real socket)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, Any, dict[str, str]]  # status, JSON body, headers
OK: Answer = (200, {"success": True, "errors": [], "messages": [], "result": {"id": "purge"}}, {})


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class RecordingServer:
    url: str
    calls: list[Recorded] = field(default_factory=list)
    # (status, JSON body, headers) answered in order; OK once the script runs out.
    script: list[Answer] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, call: Recorded) -> Answer:
        with self.lock:
            self.calls.append(call)
            return self.script.pop(0) if self.script else OK


def _handler(server: RecordingServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server calls do_<METHOD>
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            call = Recorded("POST", self.path, {k.lower(): v for k, v in self.headers.items()},
                            json.loads(raw) if raw else None)
            status, body, headers = server.answer(call)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

    return Handler


@contextmanager
def recording_server() -> Iterator[RecordingServer]:
    recorder = RecordingServer(url="")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(recorder))
    recorder.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
