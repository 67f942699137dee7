"""Fixtures for the GLM-TTS golden tests: the tiny upstream-layout checkpoints and their golden outputs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from workers.engines.glmtts.lm.llm import SpecialTokens, SpeechTokenLM

FIXTURE_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "glmtts-tiny"
CKPT_DIR = FIXTURE_DIR / "ckpt"
GOLDEN_DIR = FIXTURE_DIR / "golden"


@pytest.fixture(scope="session")
def ckpt_dir() -> Path:
    if not CKPT_DIR.is_dir():
        pytest.fail(f"GLM-TTS tiny fixtures missing at {FIXTURE_DIR}")
    return CKPT_DIR


@pytest.fixture(scope="module")
def lm(ckpt_dir: Path) -> SpeechTokenLM:
    """The tiny speech-token LLM with the fixture's special-token ids."""
    vocab = ckpt_dir / "llm" / "fixture_vocab.json"
    return SpeechTokenLM.from_dir(ckpt_dir / "llm", SpecialTokens.from_fixture_vocab(vocab))


def golden(name: str) -> dict[str, torch.Tensor]:
    """One golden safetensors file, e.g. golden('d_llm')."""
    return load_file(str(GOLDEN_DIR / f"{name}.safetensors"))
