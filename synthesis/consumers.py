"""Websockets: follow a job (`/ws/jobs/<id>/`) or submit and follow (`/ws/synthesize/`).

Consumers stay thin: authenticate, check ownership through a selector, then pump the job's Redis
event stream to the socket. The channel layer only wakes the pump (notices can be dropped: the
pump also polls), so no chunk is lost; `resume` replays exactly the chunks after `after_seq`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from django.contrib.auth.models import User
from redis.exceptions import RedisError

from glmtts_site.errors import ApiError
from glmtts_site.parsers import json_loads_untrusted
from glmtts_site.redis_conn import new_async_redis

from .events import decode_event, events_key
from .models import SynthesisJob
from .ws_jobs import cancel_owned_job, load_owned_job, queue_position, refresh_job, submit_from_socket
from .ws_protocol import CLIENT_MESSAGE_LIMIT, final_frame, frame_for, job_group

START_GRACE_S = 0.5  # a reconnecting client has this long to send `resume` before replay starts
POLL_S = 2.0
KEEPALIVE_S = 20.0


class JobStreamConsumer(AsyncWebsocketConsumer):
    job: SynthesisJob | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if not isinstance(user, User) or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.user = user
        self.started = asyncio.Event()
        self.wake = asyncio.Event()
        self.after_seq = -1
        self.pump: asyncio.Task[None] | None = None
        await self.setup()

    async def setup(self) -> None:
        job = await load_owned_job(self.user, str(self.scope["url_route"]["kwargs"]["job_id"]))
        if job is None:  # missing or someone else's: the same answer, so existence does not leak
            await self.close(code=4404)
            return
        await self.accept()
        await self.follow(job)

    async def follow(self, job: SynthesisJob) -> None:
        self.job = job
        self.source = str(job.leader_id or job.pk)  # followers hear their leader's audio
        await self.channel_layer.group_add(job_group(self.source), self.channel_name)
        self.pump = asyncio.create_task(self._pump())

    async def disconnect(self, code: int) -> None:
        if self.pump is not None:
            self.pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.pump
            await self.channel_layer.group_discard(job_group(self.source), self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if bytes_data is not None or text_data is None or len(text_data) > CLIENT_MESSAGE_LIMIT:
            await self.close(code=1009)
            return
        try:
            message = json_loads_untrusted(text_data)
            kind = message["type"]
        except (ValueError, KeyError, TypeError):
            await self.send_json({"type": "error", "code": "bad_message", "message": "Send JSON with a type."})
            return
        await self.handle(kind, message)

    async def handle(self, kind: str, message: dict[str, Any]) -> None:
        if kind == "resume" and self.job is not None:
            self.after_seq = int(message.get("after_seq", -1))
            self.started.set()
        elif kind == "cancel" and self.job is not None:
            await cancel_owned_job(self.user, str(self.job.pk))
        elif kind == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json({"type": "error", "code": "unknown_message", "message": f"Unknown type {kind!r}."})

    async def job_event(self, message: dict[str, Any]) -> None:
        self.wake.set()  # a channel-layer notice: new entries are waiting in the stream

    async def send_json(self, payload: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(payload, separators=(",", ":")))

    async def _pump(self) -> None:
        assert self.job is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.started.wait(), timeout=START_GRACE_S)
        client = new_async_redis()
        try:
            await self._stream(client)
        except RedisError:
            await self.send_json({"type": "error", "code": "stream_unavailable",
                                  "message": "Live updates are unavailable; poll the status URL."})
        finally:
            await client.aclose()

    async def _stream(self, client: Any) -> None:
        assert self.job is not None
        job = await refresh_job(self.job)
        if job.status == "queued":
            await self.send_json({"type": "tts.queued", "job_id": str(job.pk), "position": await queue_position(job)})
        after, idle = "0-0", 0.0
        while True:
            if job.is_final and not await client.exists(events_key(self.source)):
                break  # cache hit or expired stream: the row says everything
            reply: Any = await client.xread({events_key(self.source): after}, count=200)
            for entry_id, fields in (reply[0][1] if reply else []):
                event = decode_event(entry_id, fields)
                after = event.entry_id
                if event.is_terminal:
                    await self._finish()
                    return
                await self._send_event(event)
            if not reply:
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), timeout=POLL_S)
                idle += POLL_S if not self.wake.is_set() else 0.0
                if idle >= KEEPALIVE_S:
                    await self.send_json({"type": "ping"})
                    idle = 0.0
                job = await refresh_job(job)
        await self._finish()

    async def _send_event(self, event: Any) -> None:
        frame = frame_for(event)
        if frame is None:
            return
        if frame["type"] == "tts.chunk":
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
        await self.accept()

    async def handle(self, kind: str, message: dict[str, Any]) -> None:
        if kind != "synthesize" or self.job is not None:
            await super().handle(kind, message)
            return
        fields = {key: value for key, value in message.items() if key != "type"}
        try:
            job = await submit_from_socket(self.user, fields)
        except ApiError as exc:
            await self.send_json({"type": "tts.failed", "code": exc.code, "message": exc.message,
                                  "field": exc.field})
            return
        self.started.set()
        await self.follow(job)
