"""Goldens f and g: the 24 kHz HiFT vocoder reproduces upstream's F0, excitation, random draws and waveform."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from workers.engines.glmtts.acoustic.hift import HiFTConfig, HiFTGenerator, config_from_state_dict
from workers.engines.glmtts.acoustic.hift_source import draw_source_noise

from .conftest import FIXTURE_DIR, golden
from .expectations import AUDIO_LIMIT, TOLERANCES, golden_info, samples_per_mel_frame

F0_ATOL = TOLERANCES["hift_f0"]
SOURCE_ATOL = TOLERANCES["hift_source"]
WAV_ATOL = TOLERANCES["hift_wav"]
OWN_F0_ATOL = TOLERANCES["hift_from_own_f0"]
SAMPLES_PER_FRAME = samples_per_mel_frame()


@pytest.fixture(scope="module")
def hift_path(ckpt_dir: Path) -> Path:
    return ckpt_dir / "hift" / "hift.pt"


@pytest.fixture(scope="module")
def hift(hift_path: Path) -> HiFTGenerator:
    return HiFTGenerator.from_checkpoint(hift_path, device="cpu")


@pytest.fixture(scope="module")
def gold() -> dict[str, torch.Tensor]:
    return golden("f_hift")


@pytest.fixture(scope="module")
def gold_t2w() -> dict[str, torch.Tensor]:
    return golden("g_token2wav")


def test_checkpoint_loads_strictly_sized_from_itself(hift: HiFTGenerator, hift_path: Path,
                                                     gold: dict[str, torch.Tensor]) -> None:
    state = torch.load(hift_path, map_location="cpu", weights_only=True)
    fresh = HiFTGenerator(config_from_state_dict(state)).eval()
    fresh.load_state_dict(state, strict=True)  # raises on a missing, unexpected or mis-shaped key
    expected = json.loads((FIXTURE_DIR / "keys" / "hift.keys.json").read_text())
    assert {k: list(v.shape) for k, v in hift.state_dict().items()} == {k: v["shape"] for k, v in expected.items()}
    # Sized from the file alone, it renders upstream's waveform: also what no tensor shape shows (strides, hop).
    with torch.inference_mode():
        torch.testing.assert_close(fresh.decode(gold["mel"], gold["source"]), gold["wav"], atol=WAV_ATOL, rtol=0)
    assert not hift.training


def test_full_size_defaults_round_trip_through_sizing() -> None:
    with torch.device("meta"):
        full = HiFTGenerator()
    shapes = {k: tuple(v.shape) for k, v in full.state_dict().items()}
    assert shapes["conv_pre.parametrizations.weight.original1"] == (512, 80, 7)
    assert shapes["f0_predictor.condnet.8.parametrizations.weight.original1"] == (512, 512, 3)
    assert shapes["resblocks.8.convs1.0.parametrizations.weight.original1"] == (64, 64, 11)
    assert config_from_state_dict(full.state_dict()) == HiFTConfig()
    assert HiFTConfig().upsample_scale == SAMPLES_PER_FRAME


def test_legacy_weight_g_v_keys_load(hift: HiFTGenerator, hift_path: Path, gold: dict[str, torch.Tensor]) -> None:
    state = torch.load(hift_path, map_location="cpu", weights_only=True)
    legacy = {k.replace(".parametrizations.weight.original0", ".weight_g")
               .replace(".parametrizations.weight.original1", ".weight_v"): v for k, v in state.items()}
    assert any(k.endswith(".weight_g") for k in legacy)
    model = HiFTGenerator(config_from_state_dict(legacy)).eval()
    model.load_state_dict(legacy, strict=True)
    mel, source = gold["mel"][..., :8], gold["source"][..., :8 * SAMPLES_PER_FRAME]
    with torch.inference_mode():
        assert torch.equal(model.decode(mel, source), hift.decode(mel, source))


@pytest.mark.parametrize(("mel", "f0"), [("mel", "f0"), ("mel_full", "f0_full")])
def test_predict_f0(hift: HiFTGenerator, gold: dict[str, torch.Tensor], mel: str, f0: str) -> None:
    with torch.inference_mode():
        torch.testing.assert_close(hift.predict_f0(gold[mel]), gold[f0], atol=F0_ATOL, rtol=0)


def test_source_replays_recorded_draws(hift: HiFTGenerator, gold: dict[str, torch.Tensor]) -> None:
    rand_ini = gold["rand_ini"].clone()
    with torch.inference_mode():
        source = hift.source_from_f0(gold["f0"], rand_ini=rand_ini, sine_noise=gold["sine_noise"])
    assert source.shape == (1, 1, gold["mel"].shape[-1] * SAMPLES_PER_FRAME)
    torch.testing.assert_close(source, gold["source"], atol=SOURCE_ATOL, rtol=0)
    assert torch.equal(rand_ini, gold["rand_ini"])  # the caller's tensor is not zeroed in place


def test_initial_phases_do_not_reach_the_output(hift: HiFTGenerator, gold: dict[str, torch.Tensor]) -> None:
    # Upstream fact kept on purpose: rand_ini lands on sample 0, which the frame-rate downsample never reads.
    with torch.inference_mode():
        other = hift.source_from_f0(gold["f0"], rand_ini=torch.full((1, 9), 0.9), sine_noise=gold["sine_noise"])
    torch.testing.assert_close(other, gold["source"], atol=SOURCE_ATOL, rtol=0)


@pytest.mark.parametrize(("f0", "source"), [("f0", "source"), ("f0_full", "source_full")])
def test_default_draws_follow_upstream_rng_order(hift: HiFTGenerator, gold: dict[str, torch.Tensor],
                                                  f0: str, source: str) -> None:
    # Upstream ran with torch.manual_seed(0) on CPU; a CPU generator seeded 0 yields the same stream.
    generator = torch.Generator().manual_seed(0)
    with torch.inference_mode():
        got = hift.source_from_f0(gold[f0], generator=generator)
    torch.testing.assert_close(got, gold[source], atol=SOURCE_ATOL, rtol=0)


def test_draws_equal_recorded_upstream_draws(gold: dict[str, torch.Tensor]) -> None:
    n_samples, n_sines = gold["mel"].shape[-1] * SAMPLES_PER_FRAME, gold["rand_ini"].shape[1]
    noise = draw_source_noise(1, n_samples, n_sines, generator=torch.Generator().manual_seed(0))
    assert torch.equal(noise.rand_ini, gold["rand_ini"])
    assert torch.equal(noise.sine_noise, gold["sine_noise"])
    assert noise.uv_noise is not None and torch.equal(noise.uv_noise, gold["uv_noise_unused"])


def test_unused_uv_draw_keeps_the_stream_aligned() -> None:
    # Q14: upstream's streaming run (one seed, flow and HiFT alternating) shows each flow draw comes right
    # after the previous HiFT call's three draws, including the unused uv noise.
    stream = golden("e_flow_stream")
    n_sines = golden("f_hift")["rand_ini"].shape[1]
    generator = torch.Generator().manual_seed(0)
    for call in range(len(golden_info("e_flow_stream")["calls"])):
        noise, frames = stream[f"call{call}_noise"], stream[f"call{call}_mel"].shape[-1]
        assert torch.equal(torch.randn(noise.shape, generator=generator), noise), call
        draw_source_noise(1, frames * SAMPLES_PER_FRAME, n_sines, generator=generator)


@pytest.mark.parametrize(("mel", "source", "wav"), [("mel", "source", "wav"), ("mel_full", "source_full", "wav_full")])
def test_decode_matches_golden_wav(hift: HiFTGenerator, gold: dict[str, torch.Tensor], mel: str, source: str,
                                   wav: str) -> None:
    with torch.inference_mode():
        got = hift.decode(gold[mel], gold[source])
    assert got.shape == gold[wav].shape
    torch.testing.assert_close(got, gold[wav], atol=WAV_ATOL, rtol=0)


def test_token2wav_decode_matches_golden(hift: HiFTGenerator, gold_t2w: dict[str, torch.Tensor]) -> None:
    got = hift.inference(gold_t2w["mel"], source=gold_t2w["hift_source"])
    assert got.shape == (1, gold_t2w["mel"].shape[-1] * SAMPLES_PER_FRAME)
    torch.testing.assert_close(got, gold_t2w["wav"], atol=WAV_ATOL, rtol=0)


def test_token2wav_generator_shared_with_flow(hift: HiFTGenerator, gold_t2w: dict[str, torch.Tensor]) -> None:
    generator = torch.Generator().manual_seed(0)
    flow_noise = torch.randn(gold_t2w["flow_noise"].shape, generator=generator)
    assert torch.equal(flow_noise, gold_t2w["flow_noise"])  # the flow's draw comes first
    with torch.inference_mode():
        source = hift.source_from_f0(hift.predict_f0(gold_t2w["mel"]), generator=generator)
    # Our f0 differs from upstream's by float32 noise (see F0_ATOL), which the phase integral carries into
    # the sines.
    torch.testing.assert_close(source, gold_t2w["hift_source"], atol=OWN_F0_ATOL, rtol=0)


def test_inference_seeded_is_deterministic(hift: HiFTGenerator, gold: dict[str, torch.Tensor]) -> None:
    mel = gold["mel"][..., :8]
    first = hift.inference(mel, generator=torch.Generator().manual_seed(7))
    second = hift.inference(mel, generator=torch.Generator().manual_seed(7))
    other = hift.inference(mel, generator=torch.Generator().manual_seed(8))
    assert first.shape == (1, mel.shape[-1] * SAMPLES_PER_FRAME)
    assert torch.equal(first, second)
    assert not torch.equal(first, other)
    assert first.abs().max() <= AUDIO_LIMIT
    # Unseeded calls draw fresh noise every time.
    assert not torch.equal(hift.inference(mel), hift.inference(mel))


def test_inference_seed0_matches_golden_wav(hift: HiFTGenerator, gold: dict[str, torch.Tensor]) -> None:
    got = hift.inference(gold["mel"], generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(got, gold["wav"], atol=OWN_F0_ATOL, rtol=0)  # f0 float noise only (see F0_ATOL)


def test_partial_draws_rejected(hift: HiFTGenerator, gold: dict[str, torch.Tensor]) -> None:
    with pytest.raises(ValueError, match="both"):
        hift.source_from_f0(gold["f0"], rand_ini=gold["rand_ini"])


def test_missing_checkpoint_and_unsupported_rate(tmp_path: Path) -> None:
    missing = tmp_path / "hift" / "hift.pt"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        HiFTGenerator.from_checkpoint(missing)
    with pytest.raises(ValueError, match="22050"):
        HiFTGenerator(HiFTConfig(sampling_rate=22050))
