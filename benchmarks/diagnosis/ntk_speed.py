"""``layerwise_ntk`` against the Jacobian-contraction NTK of the PyTorch NTK tutorial, on the
same 3 x 256 ReLU MLP: median wall time, peak memory, their ratio, and agreement.

    python -m benchmarks.diagnosis.ntk_speed [--ns 256,1024,2048,4096 --repeats 3 --threads 2]
    python -m benchmarks.diagnosis.ntk_speed --device cuda --tag gpu      # on a GPU machine

Each (implementation, N, outputs) case runs in a fresh child process so that its peak memory
is its own: on the CPU the peak resident set size (``ru_maxrss``) minus the child's size after a
small warm-up run; on CUDA ``torch.cuda.max_memory_allocated`` minus the memory before the run.
The reference ("tutorial") is ``vmap(jacrev(f))`` over all parameters followed by ``einsum``
contraction, computing the total NTK only. Reference cases whose Jacobian alone would exceed
``--ref-max-gb`` or whose contraction exceeds ``--ref-max-tflop`` are not run, and say so.
Float64, TF32 off. Writes benchmarks/results/ntk_speed[_TAG].{json,md}; ``--render JSON``
rewrites the Markdown from a results file.
"""
from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.frame import RESULTS, ROOT, command, parser, write_result

WIDTH, DEPTH, C = 256, 3, 3


#: This script as a child process (one case each: a clean peak-memory reading).
_CHILD = [sys.executable, "-m", "benchmarks.diagnosis.ntk_speed"]


def _model(device: str):
    import inrank

    return inrank.build("relu", 2, C, width=WIDTH, depth=DEPTH, seed=0).double().to(device)


def tutorial_ntk(model, x: torch.Tensor, outputs: str) -> torch.Tensor:
    """The PyTorch NTK tutorial's method: per-sample Jacobians of every parameter by
    ``vmap(jacrev)``, contracted with ``einsum``. ``(N, N)`` or ``(N c, N c)``."""
    from torch.func import functional_call, jacrev, vmap

    params = {k: v.detach() for k, v in model.named_parameters()}

    def fnet_single(p, xi):
        return functional_call(model, p, (xi[None],))[0]  # (c,)

    jac = vmap(jacrev(fnet_single), (None, 0))(params, x)  # name -> (N, c, *shape)
    jac = [j.flatten(2) for j in jac.values()]  # (N, c, P_k)
    if outputs == "trace":
        return sum(torch.einsum("Naf,Maf->NM", j, j) for j in jac)
    n = x.shape[0]
    return sum(torch.einsum("Naf,Mbf->NaMb", j, j) for j in jac).reshape(n * C, n * C)


def _run(impl: str, x: torch.Tensor, model, outputs: str) -> torch.Tensor:
    from inrank.diagnosis.ntk import layerwise_ntk

    if impl == "layerwise":
        return layerwise_ntk(model, x, outputs=outputs).total
    return tutorial_ntk(model, x, outputs)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def child(impl: str, n: int, outputs: str, repeats: int, device: str, save: str) -> None:
    """Time one case in this process and print a JSON line."""
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    model = _model(device)
    gen = torch.Generator().manual_seed(n)
    x = (torch.rand(n, 2, generator=gen, dtype=torch.float64) * 2 - 1).to(device)  # (N, 2)
    _run(impl, x[:16].clone(), model, outputs)  # warm-up: imports, kernels, allocator
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    if device == "cuda":
        torch.cuda.empty_cache()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
    else:
        base = _rss_mb()
    times, out = [], None
    for _ in range(repeats):
        out = None
        sync()
        t0 = time.perf_counter()
        out = _run(impl, x, model, outputs)
        sync()
        times.append(time.perf_counter() - t0)
    peak = ((torch.cuda.max_memory_allocated() - base) / 2 ** 20 if device == "cuda"
            else _rss_mb() - base)
    if save:
        torch.save(out.cpu(), save)
    print(json.dumps({"times": times, "peak_mb": peak}))


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, threads=2, device="cpu")
    ap.add_argument("--ns", default="256,1024,2048,4096")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--ref-repeats", type=int, default=1,
                    help="repeats of the reference when its estimated time exceeds 20 s (1)")
    ap.add_argument("--ref-max-gb", type=float, default=7.0)
    ap.add_argument("--ref-max-tflop", type=float, default=4.0)
    ap.add_argument("--extra-ns", default="",
                    help="more N for layerwise_ntk alone (trace), e.g. 16384")
    ap.add_argument("--tag", default="")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--render", default=None, metavar="JSON",
                    help="only rewrite the Markdown beside a results JSON")
    ap.add_argument("--child", nargs=4, metavar=("IMPL", "N", "OUTPUTS", "SAVE"), default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.render:
        from inrank.files import write_text

        src = Path(args.render)
        write_text(src.with_suffix(".md"), render(json.loads(src.read_text())))
        return 0
    if args.child:
        impl, n, outputs, save = args.child
        child(impl, int(n), outputs, args.repeats, args.device, save if save != "-" else "")
        return 0
    from inrank.report.machine import machine

    params = sum(p.numel() for p in _model("cpu").parameters())
    ns = [int(v) for v in args.ns.split(",")]
    load_start = list(os.getloadavg())
    rows, tmp = [], tempfile.mkdtemp(prefix="ntk_speed_")
    t_start = time.perf_counter()
    for outputs in ("trace", "full"):
        for n in ns:
            row = {"n": n, "outputs": outputs}
            jac_gb = n * C * params * 8 / 2 ** 30
            tflop = 2 * n * n * C * (1 if outputs == "trace" else C) * params / 1e12
            row["ref_jacobian_gb"], row["ref_tflop"] = jac_gb, tflop
            for impl in ("layerwise", "tutorial"):
                if impl == "tutorial" and (jac_gb > args.ref_max_gb or tflop > args.ref_max_tflop):
                    row[impl] = {"skipped": f"Jacobian {jac_gb:.1f} GB, contraction "
                                            f"{tflop:.1f} TFLOP over the limits"}
                    continue
                reps = args.repeats
                if impl == "tutorial" and args.device == "cpu" and tflop > 0.5:
                    reps = args.ref_repeats
                save = os.path.join(tmp, f"{impl}.pt")
                cmd = [*_CHILD, "--child", impl, str(n), outputs, save,
                       "--repeats", str(reps), "--threads", str(args.threads),
                       "--device", args.device]
                proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
                if proc.returncode != 0:
                    row[impl] = {"failed": proc.stderr.strip().splitlines()[-1][:200]}
                    print(f"{outputs} N={n} {impl}: failed: {row[impl]['failed']}", file=sys.stderr)
                    continue
                res = json.loads(proc.stdout.strip().splitlines()[-1])
                row[impl] = {"median_s": statistics.median(res["times"]),
                             "times": res["times"], "peak_mb": res["peak_mb"]}
                print(f"{outputs} N={n} {impl}: {row[impl]['median_s']:.3f} s, "
                      f"{res['peak_mb']:.0f} MB", file=sys.stderr, flush=True)
            if "median_s" in row["layerwise"] and "median_s" in row.get("tutorial", {}):
                a, b = (torch.load(os.path.join(tmp, f"{i}.pt")) for i in ("layerwise", "tutorial"))
                row["rel_diff"] = float((a - b).norm() / b.norm())
                row["speedup"] = row["tutorial"]["median_s"] / row["layerwise"]["median_s"]
                row["memory_ratio"] = row["tutorial"]["peak_mb"] / max(row["layerwise"]["peak_mb"], 1e-9)
            rows.append(row)
    for n in [int(v) for v in args.extra_ns.split(",") if v]:
        row = {"n": n, "outputs": "trace", "tutorial": {"skipped": "layerwise only"}}
        cmd = [*_CHILD, "--child", "layerwise", str(n), "trace", "-",
               "--repeats", "1", "--threads", str(args.threads), "--device", args.device]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if proc.returncode != 0:
            row["layerwise"] = {"failed": proc.stderr.strip().splitlines()[-1][:200]}
        else:
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            row["layerwise"] = {"median_s": statistics.median(res["times"]),
                                "times": res["times"], "peak_mb": res["peak_mb"]}
        print(f"trace N={n} layerwise: {row['layerwise']}", file=sys.stderr, flush=True)
        rows.append(row)
    info = machine()
    info["torch_threads"] = args.threads
    suffix = f"_{args.tag}" if args.tag else ""
    data = {"machine": info, "device": args.device, "command": " ".join(sys.argv[1:]),
            "model": f"relu {DEPTH} x {WIDTH}, d=2, c={C}", "params": params,
            "repeats": args.repeats, "rows": rows, "seconds": time.perf_counter() - t_start,
            "load_avg_start": load_start, "load_avg_end": list(os.getloadavg())}
    write_result(f"ntk_speed{suffix}", data, render, folder=args.out)
    return 0


def render(data: dict) -> str:
    """The Markdown table of a results JSON written by :func:`main`."""
    from inrank.report.machine import machine_line
    from inrank.report.tables import markdown_table

    mem = "peak CUDA memory allocated" if data["device"] == "cuda" else (
        "peak RSS increase over the warm-up's high-water mark (0: no growth measurable)")
    load = ""
    if "load_avg_start" in data:
        load = (f" Load average (1 min) {data['load_avg_start'][0]:.1f} at the start and "
                f"{data['load_avg_end'][0]:.1f} at the end.")
    if "note" in data:
        load += " " + data["note"]
    lines = [f"# Layer-wise NTK vs Jacobian contraction ({data['device']})", "",
             f"`{command(__file__, data.get('command', ''))}` "
             f"({data['seconds']:.0f} s). " + machine_line(data["machine"]) + load, "",
             f"Model: `inrank.build('relu', 2, 3, width={WIDTH}, depth={DEPTH})`, "
             f"{data['params']} parameters, float64, TF32 off. `layerwise` = "
             "`inrank.ntk.layerwise_ntk` (all four blocks and their sum); `tutorial` = "
             "`vmap(jacrev)` Jacobians + `einsum` (total only). Times: median of "
             f"{data['repeats']} runs in a fresh process (1 run for reference cases estimated "
             f"over 0.5 TFLOP on the CPU); memory: {mem} (MB). rel. diff = "
             "||total_layerwise - total_tutorial||_F / ||total_tutorial||_F.", ""]
    body = []
    for r in data["rows"]:
        lw, tu = r["layerwise"], r["tutorial"]
        lw_s = f"{lw['median_s']:.3f}" if "median_s" in lw else lw.get("failed", "-")
        lw_m = f"{lw['peak_mb']:.0f}" if "peak_mb" in lw else "-"
        if "median_s" in tu:
            tu_s, tu_m = f"{tu['median_s']:.3f}", f"{tu['peak_mb']:.0f}"
        else:
            tu_s, tu_m = ("not run: " + tu.get("skipped", tu.get("failed", ""))), "-"
        sp = f"{r['speedup']:.0f}x" if "speedup" in r else "-"
        mr = "-"
        if "memory_ratio" in r and lw.get("peak_mb", 0) >= 1:
            mr = f"{r['memory_ratio']:.1f}x"
        rd = f"{r['rel_diff']:.1e}" if "rel_diff" in r else "-"
        body.append([r["outputs"], str(r["n"]), lw_s, tu_s, sp, lw_m, tu_m, mr, rd])
    lines.append(markdown_table(["outputs", "N", "layerwise s", "tutorial s", "speed-up",
                                 "layerwise MB", "tutorial MB", "memory ratio", "rel. diff"], body))
    return "\n".join(lines) + "\n"

if __name__ == "__main__":
    sys.exit(main())
