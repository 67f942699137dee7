"""CampPlus wiring: a stand-in ONNX model (the real campplus.onnx is not in the fixtures, MANIFEST section 1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from workers.engines.glmtts.speech.campplus import CampPlus

from .conftest import golden
from .expectations import TOLERANCES
from .tiny_ckpt import build_campplus_standin, campplus_projection


def test_embed_runs_the_session_on_campplus_features(tmp_path: Path) -> None:
    model_path = tmp_path / "campplus.onnx"
    build_campplus_standin(model_path)
    speaker = CampPlus(model_path, device="cpu")
    assert (speaker.input_name, speaker.output_name) == ("fbank", "speaker_embedding")

    embedding = speaker.embed(golden("00_waveforms")["wav16k"])

    upstream_input = golden("b_campplus_features")["campplus_input"].numpy()  # [1, T, 80]
    expected = (upstream_input**2).mean(axis=1) @ campplus_projection()
    assert embedding.shape == expected[0].shape and embedding.dtype == torch.float32
    np.testing.assert_allclose(embedding.numpy(), expected[0], rtol=0, atol=TOLERANCES["features"])


def test_missing_model_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "frontend" / "campplus.onnx"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        CampPlus(missing)
