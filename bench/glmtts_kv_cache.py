"""Seed 000's "KV cache" table done right: a true attention KV cache and upstream's cross-segment prompt
cache, each switched on and off, over five text lengths; plus time to first audio when streaming.

Models have random weights built from the upstream hyper-parameters (`--size full`: LLM 2048 x 28 layers,
16/4 heads, vocab 98,304; DiT 768/18/12; HiFT 512 channels) or a scaled-down set for CPUs (`--size small`,
the default without CUDA). The LLM is forced to 25 codes per second of audio (4 characters per second,
segments of at most 60 characters, as upstream splits), so every configuration does the same work.

    .venv/bin/python bench/glmtts_kv_cache.py [--size small|full] [--device cpu|cuda] [--kv-off-max-chars 100]
        [--threads 1]
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import device_line, table
from workers.engines.glmtts.acoustic.flow import FlowModel
from workers.engines.glmtts.acoustic.flow_config import DiTConfig, FlowConfig
from workers.engines.glmtts.acoustic.hift import HiFTConfig, HiFTGenerator
from workers.engines.glmtts.lm.llm import SpecialTokens, SpeechTokenLM
from workers.engines.glmtts.lm.sampling import SamplingConfig
from workers.engines.glmtts.longform import PromptCache, TokenizedSegment, generate_long
from workers.engines.glmtts.pipeline import AcousticModels, PromptFeatures
from workers.engines.glmtts.streaming import StreamingToken2Wav

LENGTHS = (15, 40, 100, 200, 300)
CHARS_PER_SECOND, TOKEN_RATE, SEGMENT_CHARS, PROMPT_CODES = 4.0, 25, 60, 75


@dataclass(frozen=True)
class Size:
    label: str
    llm: tuple[int, int, int, int, int, int]  # hidden, layers, heads, KV heads, intermediate, vocab
    dit: tuple[int, int, int]  # dim, depth, heads
    hift_channels: int
    special: SpecialTokens


SIZES = {
    "full": Size("full-size architecture, random weights",
                 (2048, 28, 16, 4, 6144, 98304), (768, 18, 12), 512,
                 SpecialTokens(ats=61440, ate=61440 + 32767, boa=59260, eoa=59253, pad=59246)),
    "small": Size("scaled-down for CPU (LLM 512x6, DiT 256/4/4, HiFT 64), random weights",
                  (512, 6, 8, 2, 1536, 33028), (256, 4, 4), 64,
                  SpecialTokens(ats=260, ate=260 + 32767, boa=258, eoa=257, pad=256)),
}


def build(size: Size, device: torch.device, dtype: torch.dtype) -> tuple[SpeechTokenLM, AcousticModels]:
    torch.manual_seed(0)
    hidden, layers, heads_llm, kv_heads, intermediate, vocab = size.llm
    llm = LlamaForCausalLM(LlamaConfig(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads_llm,
                                       num_key_value_heads=kv_heads, intermediate_size=intermediate, vocab_size=vocab,
                                       head_dim=hidden // heads_llm, max_position_embeddings=8192,
                                       tie_word_embeddings=False))
    speech_only_head(llm, size.special)
    llm.to(device=device, dtype=dtype)  # type: ignore[call-arg]  # transformers hides nn.Module.to's signature
    dim, depth, heads = size.dit
    flow_config = FlowConfig(speech_token_dim=512, vocab_size=32768, input_frame_rate=25, mel_framerate=50,
                             spkr_emb_adaLN=True, speech_token_cfg=False, remove_spkr_concat_condition=True,
                             dit=DiTConfig(trans_dim=dim, depth=depth, heads=heads, dim_head=64, ff_mult=2,
                                           text_vocab_size=32768, text_emb_dim=512, conv_layers=4,
                                           condition_dim=80, spkr_emb_adaLN=True))
    flow = FlowModel(flow_config).to(device=device, dtype=dtype).eval()
    hift = HiFTGenerator(HiFTConfig(base_channels=size.hift_channels, f0_cond_channels=size.hift_channels))
    lm = SpeechTokenLM(llm, size.special)
    return lm, AcousticModels(flow, hift.to(device).eval(), None, device)


class _BiasedHead(torch.nn.Module):
    def __init__(self, head: torch.nn.Module, bias: torch.Tensor) -> None:
        super().__init__()
        self.head = head
        self.register_buffer("bias", bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.head(hidden) + self.bias.to(hidden.dtype)


def speech_only_head(llm: LlamaForCausalLM, special: SpecialTokens) -> None:
    """Random weights emit text ids too; a trained model only emits speech codes or EOS. Bias it that way."""
    bias = torch.full((llm.config.vocab_size,), -1e4)
    bias[special.ats:special.ate + 1] = 0.0
    bias[special.eoa] = 0.0
    llm.lm_head = _BiasedHead(llm.lm_head, bias)


def segments_for(chars: int) -> list[int]:
    """TokenizedSegment lengths (characters) of a text, at most 60 each, as even as upstream's splitter makes them."""
    count = math.ceil(chars / SEGMENT_CHARS)
    return [chars // count + (1 if i < chars % count else 0) for i in range(count)]


def forced(n_text: int) -> SamplingConfig:
    """Exactly 25 codes per second of audio: EOS masked until then, and the limit right there."""
    codes = round(n_text / CHARS_PER_SECOND * TOKEN_RATE)
    ratio = (codes + 0.5) / n_text
    return SamplingConfig(min_token_text_ratio=ratio, max_token_text_ratio=ratio)


def voice(acoustic: AcousticModels) -> PromptFeatures:
    generator = torch.Generator().manual_seed(1)
    codes = torch.randint(0, 32768, (PROMPT_CODES,), generator=generator).tolist()
    mel = torch.randn(1, PROMPT_CODES * 2, 80, generator=generator).to(acoustic.device)
    embedding = torch.randn(1, 192, generator=generator).to(acoustic.device)
    text_ids = torch.randint(0, 200, (20,), generator=generator).tolist()
    return PromptFeatures("prompt", text_ids, codes, embedding, {24000: mel})


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def run(lm: SpeechTokenLM, acoustic: AcousticModels, features: PromptFeatures, chars: int, *, kv: bool,
        prompt_cache: bool) -> tuple[float, float]:
    """(seconds, audio seconds) of the engine's work for one text: LLM, then streaming flow + vocoder."""
    device = acoustic.device
    generator = torch.Generator(device=device)
    texts = [torch.randint(0, 200, (n,), generator=torch.Generator().manual_seed(n)).tolist()
             for n in segments_for(chars)]
    cache = PromptCache.start("prompt", features.prompt_text_ids, features.speech_codes, enabled=prompt_cache)
    by_text = {str(ids): ids for ids in texts}
    codes_total = 0
    sync(device)
    started = time.perf_counter()

    def speak(prompt_ids: list[int], text_ids: list[int], prompt_speech: list[int]) -> list[int]:
        generator.manual_seed(0)
        return list(lm.generate(prompt_ids, text_ids, prompt_speech, sampling=forced(len(text_ids)),
                                generator=generator, use_kv_cache=kv))

    for event in generate_long([str(t) for t in texts], cache, tokenize=lambda key: by_text[key], speak=speak):
        if not isinstance(event, TokenizedSegment):
            continue
        stream = StreamingToken2Wav(acoustic, features, 24000, seed=0)
        for code in event.codes:  # the flow/vocoder work of streaming, after this segment's LLM
            stream.push(code)
        stream.finish()
        codes_total += len(event.codes)
    sync(device)
    return time.perf_counter() - started, codes_total / TOKEN_RATE


def first_audio_streaming(lm: SpeechTokenLM, acoustic: AcousticModels, features: PromptFeatures, chars: int) -> float:
    """Time to the first chunk when the LLM and the stream interleave, as in the engine."""
    n = segments_for(chars)[0]
    text_ids = torch.randint(0, 200, (n,), generator=torch.Generator().manual_seed(n)).tolist()
    stream = StreamingToken2Wav(acoustic, features, 24000, seed=0)
    sync(acoustic.device)
    started = time.perf_counter()
    for code in lm.generate(features.prompt_text_ids, text_ids, features.speech_codes, sampling=forced(n),
                            generator=torch.Generator(device=acoustic.device).manual_seed(0)):
        if stream.push(code) is not None:
            sync(acoustic.device)
            return time.perf_counter() - started
    return time.perf_counter() - started


def peak_memory_mib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_device = "cuda" if torch.cuda.is_available() else "cpu"
    parser.add_argument("--device", default=default_device)
    parser.add_argument("--size", choices=sorted(SIZES), default="full" if default_device == "cuda" else "small")
    parser.add_argument("--kv-off-max-chars", type=int, default=10_000 if default_device == "cuda" else 100,
                        help="skip KV-cache-off runs of longer texts (quadratic; hours on a CPU)")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads (1: small per-token ops do not stall in OpenMP barriers on a shared CPU)")
    args = parser.parse_args()
    device = torch.device(args.device)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    size = SIZES[args.size]
    lm, acoustic = build(size, device, dtype)
    features = voice(acoustic)
    run(lm, acoustic, features, 15, kv=True, prompt_cache=False)  # warm-up
    rows = []
    for chars in LENGTHS:
        timings: dict[tuple[bool, bool], float] = {}
        for prompt_cache in (False, True):
            for kv in (False, True):  # off first: the speed-up of on is measured against it
                if not kv and chars > args.kv_off_max_chars:
                    rows.append([str(chars), "off", "on" if prompt_cache else "off", "skipped", "", "", "", ""])
                    continue
                if device.type == "cuda":
                    torch.cuda.reset_peak_memory_stats(device)
                seconds, audio_s = run(lm, acoustic, features, chars, kv=kv, prompt_cache=prompt_cache)
                timings[(kv, prompt_cache)] = seconds
                base = timings.get((False, prompt_cache))
                speedup = f"{base / seconds:.2f}x" if kv and base else ("1.00x" if not kv else "n/a")
                rows.append([str(chars), "on" if kv else "off", "on" if prompt_cache else "off", f"{seconds:.2f}",
                             f"{audio_s:.1f}", f"{seconds / audio_s:.3f}", speedup,
                             f"{peak_memory_mib(device):.0f}"])
                print(" | ".join(rows[-1]), file=sys.stderr, flush=True)  # progress
        ttfa = first_audio_streaming(lm, acoustic, features, chars)
        rows.append([str(chars), "on", "stream", f"first audio {ttfa:.2f} s", "", "", "", ""])
    threads = f", {args.threads} thread(s)" if device.type == "cpu" else ""
    print(f"Device: {device_line()}; torch device {device}{threads}, {dtype}; {size.label}")
    print(table(["chars", "KV cache", "prompt cache", "time s", "audio s", "RTF", "KV speed-up",
                       "peak MiB (CUDA allocated / CPU process RSS)"], rows))


if __name__ == "__main__":
    main()
