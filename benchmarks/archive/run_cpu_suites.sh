#!/usr/bin/env bash
# The CPU benchmark suites of BENCHMARKS.md, in order, one thread per process:
#   1. lr-sweep on a scikit-image sample (best lr per method in the registry's format)
#   2. quick (every method on 3 Kodak images at 32 px, registry lrs)
#   3. width (relu, relu+rei, pe, siren at widths 64..512, with first-layer rank)
#   4. headless-Chromium screenshots of the HTML reports
# Each step is resumable: rerunning skips finished runs. Usage: bash benchmarks/archive/run_cpu_suites.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=benchmarks/archive/results/bench
BENCH=(.venv/bin/inrank bench)
"${BENCH[@]}" lr-sweep --out $OUT/lr-sweep --threads 1 --save-tuned $OUT/lr-sweep/tuned.json
"${BENCH[@]}" quick --out $OUT/quick --threads 1
"${BENCH[@]}" width --out $OUT/width --threads 1
for s in quick width lr-sweep; do
  .venv/bin/python -m benchmarks.render_report $OUT/$s/report.html
done
