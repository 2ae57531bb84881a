#!/usr/bin/env bash
# Everything GPU in one device call of at most 10 minutes (issue 39 item 2): the machine, then
# where a fit's time goes at 768 x 512 (benchmarks/gpu/fit_speed.py, about FIT_SPEED_BUDGET
# seconds), then the Kodak protocol with both optimisers (benchmarks/fidelity/kodak_gpu.py),
# sized to the time left of TOTAL seconds. Each stage runs under `timeout`; a failed stage
# does not stop the next one, and the exit status says whether any failed.
#
#   bash benchmarks/gpu/run_all.sh [--dry-run] [OUT]
#
# On a lent device machine (the ../shared folder does not travel: copy the data into .data/,
# which .gitignore ignores, and carry it):
#   mkdir -p .data && cp -r ../shared/data/kodak .data/
#   device run, carry [".data"], timeout_s 600:   bash benchmarks/gpu/run_all.sh
# It writes 7 files into $OUT, none in a folder (the device returns at most 8, 2 folders deep):
# log.txt (nvidia-smi and every stage's output), fit_speed.{json,md}, kodak_plan.json,
# kodak_results.{json,md} and kodak.tar.gz (the run records, config, HTML report and figures;
# reconstructions left out). Commit them under benchmarks/results/gpu/ with the device named.
#
# --dry-run: every stage at tiny size on the CPU with one torch thread (no nvidia-smi), into
# OUT (default: a new temporary folder), reading ../shared/data when .data is absent; about
# half a minute (tests/test_gpu_script.py runs it).
# Environment: TOTAL (seconds for the whole script, 560), FIT_SPEED_BUDGET (200), PYTHON
# (python3), KODAK_ARGS (more kodak_gpu flags, e.g. "--optimizers adam").
set -uo pipefail
cd "$(dirname "$0")/../.."
DRY=0
if [[ "${1:-}" == "--dry-run" ]]; then DRY=1; shift; fi
OUT=${1:-${OUT:-}}
if [[ -z "$OUT" ]]; then
  if (( DRY )); then OUT=$(mktemp -d); else
    echo "run_all.sh: name an OUT folder (or run where \$OUT is set)" >&2; exit 2; fi
fi
if [[ -d .data/kodak ]]; then DATA=.data
elif [[ -d ../shared/data/kodak ]]; then DATA=../shared/data
else
  echo "run_all.sh: no Kodak images in .data/kodak or ../shared/data/kodak; copy them in:" \
       "mkdir -p .data && cp -r ../shared/data/kodak .data/ (and carry .data)" >&2; exit 2
fi
mkdir -p "$OUT"
PY=${PYTHON:-python3}
TOTAL=${TOTAL:-560}
FIT_SPEED_BUDGET=${FIT_SPEED_BUDGET:-200}
KODAK_ARGS=${KODAK_ARGS:-}
SCRATCH=$(mktemp -d)
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
if (( DRY )); then export OMP_NUM_THREADS=1; fi  # tiny sizes; a shared CPU slows 2 threads 10x

{
  status=0
  stage() {  # stage NAME COMMAND...: run it, say how long it took and whether it failed
    local name=$1 t0=$SECONDS rc=0
    shift
    echo "== $name (at ${t0} s)"
    "$@" || rc=$?
    echo "== $name: exit $rc after $((SECONDS - t0)) s"
    if (( rc )); then status=1; fi
  }
  echo "run_all.sh: OUT=$OUT DATA=$DATA dry_run=$DRY TOTAL=${TOTAL}s"
  if (( DRY )); then echo "dry run: no GPU (nvidia-smi not called)"
  else nvidia-smi || echo "nvidia-smi failed"; fi
  "$PY" -c "import platform, torch; print('python', platform.python_version(), 'torch',
torch.__version__, 'cuda', torch.version.cuda, 'device',
torch.cuda.get_device_name() if torch.cuda.is_available() else 'none')"

  if (( DRY )); then
    stage fit_speed "$PY" -m benchmarks.gpu.fit_speed --out "$OUT" --data "$DATA/kodak" \
      --device cpu --threads 1 --dry-run
    stage kodak_gpu "$PY" -m benchmarks.fidelity.kodak_gpu --data "$DATA" \
      --out "$SCRATCH/kodak" --device cpu --budget 20 --size 16 --max-steps 3 \
      --max-images 1 --timing-steps 3 $KODAK_ARGS
  else
    stage fit_speed timeout $((FIT_SPEED_BUDGET + 90)) "$PY" -m benchmarks.gpu.fit_speed \
      --out "$OUT" --data "$DATA/kodak" --budget "$FIT_SPEED_BUDGET"
    left=$((TOTAL - SECONDS - 30))  # 30 s for packing the results, and to spare
    if (( left >= 90 )); then
      stage kodak_gpu timeout $((left + 20)) "$PY" -m benchmarks.fidelity.kodak_gpu \
        --data "$DATA" --out "$SCRATCH/kodak" --budget "$left" $KODAK_ARGS
    else
      echo "== kodak_gpu skipped: ${left} s left of ${TOTAL}"; status=1
    fi
  fi

  K=$SCRATCH/kodak
  for f in plan.json results.json results.md; do
    if [[ -f $K/$f ]]; then cp "$K/$f" "$OUT/kodak_${f}"; fi
  done
  if [[ -d $K ]]; then
    tar -czf "$OUT/kodak.tar.gz" -C "$K" --exclude=recon . || status=1
    if (( $(stat -c %s "$OUT/kodak.tar.gz") > 15000000 )); then  # the device returns <= 16 MiB
      echo "kodak.tar.gz over 15 MB: packed again without the figures"
      tar -czf "$OUT/kodak.tar.gz" -C "$K" --exclude=recon --exclude=figures . || status=1
    fi
  fi
  files=$(find "$OUT" -mindepth 1 | wc -l)
  echo "run_all.sh: $files files in $OUT after $SECONDS s:"; ls -l "$OUT"
  if (( files > 8 )); then echo "more than 8 files: the device returns 8"; status=1; fi
  exit $status
} 2>&1 | tee "$OUT/log.txt"
