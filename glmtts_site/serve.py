"""`python -m glmtts_site.serve`: Daphne with the limits a public server needs, set before any byte
of a body is buffered.

Daphne (Twisted underneath) reads a request's whole body into a temporary file and then queues it
for the application in one go, so no ASGI middleware can refuse a 200 MB upload before it has cost
the process its size in memory. Here the limits live in Twisted's request object itself:
- a declared `Content-Length` over the route's limit (`body_limits.body_limit_for`: uploads up to
  MAX_REQUEST_BODY_BYTES, everything else DATA_UPLOAD_MAX_MEMORY_SIZE) is answered 413 before the
  body is read;
- a chunked body is counted as it arrives and refused the moment it passes the limit;
- the request line, headers and body must all arrive within REQUEST_READ_TIMEOUT_S (slow clients
  and half-open connections get a 408 and are closed; Twisted's own idle timeout only restarts on
  every byte, so a client sending one byte a minute would never be timed out);
- websocket messages larger than WS_SERVER_MAX_MESSAGE_BYTES are refused by the websocket layer
  (1009, or a reset while the client is still sending); the consumers close smaller ones over
  WS_MAX_MESSAGE_BYTES with 4413 after reading them, which every client sees.
Daphne has no hook for this; the request class is swapped in through the factory it builds, the one
seam it offers (`server_class` and its `http_factory` attribute), with daphne pinned in requirements.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.server import Server
from django.conf import settings
from twisted.internet import reactor

from .body_limits import body_limit_for

logger = logging.getLogger(__name__)
_clock: Any = reactor  # Twisted's reactor module is typed as an interface class; it is the running reactor


def _raw_response(status: int, reason: str, code: str, message: str) -> bytes:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n")
    return head.encode("latin-1") + body


class _Discard:
    """Where the rest of a refused body goes."""

    closed = False

    def write(self, data: bytes) -> None:
        pass

    def seek(self, *args: Any) -> None:
        pass

    def read(self, *args: Any) -> bytes:
        return b""

    def close(self) -> None:
        self.closed = True


class BoundedWebRequest(WebRequest):
    """Daphne's request, with a body-size limit and a deadline for reading the whole request."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Twisted would parse every form POST into `args` itself (a second full copy of an upload in
        # memory), which Daphne never uses, and answer a multipart body it cannot parse with a bare,
        # body-less 400 before the application sees it. The application parses bodies; Twisted need not.
        kwargs["parsePOSTFormSubmission"] = False
        super().__init__(*args, **kwargs)
        self._refused = False
        self._body_bytes = 0
        self._body_limit = int(settings.MAX_REQUEST_BODY_BYTES)
        timeout = float(settings.REQUEST_READ_TIMEOUT_S)
        self._read_deadline: Any = _clock.callLater(timeout, self._read_too_slow) if timeout > 0 else None

    def gotLength(self, length: int | None) -> None:
        # The request line is parsed by now; Twisted keeps its path on the channel until the request
        # is complete (a private attribute of the pinned Twisted, read defensively).
        path = getattr(self.channel, "_path", b"").split(b"?", 1)[0].decode("latin-1")
        self._body_limit = body_limit_for(path)
        if length is not None and length > self._body_limit:
            self.requestHeaders.removeHeader(b"Expect")  # no "100 Continue" after our refusal
            self._refuse_too_large()
            self.content = _Discard()
            return
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        if self._refused:
            return
        self._body_bytes += len(data)
        if self._body_bytes > self._body_limit:
            self._refuse_too_large()
            self.content.close()
            self.content = _Discard()
            return
        super().handleContentChunk(data)

    def _refuse_too_large(self) -> None:
        self._refuse(413, "Payload Too Large", "payload_too_large",
                     f"The request body is larger than {self._body_limit} bytes.")

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        self._cancel_deadline()
        if self._refused:
            return
        super().requestReceived(command, path, version)

    def connectionLost(self, reason: Any) -> None:
        self._cancel_deadline()
        super().connectionLost(reason)

    def _read_too_slow(self) -> None:
        self._read_deadline = None
        self._refuse(408, "Request Timeout", "request_timeout",
                     f"The request did not arrive within {settings.REQUEST_READ_TIMEOUT_S} s.")

    def _cancel_deadline(self) -> None:
        if self._read_deadline is not None and self._read_deadline.active():
            self._read_deadline.cancel()
        self._read_deadline = None

    def _refuse(self, status: int, reason: str, code: str, message: str) -> None:
        if self._refused:
            return
        self._refused = True
        self._cancel_deadline()
        logger.warning("Refused a request from %s: %s", self.client_addr, message)
        transport = self.channel.transport
        transport.write(_raw_response(status, reason, code, message))
        transport.loseConnection()


class BoundedHTTPFactory(HTTPFactory):
    def buildProtocol(self, addr: Any) -> Any:
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = BoundedWebRequest
        protocol.timeOut = settings.HTTP_IDLE_TIMEOUT_S  # an idle keep-alive connection is closed after this
        return protocol


class BoundedServer(Server):
    """Daphne's server building BoundedHTTPFactory instead of its own (see the module)."""

    @property
    def http_factory(self) -> HTTPFactory:
        return self._bounded_factory

    @http_factory.setter
    def http_factory(self, factory: HTTPFactory) -> None:
        self._bounded_factory = factory if isinstance(factory, BoundedHTTPFactory) else BoundedHTTPFactory(self)


class BoundedCommandLineInterface(CommandLineInterface):
    server_class = BoundedServer


def daphne_arguments(extra: list[str]) -> list[str]:
    """Daphne's command line with our limits; arguments given on our command line come last and win."""
    return ["-b", os.environ.get("HOST", "127.0.0.1"), "-p", os.environ.get("PORT", "8000"),
            "--websocket-max-message-size", str(settings.WS_SERVER_MAX_MESSAGE_BYTES),
            "--websocket-max-frame-size", str(settings.WS_SERVER_MAX_MESSAGE_BYTES),
            "--websocket_connect_timeout", "20", "--ping-interval", "20", "--ping-timeout", "30",
            "--application-close-timeout", "10", *extra, "glmtts_site.asgi:application"]


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "glmtts_site.settings.dev")
    import django

    django.setup()
    BoundedCommandLineInterface().run(daphne_arguments(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
