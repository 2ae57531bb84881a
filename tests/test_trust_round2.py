"""Issue 34's silent wrong results (the second red team), one test per case, by family."""
from __future__ import annotations

import copy
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from inrank.nn import tuned_state
import inrank
from inrank.cli import main
from inrank.errors import DivergedError, FitFailedError, InputError
from inrank.nn.init import rank_expanding_mlp_
from inrank.run_folder import LOCK, RunFolder


@pytest.fixture(scope="module")
def camera():
    return inrank.load_image("camera", size=16)


# 1. one resolution of a fit's settings -------------------------------------------------------

@pytest.fixture
def tuned(monkeypatch):
    """The registry with the committed tuned values (the suite runs at the paper defaults)."""

    monkeypatch.setattr(tuned_state, "TUNED_PATH", tuned_state.Path(tuned_state.__file__).with_name("tuned.json"))


def test_the_documented_example_trains_at_the_tuned_muon_lr(camera, tuned):
    """fit(model, signal, lr=preset.lr) on a Muon-built model used to train Muon at Adam's lr."""
    p = inrank.preset("relu+rei")
    assert p.default_optimizer == "muon" and p.muon_lr is not None
    doc = inrank.fit(inrank.build("relu+rei", 2, 1, width=72, depth=3, seed=0), camera,
                     steps=20, lr=p.lr, progress=False)
    tuned = inrank.fit(inrank.build("relu+rei", 2, 1, width=72, depth=3, seed=0), camera,
                       steps=20, progress=False, **p.lr_for("muon", width=72))
    assert doc.optimizer == "muon" and doc.muon_lr == p.lr_for("muon", width=72)["muon_lr"]
    assert doc.muon_lr != doc.lr
    assert doc.final_psnr == tuned.final_psnr


def test_a_preset_model_fits_without_an_lr_and_says_where_its_lrs_came_from(camera):
    res = inrank.fit(inrank.build("pe", 2, 1, width=36, depth=2, seed=0), camera, steps=20,
                     progress=False)
    want = inrank.preset("pe").lr_for(res.optimizer, width=36)
    assert (res.lr, res.muon_lr) == (want["lr"], want["muon_lr"])
    assert res.settings.sources["lr"] == "preset pe at width 36"
    assert res.settings.knob == {"pe_octaves": inrank.build("pe", 2, 1, width=36).config.pe_octaves}


def test_a_model_without_tuned_values_refuses_in_one_line_naming_what_to_pass(camera):
    seq = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1))
    with pytest.raises(InputError, match=r"lr is needed.*pass lr="):
        inrank.fit(seq, camera, steps=5, progress=False)
    with pytest.raises(InputError, match=r"muon_lr is needed.*pass muon_lr="):
        inrank.fit(seq, camera, steps=5, lr=1e-3, optimizer="muon", progress=False)


def test_the_cli_fit_builds_its_settings_once(tmp_path, monkeypatch):
    from inrank.train import settings as mod

    made = []
    original = mod.FitSettings.__post_init__

    def counted(self):
        made.append(1)
        original(self)

    monkeypatch.setattr(mod.FitSettings, "__post_init__", counted)
    assert main(["fit", "camera", "--size", "8", "--steps", "30", "--out", str(tmp_path),
                 "--no-progress", "--accept-worse"]) == 0
    assert len(made) == 1


# 2. initialisers that know where they apply --------------------------------------------------

def _seq(act=nn.ReLU):
    return nn.Sequential(nn.Linear(2, 32), act(), nn.Linear(32, 32), act(), nn.Linear(32, 1))


def test_rei_on_a_depth_2_sequential_takes_the_depth_rules_gain():
    a = _seq()
    b = copy.deepcopy(a)
    rank_expanding_mlp_(a, generator=torch.Generator().manual_seed(0))
    rank_expanding_mlp_(b, generator=torch.Generator().manual_seed(0), gain=1.0)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))
    c = copy.deepcopy(b)
    rank_expanding_mlp_(c, generator=torch.Generator().manual_seed(0), gain=10.0)
    assert not torch.equal(a[2].weight, c[2].weight)


@pytest.mark.parametrize("act", [nn.Tanh, nn.Sigmoid])
def test_rei_refuses_activations_it_was_not_designed_for(act):
    model = _seq(act)
    before = [p.clone() for p in model.parameters()]
    with pytest.raises(InputError, match="not a ReLU.*force=True"):
        rank_expanding_mlp_(model, generator=torch.Generator().manual_seed(0))
    assert all(torch.equal(x, y) for x, y in zip(before, model.parameters()))  # untouched
    rank_expanding_mlp_(model, generator=torch.Generator().manual_seed(0), force=True)
    assert not torch.equal(before[0], model[0].weight)


def test_rei_refuses_a_module_with_a_sine_in_its_forward():
    class SineNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.c = nn.Linear(2, 32), nn.Linear(32, 32), nn.Linear(32, 1)

        def forward(self, x):
            return self.c(torch.sin(30 * self.b(torch.sin(30 * self.a(x)))))

    with pytest.raises(InputError, match="not a ReLU"):
        rank_expanding_mlp_(SineNet(), variant="kink")


# 3. run folders that cannot lie or mix -------------------------------------------------------

def _fit(out, *extra):
    return main(["fit", "camera", "--size", "8", "--steps", "40", "--out", str(out),
                 "--no-progress", "--accept-worse", *extra])


def test_a_refused_run_writes_nothing_and_keeps_a_finished_run(tmp_path):
    assert main(["fit", "camera", "--size", "8", "--lr", "-1", "--out",
                 str(tmp_path / "new")]) == 2
    assert not (tmp_path / "new").exists()
    run = tmp_path / "run"
    assert _fit(run, "--method", "relu") == 0
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    assert main(["fit", "camera", "--size", "8", "--method", "siren", "--device", "tpu",
                 "--out", str(run)]) == 2
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before
    assert inrank.load(run).method == "relu"


def test_a_second_live_run_cannot_claim_a_folder_and_a_stale_lock_is_taken(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / LOCK).write_text(json.dumps({"pid": holder.pid, "started": 0}))
        with pytest.raises(InputError, match="in use by another inrank run"):
            _claim(tmp_path)
    finally:
        holder.kill()
        holder.wait()
    with RunFolder(tmp_path):  # its process is gone: taken over
        assert (tmp_path / LOCK).is_file()
    assert not (tmp_path / LOCK).exists()


def _claim(path):
    with RunFolder(path):
        pass


def test_a_new_run_removes_an_earlier_runs_outputs(tmp_path):
    (tmp_path / "reconstruction.obj").write_text("v 0 0 0\n")   # an earlier SDF fit's
    (tmp_path / "notes.txt").write_text("mine")                  # the user's own file
    assert _fit(tmp_path) == 0
    assert not (tmp_path / "reconstruction.obj").exists()
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_load_and_diagnose_refuse_files_of_different_runs(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert _fit(a, "--method", "relu") == 0
    assert _fit(b, "--method", "relu", "--seed", "1") == 0
    (a / "model.json").write_bytes((b / "model.json").read_bytes())  # swapped record
    with pytest.raises(InputError, match="different runs"):
        inrank.load(a)
    assert main(["diagnose", "camera", "--size", "8", "--model", str(a / "model.pt"),
                 "--out", str(tmp_path / "d")]) == 2
    assert _fit(a, "--method", "relu") == 0
    (a / "metrics.json").write_bytes((b / "metrics.json").read_bytes())
    with pytest.raises(InputError, match="belongs to another run"):
        inrank.load(a)


# 4. a fit that does not learn is a failure ---------------------------------------------------

def test_a_fit_far_below_the_mean_fails_in_one_line_with_its_results_kept(tmp_path, capsys):
    code = main(["fit", "camera", "--size", "8", "--steps", "20", "--optimizer", "adam",
                 "--lr", "10", "--out", str(tmp_path), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1
    line = [x for x in err.splitlines() if x.startswith("inrank: error:")]
    assert len(line) == 1 and "below the" in line[0] and "mean" in line[0]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["status"] == "below_mean" and metrics["final_psnr"] < metrics["mean_psnr"]
    assert inrank.load(tmp_path).metrics["status"] == "below_mean"


def test_accept_worse_keeps_the_result_and_names_its_status(camera):
    with pytest.warns(UserWarning, match="below the"):
        res = inrank.fit(inrank.build("relu", 2, 1, width=8, depth=1), camera, steps=3,
                         lr=1e-4, optimizer="adam", progress=False, accept_worse=True)
    assert res.status == "below_mean" and res.final_psnr < res.mean_psnr
    with pytest.raises(FitFailedError) as info:
        inrank.fit(inrank.build("relu", 2, 1, width=8, depth=1), camera, steps=3, lr=1e-4,
                   optimizer="adam", progress=False)
    assert info.value.result.status == "below_mean"


def test_a_fit_that_ends_below_its_first_evaluation_is_a_failure():
    from inrank.train.loop import _status

    history = [{"psnr": 30.0}, {"psnr": 31.0}, {"psnr": 29.5}]
    assert _status(history, floor=20.0) == "worse_than_start"
    assert _status(history, floor=29.9) == "below_mean"            # the floor is checked first
    assert _status(history[:2], floor=20.0) == "ok"
    assert _status([{"psnr": 10.0}], floor=float("inf")) == "ok"   # a constant signal: no floor


def test_divergence_does_not_call_a_state_below_the_mean_its_best(camera):
    model = inrank.build("relu", 2, 1, width=16, depth=2, seed=0)
    with pytest.raises(DivergedError) as info:
        inrank.fit(model, camera, steps=50, lr=1e30, optimizer="adam", progress=False,
                   eval_every=1)
    text = str(info.value)
    assert "restored to its best state" not in text or "beat the mean" in text


# 5. values never changed on the way in or out ------------------------------------------------

def test_a_float_tiff_out_of_range_is_refused_like_an_array(tmp_path):
    import tifffile

    path = tmp_path / "hdr.tif"
    tifffile.imwrite(path, np.linspace(-0.2, 1.5, 64, dtype=np.float32).reshape(8, 8))
    with pytest.raises(InputError, match=r"must lie in \[0, 1\]"):
        inrank.load_image(path)
    tifffile.imwrite(path, np.full((8, 8), np.nan, dtype=np.float32))
    with pytest.raises(InputError, match="NaN"):
        inrank.load_image(path)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_an_exif_rotated_photo_loads_upright(tmp_path, orientation):
    from PIL import Image, ImageOps

    arr = np.random.default_rng(0).integers(0, 255, (6, 10, 3), dtype=np.uint8)
    im = Image.fromarray(arr)
    exif = im.getexif()
    exif[0x0112] = orientation
    path = tmp_path / "photo.jpg"
    im.save(path, exif=exif, quality=100)
    upright = np.asarray(ImageOps.exif_transpose(Image.open(path))) / 255.0
    sig = inrank.load_image(path)
    assert sig.shape == upright.shape[:2]
    assert np.allclose(sig.to_image(sig.values), upright, atol=1e-6)


def test_metrics_files_are_valid_json_and_say_what_is_undefined(tmp_path):
    assert main(["fit", "camera", "--size", "8", "--steps", "5", "--task", "inpaint", "--keep",
                 "1", "--out", str(tmp_path), "--no-progress", "--accept-worse"]) == 0

    def refuse(name):
        raise ValueError(f"{name} in metrics.json")

    metrics = json.loads((tmp_path / "metrics.json").read_text(), parse_constant=refuse)
    assert metrics["test_psnr"] is None and metrics["undefined"]["test_psnr"] == "nan"


# 6. every option acts or is refused by name --------------------------------------------------

def test_a_knob_advise_names_is_settable_from_inrank_fit(tmp_path, capsys):
    assert main(["advise", "camera", "--method", "pe", "--size", "8", "--points", "64",
                 "--offgrid-points", "32", "--inits", "1", "--out", str(tmp_path / "a")]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("run: inrank fit camera --method pe --knobs pe_octaves=")
    knob = last.split("--knobs ")[1].split()[0]
    assert _fit(tmp_path / "f", "--method", "pe", "--knobs", knob) == 0
    assert inrank.load(tmp_path / "f").config.pe_octaves == int(knob.split("=")[1])
    config = tmp_path / "c.yaml"
    config.write_text("knobs: [pe_octaves=6]\nmethod: pe\n")
    assert _fit(tmp_path / "g", "--config", str(config)) == 0
    assert inrank.load(tmp_path / "g").config.pe_octaves == 6


@pytest.mark.parametrize("argv, match", [
    (["--factor", "2"], "--factor sets the superres task"),
    (["--task", "superres", "--keep", "0.5"], "--keep sets the inpaint task"),
    (["--method", "pe", "--knobs", "omega0=20"], "omega0 does nothing for pe"),
    (["--method", "relu", "--knobs", "pe_octaves=4"], "pe_octaves does nothing for relu"),
    (["--knobs", "gain"], "--knobs takes NAME=VALUE"),
])
def test_options_that_would_be_ignored_are_refused_by_name(tmp_path, capsys, argv, match):
    assert main(["fit", "camera", "--size", "8", "--steps", "2", "--out", str(tmp_path),
                 *argv]) == 2
    assert match in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_size_for_audio_and_duration_for_an_image_are_refused(tmp_path):
    import soundfile

    clip = tmp_path / "clip.wav"
    soundfile.write(clip, np.zeros(800, dtype=np.float32), 8000)
    with pytest.raises(InputError, match="size does nothing for audio"):
        inrank.load_signal(clip, size=64)
    with pytest.raises(InputError, match="duration does nothing for image"):
        inrank.load_signal("camera", duration=1.0)


def test_build_refuses_a_field_the_method_does_not_read():
    with pytest.raises(InputError, match="omega0 does nothing for pe"):
        inrank.build("pe", 2, 3, omega0=3000.0)
    assert inrank.build("siren", 2, 3, omega0=20.0).config.omega0 == 20.0


def test_tol_is_refused_with_the_dense_solver():
    model = inrank.build("relu", 2, 1, width=8, depth=1)
    with pytest.raises(InputError, match="tol compresses the matrix-free"):
        inrank.diagnose(model, torch.rand(16, 2), solver="dense", tol=1e-3)


def test_a_ct_task_on_a_photo_can_be_cropped_square(tmp_path):
    assert main(["fit", "chelsea", "--size", "12", "--task", "ct", "--angles", "4", "--out",
                 str(tmp_path / "refused")]) == 2
    assert main(["fit", "chelsea", "--size", "12", "--crop", "12", "--task", "ct", "--angles",
                 "4", "--steps", "3", "--out", str(tmp_path), "--no-progress",
                 "--accept-worse"]) == 0


# 7. crashes -----------------------------------------------------------------------------------

def test_advise_on_a_one_pixel_image_and_a_huge_seed_are_one_line(tmp_path, capsys):
    assert main(["advise", "camera", "--method", "pe", "--size", "1", "--out",
                 str(tmp_path)]) == 2
    assert main(["fit", "camera", "--seed", "99999999999999999999", "--out",
                 str(tmp_path / "f")]) == 2
    err = [x for x in capsys.readouterr().err.splitlines() if x.startswith("inrank: error")]
    assert len(err) == 2 and "2 x 2" in err[0] and "[0, 2^64)" in err[1]


# 8. slow low precision is named before training ----------------------------------------------

def test_low_precision_on_a_cpu_without_units_warns_before_the_first_step(camera, monkeypatch):
    from inrank.train import precision

    monkeypatch.setattr(precision, "low_precision_slowdown", lambda p: 8.3)
    seen = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        inrank.fit(inrank.build("relu", 2, 1, width=8, depth=1), camera, steps=2, lr=1e-3,
                   precision="bf16", progress=False, check_steps=0, accept_worse=True,
                   callbacks=[lambda step, m, model: seen.append(len(caught))])
    slow = [str(w.message) for w in caught if "slower than float32" in str(w.message)]
    assert slow and "8.3x" in slow[0] and seen[0] >= 1


# 9. the right words ---------------------------------------------------------------------------

def test_advise_and_diagnose_default_to_inrank_fits_width():
    from inrank.cli.main import build_parser

    width = inrank.nn.tuned_state.tuned_network()["width"]
    for cmd in ("advise", "diagnose", "fit"):
        args = build_parser([cmd]).parse_args([cmd, "camera"])
        assert args.width == width, cmd


def test_under_muon_the_lr_column_holds_adams_lr_and_muon_has_its_own(camera, tmp_path):
    from inrank.train.callbacks import CSVLogger

    inrank.fit(inrank.build("relu", 2, 1, width=16, depth=3), camera, steps=4, lr=1e-3,
               optimizer="muon", muon_lr=0.02, progress=False, accept_worse=True,
               callbacks=[CSVLogger(tmp_path / "log.csv")])
    import csv

    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert float(rows[0]["lr"]) == 1e-3 and float(rows[0]["muon_lr"]) == 0.02


def test_advise_prints_h_x_w_as_fit_does(tmp_path, capsys):
    main(["advise", "chelsea", "--method", "pe", "--size", "8", "--points", "32",
          "--offgrid-points", "16", "--inits", "1", "--out", str(tmp_path)])
    sig = inrank.load_image("chelsea", size=8)
    assert f"on chelsea {sig.shape[0]}x{sig.shape[1]}," in capsys.readouterr().err


def test_a_loaded_runs_signal_is_named_as_a_name_and_json_paths_load(tmp_path):
    assert _fit(tmp_path) == 0
    run = inrank.load(tmp_path / "model.json")
    assert run.signal_name == "camera" and not hasattr(run, "signal")


def test_sequential_layers_are_shown_as_indices_not_layer_numbers():
    d = inrank.diagnose(_seq(), torch.rand(16, 2), ntk=False)
    names = [row[1] for row in d.table()[1][1:]]
    assert names == ["[0]", "[2]", "[4]"]


def test_a_fit_that_ends_far_below_its_best_evaluation_collapsed():
    from inrank.train.loop import COLLAPSE_DB, _status

    history = [{"psnr": 12.0}, {"psnr": 30.0}, {"psnr": 30.0 - COLLAPSE_DB - 0.1}]
    assert _status(history, floor=10.0) == "collapsed"
    history[-1]["psnr"] = 30.0 - COLLAPSE_DB + 0.1           # a dip, not a collapse
    assert _status(history, floor=10.0) == "ok"


class _ShiftLate:
    """Adds 0.2 to the output bias at the next-to-last evaluation of the first ``fits`` fits it
    sees: each learned, then lost about 8 dB of it, staying above the mean predictor (what an
    lr too high for the later steps does)."""

    def __init__(self, step: int, fits: int = 99):
        self.step, self.fits, self.started = step, fits, 0

    def on_start(self, info):
        self.started += 1

    def on_eval(self, step, metrics, model):
        if step == self.step and self.started <= self.fits:
            with torch.no_grad():
                model.linears[-1].bias += 0.2


def _collapsing_fit(fits: int = 99, **kw):
    camera = inrank.load_image("camera", size=8)
    model = inrank.build("relu", 2, 1, width=16, depth=1, seed=0)
    result = inrank.fit(model, camera, steps=200, lr=1e-2, optimizer="adam", eval_every=1,
                        progress=False, callbacks=[_ShiftLate(199, fits)], **kw)
    return model, camera, result


def test_a_collapsed_fit_is_retried_and_a_retry_that_ends_higher_replaces_it():
    with pytest.warns(UserWarning, match=r"dB below its best evaluation \(.* dB at step "
                                         r"\d+\): it learned, then lost it .*; kept, as "
                                         r"accept_worse=True asks"):
        _, _, kept = _collapsing_fit(accept_worse=True)
    assert kept.status == "collapsed" and kept.best_psnr - kept.final_psnr > 6
    assert kept.final_psnr > kept.mean_psnr
    with pytest.warns(UserWarning, match=r"relu on camera collapsed at lr 0\.01 .*retrying "
                                         r"from its initial weights at lr 0\.00316"):
        _, _, retried = _collapsing_fit(fits=1)             # only the first attempt collapses
    assert retried.status == "ok" and retried.final_psnr > kept.final_psnr
    assert [a["status"] for a in retried.retries] == ["collapsed"]


def test_a_collapsed_fit_that_no_retry_beats_is_kept_with_its_weights():
    """A retry at a lower lr that ends lower is no remedy: the collapsed attempt that ended
    highest is returned (status "collapsed", its weights in the model), with a warning."""
    with pytest.warns(UserWarning, match=r"no retry at a lower lr ended above the attempt at "
                                         r"lr 0\.01 .*kept it, status 'collapsed'"):
        model, camera, res = _collapsing_fit()
    assert res.status == "collapsed" and res.settings.lr == 0.01
    assert [a["lr"] for a in res.retries] == [pytest.approx(0.00316228),
                                             pytest.approx(0.001)]
    assert torch.allclose(inrank.predict(model, camera.coords), res.prediction, atol=1e-6)
