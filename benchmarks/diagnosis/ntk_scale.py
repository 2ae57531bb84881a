"""The layer-wise NTK at full resolution (issues 17, 28): per block of a 3 x 256 ReLU MLP (at
init) on a Kodak image at growing sizes up to the whole 512 x 768 image (N = 393,216): factors
streamed and compressed to a tolerance, then the top-32 eigenvalues (block Lanczos) and the
effective and numerical ranks (batched, deflated stochastic Lanczos quadrature), with time,
peak memory and the FLOP floor; the dense path beside it where it fits, and the agreement of
the two at N = 4056.

    python -m benchmarks.diagnosis.ntk_scale [--sizes 52,104,208,512 --tol 1e-6]

Each (size, path) runs in its own process (a clean peak-memory reading) and is saved as it
finishes; rerunning resumes (``--sizes 512 --redo`` reruns the whole-image row alone). Writes
benchmarks/results/ntk_scale.{json,md}.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.frame import DATA as _SHARED, RESULTS, ROOT, command, parser, write_result

DATA = _SHARED / "kodak"


def algorithm_flops(n: int, model, blocks: list[dict]) -> float:
    """The FLOPs the compressed algorithm needs: two factor passes (a forward and c backward
    passes each, ~3 x 2 N P_total per pass per output, P_total the dense parameters), the
    pass-1 Grams (2 N (cD + P)^2 per block), the projections (2 N (cD r_g + P r_h)), and the
    solves: 4 N r_g r_h per operator product, 2 N q^2 per dual Gram."""
    from torch import nn

    lin = [m for m in model.modules() if isinstance(m, nn.Linear)]
    params = sum(m.in_features * m.out_features for m in lin)
    c = lin[-1].out_features
    total = 2 * (2 * n * params * (1 + 2 * c))                        # two passes
    for b in blocks:
        (cd, p), (rg, rh) = b["full_rank"], b["ranks"]
        total += 2 * n * (cd * cd + p * p + cd * p) + 2 * n * (cd * rg + p * rh)
        if b["solver"] == "dual":
            total += 2 * n * (rg * rh) ** 2
        else:
            total += 4 * n * rg * rh * b["matvecs"]
    return float(total)


def measure(size: int, path: str, image: str, top: int, probes: int, steps: int, tol: float,
            block: int, *, data: Path = DATA, device: str = "cpu") -> dict:
    """One measurement, in this process: ``path`` is ``compressed`` or ``dense``; on
    ``device`` (``cuda``: peak memory is the GPU's, times after a synchronisation)."""
    import torch

    import inrank
    from inrank.diagnosis.compress import compressed_blocks
    from inrank.diagnosis.ntk import layerwise_ntk
    from inrank.diagnosis.rank import kernel_eigenvalues, spectral_effective_rank
    from inrank.diagnosis.scale import solve_block
    from inrank.train.flops import gemm_rate

    cuda = device != "cpu"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    if not cuda:
        torch.set_num_threads(2)
    sig = inrank.load_image(Path(data) / f"{image}.png", size=size)
    model = inrank.build("relu", 2, 3, width=256, depth=3, seed=0).to(device)
    coords = sig.coords.to(device)
    n = len(sig)
    rate = gemm_rate(device=device, size=4096 if cuda else 1024)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    blocks = []
    extra = {}
    if path == "dense":
        ntk = layerwise_ntk(model, coords, chunk=1024)
        sync()
        t_f = time.perf_counter() - t0
        for name, B in zip(ntk.names, ntk.blocks):
            t1 = time.perf_counter()
            ev = kernel_eigenvalues(B)
            blocks.append({"name": name, "top": ev[:top].tolist(), "trace": float(ev.sum()),
                           "effective": spectral_effective_rank(ev),
                           "numerical_1e-3": int((ev > 1e-3 * ev[0]).sum()),
                           "seconds": time.perf_counter() - t1})
    else:
        comp = compressed_blocks(model, coords, tol=tol, chunk=4096 if not cuda else 32768)
        sync()
        t_f = time.perf_counter() - t0
        for b in comp:
            s = solve_block(b, top=top, rtols=(1e-3,), probes=probes, steps=steps, block=block)
            blocks.append({"name": s.name, "top": s.top.tolist(), "trace": s.trace,
                           "effective": s.effective_rank,
                           "effective_error": s.effective_rank_error,
                           "compression_error": s.compression_error,
                           "numerical_1e-3": dict(s.numerical)[1e-3],
                           "numerical_1e-3_error": s.numerical_error[0], "bound": s.bound,
                           "trace_deficit": s.trace_deficit, "ranks": list(s.ranks),
                           "full_rank": list(s.full_rank), "solver": s.solver,
                           "matvecs": s.matvecs, "seconds": s.seconds})
        flops = algorithm_flops(n, model, blocks)
        extra = {"tol": tol, "flops": flops, "floor_seconds": flops / rate}
    sync()
    seconds = time.perf_counter() - t0
    use = resource.getrusage(resource.RUSAGE_SELF)
    peak = (torch.cuda.max_memory_allocated() / 2 ** 30 if cuda else use.ru_maxrss / 2 ** 20)
    return {"size": size, "n": n, "path": path, "factor_seconds": t_f, "seconds": seconds,
            "cpu_seconds": use.ru_utime + use.ru_stime, "blocks": blocks, "device": device,
            "gemm_gflops": rate / 1e9, "peak_rss_gb": peak, **extra}


def render(payload: dict) -> str:
    from inrank.report.machine import machine_line
    from inrank.report.tables import markdown_table

    rows = sorted(payload["results"], key=lambda r: (r["n"], r["path"]))
    head = ["N", "path", "total time (s)", "CPU time (s)", "factors (s)", "FLOP floor (s)",
            "GFLOP", "peak memory (GB)"]
    def sec(x: float) -> str:
        return f"{x:.1f}" if x < 10 else f"{x:.0f}"

    body = [[f"{r['n']:,}", r["path"], sec(r["seconds"]),
             sec(r["cpu_seconds"]) if r.get("device", "cpu") == "cpu" and "cpu_seconds" in r
             else "-", f"{r['factor_seconds']:.1f}",
             sec(r["floor_seconds"]) if "floor_seconds" in r else "-",
             f"{r['flops'] / 1e9:,.0f}" if "flops" in r else "-",
             f"{r['peak_rss_gb']:.2f}"] for r in rows]
    rate = max((r.get("gemm_gflops", 0) for r in rows), default=0)
    gpu = payload.get("gpu")
    where = (f"Rows ran in one process on one GPU ({gpu}) after a warm-up, timed after a CUDA "
             "synchronisation; peak memory is the GPU's (`torch.cuda.max_memory_allocated`)."
             if gpu else
             "Each row ran in its own process; peak memory is that process's maximum resident "
             "set; CPU time is its user + system time (2 threads: on an idle machine the wall "
             "time is about half of it, on a shared one more).")
    gpu_script = ROOT / "benchmarks" / "gpu" / "ntk_scale_gpu.py"
    run = (command(gpu_script, "--data DIR --out OUT") if gpu else command(__file__))
    lines = [f"# Layer-wise NTK at scale: compressed, matrix-free spectra{' (GPU)' if gpu else ''}",
             "",
             f"{payload['image']} resized (short side = `size`), 3 x 256 ReLU MLP at init, "
             "output-trace blocks. Compressed: factors built chunk by chunk in float32 and each "
             "block's G and H~ truncated so that the operator error is at most "
             f"tol = {payload['tol']:g} times the top eigenvalue "
             "(`inrank.diagnosis.compress`); then top-"
             f"{payload['top']} eigenvalues by block Lanczos ({payload['block']} vectors per "
             "product, relative accuracy 1e-5) and effective and numerical (1e-3) ranks by SLQ "
             f"with the top ones deflated ({payload['probes']} probes x {payload['steps']} "
             "steps, one block product per step), or every eigenvalue from the dual Gram when "
             "r_g r_h <= 640. Dense: every (N, N) block and its eigendecomposition in float64. "
             f"{where} FLOP floor: the FLOPs the compressed algorithm needs (factor passes, "
             "Grams, projections, products, dual Grams) over the rate of a "
             f"{'4096' if gpu else '1024'}^3 float32 matrix product measured in the same "
             f"process (up to {rate:,.0f} GFLOP/s). Command: `{run}`.", "",
             machine_line(payload["machine"]),
             "", markdown_table(head, body, align="rlrrrrrr"), "", "Per block (ranks: the "
             "compressed r_g x r_h of the factors' c D x P columns; bound: the compression's "
             "eigenvalue error over the top eigenvalue; effective rank ± the SLQ standard "
             "error, with the compression's bound in brackets):", ""]
    head = ["N", "path", "block", "solver", "ranks", "bound", "time (s)", "top eigenvalue",
            "32nd eigenvalue", "effective rank", "numerical rank @1e-3", "products"]
    body = []
    for r in rows:
        for b in r["blocks"]:
            err = (f" ± {100 * b['effective_error']:.1f}%" if b.get("effective_error") else "")
            if "compression_error" in b:
                err += f" [{100 * b['compression_error']:.2f}%]"
            nerr = (f" ± {b['numerical_1e-3_error']:.0f}" if b.get("numerical_1e-3_error") else "")
            ranks = ("{} x {} of {} x {}".format(*b["ranks"], *b["full_rank"])
                     if "ranks" in b else "-")
            body.append([f"{r['n']:,}", r["path"], b["name"], b.get("solver", "dense"), ranks,
                         f"{b['bound']:.1e}" if "bound" in b else "-", f"{b['seconds']:.1f}",
                         f"{b['top'][0]:.6g}", f"{b['top'][-1]:.4g}",
                         f"{b['effective']:.2f}{err}", f"{b['numerical_1e-3']:.0f}{nerr}",
                         str(b.get("matvecs", "-"))])
    lines += [markdown_table(head, body, align="rllllrrrrrrr")]
    both = {(r["n"], r["path"]): r for r in rows}
    pairs = sorted({n for n, p in both if (n, "dense") in both and (n, "compressed") in both})
    if pairs:
        lines += ["", "Compressed against dense, same N:", ""]
        body = []
        for n in pairs:
            d, m = both[n, "dense"], both[n, "compressed"]
            for bd, bm in zip(d["blocks"], m["blocks"]):
                rel = max(abs(a - b) / b for a, b in zip(bm["top"], bd["top"]) if b > 0)
                body.append([f"{n:,}", bd["name"], f"{rel:.1e}",
                             f"{100 * (bm['effective'] / bd['effective'] - 1):+.2f}%",
                             f"{bm['numerical_1e-3']:.0f} vs {bd['numerical_1e-3']}"])
        lines += [markdown_table(["N", "block", "top-32 max relative error",
                                  "effective rank error", "numerical rank @1e-3"], body,
                                 align="rlrrr")]
    return "\n".join(lines) + "\n"


def render_jacobian(j: dict) -> str:
    """The any-model operator's row (``benchmarks/gpu/ntk_scale_gpu.py``) as Markdown."""
    from inrank.report.tables import markdown_table

    head = ["N", "model", "block", "time (s)", "top eigenvalue", "32nd eigenvalue",
            "effective rank", "numerical rank @1e-3", "products"]
    row = [f"{j['n']:,}", j["model"], j["block"], f"{j['seconds']:.1f}", f"{j['top'][0]:.6g}",
           f"{j['top'][-1]:.4g}",
           f"{j['effective']:.2f} ± {100 * j['effective_error']:.1f}%",
           f"{j['numerical_1e-3']:.0f}", str(j["matvecs"])]
    return ("\nAny model (`JacobianOperator`: vector-Jacobian then Jacobian-vector products, "
            "vectorised over each block of vectors; exact products, no compression), the "
            "learned Fourier encoding's block:\n\n" + markdown_table(head, [row], align="rllrrrrrr")
            + "\n")


def main(argv: list[str] | None = None) -> int:
    from inrank.diagnosis.scale import DEFAULT_TOL

    ap = parser(__doc__)
    ap.add_argument("--sizes", default="52,104,208,512")
    ap.add_argument("--dense-max", type=int, default=4096, help="largest N for the dense path")
    ap.add_argument("--image", default="kodim05")
    ap.add_argument("--top", type=int, default=32)
    ap.add_argument("--probes", type=int, default=8)
    ap.add_argument("--steps", type=int, default=20, help="Lanczos steps per SLQ probe (20)")
    ap.add_argument("--block", type=int, default=8, help="vectors per block Lanczos product")
    ap.add_argument("--tol", type=float, default=DEFAULT_TOL,
                    help="compression tolerance (operator error over the top eigenvalue)")
    ap.add_argument("--redo", action="store_true", help="rerun the given sizes' rows")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)  # size,path: a worker
    args = ap.parse_args(argv)
    if args.one:
        size, path = args.one.split(",")
        print(json.dumps(measure(int(size), path, args.image, args.top, args.probes,
                                 args.steps, args.tol, args.block)))
        return 0
    from inrank.files import write_json
    from inrank.report.machine import machine

    out = RESULTS / "ntk_scale.json"
    payload = json.loads(out.read_text()) if out.is_file() else {"results": []}
    sizes = [int(s) for s in args.sizes.split(",")]
    keep = [r for r in payload["results"] if r["path"] in ("dense", "compressed")
            and not (args.redo and r["size"] in sizes)]
    payload.update(results=keep, machine=machine(), image=args.image, top=args.top,
                   probes=args.probes, steps=args.steps, block=args.block, tol=args.tol)
    done = {(r["size"], r["path"]) for r in payload["results"]}
    for size in sizes:
        n = size * round(size * 1.5)
        for path in ("dense", "compressed"):
            if (size, path) in done or (path == "dense" and n > args.dense_max):
                continue
            proc = subprocess.run([sys.executable, "-m", "benchmarks.diagnosis.ntk_scale",
                                   "--one", f"{size},{path}",
                                   "--image", args.image, "--top", str(args.top), "--probes",
                                   str(args.probes), "--steps", str(args.steps), "--tol",
                                   str(args.tol), "--block", str(args.block)],
                                  capture_output=True, text=True, cwd=ROOT)
            if proc.returncode != 0:
                print(proc.stderr[-2000:], file=sys.stderr)
                return proc.returncode
            payload["results"].append(json.loads(proc.stdout.strip().splitlines()[-1]))
            write_json(out, payload)
            r = payload["results"][-1]
            print(f"N={r['n']} {path}: {r['seconds']:.0f} s, {r['peak_rss_gb']:.2f} GB",
                  file=sys.stderr, flush=True)
    write_result("ntk_scale", payload, render)
    return 0


if __name__ == "__main__":
    sys.exit(main())
