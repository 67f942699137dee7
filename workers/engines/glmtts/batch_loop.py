"""The thread behind a batcher (the LLM's decode loop, the flow's render loop): started by the first
request, one `_round` after another until `close()`; when it stops — closed, or a bug in a round — every
request still waiting or running hears why (`_fail_all`), so no caller waits forever."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable

import torch

logger = logging.getLogger(__name__)
POLL_S = 0.5  # how often idle loops and waiting callers look up (a stop is seen within it)


class BatchLoop(ABC):
    def __init__(self, name: str, closed: type[RuntimeError]) -> None:
        self._name, self._closed = name, closed
        self._wake = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def _enqueue(self, put: Callable[[], None]) -> None:
        """Run `put` (adding a request) under the loop's lock, starting the thread if it is not yet."""
        with self._wake:
            if self._stop.is_set():
                raise self._closed(f"The {self._name} is stopped")
            put()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._wake.notify_all()

    def wake(self) -> None:
        with self._wake:
            self._wake.notify_all()

    def close(self, timeout_s: float = 10.0) -> bool:
        """Stop the thread after its current round (requests left end with the closed error); False if it
        did not stop in time."""
        self._stop.set()
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout_s)
            return not self._thread.is_alive()
        return True

    def _run(self) -> None:
        try:
            with torch.inference_mode():
                while not self._stop.is_set():
                    self._round()
        except Exception as exc:  # a bug or an out-of-memory: every request hears it, none waits forever
            logger.exception("The %s failed", self._name)
            self._fail_all(exc)
        finally:
            self._stop.set()
            self._fail_all(self._closed(f"The {self._name} stopped"))

    @abstractmethod
    def _round(self) -> None:
        """One step of work, or a bounded wait (POLL_S) for some."""

    @abstractmethod
    def _fail_all(self, error: BaseException) -> None:
        """Hand `error` to every request waiting or running."""
