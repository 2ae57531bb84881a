import json, os, sys, time, itertools
import torch, inrank
from benchmarks.archive.rei_exploration_h100.prototype import init_model, ranks
dev = "cuda" if torch.cuda.is_available() else "cpu"
sig = inrank.load_image("astronaut", size=64)
cfgs = []
cfgs += [dict(method="relu", lr=1e-3), dict(method="pe", pe_octaves=8, lr=1e-3), dict(method="pe", lr=1e-3),
         dict(method="pe", lr=3e-4), dict(method="pe", pe_octaves=8, lr=3e-4), dict(method="pe", pe_octaves=6, lr=1e-3)]
for s1, lr in itertools.product([1/64, 1/16, 1/4, 1, 4, 16], [1e-3, 3e-4, 1e-4]):
    cfgs.append(dict(variant="tri", K=2, s1=s1, lr=lr))
for K, rot, s1, lr in itertools.product([4], [False, True], [1/16, 1, 16], [1e-3, 3e-4]):
    cfgs.append(dict(variant="tri", K=K, rot=rot, s1=s1, lr=lr))
for ms, s1, lr in itertools.product([3, 10], [1/16, 1], [1e-3, 3e-4]):
    cfgs.append(dict(variant="tri", K=2, s1=s1, mixscale=ms, lr=lr))
for s1, lr in itertools.product([1/16, 1], [1e-3, 3e-4]):
    cfgs.append(dict(variant="tri", K=2, s1=s1, out_scale=0.1, lr=lr))
    cfgs.append(dict(variant="tri", K=2, s1=s1, mix=False, lr=lr))
for K in [3, 6, 8]:
    cfgs.append(dict(variant="tri", K=K, rot=True, s1=1/16, lr=1e-3))
    cfgs.append(dict(variant="tri", K=K, rot=True, s1=1, lr=1e-3))
steps = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
out = open(os.path.join(os.environ.get("OUT", "/tmp"), "sweep.jsonl"), "w")
T = time.time()
for cfg in cfgs:
    cfg = dict(cfg); rec = dict(cfg)
    name = cfg.pop("method", "relu"); lr = cfg.pop("lr", 1e-3); variant = cfg.pop("variant", "default")
    extra = {k: cfg.pop(k) for k in list(cfg) if k in ("pe_octaves",)}
    model = inrank.build(name, 2, 3, seed=0, **extra)
    init_model(model, variant, torch.Generator().manual_seed(0), **cfg)
    r0 = ranks(model, sig.coords)
    res = inrank.fit(model, sig, steps=steps, lr=lr, progress=False, device=dev, eval_every=100)
    model.cpu()
    r1 = ranks(model, sig.coords)
    h = {x["step"]: round(x["psnr"], 2) for x in res.history}
    rec.update(psnr300=h.get(300), psnr1000=h.get(1000), psnr3000=h.get(3000), best=round(res.best_psnr, 2),
               er0=r0[0], er1=r1[0], sec=round(res.seconds_per_step * steps, 1))
    print(json.dumps(rec), flush=True); out.write(json.dumps(rec) + "\n"); out.flush()
print("total", time.time() - T)
