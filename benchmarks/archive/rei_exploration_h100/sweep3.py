import json, os, sys, time, itertools
import torch
import torch.multiprocessing as mp

def run(cfg):
    import inrank
    from benchmarks.archive.rei_exploration_h100.prototype import init_model, ranks
    torch.set_num_threads(1)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    cfg = dict(cfg); rec = dict(cfg)
    img = cfg.pop("img", "astronaut")
    sig = inrank.load_image(img if img == "astronaut" else os.path.join(os.environ.get("KODAK", "../shared/data/kodak"), img + ".png"), size=64)
    name = cfg.pop("method", "relu"); lr = cfg.pop("lr", 1e-3); steps = cfg.pop("steps", 1000)
    extra = {k: cfg.pop(k) for k in list(cfg) if k in ("pe_octaves",)}
    model = inrank.build(name, 2, sig.out_dim, seed=0, **extra)
    if name == "relu" and cfg:
        init_model(model, "tri", torch.Generator().manual_seed(0), **cfg)
    r0 = ranks(model, sig.coords)
    res = inrank.fit(model, sig, steps=steps, lr=lr, progress=False, device=dev, eval_every=100 if steps >= 100 else steps)
    model.cpu(); r1 = ranks(model, sig.coords)
    h = {x["step"]: round(x["psnr"], 2) for x in res.history}
    rec.update(p300=h.get(300), p1000=h.get(1000), p3000=h.get(3000), er0=r0[0], er1=r1[0])
    return rec

if __name__ == "__main__":
    C = []
    for ms, lr, K in itertools.product([5, 10, 20], [2e-4, 3e-4, 5e-4], [4, 6, 8]):
        C.append(dict(K=K, rot=True, s1=1, mixscale=ms, lr=lr))
    for lr in [3e-4, 1e-3]:
        C.append(dict(K=6, rot=True, s1=1, mixscale=10, l3scale=0.1, lr=lr))
    for s1 in [0.5, 2]:
        C.append(dict(K=6, rot=True, s1=s1, mixscale=10, lr=3e-4))
    C.append(dict(K=6, rot=True, s1=1, mixscale=10, out_scale=0.1, lr=3e-4))
    C.append(dict(K=2, s1=1, mixscale=10, lr=3e-4, lmin=2))
    for img in ["astronaut", "kodim05", "kodim23"]:
        C += [dict(img=img, K=6, rot=True, s1=1, mixscale=10, lr=3e-4, steps=3000),
              dict(img=img, K=6, rot=True, s1=1, mixscale=10, lr=5e-4, steps=3000),
              dict(img=img, K=6, rot=True, s1=1, mixscale=5, lr=5e-4, steps=3000),
              dict(img=img, K=6, rot=True, s1=1, lr=1e-3, steps=3000)]
    for img in ["kodim05", "kodim23"]:
        C += [dict(img=img, method="pe", pe_octaves=6, steps=3000), dict(img=img, method="relu", steps=3000)]
    C = C[::-1]  # long runs first
    out = open(os.path.join(os.environ.get("OUT", "/tmp"), "sweep3.jsonl"), "w")
    T = time.time()
    with mp.get_context("spawn").Pool(int(sys.argv[1]) if len(sys.argv) > 1 else 8) as pool:
        for rec in pool.imap_unordered(run, C):
            print(json.dumps(rec), flush=True); out.write(json.dumps(rec) + "\n"); out.flush()
    print("total", time.time() - T)
