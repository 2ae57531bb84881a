"""Pin a benchmark to the tuned values its committed results were measured under.

Until issue 25 moved table1 to 3 x 72, every tuned value came from table1 at 3 x 128; those
values are archived in ``benchmarks/archive/results/tune_table1_w128/tuned_registry.json``. A
benchmark whose committed results used them imports this module before ``inrank``, so that
rerunning it reproduces them (and finds its records: run ids hold the lrs). To rerun such a
benchmark under the current tuned values, set ``INRANK_TUNED_PATH=src/inrank/nn/tuned.json``.
"""
from __future__ import annotations

import os
from pathlib import Path

#: table1's 3 x 128 tuned values (archived).
TUNED_W128 = Path(__file__).resolve().parent / "archive" / "results" / "tune_table1_w128" / "tuned_registry.json"

if "inrank" in __import__("sys").modules and "INRANK_TUNED_PATH" not in os.environ:
    raise RuntimeError("import _tuned_w128 before inrank: the registry reads its tuned values once")
os.environ.setdefault("INRANK_TUNED_PATH", str(TUNED_W128))
