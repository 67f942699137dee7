"""Prompt speech tokenizer: waveforms -> 25 Hz WhisperVQ codes, batched and segmented as upstream does.

Mirrors upstream's SpeechTokenizer.extract_speech_token (MANIFEST Q6): sinc_resample to 16 kHz, cut each clip into
30 s segments, log-mel features with transformers' WhisperFeatureExtractor (torch path, padded to the longest
segment and to a multiple of one token's worth of samples), run the quantize-encoder 128 segments at a time and
keep the codes whose frames cover real audio, concatenating an utterance's segments in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import WhisperFeatureExtractor

from workers.engines.glmtts.speech.features import sinc_resample
from workers.engines.glmtts.speech.whisper_vq import EncoderOutput, WhisperVQEncoder, load_whisper_vq

SAMPLE_RATE = 16000
SEGMENT_SECONDS = 30
BATCH_SIZE = 128


class SpeechTokenizer:
    """Thread-compatible (not thread-safe) wrapper around the encoder and its feature extractor."""

    def __init__(self, encoder: WhisperVQEncoder, feature_extractor: WhisperFeatureExtractor,
                 device: torch.device | str = "cpu") -> None:
        if feature_extractor.sampling_rate != SAMPLE_RATE:
            raise ValueError(f"Feature extractor expects {feature_extractor.sampling_rate} Hz, not {SAMPLE_RATE}")
        self.encoder = encoder
        self.feature_extractor = feature_extractor
        self.device = torch.device(device)

    @classmethod
    def from_dir(cls, path: Path | str, device: torch.device | str = "cpu") -> SpeechTokenizer:
        """Load config.json, model*.safetensors and preprocessor_config.json from an upstream checkpoint dir."""
        model_dir = Path(path)
        if not (model_dir / "config.json").is_file():
            raise FileNotFoundError(f"Speech tokenizer config not found: {model_dir / 'config.json'}")
        encoder = load_whisper_vq(model_dir, device)
        return cls(encoder, WhisperFeatureExtractor.from_pretrained(str(model_dir)), device)

    @property
    def samples_per_token(self) -> int:
        return self.encoder.frames_per_token * self.feature_extractor.hop_length

    def _segments(self, utts: Sequence[tuple[torch.Tensor, int]]) -> tuple[list[np.ndarray], list[int]]:
        """16 kHz float32 segments of at most 30 s, and the utterance index of each."""
        segments: list[np.ndarray] = []
        owners: list[int] = []
        span = SEGMENT_SECONDS * SAMPLE_RATE
        for index, (wav, sample_rate) in enumerate(utts):
            if wav.dim() not in (1, 2):
                raise ValueError(f"Expected a waveform [N] or [channels, N], got shape {tuple(wav.shape)}")
            mono = wav if wav.dim() == 1 else wav[0]  # first channel, as upstream
            audio = sinc_resample(mono.to(self.device, torch.float32), sample_rate, SAMPLE_RATE).cpu().numpy()
            for start in range(0, audio.shape[0], span):
                segments.append(audio[start:start + span])
                owners.append(index)
        return segments, owners

    def features(self, segments: list[np.ndarray]) -> dict[str, torch.Tensor]:
        """Whisper log-mels [B, mels, frames] and frame mask [B, frames] for one batch, on our device."""
        batch = self.feature_extractor(segments, sampling_rate=SAMPLE_RATE, return_attention_mask=True,
                                       return_tensors="pt", device=str(self.device), padding="longest",
                                       pad_to_multiple_of=self.samples_per_token)
        return {"input_features": batch["input_features"].to(self.device),
                "attention_mask": batch["attention_mask"].to(self.device)}

    @torch.inference_mode()
    def encode(self, segments: list[np.ndarray]) -> EncoderOutput:
        """Run the quantize-encoder on one batch of segments."""
        return self.encoder(**self.features(segments))

    @torch.inference_mode()
    def tokenize(self, utts: Sequence[tuple[torch.Tensor, int]]) -> list[torch.Tensor]:
        """25 Hz codes (CPU int64, ceil(samples / 640) each at 16 kHz) for every (waveform, sample_rate)."""
        segments, owners = self._segments(utts)
        pieces: list[list[torch.Tensor]] = [[] for _ in utts]
        for start in range(0, len(segments), BATCH_SIZE):
            out = self.encode(segments[start:start + BATCH_SIZE])
            for row, (tokens, keep) in enumerate(zip(out.tokens, out.token_mask.bool(), strict=True)):
                pieces[owners[start + row]].append(tokens[keep].cpu())
        return [torch.cat(parts) if parts else torch.zeros(0, dtype=torch.long) for parts in pieces]
