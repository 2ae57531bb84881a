"""What the task benchmarks (generalize, audio, occupancy) share: a command line whose defaults
are the task suite's (:data:`inrank.bench.tasks.TASK_SUITES`), the suite's runs through the
runner's resume (one record per fit under ``results/TASK/runs/``), their rows and the result's
Markdown. A signal's own settings (image size, clip length, samples) are the suite's."""
from __future__ import annotations

import argparse
from dataclasses import replace

from inrank import presets
from inrank.bench.catalog import expand, suite
from inrank.bench.run import Run
from inrank.bench.runner import run_missing
from inrank.bench.tasks import TASK_SUITES
from inrank.report.machine import machine_line
from inrank.report.tables import markdown_table

from benchmarks.frame import RESULTS, parser


def task_parser(task: str, doc: str, signals_flag: str) -> argparse.ArgumentParser:
    """``--<signals_flag>`` (comma separated names), ``--steps``, ``--width``, ``--depth``,
    ``--methods`` (defaults: the task suite's) and ``--jobs``."""
    proto = TASK_SUITES[task]
    ap = parser(doc, jobs=2)
    ap.add_argument(f"--{signals_flag}", dest="signals", metavar=signals_flag.upper(),
                    default=",".join(proto["signals"]))
    for key in ("steps", "width", "depth"):
        ap.add_argument(f"--{key}", type=int, default=proto[key])
    ap.add_argument("--methods", default=",".join(presets("tasks")))
    return ap


def task_runs(task: str, args: argparse.Namespace, *, lr: float | None = None) -> list[Run]:
    """The suite's runs (Adam, seed 0) at the command line's signals, methods, steps, width
    and depth; every method at its registry lr, or at ``lr``."""
    s = replace(suite(task), methods=tuple(args.methods.split(",")), widths=(args.width,),
                depth=args.depth)
    return expand(s, images=tuple(args.signals.split(",")), steps=args.steps,
                  lrs=None if lr is None else {m: lr for m in s.methods})


def task_records(task: str, runs: list[Run], jobs: int, label: str = "") -> dict[str, dict]:
    """The runs' records: those under ``results/TASK/runs/``, the missing ones run now."""
    return run_missing(runs, RESULTS / task, jobs=jobs, label=label or task)


def task_rows(runs: list[Run], records: dict[str, dict], metrics: tuple[str, ...]) -> list[dict]:
    """One row per finished run: its identity, ``psnr`` (the final PSNR), ``metrics`` of its
    record, the seconds per step and the wall time."""
    rows = []
    for run in runs:
        rec = records.get(run.id)
        if rec is None:
            continue
        m = rec["metrics"]
        rows.append({"method": run.method, "signal": run.signal, "seed": run.seed,
                     "width": run.width, "depth": run.depth, "steps": run.steps, "lr": run.lr,
                     "params": m.get("params"), "psnr": m.get("final_psnr"),
                     **{k: m.get(k) for k in metrics}, "seconds_per_step": m.get("seconds_per_step"),
                     "status": rec["status"], "wall_seconds": rec["wall_seconds"]})
    return rows


def task_markdown(title: str, payload: dict, columns: list[tuple[str, str, str]],
                  notes: str = "") -> str:
    """The result's Markdown: title, protocol, machine, the rows as a table (``columns``:
    (key, header, format) triples; one with a format is numeric, right aligned) and notes."""
    table = markdown_table(
        [h for _, h, _ in columns],
        [[format(r[k], f) if f and isinstance(r.get(k), (int, float)) else str(r.get(k, ""))
          for k, _, f in columns] for r in payload["rows"]],
        align="".join("r" if f else "l" for _, _, f in columns))
    proto = ", ".join(f"{k}={v}" for k, v in payload["protocol"].items())
    return "\n".join([f"# {title}", "", f"Protocol: {proto}.", "",
                      machine_line(payload["machine"]), "", table, "", notes, ""])
