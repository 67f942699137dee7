"""Flow matching (DiT estimator + Euler/CFG ODE) against upstream's golden outputs (e_flow, e2_flow_variant)."""

from __future__ import annotations

import json
import shutil
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from workers.engines.glmtts.acoustic.dit_modules import apply_rotary
from workers.engines.glmtts.acoustic.flow import FlowModel, FlowTrace, read_flow_state_dict

from .conftest import CKPT_DIR, FIXTURE_DIR, golden
from .expectations import TOLERANCES, fixture_json, plain_yaml

VARIANT_DIR = FIXTURE_DIR / "variants" / "flow_concat_tokencfg" / "ckpt" / "flow"
MEL_ATOL = TOLERANCES["flow_mel"]
CALL_ATOL = TOLERANCES["flow_estimator_call"]
COPY_ATOL = TOLERANCES["float32_ops"]


@pytest.fixture(scope="module")
def main_flow(ckpt_dir: Path) -> FlowModel:
    return FlowModel.from_dir(ckpt_dir / "flow")


@pytest.fixture(scope="module")
def variant_flow() -> FlowModel:
    return FlowModel.from_dir(VARIANT_DIR)


@pytest.fixture(scope="module")
def e_flow() -> dict[str, torch.Tensor]:
    return golden("e_flow")


@pytest.fixture(scope="module")
def e2_flow() -> dict[str, torch.Tensor]:
    return golden("e2_flow_variant")


def _run(model: FlowModel, g: dict[str, torch.Tensor], **kwargs: object) -> tuple[torch.Tensor, FlowTrace]:
    trace = FlowTrace()
    mel = model.inference(g["token"], g["prompt_token"], g["prompt_feat"], g["embedding"], trace=trace,
                          **kwargs)  # type: ignore[arg-type]
    return mel, trace


@pytest.fixture(scope="module")
def main_run(main_flow: FlowModel, e_flow: dict[str, torch.Tensor]) -> tuple[torch.Tensor, FlowTrace]:
    return _run(main_flow, e_flow, noise=e_flow["noise"])


@pytest.fixture(scope="module")
def variant_run(variant_flow: FlowModel, e2_flow: dict[str, torch.Tensor]) -> tuple[torch.Tensor, FlowTrace]:
    return _run(variant_flow, e2_flow, noise=e2_flow["noise"])


def _recorded_call(g: dict[str, torch.Tensor], branch: str) -> dict[str, torch.Tensor]:
    prefix = f"est_step1_{branch}_"
    return {key[len(prefix):]: value for key, value in g.items()
            if key.startswith(prefix) and not key.endswith("_output")}


def _max_err(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return (a.float() - b.float()).abs().max().item()


def test_state_dict_names_and_shapes_match_upstream(main_flow: FlowModel, variant_flow: FlowModel) -> None:
    for model, name in ((main_flow, "flow"), (variant_flow, "flow_variant_concat_tokencfg")):
        expected = json.loads((FIXTURE_DIR / "keys" / f"{name}.keys.json").read_text())
        ours = {key: list(value.shape) for key, value in model.state_dict().items()}
        assert ours == {key: info["shape"] for key, info in expected.items()}


@pytest.mark.parametrize("branch", ["cond", "uncond"])
def test_estimator_replays_recorded_step1_call(main_flow: FlowModel, e_flow: dict[str, torch.Tensor],
                                               branch: str) -> None:
    with torch.inference_mode():
        output = main_flow.estimator(**_recorded_call(e_flow, branch))
    assert _max_err(output, e_flow[f"est_step1_{branch}_output"]) < CALL_ATOL


def test_built_estimator_inputs_equal_recorded(main_run: tuple[torch.Tensor, FlowTrace],
                                               e_flow: dict[str, torch.Tensor]) -> None:
    inputs = main_run[1].step1_inputs
    for row, branch in enumerate(("cond", "uncond")):
        recorded = _recorded_call(e_flow, branch)
        assert torch.equal(inputs["text"][row:row + 1], recorded["text"])
        assert torch.equal(inputs["padding_mask_bt"][row:row + 1], recorded["padding_mask_bt"])
        assert torch.equal(inputs["time_step_1d"], recorded["time_step_1d"])
        assert torch.equal(inputs["middle_point_btd"][row:row + 1], recorded["middle_point_btd"])
        assert torch.equal(inputs["condition_btd"][row:row + 1], recorded["condition_btd"])
        assert _max_err(inputs["spkr_emb_bd"][row:row + 1], recorded["spkr_emb_bd"]) < COPY_ATOL
    assert not inputs["condition_btd"][1].any() and not inputs["spkr_emb_bd"][1].any()


def test_batched_cfg_step1_outputs(main_run: tuple[torch.Tensor, FlowTrace], e_flow: dict[str, torch.Tensor]) -> None:
    output = main_run[1].step1_output
    assert output is not None and output.shape[0] == 2  # both guidance branches in one call
    assert _max_err(output[:1], e_flow["est_step1_cond_output"]) < CALL_ATOL
    assert _max_err(output[1:], e_flow["est_step1_uncond_output"]) < CALL_ATOL


def test_every_euler_state(main_run: tuple[torch.Tensor, FlowTrace], e_flow: dict[str, torch.Tensor]) -> None:
    states = main_run[1].x_before_step
    assert len(states) == len(e_flow["x_before_each_step"])  # one per Euler step
    for step, (ours, recorded) in enumerate(zip(states, e_flow["x_before_each_step"], strict=True)):
        assert _max_err(ours[0], recorded) < MEL_ATOL, f"step {step + 1}"


def test_final_mel(main_run: tuple[torch.Tensor, FlowTrace], e_flow: dict[str, torch.Tensor]) -> None:
    assert _max_err(main_run[0], e_flow["mel"]) < MEL_ATOL  # shape included: T_total minus the prompt frames


def test_truncated_frame_count_q10(main_flow: FlowModel, variant_flow: FlowModel,
                                   main_run: tuple[torch.Tensor, FlowTrace], e_flow: dict[str, torch.Tensor],
                                   e2_flow: dict[str, torch.Tensor]) -> None:
    # Upstream's frame count (its noise covers every frame) for prompt + target codes, truncated in float (Q10).
    for model, g in ((main_flow, e_flow), (variant_flow, e2_flow)):
        assert model.frame_count(g["prompt_token"].shape[1] + g["token"].shape[1]) == g["noise"].shape[1]
    assert main_run[1].x_before_step[0].shape == e_flow["noise"].shape


def test_generator_draws_upstreams_noise(main_flow: FlowModel, e_flow: dict[str, torch.Tensor]) -> None:
    # Upstream: set_seed(0) then one randn_like of the [1, T_total, 80] condition.
    _, trace = _run(main_flow, e_flow, generator=torch.Generator().manual_seed(0), n_timesteps=1)
    assert torch.equal(trace.x_before_step[0], e_flow["noise"])


def test_noise_shape_is_checked(main_flow: FlowModel, e_flow: dict[str, torch.Tensor]) -> None:
    with pytest.raises(ValueError, match="noise must have shape"):
        _run(main_flow, e_flow, noise=e_flow["noise"][:, :-1])


def test_out_of_vocabulary_token_is_rejected(main_flow: FlowModel, e_flow: dict[str, torch.Tensor]) -> None:
    table = fixture_json("keys/flow.keys.json")["estimator.text_emb_layer.text_embed.weight"]["shape"]
    bad = e_flow["token"].clone()
    bad[0, 3] = table[0]  # the first id past upstream's token table
    with pytest.raises(ValueError, match="speech token ids"):
        main_flow.inference(bad, e_flow["prompt_token"], e_flow["prompt_feat"], e_flow["embedding"])


def test_without_prompt(main_flow: FlowModel, e_flow: dict[str, torch.Tensor]) -> None:
    n_tokens = 40
    mel = main_flow.inference(e_flow["token"][:, :n_tokens], None, None, e_flow["embedding"], n_timesteps=2,
                              generator=torch.Generator().manual_seed(1))
    # No prompt frames to drop: every frame of the codes, at the config's token and mel rates (Q10).
    rates = plain_yaml(CKPT_DIR / "flow" / "config.yaml")["flow"]
    frames = int(n_tokens / rates["input_frame_rate"] * rates["mel_framerate"])
    assert mel.shape == (1, e_flow["mel"].shape[1], frames) and torch.isfinite(mel).all()


@pytest.mark.parametrize("branch", ["cond", "uncond"])
def test_variant_estimator_replays_recorded_call(variant_flow: FlowModel, e2_flow: dict[str, torch.Tensor],
                                                 branch: str) -> None:
    recorded = _recorded_call(e2_flow, branch)
    n_frames = recorded["middle_point_btd"].shape[1]
    with torch.inference_mode():
        output = variant_flow.estimator(**recorded, time_step_1d=torch.zeros(1),
                                        padding_mask_bt=torch.ones(1, n_frames, dtype=torch.bool))
    assert _max_err(output, e2_flow[f"est_step1_{branch}_output"]) < CALL_ATOL


def test_variant_speaker_concat_and_token_cfg(variant_flow: FlowModel, variant_run: tuple[torch.Tensor, FlowTrace],
                                              e2_flow: dict[str, torch.Tensor]) -> None:
    inputs = variant_run[1].step1_inputs
    for row, branch in enumerate(("cond", "uncond")):
        recorded = _recorded_call(e2_flow, branch)
        assert torch.equal(inputs["text"][row:row + 1], recorded["text"])
        assert _max_err(inputs["condition_btd"][row:row + 1], recorded["condition_btd"]) < COPY_ATOL
        assert torch.equal(inputs["middle_point_btd"][row:row + 1], recorded["middle_point_btd"])
    assert not inputs["text"][1].any()  # speech_token_cfg: tokens dropped in the unconditional branch
    with torch.inference_mode():
        projected = variant_flow.spk_embed_affine_layer(F.normalize(e2_flow["embedding"], dim=1))
    n_frames, mel_dim = e2_flow["noise"].shape[1:]  # the speaker projection follows the mel condition
    assert _max_err(inputs["condition_btd"][0, :, mel_dim:], projected.expand(n_frames, -1)) < COPY_ATOL
    output = variant_run[1].step1_output
    assert output is not None
    assert _max_err(output[:1], e2_flow["est_step1_cond_output"]) < CALL_ATOL
    assert _max_err(output[1:], e2_flow["est_step1_uncond_output"]) < CALL_ATOL


def test_variant_final_mel(variant_run: tuple[torch.Tensor, FlowTrace], e2_flow: dict[str, torch.Tensor]) -> None:
    assert _max_err(variant_run[0], e2_flow["mel"]) < MEL_ATOL  # shape included: T_total minus the prompt frames


def test_rope_rotates_only_head_zero_in_interleaved_pairs() -> None:
    x = torch.randn(1, 5, 3 * 4, generator=torch.Generator().manual_seed(3))
    angles = torch.tensor([[0.0, 0.0, 0.0, 0.0], [0.5, 0.5, 0.1, 0.1]]).repeat(3, 1)[:5]
    out = apply_rotary(x, angles)
    assert torch.equal(out[..., 4:], x[..., 4:])  # heads 1 and 2 untouched (Q12)
    cos, sin = angles[..., 0].cos(), angles[..., 0].sin()
    torch.testing.assert_close(out[..., 0], x[..., 0] * cos - x[..., 1] * sin)
    torch.testing.assert_close(out[..., 1], x[..., 1] * cos + x[..., 0] * sin)


@pytest.mark.parametrize("container", ["ordered_dict", "plain_dict_without_model"])
def test_flow_pt_containers(tmp_path: Path, ckpt_dir: Path, main_flow: FlowModel, container: str) -> None:
    state = read_flow_state_dict(ckpt_dir / "flow" / "flow.pt")
    obj = OrderedDict(state) if container == "ordered_dict" else dict(state)
    shutil.copy(ckpt_dir / "flow" / "config.yaml", tmp_path / "config.yaml")
    torch.save(obj, tmp_path / "flow.pt")
    loaded = FlowModel.from_dir(tmp_path)
    for key, value in main_flow.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_strict_load(tmp_path: Path, ckpt_dir: Path) -> None:
    state = read_flow_state_dict(ckpt_dir / "flow" / "flow.pt")
    del state["estimator.rotary_embed.inv_freq"]
    shutil.copy(ckpt_dir / "flow" / "config.yaml", tmp_path / "config.yaml")
    torch.save({"model": state}, tmp_path / "flow.pt")
    with pytest.raises(RuntimeError, match="inv_freq"):
        FlowModel.from_dir(tmp_path)


def test_bf16_flow_stays_close_to_float32(ckpt_dir: Path, e_flow: dict[str, torch.Tensor]) -> None:
    """The GPU path runs the flow in bf16; RoPE angles and the ODE must not drift (checked here on CPU)."""
    args = (e_flow["token"], e_flow["prompt_token"], e_flow["prompt_feat"], e_flow["embedding"])
    reference = FlowModel.from_dir(ckpt_dir / "flow").inference(*args, noise=e_flow["noise"])
    half = FlowModel.from_dir(ckpt_dir / "flow").to(torch.bfloat16).inference(*args, noise=e_flow["noise"]).float()
    drift = (half - reference).abs()
    assert float(drift.mean()) < TOLERANCES["bf16_flow_mean_abs"]
    assert float(drift.max()) < TOLERANCES["bf16_flow_max_abs"]
