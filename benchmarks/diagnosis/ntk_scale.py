"""The layer-wise NTK at full resolution, matrix-free (issue 17): per block of a 3 x 256 ReLU
MLP (at init) on a Kodak image at growing sizes up to the whole 512 x 768 image
(N = 393,216): the top-32 eigenvalues (Lanczos) and the effective and numerical ranks
(deflated stochastic Lanczos quadrature), with time and peak memory; the dense path beside it
where it fits, and the agreement of the two at N = 4056.

    python benchmarks/diagnosis/ntk_scale.py [--sizes 52,104,208,512 --dense-max 16384]

Each (size, path) runs in its own process (a clean peak-memory reading) and is saved as it
finishes; rerunning resumes. Writes benchmarks/results/ntk_scale.{json,md}.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]  # benchmarks/
OUT = HERE / "results"
DATA = HERE.parents[1] / "shared" / "data" / "kodak"


def _one(size: int, path: str, image: str, top: int, probes: int, steps: int) -> dict:
    """One measurement, in this process: ``path`` is ``matrix-free`` or ``dense``."""
    import torch

    import inrank
    from inrank.diagnosis.ntk import layerwise_ntk, ntk_factors
    from inrank.diagnosis.operators import BlockOperator
    from inrank.diagnosis.rank import kernel_eigenvalues, spectral_effective_rank
    from inrank.diagnosis.spectra import estimate_spectrum

    torch.set_num_threads(2)
    sig = inrank.load_image(DATA / f"{image}.png", size=size)
    model = inrank.build("relu", 2, 3, width=256, depth=3, seed=0)
    n = len(sig)
    t0 = time.perf_counter()
    blocks = []
    if path == "dense":
        ntk = layerwise_ntk(model, sig.coords, chunk=1024)
        t_f = time.perf_counter() - t0
        for name, B in zip(ntk.names, ntk.blocks):
            t1 = time.perf_counter()
            ev = kernel_eigenvalues(B)
            blocks.append({"name": name, "top": ev[:top].tolist(), "trace": float(ev.sum()),
                           "effective": spectral_effective_rank(ev),
                           "numerical_1e-3": int((ev > 1e-3 * ev[0]).sum()),
                           "seconds": time.perf_counter() - t1})
    else:
        # float64 factors while they fit easily (the accuracy check), float32 at scale
        store = torch.float64 if n <= 70_000 else torch.float32
        f = ntk_factors(model, sig.coords, chunk=8192, store_dtype=store)
        t_f = time.perf_counter() - t0
        for G, H, name in zip(f.G, f.H, f.names):
            t1 = time.perf_counter()
            op = BlockOperator(G, H, chunk=16384, name=name)
            est = estimate_spectrum(op, k=top, rtols=(1e-3,), probes=probes, steps=steps,
                                    tol=1e-8)
            blocks.append({"name": name, "top": est.top.tolist(), "trace": est.trace,
                           "effective": est.effective_rank,
                           "effective_error": est.effective_rank_error,
                           "numerical_1e-3": dict(est.numerical)[1e-3],
                           "numerical_1e-3_error": est.numerical_error[0],
                           "matvecs": est.matvecs, "compressed": [op.G.shape[1], op.H.shape[1]],
                           "seconds": time.perf_counter() - t1})
    return {"size": size, "n": n, "path": path, "factor_seconds": t_f,
            "seconds": time.perf_counter() - t0, "blocks": blocks,
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20}


def render(payload: dict) -> str:
    from inrank.report.machine import machine_line
    from inrank.report.tables import markdown_table

    rows = sorted(payload["results"], key=lambda r: (r["n"], r["path"]))
    head = ["N", "path", "total time (s)", "factors (s)", "peak memory (GB)"]
    body = [[f"{r['n']:,}", r["path"], f"{r['seconds']:.0f}", f"{r['factor_seconds']:.1f}",
             f"{r['peak_rss_gb']:.2f}"] for r in rows]
    lines = ["# Layer-wise NTK at scale: matrix-free spectra", "",
             f"{payload['image']} resized (short side = `size`), 3 x 256 ReLU MLP at init, "
             f"output-trace blocks. Matrix-free: top-{payload['top']} eigenvalues by Lanczos "
             f"(tol 1e-8); effective and numerical (1e-3) ranks by SLQ with the top ones "
             f"deflated ({payload['probes']} probes x {payload['steps']} steps); factors kept in "
             "float64 up to N = 70,000 and float32 beyond. Dense: every (N, N) block and its eigendecomposition in float64. Each row "
             "ran in its own process; peak memory is that process's maximum resident set. "
             "Command: `python benchmarks/diagnosis/ntk_scale.py`.", "", machine_line(payload["machine"]),
             "", markdown_table(head, body, align="rlrrr"), "", "Per block:", ""]
    head = ["N", "path", "block", "time (s)", "top eigenvalue", "32nd eigenvalue",
            "effective rank", "numerical rank @1e-3", "products"]
    body = []
    for r in rows:
        for b in r["blocks"]:
            err = (f" ± {100 * b['effective_error']:.1f}%" if b.get("effective_error") else "")
            nerr = (f" ± {b['numerical_1e-3_error']:.0f}" if b.get("numerical_1e-3_error") else "")
            body.append([f"{r['n']:,}", r["path"], b["name"], f"{b['seconds']:.1f}",
                         f"{b['top'][0]:.6g}", f"{b['top'][-1]:.4g}",
                         f"{b['effective']:.2f}{err}", f"{b['numerical_1e-3']:.0f}{nerr}",
                         str(b.get("matvecs", "-"))])
    lines += [markdown_table(head, body, align="rllrrrrrr")]
    both = {(r["n"], r["path"]): r for r in rows}
    pairs = sorted({n for n, p in both if (n, "dense") in both and (n, "matrix-free") in both})
    if pairs:
        lines += ["", "Matrix-free against dense, same N:", ""]
        body = []
        for n in pairs:
            d, m = both[n, "dense"], both[n, "matrix-free"]
            for bd, bm in zip(d["blocks"], m["blocks"]):
                rel = max(abs(a - b) / b for a, b in zip(bm["top"], bd["top"]) if b > 0)
                body.append([f"{n:,}", bd["name"], f"{rel:.1e}",
                             f"{100 * (bm['effective'] / bd['effective'] - 1):+.2f}%",
                             f"{bm['numerical_1e-3']:.0f} vs {bd['numerical_1e-3']}"])
        lines += [markdown_table(["N", "block", "top-32 max relative error",
                                  "effective rank error", "numerical rank @1e-3"], body,
                                 align="rlrrr")]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="52,104,208,512")
    ap.add_argument("--dense-max", type=int, default=16384, help="largest N for the dense path")
    ap.add_argument("--image", default="kodim05")
    ap.add_argument("--top", type=int, default=32)
    ap.add_argument("--probes", type=int, default=4)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)  # size,path: a worker
    args = ap.parse_args(argv)
    if args.one:
        size, path = args.one.split(",")
        print(json.dumps(_one(int(size), path, args.image, args.top, args.probes, args.steps)))
        return 0
    from inrank.files import write_json, write_text
    from inrank.report.machine import machine

    out = OUT / "ntk_scale.json"
    payload = json.loads(out.read_text()) if out.is_file() else {"results": []}
    payload.update(machine=machine(), image=args.image, top=args.top, probes=args.probes,
                   steps=args.steps)
    done = {(r["size"], r["path"]) for r in payload["results"]}
    for size in (int(s) for s in args.sizes.split(",")):
        n = size * round(size * 1.5)
        for path in ("dense", "matrix-free"):
            if (size, path) in done or (path == "dense" and n > args.dense_max):
                continue
            proc = subprocess.run([sys.executable, __file__, "--one", f"{size},{path}",
                                   "--image", args.image, "--top", str(args.top), "--probes",
                                   str(args.probes), "--steps", str(args.steps)],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                print(proc.stderr[-2000:], file=sys.stderr)
                return proc.returncode
            payload["results"].append(json.loads(proc.stdout.strip().splitlines()[-1]))
            write_json(out, payload)
            r = payload["results"][-1]
            print(f"N={r['n']} {path}: {r['seconds']:.0f} s, {r['peak_rss_gb']:.2f} GB",
                  file=sys.stderr, flush=True)
    write_text(OUT / "ntk_scale.md", render(payload))
    print(render(payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
