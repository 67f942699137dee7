#!/usr/bin/env bash
# The GPU suite in one command, for a lent H100/H200 (about 8 minutes): the CUDA tests, then full-size
# random-weight GLM-TTS (LLM 2048x28, 16/4 heads, vocab 98304; DiT and HiFT at upstream size) single-stream
# RTF and first audio with the KV-cache table, batched flow renders against alone, then bench/serving.py at
# c=1/4/8, batched (LLM and, by default on CUDA, flow) against one at a time.
# Every table goes to the results folder (first argument, default bench/results/gpu-<time>).
#
#     bench/gpu_suite.sh [results-dir]
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-bench/results/gpu-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
PY=.venv/bin/python
test -x "$PY" || make install >"$OUT/install.log" 2>&1 || { echo "make install failed (see $OUT/install.log)"; exit 1; }
status=0
step() {  # step NAME SECONDS COMMAND...: run with a time limit, keep its output, go on after a failure
    local name=$1 limit=$2; shift 2
    echo "== $name (at most ${limit} s)" | tee -a "$OUT/summary.txt"
    timeout "$limit" "$@" >"$OUT/$name.md" 2>"$OUT/$name.log"
    local rc=$?
    echo "   exit $rc" | tee -a "$OUT/summary.txt"
    [ $rc -eq 0 ] || status=1
}
nvidia-smi >"$OUT/nvidia-smi.txt" 2>&1
"$PY" -c 'import torch; print(torch.__version__, torch.cuda.is_available(), torch.cuda.get_device_name(0))' \
    >"$OUT/torch.txt" 2>&1 || { echo "torch sees no CUDA device: see $OUT/torch.txt"; exit 1; }
# A private Redis for the serving benchmark when none is configured (the one `make run` would start).
if [ -z "${REDIS_URL:-}" ]; then
    port=$("$PY" -c 'from glmtts_site.stack import free_port; print(free_port())')
    server=$("$PY" -c 'from glmtts_site.stack import find_redis_server; print(find_redis_server())')
    "$server" --port "$port" --save "" --appendonly no --daemonize no >"$OUT/redis.log" 2>&1 &
    redis_pid=$!
    trap 'kill $redis_pid 2>/dev/null' EXIT
    export REDIS_URL="redis://127.0.0.1:$port/0"
    sleep 1
fi
step cuda-tests 100 "$PY" -m pytest -m cuda -q -p no:cacheprovider tests
step kv-cache-full 140 "$PY" bench/glmtts_kv_cache.py --size full --device cuda
step flow-batch-full 40 "$PY" bench/glmtts_flow_batch.py --size full --device cuda --repeats 2
step serving-full 200 "$PY" bench/serving.py --engine glmtts --size full --device cuda --clients 1,4,8 --requests 2
cat "$OUT"/kv-cache-full.md "$OUT"/flow-batch-full.md "$OUT"/serving-full.md 2>/dev/null
echo "results in $OUT"
exit $status
