"""What the GLM-TTS golden tests expect, read from the fixture itself (golden files, key listings, configs).

The tolerances, and the few facts that MANIFEST.md states in prose only, are kept here once, each citing the
MANIFEST section it comes from (or saying why it is ours). Everything else a test expects is read from the
fixture's own files, so that the tests hold for any fixture built the same way, not only for this one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import numpy as np
import yaml

from workers.engines.glmtts.streaming import StreamSchedule

from .conftest import FIXTURE_DIR, golden

TOLERANCES: Final[Mapping[str, float]] = MappingProxyType({
    # MANIFEST §4, suggested tolerances: "features/mels atol 1e-4".
    "features": 1e-4,
    # MANIFEST §4: "LLM logits atol 1e-4 and exact greedy tokens".
    "llm_logits": 1e-4,
    # MANIFEST §4: "flow mel atol 1e-3 (10 Euler steps x 2 DiT calls)".
    "flow_mel": 1e-3,
    # One DiT call instead of the 20 behind "flow_mel": held to the features bound of MANIFEST §4.
    "flow_estimator_call": 1e-4,
    # MANIFEST §4: "HiFT wav given the recorded source atol 1e-4".
    "hift_wav": 1e-4,
    # Ours (MANIFEST §4 has no entry): what upstream computes with the same few float32 operations as we do
    # (a resampling sum with torchaudio's kernel, an embedding lookup, an L2 norm, a copy) agrees to a few ulps.
    "float32_ops": 1e-6,
    # Ours: the time-mean left after mean normalisation is float32 rounding of a mean of values of order 10.
    "cmn_residual_mean": 1e-5,
    # Ours, Kaldi fbank (see test_audio_features._assert_fbank_close): bins within this many dB of their frame's
    # peak are held to "features"; weaker bins are float32 FFT roundoff that depends on the MKL code path, so
    # they get a bound on the log (weak_bins) and on the power error (relative + a share of the frame energy).
    "fbank_strong_bins_db": 20.0,
    "fbank_weak_bins": 1e-3,
    "fbank_power_rel": 1e-4,
    "fbank_power_floor": 1e-5,
    # Ours, HiFT f0 = |classifier(h)|: the fixture's rescaled classifier (MANIFEST §3: f0 = |60 z + 40| Hz) sums
    # terms of a few hundred Hz, so float32 rounding alone moves f0 by ~2e-4 Hz (ours and upstream's golden
    # both differ from a float64 run by that much): 5e-4 instead of the generic 1e-4.
    "hift_f0": 5e-4,
    # Ours: the excitation given the recorded f0 and draws is sines of float32 phases, amplitude <= 0.1 + noise.
    "hift_source": 1e-5,
    # Ours: excitation / waveform from our own f0: the f0 float noise above is integrated into the phase of
    # the harmonics over the whole utterance, so it is an order of magnitude looser than "hift_source".
    "hift_from_own_f0": 1e-3,
    # Ours, bf16 flow vs float32 (MANIFEST §4 only says "GPU/bf16 runs need looser bounds"): bf16 keeps
    # 8 mantissa bits (relative rounding 2^-8 = 0.4 %); over 20 DiT calls on a mel of mean |x| ~ 1 that may add
    # up to a couple of percent on average, and a few frames up to a quarter, not more. Not derivable from
    # the golden files: there is no bf16 golden.
    "bf16_flow_mean_abs": 0.02,
    "bf16_flow_max_abs": 0.25,
    # Ours, streaming: the frames a chunk was vocoded from may move, once all codes are in, by at most this
    # fraction of how far an independent noise draw moves the same frames. Streaming shares one noise tensor
    # across renders precisely so that earlier frames barely move; an order of magnitude below the noise
    # spread is that promise (fresh noise per render, or frames misaligned by one, move them by the whole
    # spread). No golden holds our streaming renders, so this cannot be read from the fixture.
    "stream_mel_vs_noise_spread": 0.1,
    # Ours: joined chunks must be nearer (log-mel distance) to the one-pass audio than half the distance
    # between the one-pass audio and the audio of unrelated codes (the same codes reversed).
    "stream_audio_vs_unrelated": 0.5,
    # Ours: the engine renders the golden greedy codes with its own noise and its own (stand-in) speaker
    # embedding, so its waveform is not the golden one; its loudness must be within this factor of the
    # golden token2wav waveform's (silence, or noise at another level, is not).
    "loudness_ratio": 2.0,
})

# MANIFEST §3 (HiFT audio_limit=0.99) and Q14 ("output clamped to ±0.99").
AUDIO_LIMIT: Final = 0.99
# MANIFEST Q17 and §10: MAX_LLM_SEQ_INP_LEN, the prompt-cache bound on cached speech tokens + estimate.
MAX_LLM_SEQ_INP_LEN: Final = 750

Prompt = tuple[list[int], list[int], list[int]]


@cache
def fixture_json(relative: str) -> Any:
    """A JSON file of the fixture, e.g. fixture_json('keys/build_report.json')."""
    return json.loads((FIXTURE_DIR / relative).read_text(encoding="utf-8"))


def golden_info(stage: str) -> dict[str, Any]:
    """The metadata golden/golden_info.json records for one stage, e.g. golden_info('d_llm')."""
    stage_info: dict[str, Any] = fixture_json("golden/golden_info.json")["stages"][stage]
    return stage_info


def samples_per_mel_frame() -> int:
    """24 kHz samples per 50 Hz mel frame, as recorded with golden g_token2wav."""
    return int(golden_info("g_token2wav")["samples_per_mel_frame"])


def llm_prompt() -> Prompt:
    """(prompt text ids, text ids, prompt speech codes) that upstream's LLM received for golden d_llm."""
    gold = golden("d_llm")
    return (gold["prompt_text_ids"][0].tolist(), gold["text_ids"][0].tolist(),
            gold["prompt_speech_ids"][0].tolist())


def llm_texts() -> tuple[str, str]:
    """(prompt transcript, target text) of golden d_llm.

    The fixture's text tokenizer is UTF-8 bytes (MANIFEST §3), and the prompt ids end with the space that
    jsonl_generate appends to the transcript (MANIFEST §7), so the texts are the golden ids decoded.
    """
    prompt_ids, text_ids, _ = llm_prompt()
    prompt = bytes(prompt_ids).decode("utf-8")
    if not prompt.endswith(" "):
        raise AssertionError(f"golden prompt text ids lack jsonl_generate's trailing space: {prompt!r}")
    return prompt[:-1], bytes(text_ids).decode("utf-8")


def plain_yaml(path: Path) -> dict[str, Any]:
    """A HyperPyYAML file read as plain data: each tagged node is just its mapping, list or scalar.

    An oracle for the flow-config reader: the fixture's kwargs are literals, so they need none of its
    reference resolution; `!ref <name>` stays the string '<name>'.
    """

    class Loader(yaml.SafeLoader):
        pass

    def untag(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else None

    Loader.add_multi_constructor("!", untag)
    data: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=Loader)
    return data


def installed_estimator(config: Mapping[str, Any]) -> dict[str, Any]:
    """The DiT kwargs that `!apply:setattr [!ref <flow>, estimator, !ref <name>]` installs (MANIFEST §2)."""
    (name,) = [value[2].strip("<>") for value in config.values()
               if isinstance(value, list) and value[:2] == ["<flow>", "estimator"]]
    estimator: dict[str, Any] = config[name]
    return estimator


def stream_render_counts(n_codes: int, schedule: StreamSchedule) -> list[int]:
    """How many codes the engine's stream holds at each chunk it renders.

    From the engine's documented chunk sizes (the StreamSchedule fields): a chunk once `first_tokens` codes are
    in, then each time `growth` times as many as the last step have arrived (at most `max_tokens`), and a last
    one at the end of the segment.
    """
    counts: list[int] = []
    step = schedule.first_tokens
    while (total := (counts[-1] if counts else 0) + step) <= n_codes:
        counts.append(total)
        step = min(schedule.max_tokens, round(step * schedule.growth))
    return [*counts, n_codes]


def rms(samples: np.ndarray) -> float:
    return math.sqrt(float(np.mean(np.square(samples, dtype=np.float64))))


class RecordingLM:
    """Stands in for the engine's decoder (ContinuousBatcher.submit, or SpeechTokenLM.generate): records
    every prompt it is asked and each code as it leaves."""

    def __init__(self, generate: Callable[..., Iterable[int]]) -> None:
        self._generate = generate
        self.prompts: list[Prompt] = []
        self.codes: list[int] = []

    def __call__(self, prompt_text_ids: list[int], text_ids: list[int], prompt_speech: list[int],
                 **kwargs: Any) -> Iterator[int]:
        self.prompts.append((list(prompt_text_ids), list(text_ids), list(prompt_speech)))
        for code in self._generate(prompt_text_ids, text_ids, prompt_speech, **kwargs):
            self.codes.append(code)
            yield code

