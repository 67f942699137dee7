"""Vocos2D wrapper: upstream's input handling around a TorchScript generator (no real weights exist here).

The stand-in generator is a scripted module whose output is its own input, flattened and repeated 8 times
per value ([B, T, 80] -> [B, T * 640]), so the test can read back exactly what the wrapper fed it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from workers.engines.glmtts.acoustic.vocos import HOP_LENGTH, MEL_LOGDIFF, SAMPLE_RATE, Vocos2D

REPEAT = HOP_LENGTH // 80
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.*` is deprecated:DeprecationWarning")


class _EchoGenerator(nn.Module):
    def __init__(self, keep_channel_axis: bool = False) -> None:
        super().__init__()
        self.keep_channel_axis = keep_channel_axis
        self.gain = nn.Parameter(torch.ones(1), requires_grad=False)  # only to see where the module lives

    def forward(self, mel: Tensor) -> Tensor:
        if mel.size(-1) != 80:
            raise RuntimeError("expected [B, T, 80]")
        wav = (mel * self.gain).reshape(mel.size(0), -1).repeat_interleave(8, dim=1)
        return wav.unsqueeze(1) if self.keep_channel_axis else wav


def _save(root: Path, module: nn.Module) -> Path:
    path = root / "vocos2d" / "generator_jit.ckpt"
    path.parent.mkdir(parents=True)
    torch.jit.save(torch.jit.script(module), str(path))
    return path


def _fed(wav: Tensor, frames: int) -> Tensor:
    """What the generator received, [B, T, 80], recovered from its echo."""
    return wav.reshape(wav.shape[0], frames, 80, REPEAT)[..., 0]


@pytest.fixture
def vocos(tmp_path: Path) -> Vocos2D:
    _save(tmp_path, _EchoGenerator())
    return Vocos2D.from_checkpoint_dir(tmp_path, device="cpu")


def test_feeds_transposed_mel_with_logdiff(vocos: Vocos2D) -> None:
    mel = torch.randn(2, 80, 5, generator=torch.Generator().manual_seed(0))
    wav = vocos(mel)
    assert wav.shape == (2, 5 * HOP_LENGTH)
    assert torch.equal(_fed(wav, 5), mel.transpose(1, 2) + MEL_LOGDIFF)
    assert MEL_LOGDIFF == -7.847762537473608
    assert vocos.sample_rate == SAMPLE_RATE == 32000


def test_single_frame_is_duplicated(vocos: Vocos2D) -> None:
    mel = torch.randn(1, 80, 1, generator=torch.Generator().manual_seed(1))
    wav = vocos(mel)
    assert wav.shape == (1, 2 * HOP_LENGTH)  # as upstream: two frames of audio, not trimmed
    fed = _fed(wav, 2)
    assert torch.equal(fed[:, 0], mel[:, :, 0] + MEL_LOGDIFF)
    assert torch.equal(fed[:, 1], fed[:, 0])


def test_channel_axis_output_is_flattened(tmp_path: Path) -> None:
    vocos = Vocos2D.from_file(_save(tmp_path, _EchoGenerator(keep_channel_axis=True)), device="cpu")
    mel = torch.randn(3, 80, 4, generator=torch.Generator().manual_seed(2))
    wav = vocos(mel)
    assert wav.shape == (3, 4 * HOP_LENGTH)
    assert torch.equal(_fed(wav, 4), mel.transpose(1, 2) + MEL_LOGDIFF)


def test_loaded_onto_requested_device_and_eval(vocos: Vocos2D) -> None:
    assert vocos.device == torch.device("cpu")
    assert vocos.module.gain.device == torch.device("cpu")
    assert not vocos.module.training


def test_rejects_non_batched_mel(vocos: Vocos2D) -> None:
    with pytest.raises(ValueError, match=r"\[B, 80, T\]"):
        vocos(torch.zeros(80, 5))


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    expected = tmp_path / "vocos2d" / "generator_jit.ckpt"
    with pytest.raises(FileNotFoundError, match=str(expected)):
        Vocos2D.from_checkpoint_dir(tmp_path)
    with pytest.raises(FileNotFoundError, match=str(expected)):
        Vocos2D.from_file(expected)
