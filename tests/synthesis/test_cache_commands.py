from __future__ import annotations

import json
import time
from io import StringIO
from pathlib import Path

import pytest
import soundfile as sf
from django.core.management import CommandError, call_command

from synthesis.models import SynthesisJob
from synthesis.results.cache import cache_get, l1
from tests.support.processes import Workers
from tests.support.results import ENGINE_VERSION, cached_result_for, speech_like
from workers.engines.params import SynthesisParams


def _run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_stats_count_hits_misses_keys_and_memory() -> None:
    fingerprint = cached_result_for("Counted phrase.")
    cache_get(fingerprint)
    cache_get("0" * 64)
    stats = json.loads(_run("cache_stats", "--json"))
    assert stats["hits"] == 1 and stats["misses"] == 1 and stats["hit_rate"] == 0.5
    assert stats["keys"] == 1 and stats["memory_bytes"] > 0


@pytest.mark.django_db
def test_purge_by_voice_by_engine_version_and_all() -> None:
    kumo = cached_result_for("One.", voice="jm_kumo")
    alpha = cached_result_for("Two.", voice="jf_alpha")
    other = cached_result_for("Three.", SynthesisParams(format="mp3"))
    assert "Purged 1" in _run("cache_purge", "--voice", "jm_kumo")
    l1.clear()
    assert cache_get(kumo) is None and cache_get(alpha) is not None
    assert "Purged 0" in _run("cache_purge", "--engine-version", "some-other-version")
    assert "Purged 2" in _run("cache_purge", "--engine-version", ENGINE_VERSION)
    l1.clear()
    assert cache_get(other) is None
    cached_result_for("Four.")
    assert "Purged 1" in _run("cache_purge", "--all")


def test_purge_needs_a_target() -> None:
    with pytest.raises(CommandError, match="Say what to purge"):
        _run("cache_purge")


@pytest.mark.django_db
def test_warm_queues_only_what_is_not_cached(tmp_path: Path) -> None:
    cached_result_for("Hello there.")
    phrases = tmp_path / "phrases.txt"
    phrases.write_text("Hello there.\nGood morning.\n\nGood morning.\nThank you for waiting.\n")
    assert _run("cache_warm", str(phrases)) == "1 already cached, 2 queued.\n"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_jsonl_batch_runs_through_queue_then_cache(tmp_path: Path, workers: Workers) -> None:
    workers.start("batch")
    sf.write(tmp_path / "ref.wav", speech_like(3.0, 16000), 16000)
    batch = tmp_path / "batch.jsonl"
    batch.write_text("\n".join(json.dumps(line) for line in [
        {"uttid": "utt_1", "prompt_text": "", "prompt_speech": "", "syn_text": "The first utterance."},
        {"uttid": "utt_2", "prompt_text": "a steady tone", "prompt_speech": "ref.wav",
         "syn_text": "The second one uses a reference."},
    ]) + "\n{broken\n")
    first = _run("synthesize_jsonl", str(batch), "--out", str(tmp_path / "out"))
    assert "2 written" in first and "(0 from cache)" in first and "1 skipped" in first
    for uttid in ("utt_1", "utt_2"):
        samples, rate = sf.read(tmp_path / "out" / f"{uttid}.wav")
        assert rate == 24000 and len(samples) > rate
    again = _run("synthesize_jsonl", str(batch), "--out", str(tmp_path / "again"))
    assert "(2 from cache)" in again


def test_synthesize_says_at_once_that_no_worker_listens(db: None, tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(CommandError, match="No worker serving 'kokoro'"):
        call_command("synthesize", "--text", "Nobody will say this.", "--out", str(tmp_path / "x.wav"),
                     stderr=StringIO())
    assert time.monotonic() - started < 30
    assert not SynthesisJob.objects.exists()  # nothing left queued where no one reads
