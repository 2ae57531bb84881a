import json, os, time, itertools
import torch, inrank
from benchmarks.archive.rei_exploration_h100.prototype import init_model, ranks
dev = "cuda" if torch.cuda.is_available() else "cpu"
sig = inrank.load_image("astronaut", size=64)
C = []
C += [dict(K=2, s1=1, freeze=2), dict(K=6, rot=True, s1=1, freeze=2), dict(K=4, rot=True, s1=1, freeze=2),
      dict(K=6, rot=True, s1=1, freeze=1), dict(method="pe", pe_octaves=6, lr=1e-3, depth=2)]
for K, lmin in [(2, 2), (2, 3), (4, 2)]:
    C.append(dict(K=K, rot=True, s1=1, lmin=lmin))
for K, s1, lr in itertools.product([6, 8, 12, 16], [0.5, 1, 2], [1e-3, 5e-4]):
    C.append(dict(K=K, rot=True, s1=s1, lr=lr))
for K in [4, 6, 8]:
    C.append(dict(K=K, rot=True, s1=1, mix=False))
for K, ms, lr in itertools.product([6], [10, 30], [3e-4, 1e-4]):
    C.append(dict(K=K, rot=True, s1=1, mixscale=ms, lr=lr))
for K, ph in [(6, 4), (8, 4), (6, 1)]:
    C.append(dict(K=K, rot=True, s1=1, phases=ph))
for K, l3 in [(6, 3.0), (6, 0.3)]:
    C.append(dict(K=K, rot=True, s1=1, l3scale=l3))
C += [dict(K=6, rot=True, s1=1, steps=3000), dict(K=6, rot=True, s1=1, lr=3e-4, steps=3000),
      dict(method="pe", pe_octaves=6, steps=3000), dict(method="relu", steps=3000)]
out = open(os.path.join(os.environ.get("OUT", "/tmp"), "sweep2.jsonl"), "w")
T = time.time()
for cfg in C:
    cfg = dict(cfg); rec = dict(cfg)
    name = cfg.pop("method", "relu"); lr = cfg.pop("lr", 1e-3); steps = cfg.pop("steps", 1000)
    freeze = cfg.pop("freeze", 0); depth = cfg.pop("depth", 3)
    extra = {k: cfg.pop(k) for k in list(cfg) if k in ("pe_octaves",)}
    model = inrank.build(name, 2, 3, seed=0, depth=depth, **extra)
    if name == "relu":
        init_model(model, "tri" if cfg else "default", torch.Generator().manual_seed(0), **cfg)
    for lin in list(model.linears)[:freeze]:
        lin.weight.requires_grad_(False); lin.bias.requires_grad_(False)
    r0 = ranks(model, sig.coords)
    res = inrank.fit(model, sig, steps=steps, lr=lr, progress=False, device=dev, eval_every=100)
    model.cpu()
    r1 = ranks(model, sig.coords)
    h = {x["step"]: round(x["psnr"], 2) for x in res.history}
    rec.update(p300=h.get(300), p1000=h.get(1000), p3000=h.get(3000), er0=r0[0], er1=r1[0])
    print(json.dumps(rec), flush=True); out.write(json.dumps(rec) + "\n"); out.flush()
print("total", time.time() - T)
