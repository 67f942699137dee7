"""Our HyperPyYAML flow-config reader against the fixture configs and synthetic real-style configs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from workers.engines.glmtts.acoustic.flow import FlowModel
from workers.engines.glmtts.acoustic.flow_config import DiTConfig, FlowConfig, load_flow_config

from .conftest import FIXTURE_DIR
from .expectations import golden_info, installed_estimator, plain_yaml

VARIANT_CONFIG = FIXTURE_DIR / "variants" / "flow_concat_tokencfg" / "ckpt" / "flow" / "config.yaml"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _assert_reads_fixture(path: Path) -> None:
    """Every `flow:` kwarg as the file states it, and the DiT that the file's setattr installs (MANIFEST §2)."""
    config = load_flow_config(path)
    plain = plain_yaml(path)
    flow_kwargs: dict[str, Any] = plain["flow"]
    assert {name: getattr(config, name) for name in flow_kwargs} == flow_kwargs
    assert config.estimator == DiTConfig(**installed_estimator(plain))
    # Not a Flow kwarg: upstream fixes the CFG rate in Flow.__init__; golden e_flow records its value.
    assert config.inference_cfg_rate == golden_info("e_flow")["cfg_rate"]


def test_main_fixture_config(ckpt_dir: Path) -> None:
    _assert_reads_fixture(ckpt_dir / "flow" / "config.yaml")


def test_variant_fixture_config() -> None:
    _assert_reads_fixture(VARIANT_CONFIG)


REAL_STYLE = """\
flow: !new:flow.flow.Flow
    speech_token_dim: 512
    vocab_size: 32768
    input_frame_rate: 25
    spk_embed_dim: 80
    mel_dim: 80
    big_model: {big}
    spkr_emb_adaLN: True
    speech_token_cfg: False
    use_wavlm_emb: False
    remove_spkr_concat_condition: {remove}
    t_scheduler: cosine
    mel_framerate: 50
"""


@pytest.mark.parametrize(("big", "size"), [(False, (768, 18, 12)), (True, (1024, 22, 16))])
def test_real_style_config_derives_the_dit_like_upstream(tmp_path: Path, big: bool, size: tuple[int, ...]) -> None:
    config = load_flow_config(_write(tmp_path, REAL_STYLE.format(big=big, remove=True)))
    assert config.dit is None
    dit = config.estimator
    assert (dit.trans_dim, dit.depth, dit.heads) == size
    assert (dit.dim_head, dit.ff_mult, dit.conv_layers, dit.dropout) == (64, 2, 4, 0.1)
    assert (dit.text_emb_dim, dit.text_vocab_size, dit.mel_dim, dit.condition_dim) == (512, 32768, 80, 80)
    assert dit.spkr_emb_adaLN and not dit.wav_lm_emb and not dit.long_skip_connection


def test_real_style_concat_condition_widens_the_dit(tmp_path: Path) -> None:
    config = load_flow_config(_write(tmp_path, REAL_STYLE.format(big=False, remove=False)))
    assert config.estimator.condition_dim == 80 + 80


def test_real_style_model_shapes(tmp_path: Path) -> None:
    config = load_flow_config(_write(tmp_path, REAL_STYLE.format(big=False, remove=False)))
    with torch.device("meta"):  # full size, without allocating it
        shapes = {key: tuple(value.shape) for key, value in FlowModel(config).state_dict().items()}
    assert shapes["spk_embed_affine_layer.weight"] == (80, 192)
    assert shapes["estimator.text_emb_layer.text_embed.weight"] == (32769, 512)
    assert shapes["estimator.emb_concator.proj.weight"] == (768, 80 + 512 + 160)
    assert shapes["estimator.rotary_embed.inv_freq"] == (32,)
    assert shapes["estimator.transformer_blocks.17.attn_norm.linear.weight"] == (768 * 6, 768 + 192)
    assert shapes["estimator.transformer_blocks.17.ff.ff.0.0.weight"] == (1536, 768)
    assert shapes["estimator.norm_out.linear.weight"] == (768 * 2, 768 + 192)
    assert "estimator.text_emb_layer.text_blocks.3.grn.gamma" in shapes
    assert "estimator.transformer_blocks.18.attn.to_q.weight" not in shapes


def test_flow_defaults_are_upstream_signature_defaults(tmp_path: Path) -> None:
    config = load_flow_config(_write(tmp_path, "flow: !new:flow.flow.Flow {}\n"))
    assert config == FlowConfig()
    assert (config.input_frame_rate, config.mel_framerate, config.vocab_size, config.speech_token_dim) == (
        12.5, 86, 100000, 512)
    assert config.speech_token_cfg and not config.remove_spkr_concat_condition
    assert config.estimator.condition_dim == 160


def test_refs_and_arithmetic(tmp_path: Path) -> None:
    text = """\
mel: 80
sizes: {token: 16}
flow: !new:flow.flow.Flow
    mel_dim: !ref <mel>
    spk_embed_dim: !ref <mel> // 5
    speech_token_dim: !ref <sizes[token]>
    input_frame_rate: !ref <mel> / 3.2
"""
    config = load_flow_config(_write(tmp_path, text))
    assert (config.mel_dim, config.spk_embed_dim, config.speech_token_dim, config.input_frame_rate) == (80, 16, 16,
                                                                                                       25.0)


def test_unapplied_tiny_estimator_is_ignored_like_upstream(tmp_path: Path) -> None:
    # Only the setattr swaps the estimator; a bare DiT entry is built by HyperPyYAML and then unused.
    text = REAL_STYLE.format(big=False, remove=True) + "spare: !new:flow.dit.DiT {trans_dim: 8}\n"
    assert load_flow_config(_write(tmp_path, text)).estimator.trans_dim == 768


@pytest.mark.parametrize(("text", "message"), [
    ("flow: !new:torch.nn.Linear {in_features: 1}\n", "unsupported tag"),
    (REAL_STYLE.format(big=False, remove=True) + "x: !new:os.system [echo]\n", "unsupported tag"),
    (REAL_STYLE.format(big=False, remove=True) + "x: !name:flow.flow.Flow\n", "unsupported tag"),
    (REAL_STYLE.format(big=False, remove=True) + "x: !apply:print [1]\n", "unsupported tag"),
    ("flow: !new:flow.dit.DiT {trans_dim: 8}\n", "must be `!new:flow.flow.Flow`"),
    ("flow: !new:flow.flow.Flow {hidden: 3}\n", "unsupported argument"),
    ("flow: !new:flow.flow.Flow {mel_dim: [80]}\n", "plain numbers"),
    ("flow: !include:other.yaml\n", "not a HyperPyYAML flow config"),
    ("flow: !new:flow.flow.Flow {mel_dim: !ref <missing>}\n", "unknown key"),
    ("other: 1\n", "no top-level `flow`"),
    ("flow: !new:flow.flow.Flow {}\nd: !new:flow.dit.DiT {trans_dim: 8}\n"
     "s: !apply:setattr [!ref <d>, estimator, !ref <d>]\n", "other than `flow`"),
    ("flow: !new:flow.flow.Flow {}\ns: !apply:setattr [!ref <flow>, estimator, 3]\n", "only replacing"),
])
def test_rejects_what_we_do_not_model(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_flow_config(_write(tmp_path, text))
