"""Prepared voice prompts kept in the worker, keyed by engine, engine version and voice identity."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping

from .engines.base import Engine, VoicePrompt


class VoicePromptCache:
    def __init__(self, capacity: int = 64) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, VoicePrompt] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(engine: Engine, identity: Mapping[str, str]) -> str:
        return json.dumps([engine.engine_id, engine.version, dict(identity)], sort_keys=True)

    def get_or_prepare(self, engine: Engine, identity: Mapping[str, str],
                       prepare: Callable[[], VoicePrompt]) -> VoicePrompt:
        key = self.key(engine, identity)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        prompt = prepare()
        with self._lock:
            self._items[key] = prompt
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return prompt

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
