"""Text tokenizers for the speech-token LLM.

A real GLM-TTS download ships `vq32k-phoneme-tokenizer/` (a transformers tokenizer with custom code, loaded
with trust_remote_code as upstream does, so it is opt-in). The tiny test checkpoints instead describe a
byte-level vocabulary in `llm/fixture_vocab.json` (ids 0..255 = UTF-8 bytes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

from workers.engines.glmtts.lm.llm import SpecialTokens


class TextTokenizer(Protocol):
    special: SpecialTokens

    def encode(self, text: str) -> list[int]: ...


class ByteTokenizer:
    """UTF-8 bytes as ids, with the special tokens named in a fixture vocabulary file."""

    def __init__(self, vocab_path: Path) -> None:
        data = json.loads(vocab_path.read_text())
        self.special = SpecialTokens(**data["special_token_ids"])

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))


class PretrainedTextTokenizer:
    """The checkpoint's own tokenizer; ids exactly as upstream's `glm_tokenizer.encode(text)`."""

    def __init__(self, path: Path, *, trust_remote_code: bool) -> None:
        from transformers import AutoTokenizer

        self._tokenizer = AutoTokenizer.from_pretrained(str(path), trust_remote_code=trust_remote_code)
        self.special = SpecialTokens.from_token_ids(self.encode)

    def encode(self, text: str) -> list[int]:
        return list(self._tokenizer.encode(text))


def load_text_tokenizer(tokenizer_dir: Path | None, fixture_vocab: Path, *,
                        trust_remote_code: bool) -> TextTokenizer:
    if tokenizer_dir is not None and tokenizer_dir.is_dir():
        return PretrainedTextTokenizer(tokenizer_dir, trust_remote_code=trust_remote_code)
    if fixture_vocab.is_file():
        return ByteTokenizer(fixture_vocab)
    raise FileNotFoundError(f"No text tokenizer: expected {tokenizer_dir} (vq32k-phoneme-tokenizer) or {fixture_vocab}")
