"""Golden tests for the WhisperVQ prompt speech tokenizer (golden/a_speech_tokenizer, MANIFEST Q6)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from workers.engines.glmtts.speech.tokenizer import SpeechTokenizer
from workers.engines.glmtts.speech.whisper_vq import WhisperVQConfig, block_causal_bias, load_encoder_state

from .conftest import FIXTURE_DIR, golden
from .expectations import TOLERANCES, fixture_json


@pytest.fixture(scope="module")
def tokenizer(ckpt_dir: Path) -> SpeechTokenizer:
    return SpeechTokenizer.from_dir(ckpt_dir / "speech_tokenizer", device="cpu")


@pytest.fixture(scope="module")
def waves() -> dict[str, torch.Tensor]:
    return golden("00_waveforms")


@pytest.fixture(scope="module")
def expected() -> dict[str, torch.Tensor]:
    return golden("a_speech_tokenizer")


def _preprocessor() -> dict[str, Any]:
    config: dict[str, Any] = fixture_json("ckpt/speech_tokenizer/preprocessor_config.json")
    return config


def _samples_per_token(expected: dict[str, torch.Tensor]) -> int:
    """16 kHz samples per code, from golden a: feature frames per code (features are padded to whole codes, Q6)
    times the extractor's hop."""
    frames, codes = expected["input_features"].shape[-1], expected["tokens_wav16k"].shape[0]
    return frames // codes * _preprocessor()["hop_length"]


def _long_signal(n_samples: int) -> torch.Tensor:
    """MANIFEST section 7: the analytic long signal (not stored; given by formula only), float64 -> float32."""
    t = np.arange(n_samples) / _preprocessor()["sampling_rate"]
    x = 0.3 * np.sin(2 * np.pi * (200 + 150 * np.sin(2 * np.pi * 0.25 * t)) * t) + 0.1 * np.sin(2 * np.pi * 1234 * t)
    return torch.from_numpy(x.astype(np.float32))


def test_loads_only_the_quantize_encoder(tokenizer: SpeechTokenizer, ckpt_dir: Path,
                                        expected: dict[str, torch.Tensor]) -> None:
    upstream_keys = json.loads((FIXTURE_DIR / "keys" / "speech_tokenizer_model.keys.json").read_text())
    state = tokenizer.encoder.state_dict()
    assert list(state) == list(upstream_keys)
    assert {name: list(t.shape) for name, t in state.items()} == {k: v["shape"] for k, v in upstream_keys.items()}
    n_layers = fixture_json("keys/build_report.json")["speech_tokenizer_loaded_layers"]
    assert len(tokenizer.encoder.layers) == n_layers
    assert tokenizer.samples_per_token == _samples_per_token(expected)
    # The file also holds the next layer and the final layer_norm (MANIFEST section 2); both are filtered out.
    prefix = "model.encoder."
    next_layer = {key[len(prefix):] for key in fixture_json("keys/speech_tokenizer_file.keys.json")
                  if key.startswith(f"{prefix}layers.{n_layers}.")}
    deeper = set(load_encoder_state(ckpt_dir / "speech_tokenizer", quantize_position=n_layers + 1)) - set(state)
    assert next_layer and deeper == next_layer


def test_features_match_upstream(tokenizer: SpeechTokenizer, waves: dict[str, torch.Tensor],
                                 expected: dict[str, torch.Tensor]) -> None:
    feats = tokenizer.features([waves["wav16k"].numpy()])
    torch.testing.assert_close(feats["input_features"], expected["input_features"], rtol=0, atol=TOLERANCES["features"])
    assert torch.equal(feats["attention_mask"].to(torch.int32), expected["attention_mask"])


def test_encoder_output_matches_upstream(tokenizer: SpeechTokenizer, expected: dict[str, torch.Tensor]) -> None:
    with torch.inference_mode():
        out = tokenizer.encoder(expected["input_features"], expected["attention_mask"])
    assert torch.equal(out.tokens[0], expected["tokens_wav16k"])
    assert out.token_mask.shape == expected["tokens_wav16k"][None].shape and bool(out.token_mask.all())
    torch.testing.assert_close(out.hidden, expected["encoder_last_hidden_state"], rtol=0, atol=TOLERANCES["features"])


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
    assert torch.equal(second, expected["tokens_batch_utt1"])  # the shorter one, padded in the batch
    (alone,) = tokenizer.tokenize([(waves["wav16k_second"], 16000)])
    assert torch.equal(alone, expected["tokens_second_alone"])


def test_tokens_31s_signal_is_two_segments(tokenizer: SpeechTokenizer, expected: dict[str, torch.Tensor]) -> None:
    # The signal lasts whole codes (MANIFEST section 7), so golden's code count gives its length back.
    n_samples = len(expected["tokens_long31s"]) * _samples_per_token(expected)
    preprocessor = _preprocessor()
    assert n_samples > preprocessor["chunk_length"] * preprocessor["sampling_rate"]  # longer than one segment
    (tokens,) = tokenizer.tokenize([(_long_signal(n_samples), preprocessor["sampling_rate"])])
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


def test_full_size_style_config_runs(ckpt_dir: Path, tmp_path: Path, waves: dict[str, torch.Tensor],
                                     expected: dict[str, torch.Tensor]) -> None:
    """Max pooling, causal attention and pooling before the last layer load and produce ceil(N / hop) codes."""
    config = json.loads((ckpt_dir / "speech_tokenizer" / "config.json").read_text())
    config.update(pooling_type="max", pooling_position=1, quantize_causal_encoder=True)
    (tmp_path / "config.json").write_text(json.dumps(config))
    for name in ("model.safetensors", "preprocessor_config.json"):
        shutil.copy(ckpt_dir / "speech_tokenizer" / name, tmp_path / name)
    tokenizer = SpeechTokenizer.from_dir(tmp_path)
    utts = [waves["wav16k"], waves["wav16k_second"][:-10]]
    first, second = tokenizer.tokenize([(wav, 16000) for wav in utts])
    assert [len(first), len(second)] == [math.ceil(len(wav) / _samples_per_token(expected)) for wav in utts]
    # The other pooling and causality took effect (not golden's codes), and padding in a batch still does not
    # reach the shorter utterance (as golden's equal_batch_vs_alone_* found upstream).
    assert not torch.equal(first, expected["tokens_wav16k"])
    (alone,) = tokenizer.tokenize([(utts[1], 16000)])
    assert torch.equal(alone, second)
