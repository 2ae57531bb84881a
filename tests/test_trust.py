"""Issue 24's silent wrong results that the training and tuning paths had, each pinned."""
from __future__ import annotations

import json

import pytest
import torch

import inrank
from inrank.bench.tuning import tune_suite, write_tuned
from inrank.nn.tuned_file import merge_tuned
from inrank.cli import main
from inrank.errors import InputError


def test_write_tuned_merges_instead_of_dropping_other_methods(tmp_path):
    path = tmp_path / "tuned.json"
    path.write_text(json.dumps({"protocol": {"steps": 5}, "methods": {
        "relu": {"lr": 1e-3, "muon": {"muon_lr": 0.03}}, "siren": {"lr": 1e-4}}}))
    write_tuned({"lr": {"relu": 3e-3}, "edge": ["relu"], "grid": {"relu": {"0.003": 20.0}},
                 "protocol": {"steps": 5}}, path)
    methods = json.loads(path.read_text())["methods"]
    assert methods["siren"] == {"lr": 1e-4}                  # kept
    assert methods["relu"]["lr"] == 3e-3                      # replaced
    assert methods["relu"]["muon"] == {"muon_lr": 0.03}       # the other optimiser's kept
    write_tuned({"lr": {"relu": 1e-2}, "edge": [], "grid": {"relu": {}}, "protocol": {}}, path,
                replace=True)
    assert set(json.loads(path.read_text())["methods"]) == {"relu"}


def test_values_tuned_under_another_protocol_are_never_merged(tmp_path):
    """A table1 tuned at 3 x 128 and one at 3 x 72 must not share a tuned-values file: its
    methods would carry lrs from two networks under one protocol."""
    path = tmp_path / "tuned.json"
    old = {"protocol": {"suite": {"name": "table1", "widths": [128]}, "steps": 500},
           "methods": {"relu": {"lr": 1e-3}, "siren": {"lr": 1e-4}}}
    path.write_text(json.dumps(old))
    new = {"lr": {"relu": 3e-3}, "edge": [], "grid": {"relu": {}},
           "protocol": {"suite": {"name": "table1", "widths": [72]}, "steps": 500}}
    with pytest.raises(InputError, match=r"another protocol \(suite.widths: \[128\] here, "
                                         r"\[72\] in this tuning\)"):
        write_tuned(new, path)
    assert json.loads(path.read_text()) == old                 # nothing lost
    write_tuned(new, path, replace=True)
    assert json.loads(path.read_text())["methods"] == {"relu": {
        "lr": 3e-3, "grid": {}, "edge": {"lr": False}, "reason": "best mean final PSNR of the sweep"}}


def test_a_muon_tuning_keeps_the_adam_values_and_protocol():
    old = {"protocol": {"steps": 500}, "methods": {"pe": {"lr": 3e-3, "config": {"pe_octaves": 6}}}}
    new = merge_tuned(old, {"protocol": {"steps": 500, "lr_grid": [1e-2]},
                            "methods": {"pe": {"muon": {"muon_lr": 1e-2}}}})
    assert new["protocol"] == {"steps": 500}
    assert new["methods"]["pe"] == {"lr": 3e-3, "config": {"pe_octaves": 6},
                                    "muon": {"muon_lr": 1e-2}}


def test_tune_steps_zero_is_refused_not_replaced_by_the_default(tmp_path):
    with pytest.raises(InputError, match="steps"):
        tune_suite("table1", steps=0, out=tmp_path, progress=False)
    assert not (tmp_path / "runs").exists()  # refused before any run


def test_a_model_with_the_wrong_output_size_fails_before_training():
    sig = inrank.load_image("astronaut", size=8)               # 3 channels
    steps = []
    seq = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    with pytest.raises(InputError, match="outputs 1 channel"):
        inrank.fit(seq, sig, steps=50, lr=1e-3, progress=False,
                   callbacks=[lambda step, m, model: steps.append(step)], accept_worse=True)
    assert steps == []
    with pytest.raises(InputError, match="outputs 1 channel"):
        inrank.fit(inrank.build("relu", 2, 1, width=8, depth=1), sig, steps=5, lr=1e-3,
                   progress=False, accept_worse=True)


def test_progress_line_names_the_method_and_stays(capsys):
    sig = inrank.load_image("camera", size=8)
    inrank.fit(inrank.build("relu+rei", 2, 1, width=16, depth=2), sig, steps=3, lr=1e-3,
               progress=True, optimizer="muon", accept_worse=True)
    err = capsys.readouterr().err
    assert "relu+rei on camera (muon)" in err and "3/3" in err


def test_inrank_fit_says_what_it_runs_before_training(tmp_path, capsys):
    assert main(["fit", "camera", "--size", "12", "--steps", "2", "--width", "8", "--depth", "2",
                 "--out", str(tmp_path), "--no-progress", "--accept-worse"]) == 0
    first = capsys.readouterr().err.splitlines()[0]
    assert first.startswith("fit relu+rei on camera 12x12 (144 points): 2 x 8 MLP, 2 adam steps")
    assert "at least" in first
