"""Staff commands to running workers (offload now) over Redis pub/sub, and GPU readings."""

from __future__ import annotations

import json
from typing import Any

from glmtts_site.redis_conn import get_redis, redis_key


def control_channel() -> str:
    return redis_key("workers", "control")


def send_offload(target: str = "*") -> int:
    """Ask one worker (by id) or all ("*") to unload their engines; returns how many listened."""
    message = json.dumps({"action": "offload", "target": target})
    return int(get_redis().publish(control_channel(), message))


def gpu_status(device: str) -> dict[str, Any] | None:
    """Memory of the worker's CUDA device, or None on CPU."""
    if not device.startswith("cuda"):
        return None
    import torch

    index = int(device.split(":", 1)[1]) if ":" in device else 0
    free, total = torch.cuda.mem_get_info(index)
    mib = 1024 * 1024
    return {
        "name": torch.cuda.get_device_name(index),
        "allocated_mib": round(torch.cuda.memory_allocated(index) / mib, 1),
        "reserved_mib": round(torch.cuda.memory_reserved(index) / mib, 1),
        "free_mib": round(free / mib, 1),
        "total_mib": round(total / mib, 1),
    }


def release_gpu_memory(device: str) -> None:
    if device.startswith("cuda"):
        import gc

        import torch

        gc.collect()
        torch.cuda.empty_cache()
