#!/usr/bin/env bash
# The Kodak protocol on one H100/H200, one command, sized to finish within 12 minutes
# (benchmarks/fidelity/kodak_gpu.py says how; what it cut is in OUT/plan.json and results.md).
#
# From this machine, with the device tool: copy the data into the working tree first
# (the ../shared folder does not travel), then run this script there:
#   mkdir -p .data && cp -r ../shared/data/kodak .data/      (.gitignore ignores .data/)
#   device run (carry: [".data"]):  bash benchmarks/fidelity/kodak_gpu.sh .data $OUT
# and commit OUT's results.{md,json,csv} and plan.json under benchmarks/results/bench/kodak-gpu/.
# benchmarks/gpu/run_all.sh runs it after benchmarks/gpu/fit_speed.py in one device call.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=${1:-.data}
OUT=${2:-inrank-out/kodak-gpu}
export PYTHONPATH=src PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
python3 -m benchmarks.fidelity.kodak_gpu --data "$DATA" --out "$OUT" --budget "${BUDGET:-660}"
