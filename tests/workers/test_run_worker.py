"""The worker is a real process: it heartbeats into Redis and stops cleanly on a signal."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import redis

from tests.support.processes import start_manage, wait_for
from workers.heartbeat import live_workers


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_worker_heartbeats_then_stops_cleanly(sig: signal.Signals, tmp_path: Path,
                                              redis_isolated: redis.Redis, transactional_db: None) -> None:
    proc = start_manage("run_worker", "--worker-id", "test-worker", log_path=tmp_path / "worker.log")
    try:
        wait_for(lambda: any(w["worker_id"] == "test-worker" for w in live_workers()),
                 timeout_s=60, what="the worker's first heartbeat")
        state = live_workers()[0]
        assert state["device"] == "cpu" and state["pid"] == proc.pid
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == 0, (tmp_path / "worker.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert live_workers() == []


def test_bad_device_is_refused(tmp_path: Path) -> None:
    proc = start_manage("run_worker", "--device", "tpu", log_path=tmp_path / "worker.log")
    assert proc.wait(timeout=60) != 0
    assert "--device must be cpu or cuda:N" in (tmp_path / "worker.log").read_text()
