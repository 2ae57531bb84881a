"""Command line, jobs and results of the task benchmarks (generalize, audio, occupancy): parse the
protocol with :data:`inrank.bench.tasks.TASK_SUITES`'s defaults, run the (method, signal) jobs through a
``run_*`` function of :mod:`inrank.bench.tasks`, then write ``results/<name>.json`` and ``.md`` with the
machine noted."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from inrank.files import write_json, write_text
from inrank import presets
from inrank.bench.tasks import TASK_SUITES, task_signal
from inrank.report.machine import machine, machine_line
from inrank.report.tables import markdown_table

OUT = Path(__file__).resolve().parent / "results"
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def task_arguments(task: str, doc: str, signals_flag: str, options: tuple[str, ...],
                   extra=None) -> argparse.Namespace:
    """Parse a task benchmark's command line: ``--<signals_flag>`` (comma separated names),
    each of ``options`` (keys of ``TASK_SUITES[task]``, e.g. ``size``, as ``--size``), ``--steps``,
    ``--width``, ``--depth`` and ``--methods``, every default taken from the task's suite;
    ``extra(parser)`` adds a benchmark's own options."""
    proto = TASK_SUITES[task]
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument(f"--{signals_flag}", dest="signals", metavar=signals_flag.upper(),
                    default=",".join(proto["signals"]))
    for key in (*options, "steps", "width", "depth"):
        ap.add_argument(f"--{key.replace('_', '-')}", type=type(proto[key]), default=proto[key])
    ap.add_argument("--methods", default=",".join(presets("tasks")))
    if extra is not None:
        extra(ap)
    return ap.parse_args()


def task_signals(task: str, names: str, **options) -> list:
    """The comma-separated signals ``names`` of ``task`` from ``../shared/data``."""
    return [task_signal(task, n, DATA, **options) for n in names.split(",")]


def run_jobs(run, signals, methods, **options) -> list[dict]:
    rows = []
    for signal in signals:
        for method in methods:
            t0 = time.perf_counter()
            row = run(method, signal, **options)
            row["wall_seconds"] = time.perf_counter() - t0
            rows.append(row)
            print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in row.items()), file=sys.stderr, flush=True)
    return rows


def write_results(name: str, title: str, rows: list[dict], columns: list[tuple[str, str, str]],
                  protocol: dict, notes: str = "", extra: dict | None = None) -> None:
    """``columns``: (key, header, format) triples; a column with a format is numeric (right
    aligned), one without is text (left aligned). ``extra``: more keys of the JSON file."""
    info = machine()
    write_json(OUT / f"{name}.json", {"protocol": protocol, "machine": info, "rows": rows,
                                      **(extra or {})})
    table = markdown_table(
        [h for _, h, _ in columns],
        [[format(r[k], f) if f and isinstance(r.get(k), (int, float)) else str(r.get(k, ""))
          for k, _, f in columns] for r in rows],
        align="".join("r" if f else "l" for _, _, f in columns))
    proto = ", ".join(f"{k}={v}" for k, v in protocol.items())
    text = "\n".join([f"# {title}", "", f"Protocol: {proto}.", "", machine_line(info), "",
                      table, "", notes, ""])
    write_text(OUT / f"{name}.md", text)
    print(text)
