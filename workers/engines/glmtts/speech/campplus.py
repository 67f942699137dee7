"""CAM++ speaker embedding: upstream's ONNX model run on mean-normalised Kaldi fbank features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime
import torch

from workers.engines.glmtts.speech.features import campplus_features

EMBEDDING_DIM = 192


def _providers(device: torch.device) -> list[str]:
    providers = ["CPUExecutionProvider"]
    if device.type == "cuda" and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    return providers


class CampPlus:
    """One onnxruntime session; `embed` maps a 16 kHz clip to its 192-d speaker embedding."""

    def __init__(self, onnx_path: Path | str, device: torch.device | str = "cpu") -> None:
        path = Path(onnx_path)
        if not path.is_file():
            raise FileNotFoundError(f"CAM++ model not found: {path}")
        self.device = torch.device(device)
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = 1  # as upstream; the model is small and runs once per voice
        self.session = onnxruntime.InferenceSession(str(path), sess_options=options,
                                                    providers=_providers(self.device))
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name

    def embed(self, wav16k: torch.Tensor) -> torch.Tensor:
        """Embedding [192] (float32, on this wrapper's device) of a mono 16 kHz clip [N] or [1, N] in [-1, 1]."""
        # Upstream feeds the unscaled waveform (no x32768) to kaldi.fbank.
        feats = campplus_features(wav16k.float()).cpu().numpy()
        (embedding,) = self.session.run([self.output_name], {self.input_name: feats})
        flat = np.asarray(embedding, dtype=np.float32).reshape(-1)
        if flat.shape[0] != EMBEDDING_DIM:
            raise ValueError(f"CAM++ model returned {flat.shape[0]} values, expected {EMBEDDING_DIM}")
        return torch.from_numpy(flat).to(self.device)
