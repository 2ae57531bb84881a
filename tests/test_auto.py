"""Issue 36: a fit that does not learn is retried at a lower lr, and ``auto`` chooses the knob
and the lrs for the signal (``inrank.train.auto``), recording what it chose and what it cost."""
from __future__ import annotations

import dataclasses
import json
import math
import warnings

import pytest

import inrank
from inrank.cli import main
from inrank.train import auto


@pytest.fixture(scope="module")
def camera():
    return inrank.load_image("camera", size=16)


def test_a_fit_below_the_mean_is_retried_at_a_lower_lr_and_says_so(camera):
    with pytest.warns(UserWarning, match=r"below mean at lr 0\.3 .*retrying from its initial "
                                         r"weights at lr 0\.0948683"):
        res = inrank.fit(inrank.build("relu", 2, 1, width=16, depth=2, seed=0), camera,
                         steps=150, lr=0.3, optimizer="adam", progress=False)
    assert res.status == "ok" and res.final_psnr > res.mean_psnr
    assert [(a["lr"], a["status"]) for a in res.retries] == [(0.3, "below_mean")]
    assert res.lr == pytest.approx(0.3 * 10 ** -0.5, rel=1e-5)
    assert res.settings.sources["lr"].startswith("backed off")


def test_a_fit_that_fails_at_every_lr_fails_in_one_line_naming_the_retries(camera):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(inrank.FitFailedError, match=r"below the .*after 2 retries") as info:
            inrank.fit(inrank.build("relu", 2, 1, width=16, depth=2, seed=0), camera,
                       steps=150, lr=3.0, optimizer="adam", progress=False)
    assert [a["lr"] for a in info.value.result.retries] == [3.0, pytest.approx(0.948683)]


def test_accept_worse_never_retries(camera):
    with pytest.warns(UserWarning, match="kept, as accept_worse=True asks"):
        res = inrank.fit(inrank.build("relu", 2, 1, width=16, depth=2, seed=0), camera,
                         steps=150, lr=3.0, optimizer="adam", progress=False, accept_worse=True)
    assert res.retries == [] and res.lr == 3.0 and res.status == "below_mean"


def test_a_batched_fit_retries_only_its_failing_models(camera):
    coins = inrank.load_image("coins", size=16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        solo = inrank.fit(inrank.build("relu", 2, 1, width=16, depth=2, seed=0), coins,
                          steps=150, lr=0.3, optimizer="adam", progress=False, seed=0)
        many = inrank.fit_many("relu", [camera, coins], steps=150, lr=0.3, optimizer="adam",
                               width=16, depth=2, seed=0, progress=False)
    assert [a["lr"] for a in many[0].retries] == [0.3] and many[0].status == "ok"
    assert many[1].retries == solo.retries                 # the same fate as its separate fit
    assert many[1].final_psnr == pytest.approx(solo.final_psnr, abs=1e-4)


def test_auto_keeps_the_presets_settings_when_they_train_in_the_probe(camera):
    """The incumbent (the preset's knob and lrs) trains stably in the probe: it is kept, its
    score, steps and cost (within PROBE_SHARE) recorded; the knob predictor, whose value
    could not be used, is not run (its cost is not paid)."""
    model = inrank.build("pe", 2, 1, width=16, depth=2, seed=3)
    res = inrank.fit(model, camera, steps=800, progress=False, auto=True, accept_worse=True)
    chosen = res.settings.chosen
    assert "predictor runs only when" in chosen["knob"]["kept"]
    probe = chosen["probe"]
    assert "trained without diverging" in probe["kept"] and "choice" not in probe
    assert list(probe["incumbent"]) == [f"pe_octaves {inrank.preset('pe').config.pe_octaves}, x1"]
    assert probe["steps"][1] == 2 * probe["steps"][0] >= 2 * auto.MIN_PROBE_STEPS
    assert 0 < probe["cost_share"] <= auto.PROBE_SHARE
    assert res.lr == inrank.preset("pe").lr_for(res.optimizer, width=16)["lr"]
    assert chosen["seconds"] > 0


def test_auto_chooses_among_the_others_when_the_presets_lrs_diverge_in_the_probe(camera):
    """A preset lr that diverges: successive halving over the other knob x lr candidates
    (every one scored in round 1, the best two in round 2) picks the settings the fit runs."""
    from inrank.train.settings import resolve_settings

    model = inrank.build("relu", 2, 1, width=16, depth=2, seed=0)
    s = resolve_settings([model], steps=800, optimizer="adam", auto=True, progress=False)
    s = dataclasses.replace(s, lr=1e6)                      # as if the preset's lr diverged
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = auto.choose_settings(model, camera, s)
    probe = out.chosen["probe"]
    assert probe["incumbent"] == {"x1": -math.inf}
    assert {float(k[1:]) for k in probe["round1"]} == {
        float(f"{f:.3g}") for f in auto.LR_FACTORS if f != 1.0}
    finite = [k for k, v in probe["round1"].items() if math.isfinite(v)]
    assert len(probe["round2"]) == min(2, len(finite)) >= 1
    assert probe["choice"] == max(probe["round2"], key=probe["round2"].get)
    factor = float(probe["choice"][1:])
    assert factor < 1 and out.lr == pytest.approx(1e6 * factor, rel=1e-3)
    assert probe["cost_share"] <= auto.PROBE_SHARE + 1e-9


def test_a_diverging_incumbent_runs_the_knob_predictor_and_tries_its_knob(camera):
    """With a knob to choose, the predictor runs once the preset's settings diverge, and its
    value (where it differs from the model's) is among round 1's candidates."""
    from inrank.train.settings import resolve_settings

    model = inrank.build("rff", 2, 1, width=16, depth=2, seed=0)
    s = resolve_settings([model], steps=800, optimizer="adam", auto=True, progress=False)
    s = dataclasses.replace(s, lr=1e6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = auto.choose_settings(model, camera, s)
    knob, probe = out.chosen["knob"], out.chosen["probe"]
    assert knob["predictor"] == "fresh" and knob["knob"] == "rff_sigma"
    own = inrank.preset("rff").config.rff_sigma
    tried = {k.split(",")[0] for k in probe["round1"]}
    assert tried == {f"rff_sigma {v:g}" for v in {own, knob["choice"]}}
    assert probe["cost_share"] <= auto.PROBE_SHARE + 1e-9


def test_auto_keeps_what_was_given_and_too_short_a_fit(camera):
    model = inrank.build("pe", 2, 1, width=16, depth=2, knobs={"pe_octaves": 3})
    res = inrank.fit(model, camera, steps=400, lr=1e-3, progress=False, auto=True,
                     accept_worse=True)
    assert res.settings.chosen["knob"] == {"kept": "pe_octaves was given"}
    assert "nothing to choose" in res.settings.chosen["probe"]["kept"] and res.lr == 1e-3
    short = inrank.fit(inrank.build("relu", 2, 1, width=16, depth=2), camera, steps=20,
                       progress=False, auto=True, accept_worse=True)
    assert "too few for a probe" in short.settings.chosen["probe"]["kept"]


def test_auto_on_an_inverse_problem_never_reads_the_truth(camera):
    task = inrank.make_task("denoise", camera, noise=0.1)
    res = inrank.fit(inrank.build("pe", 2, 1, width=16, depth=2), task, steps=800,
                     progress=False, auto=True, accept_worse=True)
    assert "inverse problem" in res.settings.chosen["knob"]["kept"]
    assert res.settings.chosen["probe"]["points"] == len(camera)  # no subset: full batches


def test_cli_auto_prints_one_line_and_records_it(tmp_path, capsys):
    assert main(["fit", "camera", "--size", "16", "--steps", "600", "--method", "relu",
                 "--auto", "--out", str(tmp_path), "--no-progress", "--accept-worse"]) == 0
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("auto: ")]
    assert len(lines) == 1 and "x the fit's training time" in lines[0]
    settings = json.loads((tmp_path / "metrics.json").read_text())["settings"]
    assert settings["auto"] is True and "incumbent" in settings["chosen"]["probe"]


def test_cli_auto_says_when_it_kept_the_preset_and_what_it_did_not_try(tmp_path, capsys):
    """Too few steps for a probe: the line says the preset's settings were kept, and names no
    candidates (the knob predictor did not run: its value could not be used)."""
    assert main(["fit", "chirp", "--steps", "40", "--auto", "--out", str(tmp_path),
                 "--no-progress", "--accept-worse"]) == 0
    line = next(x for x in capsys.readouterr().err.splitlines() if x.startswith("auto: "))
    assert line.startswith("auto: kept the preset's settings: 40 steps are too few for a probe")
    assert "among" not in line and "FreSh" not in line
