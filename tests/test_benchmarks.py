"""The frame the benchmark scripts stand on (``benchmarks/frame.py``): one package, no
``sys.path`` edits or environment switches, one result writer, the shared flags, and worker
processes handed the tuned values explicitly."""
from __future__ import annotations

import json
import re
import statistics
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p for p in (ROOT / "benchmarks").rglob("*.py") if p.name != "__init__.py")


@pytest.fixture
def frame(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))  # as python -m runs from the repository root
    from benchmarks import frame

    return frame


def test_every_folder_is_a_package_and_no_script_edits_the_path_or_the_environment():
    folders = {p.parent for p in SCRIPTS}
    assert all((f / "__init__.py").is_file() for f in folders), folders
    for path in SCRIPTS:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"sys\.path\.(insert|append)|INRANK_TUNED_PATH|os\.environ\[", text), \
            path.relative_to(ROOT)


def test_the_median_script_is_short():
    """Scripts stand on the frame: the median measurement script is under 150 lines."""
    scripts = [p for p in SCRIPTS if "archive" not in p.parts
               and p.name not in ("frame.py", "task_frame.py", "render_docs.py")]
    assert len(scripts) > 20
    assert statistics.median(len(p.read_text().splitlines()) for p in scripts) < 150


def test_write_result_writes_the_json_with_the_machine_and_the_markdown(frame, tmp_path, capsys):
    payload = frame.write_result("x", {"rows": [1]}, lambda p: f"# x\n\n{len(p['rows'])} row\n",
                                 folder=tmp_path)
    saved = json.loads((tmp_path / "x.json").read_text())
    assert saved == payload and saved["rows"] == [1] and "cpu" in saved["machine"]
    assert (tmp_path / "x.md").read_text() == "# x\n\n1 row\n" and "1 row" in capsys.readouterr().out
    assert frame.rerender("x", lambda p: "again\n", folder=tmp_path) == saved
    assert (tmp_path / "x.md").read_text() == "again\n"


def test_shared_flags_and_the_command_a_result_names(frame):
    ap = frame.parser("A benchmark.\n\nMore.", jobs=2, no_run=True, tuned=frame.TUNED_W128)
    args = ap.parse_args(["--no-run", "--jobs", "3"])
    assert (args.jobs, args.no_run, args.tuned) == (3, True, frame.TUNED_W128)
    assert frame.options(args)["tuned"] == str(frame.TUNED_W128)
    with pytest.raises(KeyError):
        frame.parser("A benchmark.", nope=1)
    script = ROOT / "benchmarks" / "fidelity" / "table1.py"
    assert frame.command(str(script), "--jobs", 2) == "python -m benchmarks.fidelity.table1 --jobs 2"


@pytest.mark.parametrize("jobs", [1, 2])
def test_workers_are_handed_the_tuned_values_in_effect(frame, jobs):
    """``in_processes`` runs each call under the caller's tuned values (here set by
    ``tuned_values``), in spawned workers too: nothing reaches them through the environment."""
    from inrank.nn.registry import preset
    from inrank.nn.tuned_state import tuned_values

    tuned = {"methods": {"relu": {"lr": 0.0123}}}
    with tuned_values(tuned):
        out = dict(frame.in_processes(preset, [("relu",), ("pe",)], jobs=jobs))
    assert out[("relu",)].lr == 0.0123 and out[("pe",)].lr == preset("pe", tuned=False).lr


def test_off_protocol_reruns_auto_records_made_by_another_auto(monkeypatch):
    """An auto record is kept only when ``auto``'s constants are this checkout's: one made
    before a change to the probe is rerun, never mixed into the table."""
    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks.fidelity import off_protocol
    from inrank.train import auto

    run = {"part": "auto"}
    rec = {"auto_signature": off_protocol.auto_signature()}
    assert off_protocol.current(run, json.loads(json.dumps(rec)))
    assert not off_protocol.current(run, {})
    monkeypatch.setattr(auto, "PROBE_SHARE", auto.PROBE_SHARE / 2)
    assert not off_protocol.current(run, json.loads(json.dumps(rec)))
    assert off_protocol.current({"part": "preset"}, {})


def test_off_protocol_takes_no_grid_best_from_a_partial_grid(monkeypatch):
    """A signal's grid counts only when every planned cell ran: the best of some cells is
    no reference."""
    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks.fidelity import off_protocol

    runs = [{"id": f"pattern:star|10000|relu|grid|-|x{f:g}", "signal": "pattern:star",
             "budget": 1e4, "method": "relu", "part": "grid", "cell": (None, f)}
            for f in (0.3, 1.0)]
    rec = {"psnr": 20.0, "mean_psnr": 6.0, "id": runs[0]["id"]}
    partial = off_protocol.summarise(runs, {runs[0]["id"]: rec})["rows"][0]
    assert partial["grid"] is None and partial["grid_cells"] == 1
    whole = off_protocol.summarise(runs, {r["id"]: {**rec, "id": r["id"]} for r in runs})
    assert whole["rows"][0]["grid"] == 20.0


def test_off_protocol_reads_the_predictors_knob_at_x1_from_the_grid(monkeypatch):
    """The predictor column is the grid cell at the knob ``auto``'s predictor chose and the
    preset's lrs, not another cell; nothing when the predictor kept the preset's knob."""
    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks.fidelity import off_protocol

    cells = [(k, f) for k in (0, 1) for f in (0.3, 1.0)]
    runs = [{"id": f"1d:chirp|10000|rff|grid|k{k}|x{f:g}", "signal": "1d:chirp",
             "budget": 1e4, "method": "rff", "part": "grid", "cell": (k, f)} for k, f in cells]
    runs += [{"id": f"1d:chirp|10000|rff|{part}", "signal": "1d:chirp", "budget": 1e4,
              "method": "rff", "part": part, "cell": None} for part in ("preset", "auto")]
    recs = {r["id"]: {"id": r["id"], "psnr": 10.0 + 10 * r["cell"][0] + r["cell"][1],
                      "knob": {"rff_sigma": (10.0, 20.0)[r["cell"][0]]}, "mean_psnr": 5.0}
            for r in runs[:4]}
    chosen = lambda value: {"knob": {"knob": "rff_sigma", "choice": value}}  # noqa: E731
    recs["1d:chirp|10000|rff|preset"] = {"psnr": 11.0, "knob": {"rff_sigma": 10.0},
                                         "mean_psnr": 5.0}
    recs["1d:chirp|10000|rff|auto"] = {"psnr": 11.0, "knob_predictor": chosen(20.0)["knob"],
                                       "mean_psnr": 5.0}
    row = off_protocol.summarise(runs, recs)["rows"][0]
    assert row["predictor_x1"] == 21.0 and row["predictor_knob"] == "rff_sigma 20"
    recs["1d:chirp|10000|rff|auto"] = {"psnr": 11.0, "chosen": chosen(10.0), "mean_psnr": 5.0}
    assert "predictor_x1" not in off_protocol.summarise(runs, recs)["rows"][0]
