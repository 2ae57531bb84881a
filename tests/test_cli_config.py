"""``--config`` and ``--print-config`` on every command: what a command prints or writes as its
configuration, it reads back, and reading it back reruns the same run."""
import functools
import importlib
import json
import re
import shlex
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from inrank.cli import build_parser, main
from inrank.train.options import FitOptions

ROOT = Path(__file__).resolve().parents[1]

#: A short command line per command; these are only parsed, nothing runs.
ARGV = {
    "fit": ["camera", "--method", "pe", "--size", "16", "--steps", "30", "--batch-size", "64",
            "--schedule", "cosine", "--compile", "--no-progress"],
    "demo": ["--methods", "relu,pe", "--size", "16", "--track_every", "5"],
    "bench": ["quick", "--methods", "relu", "relu+rei,pe", "--seeds", "0", "1", "--no-plots",
              "--lr-multipliers", "0.5", "2"],
    "diagnose": ["camera", "--methods", "relu,pe", "--widths", "64,128", "--no-total",
                 "--solver", "dense"],
    "tune": ["table1", "--methods", "relu", "--images", "camera", "--steps", "2",
             "--save-tuned", "tuned.json"],
    "advise": ["camera", "--method", "siren", "--size", "16", "--candidates", "10,30",
               "--points", "64", "--steps", "0,100"],
}


def _options(args) -> dict:
    """The parsed options without the config files that gave them."""
    d = args.as_dict()
    d.pop("config", None)
    return d


def _without_timings(value):
    """JSON data without its wall-clock entries (``*seconds*``): what reproduces exactly."""
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if "seconds" not in k}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def test_every_command_has_a_case():
    assert set(ARGV) == set(build_parser().commands)


@pytest.mark.parametrize("spelling", ["--print-config", "--print_config"])
@pytest.mark.parametrize("command", sorted(ARGV))
def test_print_config_is_read_back_by_config(command, spelling, tmp_path, capsys):
    """Every command prints its full resolved configuration as YAML, and ``--config`` of that
    file parses to the same options as the command line that printed it."""
    argv = [command, *ARGV[command]]
    assert main([*argv, spelling]) == 0
    printed = capsys.readouterr().out
    parser = build_parser()
    expected = _options(parser.parse_args(argv))
    expected.pop("command")
    assert set(yaml.safe_load(printed)) == set(expected)  # every option, nothing else
    path = tmp_path / "run.yaml"
    path.write_text(printed)
    assert _options(parser.parse_args([command, "--config", str(path)])) == \
        _options(parser.parse_args(argv))
    name = "jobs" if command in ("bench", "tune") else "seed"  # a flag after --config wins
    assert parser.parse_args([command, "--config", str(path), f"--{name}", "7"])[name] == 7


def test_both_spellings_of_an_option_and_switches():
    parser = build_parser()
    dashed = parser.parse_args(["fit", "camera", "--batch-size", "5", "--track-every", "2",
                                "--n-points", "9", "--no-progress", "--compile", "--accept-worse"])
    under = parser.parse_args(["fit", "camera", "--batch_size", "5", "--track_every", "2",
                               "--n_points", "9", "--no-progress", "--compile", "--accept-worse"])
    assert _options(dashed) == _options(under)
    assert (dashed.batch_size, dashed.track_every, dashed.n_points) == (5, 2, 9)
    assert dashed.progress is False and dashed.compile is True
    defaults = parser.parse_args(["fit", "camera"])
    assert defaults.progress is True and defaults.compile is None  # the library decides


def test_lists_take_spaces_or_commas():
    parser = build_parser()
    args = parser.parse_args(["bench", "quick", "--methods", "relu", "relu+rei,pe", "--seeds",
                              "0,1", "2", "--lr-multipliers", "0.5", "2"])
    assert args.methods == ["relu", "relu+rei", "pe"] and args.seeds == [0, 1, 2]
    assert args.lr_multipliers == [0.5, 2.0]
    assert parser.parse_args(["diagnose", "--widths", "64,128,256"]).widths == [64, 128, 256]
    assert parser.parse_args(["diagnose"]).methods == ["relu", "relu+rei"]


def _documented_command_lines() -> list[tuple[list[str], str | None]]:
    """Every ``inrank COMMAND ...`` of the docs' bash blocks (README, BENCHMARKS and its archive,
    CONTRIBUTING, docs/), their inline examples with options and values (not placeholders like
    ``K``) and benchmarks/archive/run_cpu_suites.sh: its argv, and the file its output is
    redirected to (``> FILE``), if any."""
    lines = []
    docs = [ROOT / "README.md", ROOT / "BENCHMARKS.md", ROOT / "benchmarks" / "ARCHIVE.md",
            ROOT / "CONTRIBUTING.md", *sorted(ROOT.glob("docs/**/*.md"))]
    for doc in docs:
        text = doc.read_text(encoding="utf-8")
        for block in re.findall(r"```bash\n(.*?)```", text, re.S):
            lines += block.replace("\\\n", " ").splitlines()
        lines += [span.replace("\n", " ") for span in re.findall(r"`(inrank [a-z][^`]*)`", text)
                  if " --" in span and "|" not in span and not span.split()[-1].startswith("--")
                  and not re.search(r"(?:^|\s)[A-Z]+(?:\s|$)", span)]  # no placeholder (K)
    script = (ROOT / "benchmarks" / "archive" / "run_cpu_suites.sh").read_text(encoding="utf-8")
    bench = '"${BENCH[@]}"'  # the script's inrank bench
    lines += ["inrank bench" + line[len(bench):] for line in script.splitlines()
              if line.startswith(bench)]
    out = []
    for line in lines:
        found = re.search(r"(?:^|[\s/])inrank ((?:fit|demo|bench|diagnose|tune)\b.*)", line)
        if found:
            argv = shlex.split(found.group(1), comments=True)
            end = next((i for i, t in enumerate(argv) if t in {">", "|", "&&", ";"}), len(argv))
            target = argv[end + 1] if end + 1 < len(argv) and argv[end] == ">" else None
            out.append((argv[:end], target))
    return out


@pytest.mark.filterwarnings("error::FutureWarning")
def test_documented_command_lines_parse(tmp_path, monkeypatch, capsys):
    """The command lines of the docs still parse, in the current spelling (a deprecated one
    warns, here an error; a shell's ``> FILE`` is written in a temporary folder, so a later
    ``--config FILE`` reads it)."""
    monkeypatch.chdir(tmp_path)
    found = _documented_command_lines()
    argvs = [argv for argv, _ in found]
    assert len(argvs) > 20 and ["bench", "quick", "--methods", "relu", "relu+rei", "pe",
                                "--seeds", "0", "1", "2", "--out",
                                "benchmarks/archive/results/bench/quick-seeds"] in argvs
    parser = build_parser()
    for argv, target in found:
        try:
            parser.parse_args(argv)
        except SystemExit as exc:  # only --print-config exits (0), having printed the config
            assert exc.code == 0, f"{argv}: {capsys.readouterr().err}"
            if target is not None:
                Path(target).write_text(capsys.readouterr().out)


def test_training_options_are_fit_options():
    """fit's training options are FitOptions' fields with FitOptions' defaults (where the
    dataclass has one), derived rather than written again; the optimiser defaults to none
    named (the method's default optimiser, resolved when the method is known)."""
    from inrank.cli.fit import TRAINING

    args = build_parser().parse_args(["fit", "camera"])
    declared = {f.name: f.default for f in fields(FitOptions)}
    for name in TRAINING:
        if name not in ("steps", "lr", "optimizer"):  # required by the dataclass / per method
            assert args[name] == declared[name], name
    assert args["optimizer"] is None


def test_print_config_reproduces_a_fit(tmp_path):
    """``inrank fit IMAGE --print-config > run.yaml && inrank fit --config run.yaml`` is the same
    run, metrics equal to the last bit; so is a rerun from the config.json a fit writes."""
    inrank = f'"{sys.executable}" -m inrank.cli'
    flags = "camera --method pe --size 16 --steps 30 --width 32 --depth 2 --no-progress"
    script = (f"{inrank} fit {flags} --out direct && "
              f"{inrank} fit {flags} --out replay --print-config > run.yaml && "
              f"{inrank} fit --config run.yaml && "
              f"{inrank} fit --config direct/config.json --out rerun")
    proc = subprocess.run(script, shell=True, cwd=tmp_path, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert yaml.safe_load((tmp_path / "run.yaml").read_text())["out"] == "replay"

    def metrics(folder: str) -> dict:
        return _without_timings(json.loads((tmp_path / folder / "metrics.json").read_text()))

    direct = metrics("direct")
    assert len(direct["history"]) > 1 and direct["final_psnr"] > 10
    assert metrics("replay") == direct
    assert metrics("rerun") == direct


def test_demo_reruns_from_its_config(tmp_path, capsys):
    argv = ["demo", "--methods", "relu", "--size", "8", "--steps", "2", "--width", "8",
            "--depth", "1", "--no-progress"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    assert main(["demo", "--config", str(tmp_path / "a" / "config.json"),
                 "--out", str(tmp_path / "b")]) == 0

    def table(folder: str) -> list[list[str]]:  # results.md without its ms/step column
        rows = [line.split("|") for line in (tmp_path / folder / "results.md").read_text()
                .splitlines() if line.startswith("|")]
        col = [c.strip() for c in rows[0]].index("ms/step")
        return [r[:col] + r[col + 1:] for r in rows]

    assert table("a") == table("b") and len(table("a")) == 3


def test_diagnose_reruns_from_its_config(tmp_path, capsys):
    argv = ["diagnose", "--methods", "relu", "--size", "8", "--width", "8", "--depth", "1",
            "--widths", "4,8"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    assert main(["diagnose", "--config", str(tmp_path / "a" / "config.json"),
                 "--out", str(tmp_path / "b")]) == 0

    def records(folder: str) -> list:
        return _without_timings(json.loads((tmp_path / folder / "diagnosis.json").read_text()))

    assert records("a") == records("b")


def test_diagnose_reads_the_model_a_fit_wrote(tmp_path, capsys):
    fit_out = tmp_path / "fit"
    assert main(["fit", "camera", "--method", "pe", "--size", "8", "--steps", "2", "--width",
                 "8", "--depth", "1", "--no-progress", "--out", str(fit_out), "--accept-worse"]) == 0
    assert main(["diagnose", "--model", str(fit_out / "model.pt"), "camera",
                 "--size", "8", "--out", str(tmp_path / "diag")]) == 0
    assert "pe (trained)" in capsys.readouterr().out


def test_bench_reruns_from_its_command_json(tmp_path, capsys):
    """``OUT/command.json`` reruns the command, which resumes: nothing left to run."""
    out = tmp_path / "quick"
    assert main(["bench", "quick", "--images", "camera", "--methods", "relu", "--steps", "2",
                 "--size", "8", "--no-plots", "--no-progress", "--out", str(out)]) == 0
    assert "1 run(s) done, 0 already finished" in capsys.readouterr().err
    assert main(["bench", "--config", str(out / "command.json")]) == 0
    assert "0 run(s) done, 1 already finished" in capsys.readouterr().err


def test_tune_reruns_from_its_config(tmp_path, capsys, monkeypatch):
    """The options reach tune_suite the same from the flags and from the config.json."""
    tuning = importlib.import_module("inrank.bench.tuning")
    calls = []

    @functools.wraps(tuning.tune_suite)  # its signature still gives the options
    def tune_suite(name, **options):
        calls.append((name, options))
        return tuning.TuneResult({}, tmp_path / "tuned.json", 0, 0)

    monkeypatch.setattr(tuning, "tune_suite", tune_suite)
    monkeypatch.setattr(importlib.import_module("inrank.cli.tune"), "tune_suite", tune_suite)
    out = tmp_path / "tune"
    assert main(["tune", "table1", "--methods", "relu", "--images", "camera", "--steps", "2",
                 "--save-tuned", str(tmp_path / "t.json"), "--out", str(out)]) == 0
    assert main(["tune", "--config", str(out / "config.json")]) == 0
    assert calls[0] == calls[1]
    name, options = calls[0]
    assert name == "table1" and options["methods"] == ["relu"] and options["steps"] == 2
    assert str(options["save"]) == str(tmp_path / "t.json")


@pytest.mark.parametrize("command,text,msg", [
    ("fit", "source: camera\nbogus: 1\n", "bogus"),
    ("fit", "source: camera\nsteps: abc\n", "--steps: expected int, got 'abc'"),
    ("fit", "source: camera\nsteps: 2.5\n", "--steps: expected int, got '2.5'"),
    ("fit", "source: camera\nmethod: nope\n", "--method: 'nope' not among choices"),
    ("fit", "source: camera\nprogress: maybe\n", "maybe"),
    ("fit", "source: [camera\n", "Problems parsing config"),
    ("fit", "source: camera\nsteps: 0\n", "--steps must be a positive integer, got 0"),
    ("bench", "suite: quick\nseeds: [0, a]\n", "--seeds: expected int values, got 'a'"),
    ("bench", "suite: nope\n", "'nope' not among choices"),
    ("diagnose", "widths: [64, 0]\n", "--widths must be a positive integer, got 0"),
])
def test_a_bad_config_file_is_one_line(command, text, msg, tmp_path, capsys):
    path = tmp_path / "run.yaml"
    path.write_text(text)
    code = main([command, "--config", str(path), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert msg in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_a_missing_config_file_is_one_line(tmp_path, capsys):
    assert main(["fit", "--config", str(tmp_path / "none.yaml"), "--accept-worse"]) == 2
    err = capsys.readouterr().err.strip()
    assert "does not exist" in err and len(err.splitlines()) == 1
