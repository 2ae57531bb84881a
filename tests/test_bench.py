import csv
import dataclasses
import json

import numpy as np
import pytest
from PIL import Image

from inrank.nn import tuned_state
import inrank
import importlib

presets_module = importlib.import_module("inrank.nn.registry")
from inrank import bench
from inrank.bench import runner
from inrank.report.results import ROW_FIELDS
from inrank.cli import main
from inrank.errors import DivergedError

fit_module = importlib.import_module("inrank.bench.run")

TINY = dict(methods=["relu", "siren"], images=["camera"], steps=2, size=8, widths=[16],
            progress=False, plots=False)


def _records(out):
    return sorted(p.name for p in (out / "runs").glob("*.json"))


def test_tiny_suite_writes_every_output(tmp_path, monkeypatch):
    tuned = tmp_path / "tuned.json"  # the registry's tuned values: siren's lr; relu keeps its own
    tuned.write_text(json.dumps({"methods": {"siren": {"lr": 1.25e-4}}}))
    monkeypatch.setattr(tuned_state, "TUNED_PATH", tuned)
    res = bench.run_suite("quick", out=tmp_path, **{**TINY, "plots": True})
    assert (res.ran, res.skipped) == (2, 0)
    assert [r["method"] for r in res.rows] == ["relu", "siren"]
    assert len(_records(tmp_path)) == 2
    for name in ("results.csv", "results.json", "results.md", "report.html", "config.json",
                 "psnr_vs_steps.png", "figures/recon_relu.png", "figures/recon_siren.png"):
        assert (tmp_path / name).is_file(), name
    with open(tmp_path / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and rows[1]["method"] == "siren" and float(rows[1]["lr"]) == 1.25e-4
    assert float(rows[0]["lr"]) == 1e-3  # relu's default (PyTorch's Adam default)
    assert set(ROW_FIELDS) <= set(rows[0])
    assert all(r["device"] == "cpu" for r in rows)
    # each row is the protocol it names: the same fit by hand gives the same PSNR, bit for bit
    sig = inrank.load_image("camera", size=8)
    for row in rows:
        model = inrank.build(row["method"], 2, 1, width=16, depth=3, seed=0)
        ref = inrank.fit(model, sig, steps=2, lr=float(row["lr"]), seed=0, progress=False, accept_worse=True)
        assert float(row["final_psnr"]) == ref.final_psnr, row["method"]
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["suite"]["steps"] == 2 and cfg["suite"]["methods"] == ["relu", "siren"]
    rec = json.loads((tmp_path / "runs" / _records(tmp_path)[0]).read_text())
    assert rec["status"] == "ok" and len(rec["history"]) == 2 and rec["run"]["width"] == 16
    assert not list(tmp_path.rglob(".*.tmp")), "no temporary files left behind"


def test_rerun_skips_finished_runs(tmp_path, monkeypatch):
    bench.run_suite("quick", out=tmp_path, **TINY)
    before = {p: (tmp_path / "runs" / p).read_text() for p in _records(tmp_path)}

    def no_fit(*a, **k):
        raise AssertionError("a finished run was fitted again")

    monkeypatch.setattr(fit_module, "fit", no_fit)
    res = bench.run_suite("quick", out=tmp_path, **TINY)
    assert (res.ran, res.skipped, len(res.rows)) == (0, 2, 2)
    assert {p: (tmp_path / "runs" / p).read_text() for p in _records(tmp_path)} == before


def test_interrupted_suite_continues(tmp_path, monkeypatch):
    real_fit, calls = fit_module.fit, []

    def flaky_fit(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_fit(*a, **k)

    monkeypatch.setattr(fit_module, "fit", flaky_fit)
    with pytest.raises(KeyboardInterrupt):
        bench.run_suite("quick", out=tmp_path, **TINY)
    assert len(_records(tmp_path)) == 1 and not (tmp_path / "results.csv").exists()
    monkeypatch.setattr(fit_module, "fit", real_fit)
    res = bench.run_suite("quick", out=tmp_path, **TINY)
    assert (res.ran, res.skipped, len(_records(tmp_path))) == (1, 1, 2)


def test_a_changed_protocol_is_a_new_run(tmp_path):
    bench.run_suite("quick", out=tmp_path, **TINY)
    res = bench.run_suite("quick", out=tmp_path, **{**TINY, "steps": 3, "methods": ["relu"]})
    assert (res.ran, res.skipped, len(_records(tmp_path))) == (1, 0, 3)
    assert len(res.rows) == 1 and res.rows[0]["steps"] == 3


def test_suites_are_data_from_the_preset_registry():
    assert bench.suites() == ["table1", "quick", "kodak", "kodak256", "width", "bn-placement", "lr-sweep",
                              "generalize", "audio", "occupancy", "sdf", "ct", "superres",
                              "denoise", "inpaint"]
    quick = bench.expand(bench.suite("quick"))
    assert sorted({r.method for r in quick}) == sorted(inrank.presets("paper"))
    assert {r.lr for r in quick if r.method == "siren"} == {1e-4}  # SIREN's paper lr
    kodak = bench.expand(bench.suite("kodak"))
    assert len(kodak) == len(inrank.presets()) * 24 * 3 and {r.steps for r in kodak} == {5000}
    width = bench.expand(bench.suite("width"))
    assert {r.width for r in width} == {64, 128, 256, 512} and all(r.rank for r in width)
    assert sorted({r.method for r in width}) == sorted(["relu", "relu+rei", "pe", "siren"])
    bn = {r.method: r for r in bench.expand(bench.suite("bn-placement"))}
    assert sorted(bn) == sorted(["relu", "bn", "bn-later", "bn-all", "relu+rei"])
    assert inrank.build("bn-later", 2, 3, depth=3).config.batchnorm == "later"
    sweep = bench.expand(bench.suite("lr-sweep"))
    assert sorted({r.lr for r in sweep if r.method == "relu"}) == [0.000333333, 0.001, 0.003]
    assert not {r.signal for r in sweep} & set(bench.KODAK), "the sweep uses no reported image"
    audio = bench.expand(bench.suite("audio"))
    assert sorted({r.method for r in audio}) == sorted(["relu", "relu+rei", "pe", "rff", "siren",
                                                         "bn"])


def test_lr_sweep_saves_tuned_values_that_the_registry_applies(tmp_path, monkeypatch):
    out, tuned = tmp_path / "sweep", tmp_path / "tuned.json"
    rc = main(["bench", "lr-sweep", "--methods", "relu", "--images", "camera", "--steps", "3",
               "--size", "8", "--widths", "8", "--out", str(out), "--save-tuned", str(tuned),
               "--no-progress", "--no-plots"])
    assert rc == 0
    saved = json.loads(tuned.read_text())
    relu = saved["methods"]["relu"]
    assert relu["lr"] in (0.000333333, 0.001, 0.003) and saved["protocol"]["steps"] == 3
    assert set(relu["grid"]) == {"0.000333333", "0.001", "0.003"}
    best = max(relu["grid"], key=relu["grid"].get)
    assert float(best) == relu["lr"] and relu["edge"] == {"lr": best != "0.001"}
    assert "by learning rate" in (out / "results.md").read_text()
    monkeypatch.setattr(tuned_state, "TUNED_PATH", tuned)
    assert inrank.preset("relu").lr == relu["lr"] and inrank.preset("relu").tuned == relu
    runs = bench.expand(bench.suite("quick"))
    assert {r.lr for r in runs if r.method == "relu"} == {relu["lr"]}
    assert inrank.preset("pe").lr == 1e-3  # methods the file does not name keep their default


def test_width_suite_records_inlet_rank(tmp_path):
    res = bench.run_suite("width", methods=["relu+rei"], images=["camera"], widths=[4, 8],
                          steps=2, size=8, out=tmp_path, progress=False)
    assert [r["width"] for r in res.rows] == [4, 8]
    for r in res.rows:
        assert r["rank_max"] == r["width"] + 1
        assert 1 <= r["rank_init_numerical"] <= r["rank_init_exact"] <= r["rank_max"]
    assert (tmp_path / "psnr_vs_width.png").is_file()
    assert "rank [H1,1] exact, init" in (tmp_path / "results.md").read_text()


def test_kodak_names_resolve_through_the_data_folder(tmp_path, monkeypatch):
    (tmp_path / "kodak").mkdir()
    Image.fromarray(np.full((12, 18, 3), 128, np.uint8)).save(tmp_path / "kodak" / "kodim03.png")
    monkeypatch.setenv("INRANK_DATA", str(tmp_path))
    assert bench.data_dir() == tmp_path.resolve()
    res = bench.run_suite("quick", methods=["relu"], images=["kodim03"], steps=2, size=6,
                          widths=[8], out=tmp_path / "out", progress=False, plots=False)
    assert res.rows[0]["signal"] == "kodim03"
    with pytest.raises(FileNotFoundError, match="Kodak image not found.*data=DIR"):
        bench.run_suite("quick", images=["kodim04"], out=tmp_path / "o2", progress=False)
    with pytest.raises(FileNotFoundError, match="data folder not found"):
        bench.data_dir(tmp_path / "nope")


def test_unknown_names_fail_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="unknown suite 'nope'; choose one of: table1, quick"):
        bench.run_suite("nope", out=tmp_path)
    with pytest.raises(ValueError, match="unknown method 'nope'; choose one of: relu"):
        bench.run_suite("quick", methods=["relu", "nope"], out=tmp_path)
    with pytest.raises(ValueError, match="unknown executor 'nope'; choose one of: local, processes, batched, ray"):
        bench.run_suite("quick", executor="nope", out=tmp_path)
    with pytest.raises(FileNotFoundError, match="image not found: 'nope.png'"):
        bench.run_suite("quick", images=["nope.png"], out=tmp_path)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("argv,msg", [
    (["bench", "nope"], "invalid choice"),
    (["bench", "quick", "--methods", "relu,nope"], "unknown method 'nope'"),
    (["bench", "quick", "--steps", "0"], "--steps must be a positive integer"),
    (["bench", "quick", "--save-tuned", "x.json"], "--save-tuned needs an lr sweep"),
])
def test_cli_errors_are_one_line(argv, msg, capsys, tmp_path):
    try:
        rc = main(argv + ["--out", str(tmp_path)])
    except SystemExit as exc:
        rc = exc.code
    assert rc == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1


def test_executor_is_a_pluggable_strategy(tmp_path):
    seen = []

    def backwards(runs, options):  # finishes runs out of order, as a cluster would
        for run in reversed(runs):
            seen.append(run.method)
            yield bench.execute_run(run, options)

    bench.register_executor("backwards", backwards)
    try:
        res = bench.run_suite("quick", executor="backwards", out=tmp_path / "b", **TINY)
        ref = bench.run_suite("quick", out=tmp_path / "l", **TINY)
    finally:
        runner._EXECUTORS.pop("backwards")
    assert seen == ["siren", "relu"] and [r["method"] for r in res.rows] == ["relu", "siren"]
    for a, b in zip(res.rows, ref.rows):  # the same execute_run in this process: bit for bit
        assert a["final_psnr"] == b["final_psnr"]


def test_a_diverged_run_is_recorded_not_fatal(tmp_path, monkeypatch):
    real_fit, partial = fit_module.fit, []

    def diverge(model, signal, **k):
        partial.append(real_fit(model, signal, **{**k, "steps": 1}))
        raise DivergedError("loss became nan at step 2", partial[-1])

    monkeypatch.setattr(fit_module, "fit", diverge)
    res = bench.run_suite("quick", out=tmp_path, **{**TINY, "methods": ["relu"]})
    row = res.rows[0]
    assert row["status"] == "diverged" and row["final_psnr"] is None
    assert row["best_psnr"] == partial[0].best_psnr  # the partial result is kept
    assert "(1 diverged)" in (tmp_path / "results.md").read_text()


def test_a_changed_preset_makes_its_records_stale(tmp_path, monkeypatch):
    bench.run_suite("quick", out=tmp_path, **TINY)
    rec_path = next((tmp_path / "runs").glob("relu-*.json"))
    rec = json.loads(rec_path.read_text())
    assert rec["config"]["width"] == 16 and rec["config"]["activation"] == "relu"
    rec["config"]["first_init"] = "rei"  # as if the preset had another init when it ran
    rec_path.write_text(json.dumps(rec))
    with pytest.warns(UserWarning, match="preset 'relu' changed"):
        res = bench.run_suite("quick", out=tmp_path, **TINY)
    assert (res.ran, res.skipped) == (1, 1)


def test_bn_placement_suite_builds_its_variants(tmp_path):
    res = bench.run_suite("bn-placement", images=["camera"], steps=2, size=8, widths=[8],
                          out=tmp_path, progress=False, plots=False)
    assert [r["method"] for r in res.rows] == ["relu", "relu+rei", "bn", "bn-later", "bn-all"]
    cfg = {r["run"]["method"]: r["config"]["batchnorm"] for r in
           (json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*.json"))}
    assert cfg == {"relu": "none", "bn": "first", "bn-later": "later", "bn-all": "all",
                   "relu+rei": "none"}


def test_run_missing_runs_only_the_missing_records(tmp_path, monkeypatch, capsys):
    """A script's resumable grid: the first call runs every run, the second none, and a grid
    that grows runs only the new ones (their records under out/runs)."""
    s = bench.suite("quick")
    grid = [r for r in bench.expand(s, images=["camera"], steps=2, seeds=(0,))
            if r.method in ("relu", "siren")]
    grid = [dataclasses.replace(r, size=8, width=16) for r in grid]
    read = runner.run_missing(grid, tmp_path, jobs=1, label="grid", executor="local", run=False)
    assert read == {} and not _records(tmp_path)  # run=False reads, runs nothing
    assert "grid: 0 of 2 runs found (not running the rest)" in capsys.readouterr().err
    first = runner.run_missing(grid[:1], tmp_path, jobs=1, label="grid", executor="local")
    assert list(first) == [grid[0].id] and first[grid[0].id]["status"] == "ok"
    assert "grid: 0 of 1 runs found" in capsys.readouterr().err
    real_fit, calls = fit_module.fit, []
    monkeypatch.setattr(fit_module, "fit", lambda *a, **k: calls.append(1) or real_fit(*a, **k))
    both = runner.run_missing(grid, tmp_path, jobs=1, label="grid", executor="local")
    assert set(both) == {r.id for r in grid} and len(calls) == 1  # only the new run was fitted
    assert "grid: 1 of 2 runs found" in capsys.readouterr().err
    assert len(_records(tmp_path)) == 2
