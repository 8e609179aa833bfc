#!/usr/bin/env bash
# One-shot real-GPU check (needs an NVIDIA GPU, PyTorch, torchvision, transformers and
# nvidia-ml-py on the machine; nothing is installed): the CLI's sensor choice, `measure` on a
# GPU busy loop against a sleep, and benchmarks/gpu_nvml.py.  Writes into ${OUT:-gpu_out}.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu_out}; mkdir -p "$OUT"
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
ic() { python3 -c 'import sys; from infercarbon.cli.main import main; sys.exit(main())' "$@"; }
nvidia-smi --query-gpu=name,power.draw,power.limit,driver_version,mig.mode.current --format=csv
echo "== infercarbon sensors"; ic sensors 2>&1 | tee "$OUT/sensors.txt"
cat > /tmp/gpu_busy.py <<'PY'
import time, torch
a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
t = time.time()
while time.time() - t < 4:
    for _ in range(20):
        a @ a
    torch.cuda.synchronize()
PY
echo "== measure: GPU busy 4 s"; ic measure --region DE --json -- python3 /tmp/gpu_busy.py 2>&1 | tee "$OUT/measure_busy.json"
echo "== measure: sleep 4 s"; ic measure --region DE --json -- sleep 4 2>&1 | tee "$OUT/measure_sleep.json"
echo "== benchmarks/gpu_nvml.py"
timeout 420 python3 benchmarks/gpu_nvml.py --out "$OUT/gpu_nvml.json" "$@" 2>&1 | tee "$OUT/gpu_log.txt"
