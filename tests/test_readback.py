"""Files read back (inrank.readback): run records under a bench folder and tuned values. A
truncated or wrong file is one clear error naming the file and the fix, never a missing run
(silently rerun) nor a result."""
from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

import inrank
from inrank.bench.runner import load_records
from inrank.bench.catalog import expand, suite
from inrank.cli import main
from inrank.errors import InputError
from inrank.nn.tuned_file import check_tuned_values
from inrank.readback import check_run_record, read_json, read_run_record

ROOT = Path(__file__).resolve().parents[1]
QUICK = dict(methods=["relu"], images=["camera"], steps=2, size=8, progress=False, plots=False)


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A bench folder with one finished run."""
    out = tmp_path_factory.mktemp("bench")
    inrank.run_suite("quick", out=out, **QUICK)
    return out


@pytest.fixture
def bench(finished, tmp_path) -> tuple[Path, Path]:
    """A copy of the finished folder and its one record."""
    out = tmp_path / "bench"
    shutil.copytree(finished, out)
    return out, next((out / "runs").glob("*.json"))


def _edit(path: Path, change) -> None:
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


def test_a_good_record_is_reused(bench):
    out, path = bench
    assert inrank.run_suite("quick", out=out, **QUICK).skipped == 1


def test_a_truncated_record_is_an_error_not_a_rerun(bench):
    out, path = bench
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(InputError) as err:
        inrank.run_suite("quick", out=out, **QUICK)
    msg = str(err.value)
    assert msg.startswith(f"{path} is not valid JSON (truncated?") and "\n" not in msg
    assert msg.endswith("it should be an inrank run record; delete it to rerun that run")
    assert path.read_text() == text[: len(text) // 2]  # left for the user to look at
    path.unlink()  # the fix the message gives works
    assert inrank.run_suite("quick", out=out, **QUICK).ran == 1


@pytest.mark.parametrize("change,problem", [
    (lambda r: r.pop("metrics"), "missing 'metrics'"),
    (lambda r: r.pop("history"), "missing 'history'"),
    (lambda r: r.update(status="done"), "'status' must be 'ok' or 'diverged', got 'done'"),
    (lambda r: r.update(id="other"), "its 'id' is 'other'"),
    (lambda r: r["metrics"].update(final_psnr="30 dB"),
     "metrics['final_psnr'] must be a finite number or null, got '30 dB'"),
    (lambda r: r["metrics"].update(ssim=[0.9]), "metrics['ssim'] must be a finite number"),
    (lambda r: r["history"].append({"psnr": 3.0}), "missing history[2]['step']"),
    (lambda r: r["history"].append(7), "history[2] must be an object, got 7"),
    (lambda r: r.update(shape=[8, -8]), "'shape' must list positive integers"),
    (lambda r: r["run"].update(steps=5), "it holds another run: its 'run' differs in steps"),
    (lambda r: r.update(rank={"init_exact": 3}), "missing rank['init_numerical']"),
])
def test_a_wrong_record_names_the_file_the_problem_and_the_fix(bench, change, problem):
    out, path = bench
    _edit(path, change)
    with pytest.raises(InputError) as err:
        inrank.run_suite("quick", out=out, **QUICK)
    msg = str(err.value)
    assert msg.startswith(f"{path} is not an inrank run record (") and problem in msg
    assert msg.endswith("); delete it to rerun that run") and "\n" not in msg


def test_not_json_at_all(bench):
    out, path = bench
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="is not a text file; it should be an inrank run record"):
        load_records(out, _quick())
    path.unlink()
    path.mkdir()
    with pytest.raises(InputError, match="is a directory; it should be an inrank run record"):
        load_records(out, _quick())


def _quick():
    from dataclasses import replace

    return expand(replace(suite("quick"), methods=("relu",), images=("camera",), steps=2,
                          size=8))


def test_the_cli_says_it_in_one_line(bench, capsys):
    out, path = bench
    path.write_text("{")
    rc = main(["bench", "quick", "--methods", "relu", "--images", "camera", "--steps", "2",
               "--size", "8", "--no-progress", "--no-plots", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "Traceback" not in err[0]
    assert err[0].startswith(f"inrank: error: {path} is not valid JSON")


def test_every_committed_record_passes():
    """The records the benchmarks committed are what the checker accepts (no false alarm)."""
    paths = [p for folder in ("bench/table1", "tune/table1", "rei_search", "rei_depth_table1")
             for p in (ROOT / "benchmarks" / "results" / folder / "runs").glob("*.json")]
    assert len(paths) > 300
    for p in paths:
        read_run_record(p)


def test_committed_tuned_values_pass():
    path = ROOT / "src" / "inrank" / "nn" / "tuned.json"
    payload = read_json(path, what="an inrank tuned-values file", fix="restore it")
    assert check_tuned_values(payload, path) is payload


@pytest.mark.parametrize("change,problem", [
    (lambda t: t.update(methods=[]), "'methods' must be an object, got []"),
    (lambda t: t["methods"].update(relu=3), "methods['relu'] must be an object, got 3"),
    (lambda t: t["methods"]["relu"].update(lr="fast"),
     "methods['relu']['lr'] must be a number > 0, got 'fast'"),
    (lambda t: t["methods"]["relu"].update(lr=-1e-3), "methods['relu']['lr'] must be a number > 0"),
    (lambda t: t["methods"]["relu"].update(lr=float("nan")), "methods['relu']['lr'] must be"),
    (lambda t: t["methods"]["pe"]["config"].update(pe_octaves="six"),
     "methods['pe']['config']['pe_octaves'] must be a finite number, got 'six'"),
    (lambda t: t["methods"]["relu"].update(muon={"muon_lr": 0}),
     "methods['relu']['muon']['muon_lr'] must be a number > 0, got 0"),
    (lambda t: t["methods"]["relu"].update(edge={"lr": "no"}),
     "methods['relu']['edge']['lr'] must be true or false"),
    (lambda t: t["methods"]["relu"].update(calibration="coffee"),
     "methods['relu']['calibration'] must be a list"),
    (lambda t: t["protocol"]["suite"].update(widths=[]),
     "protocol['suite']['widths'] must list integers > 0, got []"),
    (lambda t: t["protocol"]["suite"].update(depth=0),
     "protocol['suite']['depth'] must be an integer > 0, got 0"),
    (lambda t: t["protocol"].update(steps=1.5), "protocol['steps'] must be an integer > 0"),
])
def test_wrong_tuned_values_name_the_key_and_the_fix(change, problem):
    payload = copy.deepcopy(json.loads((ROOT / "src" / "inrank" / "nn" / "tuned.json").read_text()))
    change(payload)
    with pytest.raises(InputError) as err:
        check_tuned_values(payload, "nn/tuned.json")
    msg = str(err.value)
    assert msg.startswith("nn/tuned.json is not an inrank tuned-values file (") and problem in msg
    assert msg.endswith("); restore it from git or rerun `inrank tune` to rewrite it")


def test_a_list_is_not_a_record_nor_tuned_values():
    with pytest.raises(InputError, match=r"x.json is not an inrank run record \(expected a JSON "
                                         r"object, got list\)"):
        check_run_record([], "runs/x.json")
    with pytest.raises(InputError, match="expected a JSON object, got str"):
        check_tuned_values("relu", "tuned.json")
