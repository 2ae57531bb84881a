"""The whole-image layer-wise NTK diagnosis on one GPU (issue 28): the rows of
``python -m benchmarks.diagnosis.ntk_scale`` measured on CUDA, the same algorithm (factors streamed
and compressed to ``--tol``, block Lanczos, batched SLQ) and the same accuracy check against
the dense blocks at N = 4,056.

    python -m benchmarks.gpu.ntk_scale_gpu --data DIR --out OUT [--sizes 52,512]

``DIR`` holds ``kodim05.png`` (the shared Kodak folder, copied into the working tree when the
device machine cannot see it). Writes ``OUT/ntk_scale_gpu.{json,md}``; commit them under
``benchmarks/results/``. Times are after a CUDA synchronisation; peak memory is the GPU's
(``torch.cuda.max_memory_allocated``); the FLOP floor uses a 4096^3 float32 product's rate
(TF32 off, as in every NTK product).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from benchmarks.diagnosis import ntk_scale as scale
from benchmarks.frame import parser


def learned_fourier_row(n_side: int, *, top: int, probes: int, steps: int, block: int,
                       device: str) -> dict:
    """The any-model operator (``JacobianOperator``, block products by ``vmap``) on the
    encoding block of an RFF model whose frequencies ``B`` are learned (a parameter), 3 x 256
    ReLU, on an ``n_side x n_side`` grid: top eigenvalues, effective rank, time."""
    import time

    import torch
    from torch import nn

    import inrank
    from inrank.diagnosis.operators import JacobianOperator
    from inrank.diagnosis.spectra import estimate_spectrum

    model = inrank.build("rff", 2, 3, width=256, depth=3, seed=0)
    B = model.encoding.B
    del model.encoding._buffers["B"]
    model.encoding.B = nn.Parameter(B.clone())                     # learned frequencies
    model = model.to(device)
    coords = inrank.grid_coords((n_side, n_side)).to(device)
    sync = torch.cuda.synchronize if device != "cpu" else (lambda: None)
    t0 = time.perf_counter()
    op = JacobianOperator(model, coords, params=["encoding"], chunk=16384)
    est = estimate_spectrum(op, k=top, rtols=(1e-3,), probes=probes, steps=steps, tol=1e-5,
                            block=block)
    sync()
    return {"n": n_side * n_side, "model": "rff, learned B (2 x 256 frequencies), 3 x 256",
            "block": "encoding", "seconds": time.perf_counter() - t0, "top": est.top.tolist(),
            "effective": est.effective_rank, "effective_error": est.effective_rank_error,
            "numerical_1e-3": dict(est.numerical)[1e-3], "matvecs": est.matvecs}


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__)
    ap.add_argument("--data", type=Path, required=True, help="folder with kodim05.png")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--sizes", default="52,512")
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--top", type=int, default=32)
    ap.add_argument("--probes", type=int, default=8)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--block", type=int, default=8)
    ap.add_argument("--jacobian-side", type=int, default=256,
                    help="the learned-Fourier JacobianOperator row's grid side (0: skip)")
    args = ap.parse_args(argv)
    import torch

    from inrank.report.machine import machine

    if not torch.cuda.is_available():
        print("ntk_scale_gpu: no CUDA device here; run it on a GPU machine", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    payload = {"results": [], "machine": machine(), "image": "kodim05", "top": args.top,
               "probes": args.probes, "steps": args.steps, "block": args.block,
               "tol": args.tol, "gpu": torch.cuda.get_device_name()}
    scale.measure(52, "compressed", "kodim05", 8, 2, 4, args.tol, args.block, data=args.data,
                  device="cuda")                                   # warm-up: kernels, cuBLAS
    for size in (int(s) for s in args.sizes.split(",")):
        paths = ("dense", "compressed") if size * round(size * 1.5) <= 16384 else ("compressed",)
        for path in paths:
            r = scale.measure(size, path, "kodim05", args.top, args.probes, args.steps, args.tol,
                              args.block, data=args.data, device="cuda")
            payload["results"].append(r)
            (args.out / "ntk_scale_gpu.json").write_text(json.dumps(payload, indent=1))
            print(f"N={r['n']} {path}: {r['seconds']:.1f} s, {r['peak_rss_gb']:.2f} GB GPU"
                  + (f", floor {r['floor_seconds']:.1f} s" if "floor_seconds" in r else ""),
                  flush=True)
    text = scale.render(payload)
    if args.jacobian_side:
        j = learned_fourier_row(args.jacobian_side, top=args.top, probes=args.probes,
                                steps=args.steps, block=args.block, device="cuda")
        payload["jacobian"] = j
        (args.out / "ntk_scale_gpu.json").write_text(json.dumps(payload, indent=1))
        text += scale.render_jacobian(j)
    (args.out / "ntk_scale_gpu.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
