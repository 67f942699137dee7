"""A real worker process (python manage.py run_worker's runner) serving GLM-TTS with random weights.

The checkpoint's text frontend, speech tokenizer and CAM++ stand-in come from the tiny fixture
(tests/workers/glmtts/tiny_ckpt.py); the LLM, DiT and HiFT are replaced by random models of the size
asked (bench/glmtts_kv_cache.py's SIZES: `small` for CPUs, `full` = upstream's architecture). Random
weights never choose EOS, so the head puts EOS level with the most likely speech code: a sentence ends a
few codes after upstream's minimum length (2 codes per text token) — the same work in every mode.

    WORKER_MAX_BATCH=8 python bench/serving_worker.py --size small --device cpu --tag batched
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "glmtts_site.settings.dev")
import django

django.setup()
from django.conf import settings  # noqa: E402

from bench.glmtts_kv_cache import SIZES, build  # noqa: E402
from tests.workers.glmtts.tiny_ckpt import build_tiny_checkpoint  # noqa: E402
from workers.engines.glmtts.engine import GlmTtsEngine  # noqa: E402
from workers.engines.glmtts.lm.llm import SpecialTokens  # noqa: E402
from workers.runner import WorkerRunner  # noqa: E402


class EndingHead(torch.nn.Module):
    """EOS gets the logit of the row's most likely speech code (each row on its own: batching stays exact)."""

    def __init__(self, head: torch.nn.Module, special: SpecialTokens) -> None:
        super().__init__()
        self.head, self.special = head, special

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        logits = self.head(hidden)
        speech = logits[..., self.special.ats:self.special.ate + 1]
        logits[..., self.special.eoa] = speech.max(dim=-1).values
        return logits


def bench_engine(size: str, device: str, tag: str) -> GlmTtsEngine:
    root = Path(os.environ.get("GLMTTS_CKPT_DIR") or build_tiny_checkpoint(Path(tempfile.mkdtemp()) / "glmtts"))
    engine = GlmTtsEngine(ckpt_dir=str(root), threads=settings.ENGINE_THREADS, max_batch=settings.WORKER_MAX_BATCH,
                          flow_batching=settings.GLMTTS_FLOW_BATCH)
    engine.load(device)
    lm, acoustic = build(SIZES[size], torch.device(device),
                         torch.bfloat16 if device.startswith("cuda") else torch.float32)
    lm.model.lm_head = EndingHead(lm.model.lm_head, lm.special)
    engine.use_lm(lm)
    engine.use_acoustic(acoustic)
    # Its own version: the web keys the cache with it, so no mode is served another mode's results.
    engine.version = f"{engine.version}+random-{size}-{tag}"
    return engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--tag", default="bench")
    args = parser.parse_args()
    engine = bench_engine(args.size, args.device, args.tag)
    runner = WorkerRunner(device=args.device, engines={"glmtts": engine}, worker_id=f"bench-{args.tag}")
    asyncio.run(runner.run())


if __name__ == "__main__":
    main()
