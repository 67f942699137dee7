"""Settings of the inference worker, its engines and the job queue (imported by base.py)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_float, env_int, env_list, env_str

# --- Worker -------------------------------------------------------------------------------
WORKER_HEARTBEAT_INTERVAL_S = env_float("WORKER_HEARTBEAT_INTERVAL_S", 5.0)
# /ready counts a worker alive if it wrote a heartbeat within this many seconds.
WORKER_HEARTBEAT_STALE_S = env_float("WORKER_HEARTBEAT_STALE_S", 20.0)
# A worker whose job loop or one of its running jobs makes no progress (no event, no loop round) for this
# long is "stalled": /ready stops counting it and its watchdog hands those jobs back and restarts the loop.
# Longer than the slowest step that emits nothing (an engine load after an offload, a transcription).
WORKER_STALL_S = env_float("WORKER_STALL_S", 180.0)
# Jobs one worker runs at once. GLM-TTS decodes them in shared batched steps (continuous batching, one
# slot each); an engine that does not batch (the default one) still runs one job at a time, and while it
# does the worker takes no other job, so the queue's next jobs go to other idle workers.
WORKER_MAX_BATCH = env_int("WORKER_MAX_BATCH", 8, minimum=1)

# --- Engines and queue ---------------------------------------------------------------------
# GLM-TTS is offered only when a checkpoint directory (upstream layout) is configured.
GLMTTS_CKPT_DIR = env_str("GLMTTS_CKPT_DIR", "")
# The real download's text tokenizer (vq32k-phoneme-tokenizer) ships custom code, as upstream loads it.
GLMTTS_TRUST_REMOTE_CODE = env_bool("GLMTTS_TRUST_REMOTE_CODE", False)
# Replace polyphonic Chinese characters by phonemes (upstream --use_phoneme); changes the audio.
GLMTTS_USE_PHONEME = env_bool("GLMTTS_USE_PHONEME", False)
# Batch GLM-TTS flow renders of concurrent jobs whose chunks line up: auto = on CUDA only (on a CPU batching
# the DiT was no faster per job and is not byte-exact), on, off.
GLMTTS_FLOW_BATCH = env_str("GLMTTS_FLOW_BATCH", "auto")
if GLMTTS_FLOW_BATCH not in ("auto", "on", "off"):
    raise ImproperlyConfigured(f"GLMTTS_FLOW_BATCH must be auto, on or off, got {GLMTTS_FLOW_BATCH!r}.")
WORKER_ENGINES = env_list("WORKER_ENGINES", ["kokoro", "glmtts"] if GLMTTS_CKPT_DIR else ["kokoro"])
DEFAULT_ENGINE = env_str("DEFAULT_ENGINE", "kokoro")
ENGINE_THREADS = env_int("ENGINE_THREADS", 2, minimum=1)
# A starting worker queues one short sample per preset voice its engines lack for their version.
PRESET_PREVIEWS = env_bool("PRESET_PREVIEWS", True)
# Any Kokoro ONNX model and voices file (e.g. the official v1.0 set); empty = the bundled one.
KOKORO_MODEL_PATH = env_str("KOKORO_MODEL_PATH", "")
KOKORO_VOICES_PATH = env_str("KOKORO_VOICES_PATH", "")
# A pending entry idle this long belongs to a dead worker and is reclaimed by another.
QUEUE_VISIBILITY_TIMEOUT_S = env_float("QUEUE_VISIBILITY_TIMEOUT_S", 60.0)
QUEUE_MAX_DELIVERIES = env_int("QUEUE_MAX_DELIVERIES", 3, minimum=1)
# Fair scheduling (synthesis.jobs.dispatch): jobs per owner on the worker queue at once; the rest wait their
# turn, so owners take turns. Idle workers pull waiting jobs anyway, so no capacity is left unused.
QUEUE_USER_SHARE = env_int("QUEUE_USER_SHARE", 1, minimum=1)
QUEUE_RECONCILE_INTERVAL_S = env_float("QUEUE_RECONCILE_INTERVAL_S", 30.0)
# Only jobs older than this are reconciled, so a job committed a moment ago is not enqueued twice.
QUEUE_RECONCILE_MIN_AGE_S = env_float("QUEUE_RECONCILE_MIN_AGE_S", 10.0)
# On CUDA devices, engines unload after this long without a job (0 = never) and reload on demand.
WORKER_IDLE_OFFLOAD_S = env_float("WORKER_IDLE_OFFLOAD_S", 600.0)
JOB_EVENTS_TTL_S = env_int("JOB_EVENTS_TTL_S", 3600, minimum=60)
JOB_EVENTS_MAXLEN = env_int("JOB_EVENTS_MAXLEN", 4000, minimum=100)
