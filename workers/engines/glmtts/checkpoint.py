"""Where each part of an upstream GLM-TTS download lives (GLMTTS_CKPT_DIR).

Accepted: the `ckpt/` directory itself or the directory that contains it (upstream's working directory,
with `frontend/campplus.onnx` beside `ckpt/`). Every missing part is named in one error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TEXT_TOKENIZER_DIR = "vq32k-phoneme-tokenizer"


class CheckpointError(Exception):
    pass


@dataclass(frozen=True)
class CheckpointLayout:
    root: Path
    llm: Path
    flow: Path
    hift: Path
    speech_tokenizer: Path
    text_tokenizer: Path | None
    fixture_vocab: Path
    campplus: Path
    vocos: Path | None

    @classmethod
    def resolve(cls, configured: str | Path) -> CheckpointLayout:
        if not str(configured):
            raise CheckpointError("GLMTTS_CKPT_DIR is not set; point it at a GLM-TTS checkpoint directory")
        base = Path(configured).expanduser().resolve()
        root = base / "ckpt" if (base / "ckpt").is_dir() else base
        campplus = _first_existing([root / "campplus.onnx", root / "frontend" / "campplus.onnx",
                                    root.parent / "frontend" / "campplus.onnx"])
        text_tokenizer = root / TEXT_TOKENIZER_DIR
        vocos = root / "vocos2d" / "generator_jit.ckpt"
        layout = cls(root=root, llm=root / "llm", flow=root / "flow", hift=root / "hift" / "hift.pt",
                     speech_tokenizer=root / "speech_tokenizer",
                     text_tokenizer=text_tokenizer if text_tokenizer.is_dir() else None,
                     fixture_vocab=root / "llm" / "fixture_vocab.json", campplus=campplus,
                     vocos=vocos if vocos.is_file() else None)
        layout._check()
        return layout

    def _check(self) -> None:
        required = {"llm/config.json": self.llm / "config.json", "flow/flow.pt": self.flow / "flow.pt",
                    "flow/config.yaml": self.flow / "config.yaml", "hift/hift.pt": self.hift,
                    "speech_tokenizer/config.json": self.speech_tokenizer / "config.json",
                    "campplus.onnx (or frontend/campplus.onnx)": self.campplus}
        missing = [name for name, path in required.items() if not path.exists()]
        if self.text_tokenizer is None and not self.fixture_vocab.is_file():
            missing.append(f"{TEXT_TOKENIZER_DIR}/")
        if not self.root.is_dir():
            raise CheckpointError(f"GLM-TTS checkpoint directory {self.root} does not exist")
        if missing:
            raise CheckpointError(f"GLM-TTS checkpoint at {self.root} lacks: {', '.join(missing)}")


def _first_existing(candidates: list[Path]) -> Path:
    return next((path for path in candidates if path.exists()), candidates[0])
