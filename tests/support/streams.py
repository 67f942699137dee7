"""Reading a job's audio from a real websocket client, as the portal's player does."""

from __future__ import annotations

import json
from typing import Any

from websockets.asyncio.client import ClientConnection

END_EVENTS = ("tts.done", "tts.failed", "tts.cancelled")


Heard = tuple[list[int], bytes, dict[str, Any]]  # chunk seqs, PCM bytes, the last event


async def read_stream(ws: ClientConnection, *, stop_after: int | None = None) -> Heard:
    """What the socket says until the job's end, or until `stop_after` chunks' audio has come."""
    seqs: list[int] = []
    audio = b""
    last: dict[str, Any] = {}
    async for message in ws:
        if isinstance(message, bytes):
            audio += message
            if stop_after is not None and len(seqs) >= stop_after:
                return seqs, audio, last
            continue
        last = json.loads(message)
        if last["type"] == "tts.chunk":
            seqs.append(last["seq"])
        if last["type"] in END_EVENTS:
            break
    return seqs, audio, last
