"""The table1 protocol: compression regime, matched parameter counts, calibration images apart
from test images, off-grid evaluation, paired statistics and tuning on calibration images."""
from __future__ import annotations

import json
import math
import statistics

import pytest
import torch
from scipy import stats

from inrank.nn import tuned_state
import inrank
from inrank.bench import expand, suite
from inrank.bench.catalog import matched_width
from inrank.bench.tuning import LR_GRID, tune_suite
from inrank.report.comparison import BOLD_LIMIT_DB, comparison_table, paired_differences


def _params(method, width):
    return sum(p.numel() for p in inrank.build(method, 2, 3, width=width, depth=3).parameters())


def test_table1_is_a_compression_protocol_with_matched_sizes():
    """table1 (issue 25): 3 x 72 on 96 px Kodak (3.8 values per parameter), every method with
    both optimisers, parameters matched within 15%, seeds per group, calibration apart."""
    s = suite("table1")
    runs = expand(s)
    width = s.widths[0]
    relu = _params("relu", width)
    assert width == 72 and 96 * 144 * 3 / relu > 3.5, "the network must compress"
    for r in runs:
        p = _params(r.preset, r.width)
        assert p <= 1.15 * relu, (r.preset, r.width, p)
        assert r.width == width or _params(r.preset, r.width + 1) > 1.15 * relu  # the largest
        assert r.offgrid and r.size == 96 and r.steps == 1000
        assert r.method == f"{r.preset} ({r.optimizer})"
    assert {r.optimizer for r in runs} == {"adam", "muon"}
    seeds = {(r.preset, r.optimizer): set() for r in runs}
    for r in runs:
        seeds[(r.preset, r.optimizer)].add(r.seed)
    for (m, _), v in seeds.items():
        assert v == ({0, 1, 2} if m in inrank.presets("core") else {0}), m
    assert set(s.calibration).isdisjoint(s.images) and set(s.images) == {
        f"kodim0{i}" for i in range(1, 9)}
    assert sorted({r.preset for r in runs}) == sorted(inrank.presets("paper"))
    assert matched_width("rff", width, 3, 0.15) < width  # 512 Fourier inputs: narrower


def test_offgrid_psnr_is_the_fit_evaluated_on_the_2x_image(tmp_path, data_dir):
    res = inrank.run_suite("quick", methods=["relu"], images=["kodim05"], steps=5,
                           out=tmp_path, progress=False, plots=False)
    row = res.rows[0]
    rec = json.loads(next((tmp_path / "runs").glob("*.json")).read_text())
    assert rec["metrics"]["offgrid_shape"] == [96, 144]  # 48 px short side, doubled
    # the same fit by hand, evaluated on the 2x image
    sig = inrank.load_image(data_dir / "kodak" / "kodim05.png", size=48)
    model = inrank.build("relu", 2, 3, width=64, depth=3, seed=0)
    inrank.fit(model, sig, steps=5, lr=inrank.preset("relu").lr, progress=False, eval_every=1, accept_worse=True)
    fine = inrank.load_image(data_dir / "kodak" / "kodim05.png", size=96)
    ref = inrank.psnr(inrank.predict(model, fine.coords), fine.values)
    assert row["offgrid_psnr"] == pytest.approx(ref, abs=1e-9)
    assert row["offgrid_psnr"] < row["final_psnr"] + 3  # no free lunch between the pixels


def _row(method, image, psnr, seed=0, **kw):
    return {"method": method, "signal": image, "seed": seed, "final_psnr": psnr,
            "best_psnr": psnr, "ssim": 0.5, "offgrid_psnr": psnr - 1, "offgrid_ssim": 0.4,
            "params": 10, "width": 8, "lr": 1e-3, "knob": "", "status": "ok", **kw}


def test_paired_differences_average_seeds_then_use_student_t_over_images():
    rows = [_row("a", "i1", 20.0, 0), _row("a", "i1", 22.0, 1), _row("b", "i1", 19.0),
            _row("a", "i2", 25.0), _row("b", "i2", 23.5), _row("a", "i3", 30.0),
            _row("b", "i3", 30.5), _row("b", "i4", 10.0)]  # i4: b only, left out
    d = paired_differences(rows, "a", "b", "final_psnr")
    diffs = [21.0 - 19.0, 25.0 - 23.5, 30.0 - 30.5]
    assert d["diffs"] == pytest.approx(diffs) and d["n"] == 3 and d["wins"] == 2
    half = stats.t.ppf(0.975, 2) * statistics.stdev(diffs) / math.sqrt(3)
    assert (d["low"], d["high"]) == pytest.approx((statistics.fmean(diffs) - half,
                                                   statistics.fmean(diffs) + half))


def test_no_bold_above_the_interpolation_limit():
    rows = [_row("interp", "i", BOLD_LIMIT_DB + 20), _row("fits", "i", 30.0)]
    headers, body = comparison_table(rows)
    fit = headers.index("fit PSNR (dB)")
    assert body[0][fit] == (f"{BOLD_LIMIT_DB + 20:.2f}", False)  # 70 dB: not a result to bold
    assert body[1][fit] == ("30.00", True)


def test_tuning_chooses_on_calibration_images_and_extends_edges(tmp_path, monkeypatch):

    res = tune_suite("quick", methods=["relu", "pe"], images=["camera", "moon"], steps=3,
                     out=tmp_path / "t", progress=False, save=tmp_path / "tuned.json")
    recs = [json.loads(p.read_text()) for p in (tmp_path / "t" / "runs").glob("*.json")]
    assert {r["run"]["signal"] for r in recs} == {"camera", "moon"}  # never a test image
    for m in ("relu", "pe"):
        t = res.tuned[m]
        grid = {float(k): v for k, v in t["grid"]["lr"].items()}
        assert set(LR_GRID) <= set(grid) and t["lr"] == max(grid, key=grid.get)
        # the grid grew past an edge while the best lr sat on it (3 steps: large lrs win)
        edge = max(grid) if t["lr"] == max(grid) else min(grid)
        assert t["edge"]["lr"] == (t["lr"] == edge)
        assert len(grid) > len(LR_GRID) or not t["edge"]["lr"]
    knob = {float(k): v for k, v in res.tuned["pe"]["grid"]["knob"].items()}
    assert res.tuned["pe"]["config"]["pe_octaves"] == max(knob, key=knob.get)
    assert set(knob) == {4, 6, 8, 10}
    # the registry applies the saved values
    monkeypatch.setattr(tuned_state, "TUNED_PATH", tmp_path / "tuned.json")
    assert inrank.preset("pe").config.pe_octaves == res.tuned["pe"]["config"]["pe_octaves"]
    assert inrank.preset("pe").lr == res.tuned["pe"]["lr"]
    assert inrank.preset("pe", tuned=False).config.pe_octaves == 10
    with pytest.raises(ValueError, match="test images"):
        tune_suite("quick", images=["kodim01"], out=tmp_path / "x", progress=False)


def test_tuned_rei_gain_reaches_the_model(tmp_path, monkeypatch):

    path = tmp_path / "tuned.json"
    path.write_text(json.dumps({"methods": {"relu+rei": {"lr": 2e-4, "config": {
        "rei_options.gain": 3.0}}}}))
    monkeypatch.setattr(tuned_state, "TUNED_PATH", path)
    p = inrank.preset("relu+rei")
    assert p.lr == 2e-4 and p.config.rei_options == {"gain": 3.0}
    a = inrank.build("relu+rei", 2, 3, width=32, depth=3, seed=0)  # depth 2 has its own rule
    b = inrank.build("relu+rei", 2, 3, width=32, depth=3, seed=0, rei_options={"gain": 3.0})
    assert torch.equal(a.linears[1].weight, b.linears[1].weight)


def test_matched_width_follows_the_tuned_config(tmp_path, monkeypatch):
    """Fewer PE octaves (a tuned value) mean fewer inputs, so a wider matched network; the
    parameter count is not cached on the method's name alone."""

    paper = matched_width("pe", 128, 3, 0.05)
    path = tmp_path / "tuned.json"
    path.write_text(json.dumps({"methods": {"pe": {"lr": 1e-3, "config": {"pe_octaves": 4}}}}))
    monkeypatch.setattr(tuned_state, "TUNED_PATH", path)
    tuned = matched_width("pe", 128, 3, 0.05)
    assert tuned > paper
    count = lambda m, w: sum(p.numel() for p in inrank.build(m, 2, 3, width=w, depth=3).parameters())  # noqa: E731
    budget = 1.05 * count("relu", 128)
    assert count("pe", tuned) <= budget < count("pe", tuned + 1)  # the largest width that fits


def test_mean_interval_is_students_t():
    """``mean_interval`` against scipy's own t interval, and its edge cases."""
    from inrank.report.comparison import mean_interval

    diffs = [0.3, -0.1, 0.8, 0.4, 0.25]
    d = mean_interval(diffs)
    low, high = stats.t.interval(0.95, len(diffs) - 1, loc=statistics.fmean(diffs),
                                 scale=stats.sem(diffs))
    assert d["n"] == 5 and d["wins"] == 4
    assert math.isclose(d["low"], low, rel_tol=1e-12) and math.isclose(d["high"], high, rel_tol=1e-12)
    one = mean_interval([1.5])
    assert one["low"] == one["high"] == one["mean"] == 1.5
    assert math.isnan(mean_interval([])["mean"])


def test_lead_sentence_gives_the_paired_interval_over_images_and_seeds():
    """Who leads, by how much: the winner's mean over its runs (the table's cell), then the
    runner-up and the mean paired difference per image (seeds averaged first) with scipy's
    95% t interval, and on how many images the winner is ahead."""
    from inrank.report.comparison import lead_sentence

    rows = [_row("a", "i1", 30.0, 0), _row("a", "i1", 32.0, 1), _row("b", "i1", 29.0),
            _row("a", "i2", 25.0, 0), _row("a", "i2", 25.0, 1), _row("b", "i2", 24.0),
            _row("a", "i3", 20.0, 0), _row("a", "i3", 20.0, 1), _row("b", "i3", 20.5),
            _row("c", "i1", 10.0), _row("c", "i2", 10.0), _row("c", "i3", 10.0)]
    diffs = [31.0 - 29.0, 25.0 - 24.0, 20.0 - 20.5]
    low, high = stats.t.interval(0.95, 2, loc=statistics.fmean(diffs), scale=stats.sem(diffs))
    mean_a = statistics.fmean([30, 32, 25, 25, 20, 20])
    assert lead_sentence(rows, "final_psnr") == (
        f"a has the best fit PSNR, {mean_a:.2f} dB, {statistics.fmean(diffs):.2f} dB "
        f"[{low:.2f}, {high:.2f}] above b (the runner-up), ahead on 2 of 3 images (95% "
        "interval, paired over 3 images, seeds averaged first); the interval includes zero: "
        "no clear lead.")
    # off-grid PSNR is 1 dB lower in every row here: the same differences, another metric
    assert lead_sentence(rows, "offgrid_psnr").startswith(
        f"a has the best off-grid PSNR, {mean_a - 1:.2f} dB, 0.83 dB [")


def test_lead_sentence_one_run_each_one_image_with_seeds_and_the_limit():
    from inrank.report.comparison import lead_sentence

    one = [_row("relu", "cat", 21.0), _row("siren", "cat", 28.07), _row("rff", "cat", 26.31)]
    assert lead_sentence(one) == ("siren has the best fit PSNR, 28.07 dB, ahead of rff (the "
                                  "runner-up) by 1.76 dB (one run each).")
    seeds = [_row(m, "cat", p + s, seed=s) for m, p in (("pe", 30.0), ("relu", 25.0))
             for s in (0, 1, 2)]
    assert "5.00 dB [5.00, 5.00] above relu (the runner-up), ahead on 3 of 3 seeds (95% " \
           "interval, paired over 3 seeds)." in lead_sentence(seeds)
    interp = one + [_row("interp", "cat", BOLD_LIMIT_DB + 5)]  # not bolded, so not the winner
    text = lead_sentence(interp, limit=BOLD_LIMIT_DB)
    assert text.startswith("siren has the best") and text.endswith(
        f"; above {BOLD_LIMIT_DB:g} dB (interpolation), not counted: interp.")
    assert lead_sentence(one[:1]) == "" and lead_sentence([]) == ""


def test_reports_put_the_sentence_under_the_comparison(tmp_path):
    """results.md and report.html of a suite, the table1 block of BENCHMARKS.md."""
    from pathlib import Path

    from inrank.report.results import results_markdown

    rows = [_row("relu", "i1", 20.0), _row("relu", "i2", 22.0), _row("siren", "i1", 30.0),
            _row("siren", "i2", 27.0)]
    md = results_markdown(rows, suite("table1"))
    summary = md.index("## Summary")
    lead = md.index("siren has the best off-grid PSNR, 27.50 dB, 7.50 dB [")
    assert summary < lead < md.index("##", summary + 3)
    assert "siren has the best fit PSNR, 28.50 dB, 7.50 dB [" in md  # fit PSNR too
    assert "(the runner-up), ahead on 2 of 2 images" in md
    quick = results_markdown(rows, suite("width"))  # a width table: no single winner
    assert "has the best" not in quick.split("## Final PSNR")[0]
    bench_md = (Path(__file__).resolve().parents[1] / "BENCHMARKS.md").read_text()
    block = bench_md.split("<!-- generated: table1 -->")[1].split("<!-- end generated -->")[0]
    assert "has the best off-grid PSNR" in block and "(the runner-up)" in block


def test_a_knob_tuned_with_muon_reaches_the_models_built_for_muon(tmp_path, monkeypatch):
    """A Muon tuning chooses the knob again at Muon's lr (by off-grid PSNR, on the calibration
    images only); build(optimizer="muon") and a Muon run's recorded config use it, Adam's keep
    Adam's."""
    from inrank.bench import tuning
    from inrank.bench.run import Run

    path = tmp_path / "tuned.json"
    path.write_text(json.dumps({"methods": {"relu+rei": {"lr": 1e-3, "config": {
        "rei_options.gain": 10.0}}}}))
    monkeypatch.setattr(tuned_state, "TUNED_PATH", path)
    monkeypatch.setattr(tuning, "MUON_LR_GRID", (1e-3, 1e-2))
    res = tune_suite("quick", methods=["relu+rei"], images=["camera"], steps=2, optimizer="muon",
                     out=tmp_path / "t", progress=False, save=path, max_extensions=0)
    muon = res.tuned["relu+rei"]["muon"]
    knob = {float(k): v for k, v in muon["grid"]["knob"].items()}
    assert set(knob) == set(inrank.preset("relu+rei").knob_grid)
    chosen = muon["config"]["rei_options.gain"]
    assert chosen == max(knob, key=knob.get)
    recs = [json.loads(p.read_text()) for p in (tmp_path / "t" / "runs").glob("*.json")]
    assert {r["run"]["signal"] for r in recs} == {"camera"}
    assert {r["run"]["muon_lr"] for r in recs if r["run"]["overrides"]["rei_options"]["gain"]
            != 10.0} == {muon["muon_lr"]}  # the knob runs at Muon's best lr
    assert muon["offgrid_psnr"] == knob[chosen]  # the default optimiser's criterion
    # the registry now holds both; each optimiser's models get their own
    path.write_text(json.dumps({"methods": {"relu+rei": {"lr": 1e-3, "config": {
        "rei_options.gain": 10.0}, "muon": {"muon_lr": 1e-2, "config": {
            "rei_options.gain": 1.0}}}}}))
    gain = lambda m: m.config.rei_options["gain"]  # noqa: E731
    assert gain(inrank.build("relu+rei", 2, 3, width=32, depth=3)) == 10.0
    assert gain(inrank.build("relu+rei", 2, 3, width=32, depth=3, optimizer="muon")) == 1.0
    run = dict(method="relu+rei", preset="relu+rei", overrides=(), signal="camera", size=8,
               seed=0, width=32, depth=3, steps=1, lr=1e-3)
    assert Run(**run).config()["rei_options"]["gain"] == 10.0
    assert Run(**run, optimizer="muon", muon_lr=1e-2).config()["rei_options"]["gain"] == 1.0
    with pytest.raises(ValueError, match="unknown optimizer"):
        inrank.build("relu+rei", 2, 3, optimizer="sgd")


def test_each_method_trains_with_the_optimiser_its_calibration_favours(tmp_path, monkeypatch,
                                                                       capsys):
    """A method's default optimiser is the one whose tuned setting scored the better off-grid
    PSNR on the calibration images; build, fit, fit_many, inrank fit and inrank demo use it
    when none is named, and a model trained with the other one's knob says so."""
    from inrank.cli import main

    path = tmp_path / "tuned.json"
    path.write_text(json.dumps({"methods": {
        "relu+rei": {"lr": 1e-3, "offgrid_psnr": 24.0, "config": {"rei_options.gain": 10.0},
                     "muon": {"muon_lr": 1e-2, "offgrid_psnr": 25.5,
                              "config": {"rei_options.gain": 3.0}}},
        "relu": {"lr": 1e-3, "offgrid_psnr": 23.0, "muon": {"muon_lr": 1e-2, "offgrid_psnr": 22.0}}}}))
    monkeypatch.setattr(tuned_state, "TUNED_PATH", path)
    assert inrank.preset("relu+rei").default_optimizer == "muon"
    assert inrank.preset("relu").default_optimizer == "adam"
    assert inrank.preset("siren").default_optimizer == "adam"        # untuned
    sig = inrank.load_image("camera", size=8)
    model = inrank.build("relu+rei", 2, 1, width=16, depth=3)
    assert model.built_for == "muon" and model.config.rei_options["gain"] == 3.0
    assert inrank.fit(model, sig, steps=2, lr=1e-3, progress=False, accept_worse=True).optimizer == "muon"
    assert [r.optimizer for r in inrank.fit_many("relu+rei", [sig], steps=2, lr=1e-3, width=16,
                                                 depth=3, progress=False, accept_worse=True)] == ["muon"]
    with pytest.warns(UserWarning, match="built for adam .rei_options.gain 10, tuned with adam.; "
                                         "training it with muon, whose tuned rei_options.gain is 3"):
        inrank.fit(inrank.build("relu+rei", 2, 1, width=16, depth=3, optimizer="adam"), sig,
                   steps=1, lr=1e-3, optimizer="muon", progress=False, accept_worse=True)
    with pytest.raises(inrank.InputError, match="built for different optimisers"):
        inrank.fit_models([inrank.build("relu+rei", 2, 1, width=16, depth=3),
                           inrank.build("relu", 2, 1, width=16, depth=3)], [sig, sig],
                          steps=1, lr=1e-3, progress=False, accept_worse=True)
    assert main(["fit", "camera", "--size", "8", "--steps", "1", "--width", "16", "--depth", "3",
                 "--out", str(tmp_path / "f"), "--no-progress", "--accept-worse"]) == 0
    assert "1 muon steps" in capsys.readouterr().err
    assert main(["demo", "--size", "8", "--steps", "1", "--width", "16", "--methods",
                 "relu,relu+rei", "--out", str(tmp_path / "d"), "--no-progress"]) == 0
    table = capsys.readouterr().out
    assert "| relu | adam |" in table and "| relu+rei | muon |" in table


def test_the_default_optimiser_is_adam_where_muon_cannot_train(tmp_path, monkeypatch, capsys):
    """At depth 1 there is no hidden weight for Muon: build, inrank fit and inrank demo fall
    back to Adam for a method whose default is Muon (they refused with '--optimizer muon',
    an option the user never gave)."""
    from inrank.cli import main

    path = tmp_path / "tuned.json"
    path.write_text(json.dumps({"methods": {"pe": {"lr": 1e-3, "offgrid_psnr": 24.0,
                                                   "muon": {"muon_lr": 1e-2, "offgrid_psnr": 25.0}}}}))
    monkeypatch.setattr(tuned_state, "TUNED_PATH", path)
    p = inrank.preset("pe")
    assert (p.optimizer_at(3), p.optimizer_at(1)) == ("muon", "adam")
    assert inrank.build("pe", 2, 1, width=8, depth=1).built_for == "adam"
    assert main(["fit", "camera", "--method", "pe", "--depth", "1", "--size", "8", "--steps",
                 "1", "--width", "8", "--out", str(tmp_path / "f"), "--no-progress", "--accept-worse"]) == 0
    assert "1 adam steps" in capsys.readouterr().err
    assert main(["demo", "--methods", "pe", "--depth", "1", "--size", "8", "--steps", "1",
                 "--width", "8", "--out", str(tmp_path / "d"), "--no-progress"]) == 0
    assert "| pe | adam |" in capsys.readouterr().out
