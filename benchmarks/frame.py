"""The frame every benchmark stands on: where results go, one writer of a result (its JSON with
the machine noted, and its Markdown), the command-line flags the scripts share, the tuned
values a script pins, and worker processes for the fits that are not bench runs.

Every script runs as a module from the repository root, ``python -m benchmarks.FOLDER.SCRIPT``
(:func:`command` spells it). A grid of bench runs (:class:`inrank.bench.run.Run`) goes through
the runner's resume (:func:`inrank.bench.runner.run_missing`, or ``run_suite``); the tuned
values a script's results were measured under are named explicitly, ``--tuned`` into
:func:`inrank.nn.tuned_state.tuned_values`, and every worker is handed them.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Every script's result files (``NAME.json`` and ``NAME.md``, run records in ``NAME/``).
RESULTS = ROOT / "benchmarks" / "results"
#: The result files of superseded protocols, beside their scripts in ``benchmarks/archive/``.
ARCHIVE = ROOT / "benchmarks" / "archive" / "results"
#: The shared data folder beside the repository (``kodak/``, ``audio/``, ``meshes/``).
DATA = ROOT.parent / "shared" / "data"
#: The registry's committed tuned values (table1 at 3 x 72, both optimisers).
TUNED = ROOT / "src" / "inrank" / "nn" / "tuned.json"
#: table1's tuned values at 3 x 128, archived when table1 moved to 3 x 72 (issue 25): the
#: values the scripts that pass ``tuned=TUNED_W128`` measured their committed results under,
#: so that rerunning one reproduces them (and finds its records: run ids hold the lrs).
TUNED_W128 = ARCHIVE / "tune_table1_w128" / "tuned_registry.json"

#: The flags scripts share: name -> ``add_argument`` keywords (a default comes from the script).
FLAGS: dict[str, dict] = {
    "jobs": {"type": int, "help": "worker processes (%(default)s)"},
    "render": {"action": "store_true", "help": "only rewrite the .md (and figure) from the .json"},
    "no_run": {"action": "store_true",
               "help": "render from the records found, running nothing (a partial grid)"},
    "steps": {"type": int, "help": "training steps per fit (%(default)s)"},
    "seeds": {"type": int, "nargs": "+", "help": "seeds (%(default)s)"},
    "threads": {"type": int, "help": "torch threads (%(default)s)"},
    "device": {"help": "torch device (%(default)s)"},
    "data": {"type": Path, "help": "the data folder (%(default)s)"},
    "optimizers": {"nargs": "+", "choices": ("adam", "muon"), "help": "optimisers (%(default)s)"},
    "tuned": {"type": Path, "metavar": "FILE",
              "help": "the tuned-values file the registry reads while this script runs "
                      "(default: the values its committed results were measured under, "
                      "%(default)s; src/inrank/nn/tuned.json: the current ones)"},
}


def parser(doc: str, **flags) -> argparse.ArgumentParser:
    """A script's argument parser, described by the first line of ``doc``, with the shared
    flags named in ``flags`` at the script's defaults (``jobs=2``, ``tuned=TUNED_W128``;
    ``render=True`` for a switch). The script adds its own options to it.

    Examples:
        >>> parser("A benchmark.", jobs=2, render=True).parse_args(["--render"])
        Namespace(jobs=2, render=True)
    """
    ap = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    for name, default in flags.items():
        spec = dict(FLAGS[name])
        if spec.get("action") == "store_true":
            if default is not True:
                raise ValueError(f"{name} is a switch: pass {name}=True")
        else:
            spec["default"] = default
        ap.add_argument(f"--{name.replace('_', '-')}", **spec)
    return ap


def command(file: str, *args) -> str:
    """The command line that runs the script ``file`` (its ``__file__``) with ``args``.

    Examples:
        >>> command(str(ROOT / "benchmarks" / "rei" / "rei_ranks.py"), "--steps", 300)
        'python -m benchmarks.rei.rei_ranks --steps 300'
    """
    module = ".".join(Path(file).resolve().relative_to(ROOT).with_suffix("").parts)
    return " ".join(["python -m", module, *map(str, args)])


def flags(args: argparse.Namespace, *names: str) -> list:
    """``["--NAME", value, ...]`` of the parsed options ``names``, for :func:`command`.

    Examples:
        >>> flags(argparse.Namespace(steps=5, no_run=True), "steps", "no_run")
        ['--steps', 5, '--no-run', True]
    """
    return [x for n in names for x in (f"--{n.replace('_', '-')}", getattr(args, n))]


def options(args: argparse.Namespace) -> dict:
    """A parsed command line as a result records it: its options, paths as strings.

    Examples:
        >>> options(argparse.Namespace(steps=5, tuned=Path("a/b.json")))
        {'steps': 5, 'tuned': 'a/b.json'}
    """
    return {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}


def paired_gap(rows: list[dict], a: str, b: str, key: str, **where) -> dict | None:
    """``a - b`` of ``key`` paired over the images of the rows whose fields match ``where``
    (``{"n", "mean", "low", "high", "wins"}``, a 95% t interval:
    :func:`inrank.report.comparison.mean_interval`); None when no image has both.

    Examples:
        >>> rows = [{"method": m, "image": i, "psnr": v, "w": 8}
        ...         for m, i, v in [("a", "x", 3.0), ("b", "x", 1.0), ("a", "y", 2.0)]]
        >>> paired_gap(rows, "a", "b", "psnr", w=8)["mean"]
        2.0
    """
    from inrank.report.comparison import mean_interval

    by = {(r["method"], r["image"]): r[key] for r in rows
          if r[key] is not None and all(r[k] == v for k, v in where.items())}
    diffs = [by[(a, i)] - by[(b, i)] for i in sorted({i for _, i in by})
             if (a, i) in by and (b, i) in by]
    return mean_interval(diffs) if diffs else None


def interval_text(d: dict | None, *, wins: bool = False) -> str:
    """``+m [+lo, +hi]`` of a :func:`paired_gap` (``-`` for None, ``(n=1)`` without an
    interval), with ``(wins/n)`` when ``wins``.

    Examples:
        >>> interval_text({"n": 3, "mean": 1.0, "low": 0.5, "high": 1.5, "wins": 3}, wins=True)
        '+1.00 [+0.50, +1.50] (3/3)'
    """
    if d is None:
        return "-"
    if d["n"] < 2:
        return f"{d['mean']:+.2f} (n=1)"
    return (f"{d['mean']:+.2f} [{d['low']:+.2f}, {d['high']:+.2f}]"
            + (f" ({d['wins']}/{d['n']})" if wins else ""))


def read_result(name: str, folder: Path = RESULTS) -> dict:
    """The content of ``folder/NAME.json``."""
    return json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))


def write_result(name: str, payload: dict, markdown: str | Callable[[dict], str], *,
                 folder: Path = RESULTS) -> dict:
    """Write a result: ``folder/NAME.json`` (``payload``, with this machine under
    ``"machine"`` unless the payload names one) and ``folder/NAME.md`` (``markdown``, or
    ``markdown(payload)``); print the Markdown and return the payload."""
    from inrank.files import write_json, write_text
    from inrank.report.machine import machine

    if "machine" not in payload:
        payload["machine"] = machine()
    write_json(folder / f"{name}.json", payload)
    text = markdown(payload) if callable(markdown) else markdown
    write_text(folder / f"{name}.md", text)
    print(text)
    return payload


def rerender(name: str, render: Callable[[dict], str], folder: Path = RESULTS) -> dict:
    """Rewrite ``folder/NAME.md`` from its JSON (a script's ``--render``); return the JSON."""
    from inrank.files import write_text

    payload = read_result(name, folder)
    write_text(folder / f"{name}.md", render(payload))
    return payload


def in_processes(fn: Callable, items: Iterable[tuple], *, jobs: int) -> Iterator[tuple]:
    """``fn(*item)`` for every item, in ``jobs`` spawned worker processes (in this one when
    ``jobs`` is 1), yielding ``(item, result)`` as each finishes. Each call runs under the
    tuned values in effect here (:func:`inrank.nn.tuned_state.tuned_payload`), handed to the
    worker with the item: for a script's own fits, which are not bench runs (those go through
    :func:`inrank.bench.runner.run_missing`, whose executors do the same)."""
    from inrank.nn.tuned_state import tuned_payload

    tuned = tuned_payload()
    items = list(items)
    if jobs <= 1:
        for item in items:
            yield item, fn(*item)
        return
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_call, fn, item, tuned): item for item in items}
        for future in as_completed(futures):
            yield futures[future], future.result()


def _call(fn: Callable, item: tuple, tuned: dict):
    from inrank.nn.tuned_state import tuned_values

    with tuned_values(tuned):
        return fn(*item)
