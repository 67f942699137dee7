"""Batched flow renders: time per job of one streaming chunk's ODE (10 Euler steps, CFG) when B jobs' chunks
of one shape render together (acoustic/flow_batching.py), against each alone, and how far a batched row is
from the same row alone. This is what GLMTTS_FLOW_BATCH=auto decides on (on CUDA only).

    .venv/bin/python bench/glmtts_flow_batch.py [--size small|full] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import device_line, table
from bench.glmtts_kv_cache import SIZES, build, sync, voice
from workers.engines.glmtts.acoustic.flow import FlowInputs, FlowModel, stack_inputs

CHUNK_TOKENS = (25, 75, 175)  # the streaming schedule's first renders (StreamSchedule)
BATCHES = (1, 4, 8)


def _seconds(flow: FlowModel, inputs: FlowInputs, noise: torch.Tensor, repeats: int) -> float:
    flow.render(inputs, noise)  # warm-up (CUDA kernels, allocator)
    sync(noise.device)
    started = time.perf_counter()
    for _ in range(repeats):
        flow.render(inputs, noise)
    sync(noise.device)
    return (time.perf_counter() - started) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_device = "cuda" if torch.cuda.is_available() else "cpu"
    parser.add_argument("--device", default=default_device)
    parser.add_argument("--size", choices=sorted(SIZES), default="full" if default_device == "cuda" else "small")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    device = torch.device(args.device)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    _, acoustic = build(SIZES[args.size], device, dtype)
    features, flow = voice(acoustic), acoustic.flow
    prompt = torch.tensor([features.speech_codes], device=device)
    rows = []
    for tokens in CHUNK_TOKENS:
        codes = torch.randint(0, 32768, (1, tokens), generator=torch.Generator().manual_seed(tokens)).to(device)
        one = flow.prepare(codes, prompt, features.mels[24000], features.embedding)
        frames = one.condition.shape[1]
        alone_s = None
        for batch in BATCHES:
            noise = torch.randn(batch, frames, 80, generator=torch.Generator().manual_seed(batch)).to(device, dtype)
            seconds = _seconds(flow, stack_inputs([one] * batch), noise, args.repeats)
            alone_s = alone_s or seconds
            together = flow.render(stack_inputs([one] * batch), noise)
            drift = max(float((together[i:i + 1].float() - flow.render(one, noise[i:i + 1]).float()).abs().max())
                        for i in range(batch))
            rows.append([str(tokens), str(frames), str(batch), f"{seconds * 1000:.0f}", f"{seconds / batch * 1000:.0f}",
                         f"{alone_s * batch / seconds:.2f}x", f"{drift:.1e}"])
            print(" | ".join(rows[-1]), file=sys.stderr, flush=True)
    print(f"Device: {device_line() if device.type == 'cpu' else torch.cuda.get_device_name(device)}; "
          f"{SIZES[args.size].label}, {dtype}; {args.repeats} renders each")
    print(table(["chunk tokens", "frames", "jobs batched", "render ms", "ms per job", "throughput vs alone",
                 "max |batched - alone|"], rows))


if __name__ == "__main__":
    main()
