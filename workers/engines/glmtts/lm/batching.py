"""Continuous batching of the speech-token LLM: one decode thread advances every active sequence per step.

Jobs (each on its own thread) `submit` a prompt and read their codes from the returned `DecodeStream` as
they are decoded. The decode thread admits waiting sequences into free slots between steps (first come,
first served; each prefill runs alone), then decodes one token for all of them in one batched forward
(lm/slots.py) and samples each row with that sequence's own generator, window and limits
(llm.SequenceSampler) — so a sequence's tokens are those it would get with no other sequence present.
A finished, failed or abandoned sequence leaves its slot at the next step.

Every wait is bounded: readers poll with a timeout and see the decoder's failure or shutdown; the thread
stops on `close()` within one step.
"""

from __future__ import annotations

import collections
import queue
import threading
from collections.abc import Generator
from dataclasses import dataclass, field

import torch

from workers.engines.glmtts.batch_loop import POLL_S, BatchLoop
from workers.engines.glmtts.lm.llm import SequenceSampler, SpeechTokenLM
from workers.engines.glmtts.lm.sampling import SamplingConfig, nucleus_candidates
from workers.engines.glmtts.lm.slots import DEFAULT_CAPACITY, SlotDecoder

_END = object()


class DecoderClosed(RuntimeError):
    """The decode thread stopped (engine unloaded or worker stopping) before this sequence ended."""


@dataclass(eq=False)
class _Sequence:
    prompt: torch.Tensor  # [1, P] input ids
    sampler: SequenceSampler
    output: queue.SimpleQueue[object] = field(default_factory=queue.SimpleQueue)
    abandoned: threading.Event = field(default_factory=threading.Event)
    slot: int = -1
    length: int = 0  # positions in the slot's cache
    token: int = 0  # the last token drawn: the next step's input


class DecodeStream:
    """The codes of one submitted sequence, as they are decoded. Closing it (or leaving the loop) frees the slot."""

    def __init__(self, batcher: ContinuousBatcher, sequence: _Sequence) -> None:
        self._batcher, self._sequence = batcher, sequence

    def __iter__(self) -> Generator[int, None, None]:
        try:
            while True:
                try:
                    item = self._sequence.output.get(timeout=POLL_S)
                except queue.Empty:
                    if not self._batcher.running:
                        raise DecoderClosed("The speech decoder stopped") from None
                    continue
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                assert isinstance(item, int)
                yield item
        finally:
            self.close()

    def close(self) -> None:
        self._sequence.abandoned.set()
        self._batcher.wake()


class ContinuousBatcher(BatchLoop):
    def __init__(self, lm: SpeechTokenLM, *, slots: int, capacity: int = DEFAULT_CAPACITY) -> None:
        super().__init__("speech decoder", DecoderClosed)
        self.lm, self.slots = lm, slots
        self.decoder = SlotDecoder(lm.model, slots, capacity=capacity)
        self.exact = lm.device.type == "cpu"  # CPU: upstream's draws, one host sync per token costs nothing
        self._waiting: collections.deque[_Sequence] = collections.deque()
        self._active: dict[int, _Sequence] = {}
        self.steps = 0  # batched forwards so far
        self.max_active = 0  # the most sequences one step has advanced

    @property
    def active(self) -> int:
        return len(self._active)

    def submit(self, prompt_text_ids: list[int], text_ids: list[int], prompt_speech: list[int], *,
               sampling: SamplingConfig, seed: int) -> DecodeStream:
        generator = torch.Generator(device=self.lm.device).manual_seed(seed)
        sampler = SequenceSampler(sampling, len(text_ids), eoa=self.lm.special.eoa, device=self.lm.device,
                                  generator=generator, exact=self.exact)
        sequence = _Sequence(self.lm.prompt_ids(prompt_text_ids, text_ids, prompt_speech), sampler)
        self._enqueue(lambda: self._waiting.append(sequence))
        return DecodeStream(self, sequence)

    def _round(self) -> None:
        self._admit()
        if self._active:
            self._step()
        else:
            with self._wake:
                if not self._waiting and not self._stop.is_set():
                    self._wake.wait(POLL_S)

    def _admit(self) -> None:
        free = [slot for slot in range(self.slots) if slot not in self._active]
        while free:
            with self._wake:
                if not self._waiting:
                    return
                sequence = self._waiting.popleft()
            if sequence.abandoned.is_set():
                continue
            sequence.slot = slot = free.pop(0)
            try:
                logp = self.decoder.prefill(slot, self.lm.embed(sequence.prompt))
            except ValueError as exc:
                sequence.output.put(exc)
                free.insert(0, slot)
                continue
            sequence.length = sequence.prompt.shape[1]
            self._active[slot] = sequence
            self._advance([sequence], [sequence.sampler.next_token(logp)])

    def _step(self) -> None:
        for slot in [slot for slot, sequence in self._active.items() if sequence.abandoned.is_set()]:
            del self._active[slot]
        if not self._active:
            return
        busy = sorted(self._active)
        tokens = torch.zeros(self.slots, dtype=torch.long, device=self.lm.device)
        lengths = [0] * self.slots
        for slot in busy:
            tokens[slot], lengths[slot] = self._active[slot].token, self._active[slot].length
        logp = self.decoder.step(tokens, lengths, busy)
        self.steps += 1
        self.max_active = max(self.max_active, len(busy))
        sequences = [self._active[slot] for slot in busy]
        for sequence in sequences:
            sequence.length += 1
        self._advance(sequences, self._draw(sequences, logp))

    def _draw(self, sequences: list[_Sequence], logp: torch.Tensor) -> list[torch.Tensor]:
        """Each sequence's token from its row; the nucleus (softmax, sort, cumsum over the vocabulary: most
        of a step's sampling time) once for all rows that share a sampling configuration."""
        masked = logp.clone()
        eos_rows = [seq.slot for seq in sequences if seq.sampler.eos_masked]
        masked[eos_rows, self.lm.special.eoa] = -float("inf")
        by_config: dict[SamplingConfig, list[_Sequence]] = collections.defaultdict(list)
        for sequence in sequences:
            by_config[sequence.sampler.sampling].append(sequence)
        tokens: dict[int, torch.Tensor] = {}
        for config, group in by_config.items():
            rows = [seq.slot for seq in group]
            ids, weights = (None, None) if config.greedy else nucleus_candidates(masked[rows], config,
                                                                                  stable_ties=self.exact)
            for index, seq in enumerate(group):
                candidates = None if ids is None or weights is None else (ids[index], weights[index])
                tokens[seq.slot] = seq.sampler.next_token(masked[seq.slot], candidates)
        return [tokens[seq.slot] for seq in sequences]

    def _advance(self, sequences: list[_Sequence], tokens: list[torch.Tensor]) -> None:
        """Hand each sequence its new token (one host sync for all of them), or end it."""
        for sequence, token_id in zip(sequences, torch.stack(tokens).tolist(), strict=True):
            sequence.token = token_id
            ended = token_id == self.lm.special.eoa or sequence.sampler.exhausted
            if token_id != self.lm.special.eoa:
                try:
                    sequence.output.put(self.lm.to_code(token_id))
                except ValueError as exc:
                    sequence.output.put(exc)
                    ended = True
            if ended:
                sequence.output.put(_END)
                self._active.pop(sequence.slot, None)

    def _fail_all(self, error: BaseException) -> None:
        with self._wake:
            pending = [*self._active.values(), *self._waiting]
            self._active.clear()
            self._waiting.clear()
        for sequence in pending:
            sequence.output.put(error)
