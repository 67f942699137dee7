"""GLM-TTS flow matching: speech tokens (+ prompt tokens, prompt mel, speaker) -> 80-bin log-mel.

Reproduces upstream's non-streaming `Flow.inference_with_cache` (flow/flow.py): the prompt tokens are
prepended, the mel condition holds the prompt mel, and an Euler ODE on a cosine time grid is integrated
with classifier-free guidance. Both guidance branches run as one batch-2 estimator call per step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from workers.engines.glmtts.acoustic.dit import DiT
from workers.engines.glmtts.acoustic.flow_config import SPEAKER_EMBEDDING_DIM, FlowConfig, load_flow_config


@dataclass
class FlowTrace:
    """Intermediate states for tests; pass one to `FlowModel.inference(trace=...)`."""

    x_before_step: list[torch.Tensor] = field(default_factory=list)  # [1, T, mel] entering each Euler step
    # Estimator keyword arguments / output of step 1, batched: row 0 conditional, row 1 unconditional.
    step1_inputs: dict[str, torch.Tensor] = field(default_factory=dict)
    step1_output: torch.Tensor | None = None


@dataclass(frozen=True)
class FlowInputs:
    """Everything the ODE needs besides the noise: one utterance from `prepare`, B from `stack_inputs`."""

    text: torch.Tensor  # [B, N] prompt tokens then target tokens
    condition: torch.Tensor  # [B, T, C] prompt mel at the start (+ projected speaker on the concat path)
    padding_mask: torch.Tensor  # [B, T] True on real frames
    speaker: torch.Tensor  # [B, 192] L2-normalised speaker embedding
    n_prompt_frames: int

    @property
    def shape_key(self) -> tuple[object, ...]:
        """Inputs with one key stack into one batch (same token count, frames and prompt)."""
        return (tuple(self.text.shape), tuple(self.condition.shape), self.n_prompt_frames,
                self.condition.dtype, self.condition.device)


def stack_inputs(rows: list[FlowInputs]) -> FlowInputs:
    """Several utterances of one `shape_key` as one batch, in order."""
    if len({row.shape_key for row in rows}) != 1:
        raise ValueError("only inputs of one shape stack into a batch")
    return FlowInputs(torch.cat([row.text for row in rows]), torch.cat([row.condition for row in rows]),
                      torch.cat([row.padding_mask for row in rows]), torch.cat([row.speaker for row in rows]),
                      rows[0].n_prompt_frames)


class FlowModel(nn.Module):
    def __init__(self, config: FlowConfig) -> None:
        super().__init__()
        dit = config.estimator
        condition_dim = config.mel_dim + (0 if config.remove_spkr_concat_condition else config.spk_embed_dim)
        if dit.condition_dim != condition_dim or dit.mel_dim != config.mel_dim:
            raise ValueError(f"DiT condition_dim/mel_dim {dit.condition_dim}/{dit.mel_dim} do not fit the flow "
                             f"({condition_dim}/{config.mel_dim})")
        if dit.spkr_emb_adaLN and dit.wav_lm_emb:
            raise ValueError("flow checkpoints conditioned on WavLM speaker features are not supported")
        self.config = config
        if not config.remove_spkr_concat_condition:
            self.spk_embed_affine_layer = nn.Linear(SPEAKER_EMBEDDING_DIM, config.spk_embed_dim)
        self.estimator = DiT(dit)
        self.eval()  # inference only: dropout must stay off even before from_dir's eval()

    @classmethod
    def from_dir(cls, flow_dir: str | Path, device: str | torch.device = "cpu") -> FlowModel:
        """Load upstream's `config.yaml` + `flow.pt` (strict state-dict load)."""
        flow_dir = Path(flow_dir)
        model = cls(load_flow_config(flow_dir / "config.yaml"))
        model.load_state_dict(read_flow_state_dict(flow_dir / "flow.pt"), strict=True)
        return model.to(device).eval()

    def frame_count(self, n_tokens: int) -> int:
        """Mel frames for n tokens (prompt included)."""
        # Deliberately as upstream (quirk Q10): float division then truncation, e.g. 230 tokens at 25 -> 50 Hz
        # give 459 frames, not 460. Matching it keeps our output length identical to upstream's.
        return int(n_tokens / self.config.input_frame_rate * self.config.mel_framerate)

    def prepare(self, token: torch.Tensor, prompt_token: torch.Tensor | None, prompt_feat: torch.Tensor | None,
                embedding: torch.Tensor) -> FlowInputs:
        """Estimator inputs for token [1, N], prompt_token [1, P], prompt_feat [1, F, mel], embedding [1, 192]."""
        if token.shape[0] != 1:
            raise ValueError("flow inference takes one utterance (batch 1)")
        if (prompt_token is None) != (prompt_feat is None):
            raise ValueError("pass prompt_token and prompt_feat together, or neither")
        device, dtype = token.device, self.estimator.proj_out.weight.dtype
        text = token.long()
        if prompt_token is not None:
            text = torch.cat((prompt_token.to(device=device, dtype=torch.long), text), dim=1)
        self.estimator.text_emb_layer.check_ids(text)
        n_frames = self.frame_count(text.shape[1])
        condition = torch.zeros(1, n_frames, self.config.mel_dim, device=device, dtype=dtype)
        n_prompt_frames = 0 if prompt_feat is None else prompt_feat.shape[1]
        copy_len = min(n_prompt_frames, n_frames)
        if prompt_feat is not None and copy_len > 0:
            condition[:, :copy_len] = prompt_feat[:, -copy_len:].to(device=device, dtype=dtype)  # its END (Q10)
        speaker = F.normalize(embedding.to(device=device, dtype=dtype), dim=1)
        if not self.config.remove_spkr_concat_condition:
            projected = self.spk_embed_affine_layer(speaker)
            condition = torch.cat((condition, projected.unsqueeze(1).expand(-1, n_frames, -1)), dim=-1)
        padding_mask = torch.ones(1, n_frames, dtype=torch.bool, device=device)
        return FlowInputs(text, condition, padding_mask, speaker, n_prompt_frames)

    def time_grid(self, n_timesteps: int, device: torch.device) -> torch.Tensor:
        grid = torch.linspace(0, 1, n_timesteps + 1, device=device)
        if self.config.t_scheduler == "cosine":
            grid = 1 - torch.cos(grid * 0.5 * math.pi)
        return grid  # any other scheduler name means the linear grid, as upstream

    @torch.inference_mode()
    def inference(self, token: torch.Tensor, prompt_token: torch.Tensor | None, prompt_feat: torch.Tensor | None,
                  embedding: torch.Tensor, n_timesteps: int = 10, noise: torch.Tensor | None = None,
                  generator: torch.Generator | None = None, trace: FlowTrace | None = None) -> torch.Tensor:
        """Mel [1, mel, T - prompt frames] for the target tokens; `noise` [1, T, mel] replaces the random start."""
        if n_timesteps < 1:
            raise ValueError("n_timesteps must be at least 1")
        inputs = self.prepare(token, prompt_token, prompt_feat, embedding)
        shape = (1, inputs.condition.shape[1], self.config.mel_dim)
        dtype = inputs.condition.dtype
        if noise is None:
            # Drawn where the generator lives so a CPU-seeded generator gives the same start on any device.
            draw_device = generator.device if generator is not None else token.device
            noise = torch.randn(shape, generator=generator, device=draw_device, dtype=dtype)
        elif tuple(noise.shape) != shape:
            raise ValueError(f"noise must have shape {shape}, got {tuple(noise.shape)}")
        return self.render(inputs, noise.to(device=token.device, dtype=dtype), n_timesteps, trace)

    @torch.inference_mode()
    def render(self, inputs: FlowInputs, noise: torch.Tensor, n_timesteps: int = 10,
               trace: FlowTrace | None = None) -> torch.Tensor:
        """Mel [B, mel, T - prompt frames] of B stacked utterances (stack_inputs) from noise [B, T, mel]."""
        x = self.solve(inputs, noise, n_timesteps, trace)
        return x[:, inputs.n_prompt_frames:].transpose(1, 2)

    def solve(self, inputs: FlowInputs, x: torch.Tensor, n_timesteps: int, trace: FlowTrace | None = None
              ) -> torch.Tensor:
        """Euler integration from noise x (t = 0) to the mel (t = 1)."""
        grid = self.time_grid(n_timesteps, x.device)
        batched = self._guidance_batch(inputs)
        t_current, dt = grid[0], grid[1] - grid[0]
        for step in range(1, n_timesteps + 1):
            if trace is not None:
                trace.x_before_step.append(x)
            velocity = self._velocity(x, t_current, batched, trace if step == 1 else None)
            x = x + dt * velocity
            # As upstream (Q11): time advances by the accumulated dt, and the next dt is taken from that sum.
            t_current = t_current + dt
            if step < n_timesteps:
                dt = grid[step + 1] - t_current
        return x

    def _guidance_batch(self, inputs: FlowInputs) -> dict[str, torch.Tensor]:
        """Estimator kwargs; with CFG, the B conditional rows, then the B unconditional ones (no prompt, no
        speaker)."""
        kwargs = {"condition_btd": inputs.condition, "text": inputs.text, "padding_mask_bt": inputs.padding_mask,
                  "spkr_emb_bd": inputs.speaker}
        if self.config.inference_cfg_rate <= 0:
            return kwargs
        text_uncond = torch.zeros_like(inputs.text) if self.config.speech_token_cfg else inputs.text
        return {"condition_btd": torch.cat((inputs.condition, torch.zeros_like(inputs.condition))),
                "text": torch.cat((inputs.text, text_uncond)),
                "padding_mask_bt": inputs.padding_mask.repeat(2, 1),
                "spkr_emb_bd": torch.cat((inputs.speaker, torch.zeros_like(inputs.speaker)))}

    def _velocity(self, x: torch.Tensor, t: torch.Tensor, batched: dict[str, torch.Tensor],
                  trace: FlowTrace | None) -> torch.Tensor:
        batch, rows = batched["text"].shape[0], x.shape[0]
        kwargs = dict(batched, middle_point_btd=x.repeat(batch // rows, 1, 1), time_step_1d=t[None])
        output = self.estimator(**kwargs)
        if trace is not None:
            trace.step1_inputs, trace.step1_output = kwargs, output
        if batch == rows:
            return output
        rate = self.config.inference_cfg_rate
        return (1.0 + rate) * output[:rows] - rate * output[rows:]


def read_flow_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """flow.pt holds `{"model": state_dict}` (a plain dict) or the state dict itself (quirk Q5)."""
    obj = torch.load(path, map_location="cpu", weights_only=True)
    # Deviation from upstream (Q5): a plain dict without "model" is taken as the state dict, not a KeyError.
    if type(obj) is dict and "model" in obj:
        obj = obj["model"]
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a state dict or {{'model': state_dict}}, got {type(obj).__name__}")
    return obj
