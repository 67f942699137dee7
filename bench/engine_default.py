"""Default engine (Kokoro) benchmark: RTF, first-chunk time and peak RSS per text, and the cost of
the worker path (queue + separate process) against calling the engine directly, in one run.

    .venv/bin/python bench/engine_default.py [--repeat N]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import ROOT, cleanup_redis, device_line, setup_django, table

TEXTS = {
    ("en", "short"): "Hello, and welcome to the portal.",
    ("en", "medium"): ("The weather is lovely today, so we will walk to the park. Please send the report to my "
                       "office before noon. She opened the window and listened to the birds singing."),
    ("en", "long"): " ".join(["Reading a good book is the best way to spend a quiet evening at home, "
                              "far from the noise of the city and the glow of every screen."] * 12),
    ("zh", "short"): "你好，欢迎使用语音合成平台。",
    ("zh", "medium"): ("今天天气很好，我们一起去公园散步吧。请在中午之前把报告发到我的办公室。"
                       "她打开窗户，听见鸟儿在唱歌。"),
    ("zh", "long"): "读一本好书是度过安静夜晚的最好方式，远离城市的喧嚣和屏幕的光芒。" * 10,
}


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def direct_run(engine: object, text: str) -> tuple[float, float, float]:
    """(first chunk s, total s, audio s) calling the engine in this process."""
    from workers.engines.base import AudioChunk
    from workers.engines.params import SynthesisParams

    voice = engine.prepare_voice(preset=None, reference=None)  # type: ignore[attr-defined]
    started = time.perf_counter()
    first, audio_s = 0.0, 0.0
    for event in engine.synthesize(text=text, voice=voice, params=SynthesisParams(),  # type: ignore[attr-defined]
                                   cancel=threading.Event()):
        if isinstance(event, AudioChunk):
            first = first or time.perf_counter() - started
            audio_s += event.duration_s
    return first, time.perf_counter() - started, audio_s


def forget_results() -> None:
    """Every run must synthesize: drop stored outputs and cache pointers left by the previous one."""
    import shutil

    from django.conf import settings

    from synthesis.results.cache_admin import cache_purge

    cache_purge(everything=True)
    shutil.rmtree(Path(settings.MEDIA_ROOT) / "outputs", ignore_errors=True)


def worker_run(text: str) -> tuple[float, float]:
    """(first chunk s, total s) as a client sees it: submit, queue, worker process, event stream."""
    from synthesis.jobs.events import follow_events
    from synthesis.jobs.services import job_create

    forget_results()
    started = time.perf_counter()
    job = job_create(owner=None, text=text)
    first = 0.0
    for event in follow_events(str(job.id), timeout_s=600):
        if event.type == "tts.chunk" and not first:
            first = time.perf_counter() - started
        if event.type == "tts.failed":
            raise RuntimeError(event.data)
    return first, time.perf_counter() - started


def start_worker(var_dir: Path) -> subprocess.Popen[bytes]:
    import os

    log = (var_dir / "worker.log").open("wb")
    proc = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "run_worker"], cwd=ROOT,
                            env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT)
    from workers.heartbeat import live_workers

    deadline = time.time() + 180
    while time.time() < deadline and not any(w.get("loaded", {}).get("kokoro") for w in live_workers()):
        if proc.poll() is not None:
            raise RuntimeError(f"The worker exited; see {var_dir / 'worker.log'}")
        time.sleep(0.5)
    return proc


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    var_dir = setup_django("engine")
    from django.conf import settings

    from workers.engines.kokoro import KokoroEngine

    load_started = time.perf_counter()
    engine = KokoroEngine(threads=settings.ENGINE_THREADS, cache_dir=Path(settings.ENGINE_CACHE_DIR))
    engine.load("cpu")
    load_s = time.perf_counter() - load_started
    worker = start_worker(var_dir)
    direct: dict[tuple[str, str], list[tuple[float, float, float]]] = {key: [] for key in TEXTS}
    through_worker: dict[tuple[str, str], list[tuple[float, float]]] = {key: [] for key in TEXTS}
    rss: dict[tuple[str, str], float] = {}
    try:
        direct_run(engine, "Warm up.")
        worker_run("Warm up.")
        # Interleaved, so both sides see the same machine conditions (the worker idles while direct runs).
        for key, text in TEXTS.items():
            for _ in range(args.repeat):
                direct[key].append(direct_run(engine, text))
                through_worker[key].append(worker_run(text))
            rss[key] = rss_mib()
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        cleanup_redis()
    rows = []
    for key, text in TEXTS.items():
        first = statistics.median(r[0] for r in direct[key])
        total = statistics.median(r[1] for r in direct[key])
        audio_s = direct[key][0][2]
        w_first = statistics.median(r[0] for r in through_worker[key])
        w_total = statistics.median(r[1] for r in through_worker[key])
        rows.append([key[0], key[1], str(len(text)), f"{audio_s:.1f}", f"{total / audio_s:.2f}", f"{first:.2f}",
                     f"{w_first:.2f}", f"{w_total / total:.2f}x", f"{rss[key]:.0f}"])
    print(f"Device: {device_line()}; engine {engine.version}; load {load_s:.1f}s; "
          f"median of {args.repeat}, direct and worker runs interleaved\n")
    print(table(["lang", "text", "chars", "audio s", "RTF", "first chunk s", "first chunk via worker s",
                 "worker/direct total", "peak RSS MiB (direct)"], rows))


if __name__ == "__main__":
    main()
