"""A GPU check of the inverse problems (issue 26), not a protocol: the CT projector on CUDA
against the CPU's, a float64 gradcheck on CUDA, every task through the one loop on the GPU
(relu, relu+rei, pe, siren; Adam and Muon; relu+rei also bf16) at 128 px, 3 x 256, 1000 steps,
each method's registry lrs (the 3 x 128 tuned values, ``--tuned``; tuned for fitting, not for
these tasks), one image and seed each, and a checkpoint resume on the GPU.

    python -m benchmarks.inverse.gpu_check    # needs CUDA; prints; about 2.5 min on one H200

Its output, as run on one H200, is ``benchmarks/results/inverse_gpu_check.md``.
"""
import sys
import time

import torch

import inrank
from inrank.operators import make_task, ParallelBeamProjector

from benchmarks.frame import TUNED_W128, parser


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__, tuned=TUNED_W128).parse_args(argv)
    from inrank.nn.tuned_state import tuned_values

    with tuned_values(args.tuned):
        check()
    return 0


def check() -> None:
    print(torch.__version__, torch.cuda.get_device_name(0), flush=True)
    A = ParallelBeamProjector((128, 128), angles=100)
    x = torch.rand(128 * 128, 3)
    d = (A(x.cuda()).cpu() - A(x)).abs().max().item()
    print("projector cuda vs cpu max |diff|", d, "of", A(x).abs().max().item(), flush=True)
    B = ParallelBeamProjector((8, 8), angles=5)
    xd = torch.rand(64, 2, dtype=torch.float64, device="cuda", requires_grad=True)
    print("gradcheck cuda float64", torch.autograd.gradcheck(B, (xd,)), flush=True)
    ph = inrank.load_image("shepp_logan_phantom", size=128)
    nat = inrank.load_image("astronaut", size=128)
    for name, kw in (("ct", {"angles": 100}), ("superres", {}), ("denoise", {}), ("inpaint", {"keep": 0.1})):
        t = make_task(name, ph if name == "ct" else nat, **kw)
        base = inrank.psnr(t.baseline(), t.signal.values)
        for method in ("relu", "relu+rei", "pe", "siren"):
            for opt in ("adam", "muon"):
                for prec in (("float32", "bf16") if method == "relu+rei" else ("float32",)):
                    m = inrank.build(method, 2, t.signal.out_dim, width=256, depth=3, seed=0)
                    lrs = inrank.preset(method).lr_for(opt, width=256)
                    t0 = time.time()
                    r = t.solve(m, steps=1000, device="cuda", progress=False, optimizer=opt,
                                precision=prec, check_steps=0, **lrs)
                    print(f"{name:8s} {method:8s} {opt:4s} {prec:7s} final {r.final_psnr:6.2f} best {r.best_psnr:6.2f}"
                          f" unseen {r.test_psnr if r.test_psnr is None else round(r.test_psnr, 2)}"
                          f" | baseline {t.baseline_name} {base:6.2f} | {r.seconds_per_step*1e3:.2f} ms/step"
                          f" wall {time.time()-t0:.1f}s dev {r.device}", flush=True)
    # checkpoint resume on the GPU
    t = make_task("ct", inrank.load_image("shepp_logan_phantom", size=64), angles=30)
    ck = "/tmp/ck.pt"
    full = t.solve(inrank.build("relu", 2, 1, width=64, depth=3, seed=0), steps=40, lr=1e-3, device="cuda", progress=False)
    import inrank.train.loop as loop
    real, n = loop.train_step, [0]
    def killed(*a, **k):
        n[0] += 1
        if n[0] == 25:
            raise KeyboardInterrupt
        return real(*a, **k)
    loop.train_step = killed
    try:
        t.solve(inrank.build("relu", 2, 1, width=64, depth=3, seed=0), steps=40, lr=1e-3, device="cuda", progress=False, checkpoint=ck, checkpoint_every=10)
    except KeyboardInterrupt:
        pass
    loop.train_step = real
    res = t.solve(inrank.build("relu", 2, 1, width=64, depth=3, seed=0), steps=40, lr=1e-3, device="cuda", progress=False, checkpoint=ck, checkpoint_every=10)
    print("resumed from", res.resumed_from, "max |pred diff| vs uninterrupted", (res.prediction - full.prediction).abs().max().item())


if __name__ == "__main__":
    sys.exit(main())
