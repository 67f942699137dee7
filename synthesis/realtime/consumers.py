"""Websockets: follow a job (`/ws/jobs/<id>/`) or submit and follow (`/ws/synthesize/`).

Consumers stay thin: authenticate, check ownership through a selector, then pump the job's Redis
event stream to the socket. The channel layer only wakes the pump (notices can be dropped: the
pump also polls), so no chunk is lost; `resume` replays exactly the chunks after `after_seq`.

Every client message gets a documented answer or close code (ws_protocol.CLOSE_CODES); the socket
is accepted before a refusal so that its code reaches the client (a refusal before accepting is an
HTTP 403 at the handshake). Every await on another task or on Redis is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth.models import User

from glmtts_site.api_errors import api_error_for
from glmtts_site.metrics.web import count_refusal, websocket_connections
from glmtts_site.parsers import json_loads_untrusted
from glmtts_site.ratelimit import RateLimited, cap_release, cap_take, rate_limit_async
from glmtts_site.redis_conn import loop_redis
from glmtts_site.resilience import bounded
from synthesis.jobs.events import END_GRACE_S, EventType, decode_event, events_key, job_group
from synthesis.models import SynthesisJob
from synthesis.realtime.job_db import cancel_owned_job, load_owned_job, queue_position, refresh_job, submit_from_socket
from synthesis.realtime.protocol import (
    CLOSE_BAD_FRAME,
    CLOSE_NOT_FOUND,
    CLOSE_NOT_SIGNED_IN,
    CLOSE_SERVER_ERROR,
    CLOSE_TOO_BIG,
    CLOSE_TOO_MANY,
    CLOSE_UNAVAILABLE,
    MessageBucket,
    final_frame,
    frame_for,
    parse_after_seq,
)

logger = logging.getLogger(__name__)
START_GRACE_S = 0.5  # a reconnecting client has this long to send `resume` before replay starts
POLL_S = 2.0
KEEPALIVE_S = 20.0
SLOT_TTL_S = 90  # an open socket's slot in the per-user cap; refreshed while it lives
STOP_WAIT_S = 3.0  # how long a disconnect waits for the pump and the layer before giving up


class JobStreamConsumer(AsyncWebsocketConsumer):
    job: SynthesisJob | None = None
    pump: asyncio.Task[None] | None = None
    source: str | None = None
    holds_slot = False
    counted = False  # in glmtts_websocket_connections

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """The channel layer's receive runs beside the handlers, outside them: when Redis goes away
        it raises out of the consumer (Daphne: "Exception inside application", close 1011). An
        outage closes the socket with the documented 4503 instead, for the client to resume."""
        try:
            await super().__call__(scope, receive, send)
        except Exception as exc:
            if api_error_for(exc) is None:
                raise
            logger.warning("Websocket of job %s: the channel layer failed (%s); closing with %d", self.source,
                           exc, CLOSE_UNAVAILABLE)
            with contextlib.suppress(Exception):  # the client may be gone too
                await self.refuse(CLOSE_UNAVAILABLE, "stream_unavailable", "Live updates are unavailable right "
                                  "now; reconnect and resume, or poll the status URL.")
            await self.disconnect(CLOSE_UNAVAILABLE)

    async def connect(self) -> None:
        await self.accept()
        user = self.scope.get("user")
        if not isinstance(user, User) or not user.is_authenticated:
            await self.refuse(CLOSE_NOT_SIGNED_IN, "not_authenticated", "Sign in or send a Bearer token.")
            return
        self.user = user
        self.started = asyncio.Event()
        self.wake = asyncio.Event()
        self.after_seq = -1
        self.bucket = MessageBucket()
        if await self.take_slot():
            await self.setup()

    async def take_slot(self) -> bool:
        try:
            await rate_limit_async("ws_connect", self.user.pk, loop_redis())
            self.holds_slot = await cap_take("ws_open", self.user.pk, self.channel_name, settings.WS_MAX_PER_USER,
                                             SLOT_TTL_S, loop_redis())
        except RateLimited as exc:
            await self.refuse(CLOSE_TOO_MANY, exc.code, exc.message)
            return False
        except Exception as exc:
            if api_error_for(exc) is None:
                raise
            await self.refuse(CLOSE_UNAVAILABLE, "stream_unavailable", "Live updates are unavailable; retry.")
            return False
        if self.holds_slot:
            websocket_connections.inc()
            self.counted = True
        else:
            count_refusal("sockets", "ws_open")
            await self.refuse(CLOSE_TOO_MANY, "too_many_sockets",
                              f"At most {settings.WS_MAX_PER_USER} open sockets per user; close one first.")
        return self.holds_slot

    async def setup(self) -> None:
        job = await load_owned_job(self.user, str(self.scope["url_route"]["kwargs"]["job_id"]))
        if job is None:  # missing or someone else's: the same answer, so existence does not leak
            await self.refuse(CLOSE_NOT_FOUND, "not_found", "No such job.")
            return
        await self.follow(job)

    async def follow(self, job: SynthesisJob) -> None:
        self.job = job
        self.source = str(job.leader_id or job.pk)  # followers hear their leader's audio
        await bounded(self.channel_layer.group_add(job_group(self.source), self.channel_name), limit_s=STOP_WAIT_S)
        self.pump = asyncio.create_task(self._pump())

    async def refuse(self, code: int, error: str, message: str) -> None:
        await self.send_json({"type": "error", "code": error, "message": message})
        await self.close(code=code)

    async def disconnect(self, code: int) -> None:
        if self.counted:
            websocket_connections.dec()
            self.counted = False
        if self.pump is not None:
            self.pump.cancel()
            await asyncio.wait({self.pump}, timeout=STOP_WAIT_S)
        with contextlib.suppress(Exception):  # the socket is gone either way; the slot expires by itself
            if self.source is not None:
                await bounded(self.channel_layer.group_discard(job_group(self.source), self.channel_name),
                              limit_s=STOP_WAIT_S)
            if self.holds_slot:
                await bounded(cap_release("ws_open", self.user.pk, self.channel_name, loop_redis()),
                              limit_s=STOP_WAIT_S)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.bucket.take():
            await self.refuse(CLOSE_TOO_MANY, "too_many_messages", "Too many messages; slow down.")
        elif bytes_data is not None or text_data is None:
            await self.refuse(CLOSE_BAD_FRAME, "binary_not_accepted", "Send JSON text frames only.")
        elif len(text_data) > settings.WS_MAX_MESSAGE_BYTES:
            await self.refuse(CLOSE_TOO_BIG, "message_too_big", "Messages are at most 32 KiB.")
        else:
            try:
                message = json_loads_untrusted(text_data)
                kind = message["type"]
                if not isinstance(kind, str):
                    raise TypeError
            except (ValueError, KeyError, TypeError):
                await self.send_json({"type": "error", "code": "bad_message", "message": "Send JSON with a type."})
                return
            await self.handle(kind, message)

    async def handle(self, kind: str, message: dict[str, Any]) -> None:
        if kind == "resume" and self.job is not None:
            after_seq = parse_after_seq(message.get("after_seq", -1))
            if after_seq is None:
                await self.send_json({"type": "error", "code": "bad_message", "field": "after_seq",
                                      "message": "after_seq must be an integer, -1 or more."})
                return
            self.after_seq = after_seq
            self.started.set()
        elif kind == "cancel" and self.job is not None:
            await cancel_owned_job(self.user, str(self.job.pk))
        elif kind == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json({"type": "error", "code": "unknown_message", "message": "Unknown message type."})

    async def job_event(self, message: dict[str, Any]) -> None:
        self.wake.set()  # a channel-layer notice: new entries are waiting in the stream

    async def send_json(self, payload: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(payload, separators=(",", ":")))

    async def _pump(self) -> None:
        assert self.job is not None
        with contextlib.suppress(TimeoutError):
            await bounded(self.started.wait(), limit_s=START_GRACE_S)
        try:
            await self._stream(loop_redis())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if api_error_for(exc) is not None:
                await self.refuse(CLOSE_UNAVAILABLE, "stream_unavailable", "Live updates are unavailable right now; "
                                  "reconnect and resume, or poll the status URL.")
                return
            logger.exception("Websocket pump of job %s failed", self.source)
            await self.refuse(CLOSE_SERVER_ERROR, "server_error", "Something went wrong on our side.")

    async def _stream(self, client: Any) -> None:
        assert self.job is not None and self.source is not None
        job = await refresh_job(self.job)
        if job.status == "queued":
            position = await queue_position(job)
            await self.send_json({"type": EventType.QUEUED, "job_id": str(job.pk), "position": position})
        after, quiet_since, slot_at = "0-0", time.monotonic(), time.monotonic()
        while True:
            if job.is_final and (time.monotonic() - quiet_since >= END_GRACE_S
                                 or not await client.exists(events_key(self.source))):
                break  # cache hit, expired stream, or an end its worker died before writing: the row says all
            reply: Any = await client.xread({events_key(self.source): after}, count=200)
            for entry_id, fields in (reply[0][1] if reply else []):
                event = decode_event(entry_id, fields)
                after, quiet_since = event.entry_id, time.monotonic()
                if event.is_terminal:
                    await self._finish()
                    return
                await self._send_event(event)
            if time.monotonic() - slot_at > SLOT_TTL_S / 3:
                await cap_take("ws_open", self.user.pk, self.channel_name, settings.WS_MAX_PER_USER, SLOT_TTL_S,
                               client)
                slot_at = time.monotonic()
            if not reply:
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await bounded(self.wake.wait(), limit_s=POLL_S)
                if time.monotonic() - quiet_since >= KEEPALIVE_S:
                    await self.send_json({"type": "ping"})
                    quiet_since = time.monotonic()
                job = await refresh_job(job)
        await self._finish()

    async def _send_event(self, event: Any) -> None:
        frame = frame_for(event)
        if frame is None:
            return
        if frame["type"] == EventType.CHUNK:
            if frame["seq"] <= self.after_seq:
                return  # the client has it (resume), or a rerun repeats what was sent (same inputs, same bytes)
            self.after_seq = frame["seq"]
            await self.send_json(frame)
            await self.send(bytes_data=event.pcm)
        else:
            await self.send_json(frame)

    async def _finish(self) -> None:
        assert self.job is not None
        job = await refresh_job(self.job)
        await self.send_json(final_frame(job))
        await self.close(code=1000)


class SynthesizeConsumer(JobStreamConsumer):
    """Submit over the socket: `{"type": "synthesize", "text": ..., ...}`, then follow the job."""

    async def setup(self) -> None:
        pass  # accepted already; the job comes with the first message

    async def handle(self, kind: str, message: dict[str, Any]) -> None:
        if kind != "synthesize" or self.job is not None:
            await super().handle(kind, message)
            return
        fields = {key: value for key, value in message.items() if key != "type"}
        try:
            job = await submit_from_socket(self.user, fields)
        except Exception as exc:
            mapped = api_error_for(exc)
            if mapped is None:
                raise
            await self.send_json({"type": EventType.FAILED, "code": mapped.code, "message": mapped.message,
                                  "field": mapped.field})
            return
        self.started.set()
        await self.follow(job)
