"""The paper-style comparison (issues 14 and 25), one command: tune every method on the
calibration images with Adam, then with Muon, then run `inrank bench table1` (both optimisers) on
Kodak kodim01-08; every phase resumes after an interruption (rerun the same command).

    python -m benchmarks.fidelity.table1 [--jobs 2] [--executor processes]

Writes src/inrank/nn/tuned.json (the registry's tuned values; a copy with the tuning runs under
benchmarks/results/tune/table1/), benchmarks/results/bench/table1/ (results.{csv,json,md},
report.html, figures) and benchmarks/results/table1_timing.json (wall time per phase, summed
over resumptions, with the machine). Then `python -m benchmarks.render_docs` puts the tables in
BENCHMARKS.md and README.md.
"""
from __future__ import annotations

import json
import sys
import time

from inrank.bench import run_suite, suite
from inrank.bench.tuning import tune_suite
from inrank.files import write_json
from inrank.nn.tuned_state import TUNED_PATH
from inrank.report.machine import machine

from benchmarks.frame import RESULTS, parser


def _timed(log: dict, phase: str, fn):
    t0 = time.perf_counter()
    try:
        return fn()
    finally:
        log["phases"][phase] = log["phases"].get(phase, 0.0) + time.perf_counter() - t0
        write_json(RESULTS / "table1_timing.json", log)


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, jobs=2)
    ap.add_argument("--executor", default="processes", help="bench executor (processes)")
    ap.add_argument("--skip-tune", action="store_true", help="use the committed tuned values")
    args = ap.parse_args(argv)
    timing = RESULTS / "table1_timing.json"
    log = json.loads(timing.read_text()) if timing.is_file() else {"phases": {}}
    log["machine"], log["executor"], log["jobs"] = machine(), args.executor, args.jobs
    if not args.skip_tune:
        for optimizer in suite("table1").optimizers:  # Adam first: Muon's tuning keeps its lr
            res = _timed(log, f"tune {optimizer}", lambda: tune_suite(
                "table1", out=RESULTS / "tune" / "table1", save=TUNED_PATH,
                executor=args.executor, jobs=args.jobs, optimizer=optimizer))
            print(f"tuned ({optimizer}): {res.ran} runs, {res.skipped} resumed -> {res.path}",
                  file=sys.stderr)
    res = _timed(log, "bench", lambda: run_suite(
        "table1", out=RESULTS / "bench" / "table1", executor=args.executor, jobs=args.jobs))
    print(res.files["md"].read_text(encoding="utf-8"))
    log["runs"] = {"bench": len(res.rows)}
    write_json(timing, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
