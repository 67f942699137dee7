"""A complete tiny GLM-TTS checkpoint directory for engine and worker tests.

The fixture holds every upstream part except CAM++ (`campplus.onnx` was not obtainable, MANIFEST §1); the
test builds a small stand-in ONNX model with the same interface ([1, T, 80] fbank -> [1, 192]) so the real
onnxruntime path runs. Everything else is linked from ../shared/fixtures/glmtts-tiny/ckpt.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .conftest import CKPT_DIR


def campplus_projection() -> np.ndarray:
    return (np.random.default_rng(192).standard_normal((80, 192)) / np.sqrt(80)).astype(np.float32)  # fan-in scale


def build_campplus_standin(path: Path) -> None:
    """[1, T, 80] -> square -> ReduceMean over time -> MatMul [80, 192] -> [1, 192], non-default I/O names.

    The features are mean-normalised over time, so a plain time mean would be ~0 whatever they were; their
    per-bin variance is what makes this stand-in sensitive to the features actually fed to the session.
    """
    feats = helper.make_tensor_value_info("fbank", TensorProto.FLOAT, [1, "T", 80])
    out = helper.make_tensor_value_info("speaker_embedding", TensorProto.FLOAT, [1, 192])
    axes = numpy_helper.from_array(np.array([1], dtype=np.int64), name="axes")
    weight = numpy_helper.from_array(campplus_projection(), name="proj")
    nodes = [
        helper.make_node("Mul", ["fbank", "fbank"], ["squared"]),
        helper.make_node("ReduceMean", ["squared", "axes"], ["pooled"], keepdims=0),
        helper.make_node("MatMul", ["pooled", "proj"], ["speaker_embedding"]),
    ]
    graph = helper.make_graph(nodes, "campplus_stand_in", [feats], [out], initializer=[axes, weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9  # readable by every onnxruntime we support
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))


def build_tiny_checkpoint(root: Path) -> Path:
    """An upstream-layout directory: ckpt/{llm,flow,hift,speech_tokenizer} + frontend/campplus.onnx."""
    ckpt = root / "ckpt"
    ckpt.mkdir(parents=True)
    for part in ("llm", "flow", "hift", "speech_tokenizer"):
        (ckpt / part).symlink_to(CKPT_DIR / part, target_is_directory=True)
    build_campplus_standin(root / "frontend" / "campplus.onnx")
    return root
