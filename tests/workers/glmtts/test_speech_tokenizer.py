"""Golden tests for the WhisperVQ prompt speech tokenizer (golden/a_speech_tokenizer, MANIFEST Q6)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from workers.engines.glmtts.speech.tokenizer import SpeechTokenizer
from workers.engines.glmtts.speech.whisper_vq import WhisperVQConfig, block_causal_bias, load_encoder_state

from .conftest import FIXTURE_DIR, golden


@pytest.fixture(scope="module")
def tokenizer(ckpt_dir: Path) -> SpeechTokenizer:
    return SpeechTokenizer.from_dir(ckpt_dir / "speech_tokenizer", device="cpu")


@pytest.fixture(scope="module")
def waves() -> dict[str, torch.Tensor]:
    return golden("00_waveforms")


@pytest.fixture(scope="module")
def expected() -> dict[str, torch.Tensor]:
    return golden("a_speech_tokenizer")


def _signal_31s() -> torch.Tensor:
    """MANIFEST section 7: the analytic 31 s signal (not stored), float64 -> float32."""
    t = np.arange(496000) / 16000
    x = 0.3 * np.sin(2 * np.pi * (200 + 150 * np.sin(2 * np.pi * 0.25 * t)) * t) + 0.1 * np.sin(2 * np.pi * 1234 * t)
    return torch.from_numpy(x.astype(np.float32))


def test_loads_only_the_quantize_encoder(tokenizer: SpeechTokenizer, ckpt_dir: Path) -> None:
    upstream_keys = json.loads((FIXTURE_DIR / "keys" / "speech_tokenizer_model.keys.json").read_text())
    state = tokenizer.encoder.state_dict()
    assert list(state) == list(upstream_keys)
    assert {name: list(t.shape) for name, t in state.items()} == {k: v["shape"] for k, v in upstream_keys.items()}
    assert len(tokenizer.encoder.layers) == 2 and tokenizer.samples_per_token == 640
    # The file also holds layers.2.* and the final layer_norm (MANIFEST section 2); both are filtered out.
    deeper = set(load_encoder_state(ckpt_dir / "speech_tokenizer", quantize_position=3)) - set(state)
    assert len(deeper) == 15 and all(key.startswith("layers.2.") for key in deeper)


def test_features_match_upstream(tokenizer: SpeechTokenizer, waves: dict[str, torch.Tensor],
                                 expected: dict[str, torch.Tensor]) -> None:
    feats = tokenizer.features([waves["wav16k"].numpy()])
    torch.testing.assert_close(feats["input_features"], expected["input_features"], rtol=0, atol=1e-4)
    assert torch.equal(feats["attention_mask"].to(torch.int32), expected["attention_mask"])


def test_encoder_output_matches_upstream(tokenizer: SpeechTokenizer, expected: dict[str, torch.Tensor]) -> None:
    with torch.inference_mode():
        out = tokenizer.encoder(expected["input_features"], expected["attention_mask"])
    assert torch.equal(out.tokens[0], expected["tokens_wav16k"])
    assert out.token_mask.shape == (1, 75) and bool(out.token_mask.all())
    torch.testing.assert_close(out.hidden, expected["encoder_last_hidden_state"], rtol=0, atol=1e-4)


def test_tokens_single_and_resampled_inside(tokenizer: SpeechTokenizer, waves: dict[str, torch.Tensor],
                                            expected: dict[str, torch.Tensor]) -> None:
    (tokens,) = tokenizer.tokenize([(waves["wav16k"], 16000)])
    assert tokens.dtype == torch.int64 and torch.equal(tokens, expected["tokens_wav16k"])
    (from_24k,) = tokenizer.tokenize([(waves["wav24k"][None], 24000)])  # [channels, N] input, resampled inside
    assert torch.equal(from_24k, expected["tokens_wav24k_resampled_inside"])


def test_tokens_batch_of_two_with_padding(tokenizer: SpeechTokenizer, waves: dict[str, torch.Tensor],
                                          expected: dict[str, torch.Tensor]) -> None:
    first, second = tokenizer.tokenize([(waves["wav16k"], 16000), (waves["wav16k_second"], 16000)])
    assert torch.equal(first, expected["tokens_batch_utt0"])
    assert torch.equal(second, expected["tokens_batch_utt1"])  # 37530 samples -> ceil(/640) = 59 codes
    (alone,) = tokenizer.tokenize([(waves["wav16k_second"], 16000)])
    assert torch.equal(alone, expected["tokens_second_alone"])


def test_tokens_31s_signal_is_two_segments(tokenizer: SpeechTokenizer, expected: dict[str, torch.Tensor]) -> None:
    (tokens,) = tokenizer.tokenize([(_signal_31s(), 16000)])
    assert tokens.shape == (775,)  # 750 codes for the first 30 s + 25 for the last second
    assert torch.equal(tokens, expected["tokens_long31s"])


def test_block_causal_bias_structure() -> None:
    valid = torch.tensor([[1, 1, 1, 1, 1, 0]])
    allowed = block_causal_bias(valid, block=2, dtype=torch.float32)[0, 0] == 0
    expected = torch.tensor([[1, 1, 0, 0, 0, 0],
                             [1, 1, 0, 0, 0, 0],
                             [1, 1, 1, 1, 0, 0],
                             [1, 1, 1, 1, 0, 0],
                             [1, 1, 1, 1, 1, 0],
                             [1, 1, 1, 1, 1, 0]], dtype=torch.bool)
    assert torch.equal(allowed, expected)
    padding_only = block_causal_bias(valid, block=None, dtype=torch.float32)
    assert padding_only.shape == (1, 1, 1, 6) and padding_only[0, 0, 0, 5] == torch.finfo(torch.float32).min


@pytest.mark.parametrize(("changes", "message"), [
    ({"pooling_type": "mean"}, "pooling_type"),
    ({"pooling_position": 0}, "pooling_position"),
    ({"quantize_position": 4}, "quantize_position"),
    ({"quantize_vocab_size": None}, "quantize_vocab_size"),
    ({"activation_function": "mystery"}, "activation_function"),
])
def test_unsupported_configs_are_rejected(ckpt_dir: Path, tmp_path: Path, changes: dict[str, object],
                                          message: str) -> None:
    config = json.loads((ckpt_dir / "speech_tokenizer" / "config.json").read_text())
    config.update(changes)
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=message):
        WhisperVQConfig.from_json(tmp_path / "config.json")


def test_full_size_style_config_runs(ckpt_dir: Path, tmp_path: Path, waves: dict[str, torch.Tensor]) -> None:
    """Max pooling, causal attention and pooling before the last layer load and produce ceil(N / 640) codes."""
    config = json.loads((ckpt_dir / "speech_tokenizer" / "config.json").read_text())
    config.update(pooling_type="max", pooling_position=1, quantize_causal_encoder=True)
    (tmp_path / "config.json").write_text(json.dumps(config))
    for name in ("model.safetensors", "preprocessor_config.json"):
        shutil.copy(ckpt_dir / "speech_tokenizer" / name, tmp_path / name)
    tokenizer = SpeechTokenizer.from_dir(tmp_path)
    first, second = tokenizer.tokenize([(waves["wav16k"], 16000), (waves["wav16k_second"][:-10], 16000)])
    assert first.shape == (75,) and second.shape == (59,)
    assert int(first.min()) >= 0 and int(first.max()) < 32768
