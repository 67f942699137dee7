"""Vocos2D (32 kHz) vocoder: upstream ships it only as TorchScript (`ckpt/vocos2d/generator_jit.ckpt`).

We load that file as-is and reproduce upstream's input handling (utils/vocos_util.py, quirk Q16): a mel
[B, 80, T] in our natural-log layout is transposed to the [B, T, 80] the scripted generator expects and shifted
by MEL_LOGDIFF (its training mel used a different log scale); a single-frame mel is duplicated first.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import Tensor

SAMPLE_RATE = 32000
HOP_LENGTH = 640  # samples per 50 Hz mel frame at 32 kHz
MEL_LOGDIFF = -7.847762537473608
CHECKPOINT_RELPATH = Path("vocos2d") / "generator_jit.ckpt"


class Vocos2D:
    """mel [B, 80, T] -> waveform [B, samples] at 32 kHz, via the scripted upstream generator."""

    sample_rate = SAMPLE_RATE

    def __init__(self, module: torch.jit.ScriptModule, device: torch.device) -> None:
        self.module = module.eval()
        self.device = device

    @classmethod
    def from_file(cls, path: str | Path, device: str | torch.device = "cpu") -> Vocos2D:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"Vocos2D TorchScript vocoder not found: {path}")
        device = torch.device(device)
        with warnings.catch_warnings():
            # TorchScript is deprecated in torch, but it is the only format upstream ships this model in.
            warnings.filterwarnings("ignore", message=r"`torch\.jit\.load` is deprecated", category=DeprecationWarning)
            module = torch.jit.load(str(path), map_location=device)
        return cls(module, device)

    @classmethod
    def from_checkpoint_dir(cls, ckpt_dir: str | Path, device: str | torch.device = "cpu") -> Vocos2D:
        """Load `<ckpt_dir>/vocos2d/generator_jit.ckpt` (upstream's fixed location)."""
        return cls.from_file(Path(ckpt_dir) / CHECKPOINT_RELPATH, device)

    @torch.inference_mode()
    def __call__(self, mel: Tensor) -> Tensor:
        """mel [B, 80, T] (natural-log magnitude, as the flow emits) -> waveform [B, samples]."""
        if mel.dim() != 3:
            raise ValueError(f"Vocos2D expects a mel of shape [B, 80, T], got {tuple(mel.shape)}")
        if mel.shape[-1] == 1:
            # Deliberately as upstream: the generator needs two frames, so a one-frame mel yields two
            # frames of audio (not trimmed back).
            mel = torch.cat([mel, mel], dim=-1)
        wav = self.module(mel.transpose(-1, -2) + MEL_LOGDIFF)
        # Upstream returns the module's [B, samples] as is; a [B, 1, samples] output is flattened to that too.
        return wav.reshape(mel.shape[0], -1)
