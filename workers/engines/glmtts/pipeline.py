"""The GLM-TTS models, loaded once, and the two halves of a synthesis: voice features and token-to-wave.

Voice features (prompt text ids, 25 Hz speech codes, CAM++ embedding, prompt mel per output rate) are
computed once per voice and engine version and kept by the worker's voice cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from workers.engines.glmtts.acoustic.flow import FlowModel
from workers.engines.glmtts.acoustic.hift import HiFTGenerator
from workers.engines.glmtts.acoustic.vocos import Vocos2D
from workers.engines.glmtts.checkpoint import CheckpointLayout
from workers.engines.glmtts.lm.llm import SpeechTokenLM
from workers.engines.glmtts.speech.campplus import CampPlus
from workers.engines.glmtts.speech.features import mel_spectrogram, sinc_resample
from workers.engines.glmtts.speech.tokenizer import SpeechTokenizer
from workers.engines.glmtts.text.frontend import TextFrontend, text_frontend
from workers.engines.glmtts.text.tokenizer import TextTokenizer, load_text_tokenizer

TOKEN_RATE = 25
SPEAKER_RATE = 16000


@dataclass(frozen=True)
class PromptFeatures:
    prompt_text: str  # normalized transcript of the reference clip
    prompt_text_ids: list[int]
    speech_codes: list[int]
    embedding: torch.Tensor = field(repr=False)  # [1, 192]
    mels: dict[int, torch.Tensor] = field(repr=False)  # output sample rate -> prompt mel [1, T, 80]


class AcousticModels:
    """Flow + vocoders: speech codes -> audio. All that token-to-wave and streaming need."""

    def __init__(self, flow: FlowModel, hift: HiFTGenerator, vocos: Vocos2D | None, device: torch.device) -> None:
        self.flow, self.hift, self.vocos, self.device = flow, hift, vocos, device

    @property
    def sample_rates(self) -> tuple[int, ...]:
        return (24000, 32000) if self.vocos is not None else (24000,)

    @torch.inference_mode()
    def token2wav(self, codes: list[int], voice: PromptFeatures, sample_rate: int,
                  generator: torch.Generator | None = None) -> np.ndarray:
        """Flow (prompted with the voice's own codes and mel, never the prompt cache) then the vocoder."""
        device = self.device
        mel = self.flow.inference(torch.tensor([codes], dtype=torch.long, device=device),
                                  torch.tensor([voice.speech_codes], dtype=torch.long, device=device),
                                  voice.mels[sample_rate].to(device), voice.embedding.to(device),
                                  generator=generator).float()
        if sample_rate == 24000:
            wav = self.hift.inference(mel, generator=generator)
        elif self.vocos is not None:
            wav = self.vocos(mel)
        else:
            raise ValueError(f"No vocoder for {sample_rate} Hz")
        return wav.reshape(-1).float().cpu().numpy()


class GlmTtsModels:
    """Every model of the pipeline on one device; thread-compatible, not thread-safe (the engine locks)."""

    def __init__(self, layout: CheckpointLayout, *, device: str, trust_remote_code: bool,
                 dtype: torch.dtype | None = None) -> None:
        self.layout, self.device = layout, torch.device(device)
        # The LLM and the flow run in bf16 on GPUs (upstream: fp32 everywhere); feature extractors, CAM++
        # and the vocoders stay fp32 (their STFTs and f0 integration need the precision).
        self.dtype = dtype or (torch.bfloat16 if self.device.type == "cuda" else torch.float32)
        self.text: TextFrontend = text_frontend()
        self.tokenizer: TextTokenizer = load_text_tokenizer(layout.text_tokenizer, layout.fixture_vocab,
                                                            trust_remote_code=trust_remote_code)
        self.speech_tokenizer = SpeechTokenizer.from_dir(layout.speech_tokenizer, device=device)
        self.campplus = CampPlus(layout.campplus, device=device)
        self.lm = SpeechTokenLM.from_dir(layout.llm, self.tokenizer.special, device=device, dtype=self.dtype)
        vocos = Vocos2D.from_file(layout.vocos, device=device) if layout.vocos else None
        self.acoustic = AcousticModels(FlowModel.from_dir(layout.flow, device=device).to(self.dtype),
                                       HiFTGenerator.from_checkpoint(layout.hift, device=device), vocos, self.device)

    def voice_features(self, samples: np.ndarray, sample_rate: int, prompt_text: str) -> PromptFeatures:
        wav = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32)).to(self.device)
        wav16k = sinc_resample(wav, sample_rate, SPEAKER_RATE)
        codes = self.speech_tokenizer.tokenize([(wav16k, SPEAKER_RATE)])[0]
        normalized = self.text.normalize(prompt_text)
        mels = {rate: mel_spectrogram(sinc_resample(wav, sample_rate, rate)[None], rate)
                for rate in self.acoustic.sample_rates}
        return PromptFeatures(prompt_text=normalized, prompt_text_ids=self.tokenizer.encode(normalized + " "),
                             speech_codes=codes.tolist(), embedding=self.campplus.embed(wav16k).reshape(1, -1),
                             mels=mels)


def checkpoint_paths_for_version(layout: CheckpointLayout) -> list[Path]:
    """Files whose content defines what the engine outputs (see engine version)."""
    paths = [layout.llm / "config.json", layout.llm / "model.safetensors", layout.flow / "config.yaml",
             layout.flow / "flow.pt", layout.hift, layout.speech_tokenizer / "config.json",
             layout.speech_tokenizer / "model.safetensors", layout.campplus]
    paths += sorted(layout.llm.glob("model-*.safetensors"))
    if layout.vocos is not None:
        paths.append(layout.vocos)
    return [path for path in paths if path.is_file()]
