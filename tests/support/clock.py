"""A monotonic clock that tests move by hand."""

from __future__ import annotations

from types import ModuleType

import pytest


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def manual_clock(monkeypatch: pytest.MonkeyPatch, module: ModuleType) -> ManualClock:
    """Replace `module.time.monotonic` (the module's own view of `time`) by a ManualClock."""
    clock = ManualClock()
    monkeypatch.setattr(module.time, "monotonic", clock)
    return clock
