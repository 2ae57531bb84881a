"""Merge the H100 exploration sweeps into exploration.json and tables.md (this folder).

    python -m benchmarks.archive.rei_exploration_h100.summarize
"""
from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
MACHINE = ("NVIDIA H100 80GB HBM3 (device machine, 16 CPU cores), PyTorch 2.11.0+cu130, "
           "float32, one fit per process, up to 10 processes sharing the GPU")


def label(r: dict) -> str:
    if "K" not in r:
        if r.get("method") == "pe":
            return f"pe L={r.get('pe_octaves', 10)}" + (f" depth={r['depth']}" if r.get("depth", 3) != 3 else "")
        return r.get("method", "relu")
    name = "triangle" if r.get("mix", True) else "zigzag"
    opts = [f"directions={r['K']}", "rotate" if r.get("rot") else "axis-aligned",
            f"slope={r.get('s1', 1):g}", f"gain={r.get('mixscale', 1):g}"]
    for k, tag in (("lmin", "skip-top-octaves"), ("phases", "phases"), ("l3scale", "layer3-scale"),
                   ("out_scale", "out-scale"), ("freeze", "FROZEN-first-layers")):
        if k in r:
            opts.append(f"{tag}={r[k]}")
    return f"{name}({', '.join(opts)})"


def load() -> list[dict]:
    rows = []
    for i, name in enumerate(("sweep1.jsonl", "sweep2.jsonl", "sweep3.jsonl"), 1):
        for line in (HERE / name).read_text().splitlines():
            r = json.loads(line)
            r.setdefault("p300", r.pop("psnr300", None))
            r.setdefault("p1000", r.pop("psnr1000", None))
            r.setdefault("p3000", r.pop("psnr3000", None))
            r["sweep"], r["label"] = i, label(r)
            r.setdefault("img", "astronaut")
            r.setdefault("lr", 1e-3)
            r.setdefault("steps", 3000 if r.get("p3000") is not None else 1000)
            rows.append(r)
    return rows


def _f(x) -> str:
    return "-" if x is None else f"{x:.2f}"


def _er(x) -> str:
    return "-" if not x else " / ".join(f"{v:g}" for v in x)


def tables(rows: list[dict]) -> str:
    out = ["### 3000 steps, 64 px (H100)", "",
           "| image | run | lr | @300 | @1000 | @3000 | eff. rank init (l1/l2/l3) | eff. rank trained |",
           "|---|---|---|---|---|---|---|---|"]
    seen = set()
    for r in sorted((r for r in rows if r["steps"] == 3000), key=lambda r: (r["img"], -(r["p3000"] or 0))):
        key = (r["img"], r["label"], r["lr"])
        if key in seen:
            continue
        seen.add(key)
        out.append(f"| {r['img']} | {r['label']} | {r['lr']:g} | {_f(r['p300'])} | {_f(r['p1000'])} | "
                   f"{_f(r['p3000'])} | {_er(r['er0'])} | {_er(r['er1'])} |")
    out += ["", "### Every 1000-step run on the 64 px astronaut, best first (H100)", "",
            "| run | lr | @300 | @1000 | eff. rank init | eff. rank trained |", "|---|---|---|---|---|---|"]
    seen = set()
    for r in sorted((r for r in rows if r["steps"] == 1000 and r["img"] == "astronaut"),
                    key=lambda r: -(r["p1000"] or 0)):
        key = (r["label"], r["lr"])
        if key in seen:
            continue
        seen.add(key)
        out.append(f"| {r['label']} | {r['lr']:g} | {_f(r['p300'])} | {_f(r['p1000'])} | "
                   f"{_er(r['er0'])} | {_er(r['er1'])} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    rows = load()
    (HERE / "exploration.json").write_text(json.dumps(
        {"machine": MACHINE, "source": "benchmarks/archive/rei_exploration_h100/sweep1-3.py",
         "protocol": "64 px, 3 x 256 ReLU MLP, full-batch Adam (torch defaults), no schedule, "
                     "init seed 0, eval every 100 steps", "runs": rows}, indent=1) + "\n")
    (HERE / "tables.md").write_text(tables(rows))
    print(f"{len(rows)} runs -> exploration.json, tables.md")
