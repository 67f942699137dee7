"""Batch synthesis from upstream GLM-TTS JSONL (`uttid`, `prompt_text`, `prompt_speech`, `syn_text`).

Each line goes through the same checks, cache, single-flight and queue as any request
(`system_submit`): cached lines are copied at once,
the rest run on the workers; results land in OUT_DIR as <uttid>.<format>.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from glmtts_site.errors import ApiError
from synthesis.jobs.services import ReferenceUpload, reference_from_bytes
from synthesis.models import JobStatus, SynthesisJob
from synthesis.results.cache import CachedResult
from synthesis.results.storage import read_output
from synthesis.submit.services import system_submit
from workers.engines.params import SynthesisParams

_SAFE_ID = re.compile(r"^[\w.-]{1,120}$")


@dataclass
class BatchReport:
    written: list[str] = field(default_factory=list)
    cached: int = 0
    failed: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchLine:
    uttid: str
    text: str
    prompt_text: str
    reference: ReferenceUpload | None


def parse_jsonl(path: Path) -> tuple[list[BatchLine], dict[str, str]]:
    lines: list[BatchLine] = []
    errors: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
            uttid, text = str(item["uttid"]), str(item["syn_text"])
            if not _SAFE_ID.match(uttid):
                raise ValueError(f"uttid {uttid!r} is not a safe file name")
            speech = item.get("prompt_speech")
            reference = None
            if speech:
                speech_path = (path.parent / speech).resolve()
                reference = reference_from_bytes(speech_path.read_bytes(), field="prompt_speech")
            lines.append(BatchLine(uttid, text, str(item.get("prompt_text") or ""), reference))
        except ApiError as exc:
            errors[f"line {number}"] = f"{exc.code}: {exc.message}"
        except (KeyError, ValueError, OSError, json.JSONDecodeError) as exc:
            errors[f"line {number}"] = f"{type(exc).__name__}: {exc}"
    return lines, errors


def run_batch(lines: list[BatchLine], out_dir: Path, *, engine_id: str, fmt: str, timeout_s: float,
              on_progress: Callable[[int], None]) -> BatchReport:
    report = BatchReport()
    out_dir.mkdir(parents=True, exist_ok=True)
    params = SynthesisParams(format=fmt)
    pending: dict[str, SynthesisJob] = {}
    for line in lines:
        try:
            submitted = system_submit(owner=None, text=line.text, engine_id=engine_id, reference=line.reference,
                                      prompt_text=line.prompt_text, params=params)
        except ApiError as exc:
            report.failed[line.uttid] = f"{exc.code}: {exc.message}"
            on_progress(1)
            continue
        if isinstance(submitted, CachedResult):
            (out_dir / f"{line.uttid}.{fmt}").write_bytes(read_output(submitted.files[fmt]))
            report.written.append(line.uttid)
            report.cached += 1
            on_progress(1)
            continue
        pending[line.uttid] = submitted.job
    deadline = time.monotonic() + timeout_s
    while pending and time.monotonic() < deadline:
        for uttid, job in list(pending.items()):
            job.refresh_from_db()
            if job.status == JobStatus.DONE:
                (out_dir / f"{uttid}.{fmt}").write_bytes(read_output(job.files[fmt]))
                report.written.append(uttid)
            elif job.is_final:
                report.failed[uttid] = f"{job.status}: {job.error_code} {job.error_message}".strip()
            else:
                continue
            del pending[uttid]
            on_progress(1)
        time.sleep(0.3)
    for uttid in pending:
        report.failed[uttid] = "timed out"
    return report
