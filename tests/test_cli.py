import argparse
import json
import subprocess
import sys

import pytest
import torch
from PIL import Image

import inrank
from inrank.cli import build_parser, main
from inrank.cli.args import Items


def test_fit_end_to_end(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["fit", "camera", "--method", "pe", "--size", "16", "--steps", "30", "--width", "32",
               "--depth", "2", "--out", str(out), "--no-progress", "--accept-worse"])
    assert rc == 0
    assert "PSNR" in capsys.readouterr().out
    for name in ("reconstruction.png", "comparison.png", "psnr_curve.png", "metrics.json",
                 "config.json", "model.pt"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["steps"] == 30 and metrics["final_psnr"] > 10
    cfg = json.loads((out / "config.json").read_text())  # the options; --config reads it back
    assert cfg["method"] == "pe" and cfg["steps"] == 30 and cfg["lr"] == inrank.preset("pe").lr_for("adam", width=32)["lr"]
    saved = json.loads((out / "model.json").read_text())  # the architecture of model.pt
    assert saved["method"] == "pe" and saved["model"]["encoding"] == "pe"
    assert saved["model"]["width"] == 32 and saved["shape"] == [16, 16]
    state = torch.load(out / "model.pt", weights_only=True)
    assert "linears.0.weight" in state
    with Image.open(out / "reconstruction.png") as img:
        assert img.size == (16, 16)
    assert not list(out.glob(".*.tmp")), "no temporary files left behind"


def test_demo_end_to_end(tmp_path, capsys):
    rc = main(["demo", "--size", "16", "--steps", "10", "--width", "16", "--depth", "2",
               "--out", str(tmp_path), "--no-progress"])
    assert rc == 0
    printed = capsys.readouterr().out
    for m in ("relu", "relu+rei", "pe", "siren"):
        assert f"| {m} |" in printed
    lead = next(line for line in printed.splitlines() if "has the best fit PSNR" in line)
    assert "(the runner-up) by" in lead and lead in (tmp_path / "results.md").read_text()
    html = (tmp_path / "index.html").read_text()
    from html import escape

    assert f"<p class='lead'>{escape(lead)}</p>" in html  # under the table
    assert "psnr_curves.png" in html and "relu_rei_comparison.png" in html
    assert (tmp_path / "relu_rei_comparison.png").is_file()


def test_demo_auto_chooses_each_methods_settings_for_the_image(tmp_path, monkeypatch):
    """``inrank demo --auto`` fits every method with ``auto`` (its probe runs and is
    recorded) and its page says so."""
    from inrank.bench import demo

    chosen = []

    def spy(*args, **kwargs):
        res = inrank.fit(*args, **kwargs)
        chosen.append(res.settings.chosen)
        return res

    monkeypatch.setattr(demo, "fit", spy)
    assert main(["demo", "--size", "16", "--steps", "700", "--width", "16", "--depth", "2",
                 "--methods", "relu,pe", "--auto", "--out", str(tmp_path), "--no-progress"]) == 0
    assert len(chosen) == 2 and all("incumbent" in c["probe"] for c in chosen)
    assert "the knob and lrs auto chose for the image" in (tmp_path / "index.html").read_text()


def _run(argv):
    """main() return code, or a SystemExit's code."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


@pytest.mark.parametrize("argv,msg", [
    (["fit", "missing.png", "--accept-worse"], "image not found"),
    (["fit", "camera", "--method", "nope", "--accept-worse"], "invalid choice: 'nope'"),
    (["fit", "camera", "--width", "0", "--accept-worse"], "--width must be a positive integer, got 0"),
    (["fit", "camera", "--depth", "-2", "--accept-worse"], "--depth must be >= 0, got -2"),
    (["fit", "camera", "--steps", "0", "--accept-worse"], "--steps must be a positive integer, got 0"),
    (["fit", "camera", "--steps", "x", "--accept-worse"], "--steps: expected int, got 'x'"),
    (["fit", "camera", "--steps", "1.5", "--accept-worse"], "--steps: expected int, got '1.5'"),
    (["fit", "camera", "--lr", "-1", "--accept-worse"], "--lr must be a finite number > 0, got -1"),
    (["fit", "camera", "--lr", "fast", "--accept-worse"], "--lr: expected float or null, got 'fast'"),
    (["fit", "camera", "--size", "0", "--accept-worse"], "--size must be a positive integer, got 0"),
    (["fit", "camera", "--batch-size", "0", "--accept-worse"], "--batch-size must be a positive integer"),
    (["fit", "camera", "--checkpoint-every", "0", "--accept-worse"], "--checkpoint-every must be a positive integer"),
    (["fit", "camera", "--track_every", "-3", "--accept-worse"], "--track-every must be a positive integer"),
    (["fit", "camera", "--precision", "fp8", "--accept-worse"], "invalid choice: 'fp8'"),
    (["fit", "camera", "--resolution", "0", "--accept-worse"], "--resolution must be a positive integer"),
    (["fit", "camera", "--bogus", "1", "--accept-worse"], "unrecognized arguments: --bogus"),
    (["fit", "--accept-worse"], "the following arguments are required: source"),
    (["demo", "--methods", "relu,nope"], "unknown method"),
    (["demo", "--steps", "0", "--methods", "relu", "--size", "8"], "--steps must be a positive"),
    (["diagnose", "--widths", "64,0"], "--widths must be a positive integer, got 0"),
    (["diagnose", "--widths", "64,wide"], "--widths: expected int values, got 'wide'"),
    (["diagnose", "--trained", "0"], "--trained must be a positive integer"),
    (["diagnose", "--width", "0"], "--width must be a positive integer"),
    (["diagnose", "--batchnorm", "frozen"], "unknown batchnorm 'frozen'"),
    (["diagnose", "--solver", "exact"], "invalid choice: 'exact'"),
    (["bench", "quick", "--seeds", "a"], "--seeds: expected int values, got 'a'"),
    (["bench", "quick", "--threads", "0"], "--threads must be a positive integer"),
    (["bench", "nope"], "invalid choice: 'nope'"),
    (["tune", "width"], "invalid choice: 'width'"),
    (["nope"], "invalid choice: 'nope'"),
    ([], "command"),
])
def test_bad_input_one_line_nonzero(argv, msg, tmp_path, capsys):
    code = _run(argv + ["--out", str(tmp_path / "o")] if argv else argv)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert msg in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"inrank {inrank.__version__}"


def test_directory_and_corrupt_file(tmp_path, capsys):
    assert main(["fit", str(tmp_path), "--out", str(tmp_path / "o"), "--accept-worse"]) == 2
    assert "directory" in capsys.readouterr().err
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    assert main(["fit", str(bad), "--out", str(tmp_path / "o"), "--accept-worse"]) == 2
    err = capsys.readouterr().err
    assert "cannot read" in err and len(err.strip().splitlines()) == 1


def test_console_script_exit_code(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "inrank.cli", "fit", str(tmp_path / "nope.png")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("inrank: error: image not found")


@pytest.mark.parametrize("exc", [RuntimeError, TypeError, KeyError])
def test_a_bug_keeps_its_traceback(exc, monkeypatch, tmp_path):
    """Only bad input prints one line; an error the library did not raise on purpose is a bug
    and propagates (with its traceback) instead of being dressed as a user error."""
    import importlib

    def broken(*args, **kwargs):
        raise exc("internal bug")

    monkeypatch.setattr(importlib.import_module("inrank.cli.fit"), "fit", broken)
    with pytest.raises(exc, match="internal bug"):
        main(["fit", "camera", "--size", "8", "--steps", "1", "--out", str(tmp_path), "--accept-worse"])


def test_library_argument_names_become_flags(tmp_path, capsys):
    """The library says ``data=DIR`` (its own argument); the CLI shows its flag ``--data DIR``."""
    rc = main(["bench", "quick", "--images", "kodim01", "--data", str(tmp_path / "none"),
               "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and "pass --data DIR" in err and "data=" not in err


def test_figures_switch_no_matplotlib_backend(tmp_path):
    """Drawing figures must not change a notebook's backend nor create pyplot state."""
    code = f"""
import sys, matplotlib
matplotlib.use("svg")
import numpy as np, torch, inrank
from inrank.report.figures import save_comparison, save_psnr_curves
from inrank.report.mesh import save_mesh_preview
out = {str(tmp_path)!r}
img = np.zeros((4, 4, 3))
save_comparison(img, img, out + "/c.png")
save_psnr_curves({{"a": [{{"step": 1, "psnr": 1.0}}]}}, out + "/p.png")
inrank.diagnose(inrank.build("relu", 2, 1, width=4, depth=1), torch.rand(6, 2)).plot(out + "/d.png")
save_mesh_preview(out + "/m.png", np.eye(3), np.array([[0, 1, 2]]))
assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
assert "matplotlib.pyplot" not in sys.modules
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert all((tmp_path / f"{n}.png").stat().st_size > 500 for n in "cpdm")


#: Ideas a command takes one of (``--method``) or several of (``--methods``).
_COUNTED = ("method", "image", "seed", "width", "optimizer")


def _flags(command) -> dict[str, argparse.Action]:
    return {f: a for a in command._actions for f in a.option_strings}


@pytest.mark.parametrize("name", ["fit", "demo", "bench", "diagnose", "tune"])
def test_one_naming_scheme_across_commands(name):
    """One name per idea: an option that takes several values is plural and a list (``--methods
    relu pe``), its singular takes one value (``--method relu``), in every command; the signal a
    command reads is its positional ``source``, never ``--image``."""
    command = build_parser([name]).commands[name]
    flags = _flags(command)
    for action in command._actions:
        if isinstance(action, Items):  # a list is plural: --methods, --seeds, --lr-multipliers
            assert action.option_strings[0].endswith("s"), action.option_strings
    for idea in _COUNTED:
        one, many = flags.get(f"--{idea}"), flags.get(f"--{idea}s")
        assert one is None or not isinstance(one, Items) and one.nargs is None, f"--{idea}"
        assert many is None or isinstance(many, Items), f"--{idea}s"
    if name in ("fit", "demo", "diagnose"):  # the commands that read one signal
        positional = [a.dest for a in command._actions if not a.option_strings]
        assert positional == ["source"] and "--image" not in flags
        assert "--methods" in flags if name != "fit" else "--method" in flags


def test_the_signal_is_named_alike_in_fit_diagnose_and_demo():
    parser = build_parser(["fit", "diagnose", "demo"])
    assert parser.parse_args(["fit", "camera"]).source == "camera"
    assert parser.parse_args(["diagnose", "camera", "--methods", "pe"]).source == "camera"
    assert parser.parse_args(["demo", "camera"]).source == "camera"
    assert parser.parse_args(["demo"]).source == parser.parse_args(["diagnose"]).source \
        == "astronaut"
    args = parser.parse_args(["diagnose", "--methods", "relu", "pe"])
    assert args.methods == ["relu", "pe"] and args.source == "astronaut"


def test_old_spellings_warn_and_still_work(capsys):
    """``diagnose --method a,b --image X`` and ``demo --image X``: the spellings before one
    scheme, read as ``--methods`` and the positional source, with a warning naming the new."""
    parser = build_parser(["diagnose", "demo"])
    with pytest.warns(FutureWarning) as caught:
        args = parser.parse_args(["diagnose", "--method", "relu,pe", "--image", "camera",
                                  "--size", "8"])
    assert args.methods == ["relu", "pe"] and args.source == "camera" and args.size == 8
    messages = [str(w.message) for w in caught]
    assert messages == ["inrank diagnose --method is deprecated, use --methods",
                        "inrank diagnose --image is deprecated, give it as the first "
                        "argument: inrank diagnose SOURCE [options]"]
    with pytest.warns(FutureWarning, match="--image is deprecated"):
        args = parser.parse_args(["demo", "--methods", "relu", "--image=coffee"])
    assert args.source == "coffee" and args.methods == ["relu"]
    # from the command line: one line on stderr, the run goes on (here: prints its config)
    with pytest.warns(FutureWarning):
        assert main(["diagnose", "--method", "pe", "--print-config"]) == 0
    assert "methods:\n- pe" in capsys.readouterr().out
