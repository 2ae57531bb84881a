"""inrank.load: a saved fit read back, and one clear error for every way its files are wrong."""
from __future__ import annotations

import json
import os
import shutil

import pytest
import torch

import inrank
from inrank.cli import main
from inrank.errors import InputError
from inrank.runs import load_weights


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A real ``inrank fit`` run folder (tiny)."""
    out = tmp_path_factory.mktemp("fit") / "run"
    assert main(["fit", "camera", "--method", "relu+rei", "--size", "8", "--steps", "3",
                 "--width", "8", "--depth", "2", "--out", str(out), "--no-progress", "--accept-worse"]) == 0
    return out


@pytest.fixture
def run(saved, tmp_path):
    """A copy of the saved run to damage."""
    return shutil.copytree(saved, tmp_path / "run")


def _one_clear_error(run_dir, *names: str) -> str:
    """load(run_dir) raises one InputError: one line, naming each of ``names``, no chain."""
    with pytest.raises(InputError) as info:
        inrank.load(run_dir)
    message = str(info.value)
    assert "\n" not in message and info.value.__cause__ is None
    assert info.value.__suppress_context__ or info.value.__context__ is None
    for name in names:
        assert name in message, message
    return message


def test_load_rebuilds_what_fit_saved(saved):
    run = inrank.load(saved)
    record = json.loads((saved / "model.json").read_text())
    assert isinstance(run, inrank.LoadedRun) and run.method == "relu+rei" == run.model.preset
    assert run.config.to_dict() == record["model"] and run.config.width == 8
    assert (run.signal_name, run.kind, run.shape, run.path) == ("camera", "image", (8, 8), saved)
    assert not run.model.training
    state = torch.load(saved / "model.pt", weights_only=True)
    assert all(torch.equal(v, state[k]) for k, v in run.model.state_dict().items())
    # the saved model reproduces the fit's final PSNR on the signal
    signal = inrank.load_image("camera", size=8)
    with torch.no_grad():
        pred = run.model(inrank.grid_coords(run.shape))
    assert inrank.psnr(pred, signal.values) == pytest.approx(run.metrics["final_psnr"], abs=1e-3)
    assert run.metrics["steps"] == 3
    assert inrank.load(saved / "model.pt").config == run.config  # the weights file works too
    text = repr(run)
    assert len(text) < 300 and "relu+rei" in text and "shape=8x8" in text


def test_missing_folder_and_files(run, tmp_path):
    _one_clear_error(tmp_path / "nope", "run folder not found", "nope")
    (run / "model.pt").unlink()
    _one_clear_error(run, "model weights not found", "model.pt")
    empty = tmp_path / "empty"
    empty.mkdir()
    _one_clear_error(empty, "no model.json in", "load_weights")


def test_truncated_weights(run):
    data = (run / "model.pt").read_bytes()
    (run / "model.pt").write_bytes(data[: len(data) // 2])
    _one_clear_error(run, "model.pt", "truncated", "rerun the fit")
    (run / "model.pt").write_bytes(b"")
    _one_clear_error(run, "model.pt", "cannot read")


class _Payload:
    """A pickle that would run a command when unpickled."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_pickle_weights_only_refuses_runs_nothing(run, tmp_path):
    marker = tmp_path / "ran"
    torch.save({"linears.0.weight": torch.zeros(1), "x": _Payload(marker)}, run / "model.pt")
    _one_clear_error(run, "model.pt", "weights_only=True) refuses", "state_dict()")
    assert not marker.exists()


def test_weights_that_are_not_a_state_dict(run):
    torch.save(torch.zeros(3), run / "model.pt")
    _one_clear_error(run, "holds a Tensor, not a state dict")


def test_weights_that_do_not_fit_the_record(run):
    record = json.loads((run / "model.json").read_text())
    record["model"]["width"] = 9
    (run / "model.json").write_text(json.dumps(record))
    _one_clear_error(run, "model.pt", "does not fit", "size mismatch")


@pytest.mark.parametrize("damage, expected", [
    (lambda text: text[: len(text) // 2], "is not valid JSON"),
    (lambda text: "[1, 2]", "has no 'model' object"),
    (lambda text: text.replace('"width"', '"wdith"'), "unknown model field(s) ['wdith']"),
    (lambda text: text.replace('"depth": 2', '"depth": -1'), "depth must be >= 0"),
    (lambda text: text.replace('"method": "relu+rei"', '"method": 3'), "'method' must be a str"),
    (lambda text: text.replace('"shape": [\n    8,', '"shape": [\n    0,'), "'shape' must list"),
])
def test_garbled_record(run, damage, expected):
    text = (run / "model.json").read_text()
    broken = damage(text)
    assert broken != text
    (run / "model.json").write_text(broken)
    _one_clear_error(run, "model.json", expected)


def test_garbled_metrics(run):
    (run / "metrics.json").write_text("{")
    _one_clear_error(run, "metrics.json", "is not valid JSON")


def test_load_weights_into_your_own_model(saved):
    model = inrank.build("relu+rei", 2, 1, width=8, depth=2, seed=5)
    assert load_weights(model, saved / "model.pt") is model
    assert torch.equal(model.linears[0].weight, inrank.load(saved).model.linears[0].weight)
    with pytest.raises(InputError, match="does not fit the model"):
        load_weights(inrank.build("relu", 2, 3, width=8, depth=2), saved / "model.pt")


@pytest.mark.parametrize("damage", ["truncated", "pickle", "record"])
def test_diagnose_model_on_a_bad_file_is_one_line(run, tmp_path, capsys, damage):
    weights = run / "model.pt"
    if damage == "truncated":
        weights.write_bytes(weights.read_bytes()[:100])
    elif damage == "pickle":
        torch.save({"x": _Payload(tmp_path / "ran")}, weights)
    else:
        (run / "model.json").write_text("{not json")
    code = main(["diagnose", "--model", str(weights), "camera", "--size", "8",
                 "--out", str(tmp_path / "diag")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and ("model.pt" in err or "model.json" in err)
    assert not (tmp_path / "ran").exists()
