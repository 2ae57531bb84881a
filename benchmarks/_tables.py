"""Run a list of (method, signal) jobs through a ``run_*`` function of :mod:`inrank.tasks`,
then write ``results/<name>.json`` and ``results/<name>.md`` with the machine noted."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from inrank._io import write_json, write_text

from _machine import machine, machine_line

OUT = Path(__file__).resolve().parent / "results"


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
                  protocol: dict, notes: str = "") -> None:
    """``columns``: (key, header, format) triples."""
    info = machine()
    write_json(OUT / f"{name}.json", {"protocol": protocol, "machine": info, "rows": rows})
    head = "| " + " | ".join(h for _, h, _ in columns) + " |"
    sep = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(format(r[k], f) if f and isinstance(r.get(k), (int, float))
                             else str(r.get(k, "")) for k, _, f in columns) + " |" for r in rows]
    proto = ", ".join(f"{k}={v}" for k, v in protocol.items())
    text = "\n".join([f"# {title}", "", f"Protocol: {proto}.", "", machine_line(info), "",
                      head, sep, *body, "", notes, ""])
    write_text(OUT / f"{name}.md", text)
    print(text)
