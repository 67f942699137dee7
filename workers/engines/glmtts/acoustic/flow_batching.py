"""Batched flow renders across concurrent jobs: one thread runs every streaming chunk's ODE, and chunks
whose shapes line up (the same voice prompt and token count: jobs admitted to the LLM at the same step
reach each chunk boundary together) share one batched DiT call per Euler step.

On a GPU a small batch costs about what one row does (the DiT's kernels are far from filling it), so
eight jobs' chunks render for little more than one. On a CPU it buys nothing and is not exact: rows of
a batched matmul differ from the same row alone in the last bits, and per-job time was the same or worse
at batch 4 and 8 (bench figures in docs/benchmarks.md), so the engine batches the flow only on CUDA
unless told otherwise. Results are then within a float tolerance of each job alone
(tests/workers/glmtts/test_flow_batching.py), not byte-identical.

Every wait is bounded: a caller polls for its result and sees the thread's failure or shutdown;
`close()` stops the thread after the render in progress (batch_loop.BatchLoop).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from workers.engines.glmtts.acoustic.flow import FlowInputs, FlowModel, stack_inputs
from workers.engines.glmtts.batch_loop import POLL_S, BatchLoop

logger = logging.getLogger(__name__)
GATHER_S = 0.005  # how long a render waits for peers of its shape: jobs of one LLM step arrive within it


class FlowBatcherClosed(RuntimeError):
    """The flow thread stopped (engine unloaded or worker stopping) before this render finished."""


@dataclass(eq=False)
class _Render:
    inputs: FlowInputs
    noise: torch.Tensor  # [1, T, mel]
    done: threading.Event = field(default_factory=threading.Event)
    result: torch.Tensor | BaseException | None = None


class FlowBatcher(BatchLoop):
    def __init__(self, flow: FlowModel, *, max_batch: int, gather_s: float = GATHER_S) -> None:
        super().__init__("flow renderer", FlowBatcherClosed)
        self.flow, self.max_batch, self.gather_s = flow, max(1, max_batch), gather_s
        self._waiting: list[_Render] = []
        self.renders = 0  # batched ODE solves so far
        self.max_rows = 0  # the most chunks one solve has rendered

    def render(self, inputs: FlowInputs, noise: torch.Tensor) -> torch.Tensor:
        """Mel [1, mel, frames] of one utterance, rendered with whatever chunks of its shape are waiting."""
        request = _Render(inputs, noise)
        self._enqueue(lambda: self._waiting.append(request))
        while not request.done.wait(POLL_S):
            if not self.running:
                raise FlowBatcherClosed("The flow renderer stopped")
        if isinstance(request.result, BaseException):
            raise request.result
        assert request.result is not None
        return request.result

    def _round(self) -> None:
        group = self._next_group()
        if group:
            self._solve(group)

    def _next_group(self) -> list[_Render]:
        """The oldest waiting render and up to max_batch - 1 more of its shape, given GATHER_S to arrive."""
        with self._wake:
            if not self._waiting:
                self._wake.wait(POLL_S)
                return []
            key = self._waiting[0].inputs.shape_key
            deadline = time.monotonic() + self.gather_s
            matching: list[_Render] = []
            while not self._stop.is_set():
                matching = [r for r in self._waiting if r.inputs.shape_key == key][: self.max_batch]
                left = deadline - time.monotonic()
                if len(matching) == self.max_batch or left <= 0:
                    break
                self._wake.wait(left)
            for request in matching:
                self._waiting.remove(request)
            return matching

    def _solve(self, group: list[_Render]) -> None:
        try:
            mels = self.flow.render(stack_inputs([r.inputs for r in group]), torch.cat([r.noise for r in group]))
        except (RuntimeError, ValueError) as exc:  # e.g. out of memory: these renders fail, the loop goes on
            logger.warning("A batched flow render of %d chunks failed: %s", len(group), exc)
            self._finish(group, [exc] * len(group))
            return
        self.renders += 1
        self.max_rows = max(self.max_rows, len(group))
        self._finish(group, list(mels.split(1)))

    @staticmethod
    def _finish(group: list[_Render], results: Sequence[torch.Tensor | BaseException]) -> None:
        for request, result in zip(group, results, strict=True):
            request.result = result
            request.done.set()

    def _fail_all(self, error: BaseException) -> None:
        with self._wake:
            pending, self._waiting = self._waiting, []
        self._finish(pending, [error] * len(pending))
