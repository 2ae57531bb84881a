"""``benchmarks/gpu/run_all.sh``, the one device call that does everything GPU (issue 39 item
2): its dry run runs every stage at tiny size on the CPU and writes the files a device call
brings back (at most 8, none in a folder), with content a device run would have."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = ["fit_speed.json", "fit_speed.md", "kodak.tar.gz", "kodak_plan.json",
         "kodak_results.json", "kodak_results.md", "log.txt"]


def test_the_dry_run_runs_every_stage_and_writes_what_the_device_brings_back(tmp_path,
                                                                              data_dir):
    out = tmp_path / "out"
    proc = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu" / "run_all.sh"), "--dry-run",
                           str(out)], env={**os.environ, "PYTHON": sys.executable},
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir()) == FILES
    assert all(p.is_file() for p in out.iterdir())  # flat: the device returns 2 folders deep
    log = (out / "log.txt").read_text()
    assert "dry run: no GPU" in log and "== fit_speed: exit 0" in log
    assert "== kodak_gpu: exit 0" in log and "7 files in" in log

    speed = json.loads((out / "fit_speed.json").read_text())
    assert speed["dry_run"] and speed["device"] == "cpu" and speed["errors"] == []
    assert "cpu" in speed["machine"] and speed["gemm_flops"]["float32"] > 0
    assert list(speed["methods"]) == ["relu+rei", "siren", "pe"]
    for method, row in speed["methods"].items():
        assert all(t > 0 for t in row["ms"]["hand loop"] + row["ms"]["inrank.fit"]), method
        assert row["floor_ms"]["float32"] > 0 and row["step_gflop"] > 0
        assert min(row["parts"].values()) > 0 and row["fit_calls"][0]["evals"] >= 2
        assert row["time_to"]["steps_run"] >= 1 and set(row["time_to"]["reached"]) == {"25", "30"}
    assert speed["methods"]["relu+rei"]["ms"]["inrank.fit compile=True"][0] > 0
    assert any("CUDA only" in s for s in speed["skipped"])  # said, never silent
    assert speed["many"]["batched_ms"] > 0 and speed["many"]["separate_ms"] > 0
    md = (out / "fit_speed.md").read_text()
    assert "**Dry run**" in md and "| relu+rei |" in md and "fit_many" in md

    plan = json.loads((out / "kodak_plan.json").read_text())
    assert plan["images"] == ["kodim01"] and plan["steps"] == 3
    assert len(plan["seconds_per_step"]) == 14 and plan["optimizers"] == ["adam", "muon"]
    rows = json.loads((out / "kodak_results.json").read_text())
    assert len(rows) == 14 and {r["status"] for r in rows} == {"ok"}
    assert "kodim01" in (out / "kodak_results.md").read_text()
    with tarfile.open(out / "kodak.tar.gz") as tar:
        names = tar.getnames()
    assert sum(n.startswith("./runs/") for n in names) == 14
    assert not any("/recon/" in n for n in names)
