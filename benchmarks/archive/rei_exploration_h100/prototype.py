"""Prototype of the structured REI used by the H100 exploration sweeps (sweep1-3.py), kept as the
record of how rei_exploration numbers were made. The library version is inrank.init (variants
"zigzag" = mix=False, "triangle" = mix=True with gain = mixscale, directions = K, slope = s1);
the prototype draws the fan rotation in float32, so seeds differ from the library."""
import math, sys, time, json
import torch
from torch import nn
import inrank
from inrank.rank import effective_rank, numerical_rank

def tri_layers(W1, b1, *, K=2, octaves=None, s1=1.0, amp=1.0, rot=False, g=None, mix=True,
               phases=2, lin=True, lmin=1):
    """Fill layer1 (W1 (D,2), b1 (D,)) with kinks; return A (F,D), c (F,) such that
    tri = h1 @ A.T + c  (N,F)."""
    D = W1.shape[0]
    theta0 = float(torch.rand(1, generator=g)) * math.pi if rot else 0.0
    Ms = [D // K + (1 if k < D % K else 0) for k in range(K)]
    rows, cols, Alist, clist = [], [], [], []
    start = 0
    W = torch.zeros(D, 2, dtype=torch.float64); b = torch.zeros(D, dtype=torch.float64)
    A_rows = []; c_vals = []
    for k in range(K):
        M = Ms[k]
        th = theta0 + math.pi * k / K
        u = torch.tensor([math.cos(th), math.sin(th)], dtype=torch.float64)
        r = float(u.abs().sum())
        phi = float(torch.rand(1, generator=g, dtype=torch.float64))
        delta = 2 * r / (M - 1)
        t = -r + (torch.arange(M, dtype=torch.float64) - 1 + phi) * delta  # t0 < -r
        W[start:start + M] = s1 * u
        b[start:start + M] = -s1 * t
        # octaves: l=1..Lmax, halfperiod = 2^l delta
        Lmax = octaves if octaves is not None else int(math.log2(M))
        for l in range(lmin, Lmax + 1):
            step = 2 ** l
            offs = [0] if phases == 1 else sorted({(p * step) // (2 * phases) * 2 // 2 for p in range(phases)} | {0}) if phases > 2 else [0, step // 2]
            for o in offs:
                # vertices at indices o + j*step for all integers j (extrapolated); values alternate +-1
                # slope between vertices: 2*amp/(step*delta) * sign
                a_row = torch.zeros(D, dtype=torch.float64)
                hp = step * delta
                sig = 2 * amp / hp
                # segment containing t0 (index 0): vertex j0 = floor((0 - o)/step)
                j0 = math.floor((0 - o) / step)
                v_at = lambda j: amp * (1 if j % 2 == 0 else -1)
                slope0 = (v_at(j0 + 1) - v_at(j0)) / hp
                tv = t[0] - 0.0
                # value at t0
                frac = (0 - (o + j0 * step)) / step
                v0 = v_at(j0) + (v_at(j0 + 1) - v_at(j0)) * frac
                a_row[start + 0] = slope0 / s1
                for idx in range(1, M):
                    if (idx - o) % step == 0:
                        j = (idx - o) // step
                        sl_before = (v_at(j) - v_at(j - 1)) / hp
                        sl_after = (v_at(j + 1) - v_at(j)) / hp
                        a_row[start + idx] = (sl_after - sl_before) / s1
                A_rows.append(a_row); c_vals.append(v0)
        if lin:
            a_row = torch.zeros(D, dtype=torch.float64); a_row[start] = amp / (s1 * r)
            A_rows.append(a_row); c_vals.append(amp * t[0].item() / r)
        start += M
    A = torch.stack(A_rows); c = torch.tensor(c_vals, dtype=torch.float64)
    W1.copy_(W.float()); b1.copy_(b.float())
    return A, c

def init_model(model, variant, g, **o):
    lins = model.linears
    if variant == "default":
        return model
    with torch.no_grad():
        A, c = tri_layers(lins[0].weight, lins[0].bias, g=g, **{k: v for k, v in o.items() if k in
                          ("K", "octaves", "s1", "amp", "rot", "phases", "lin", "lmin")})
        F = A.shape[0]
        D2 = lins[1].out_features
        if o.get("mix", True):
            bound = o.get("mixscale", 1.0) / math.sqrt(F)
            R = (torch.rand(D2, F, generator=g, dtype=torch.float64) * 2 - 1) * bound
            bb = (torch.rand(D2, generator=g, dtype=torch.float64) * 2 - 1) * bound
        else:
            # direct: each neuron one triangle feature (cycled), random sign & bias
            idx = torch.arange(D2) % F
            R = torch.zeros(D2, F, dtype=torch.float64)
            sgn = torch.randint(0, 2, (D2,), generator=g).double() * 2 - 1
            R[torch.arange(D2), idx] = sgn
            bb = (torch.rand(D2, generator=g, dtype=torch.float64) * 2 - 1) * 0.5
        lins[1].weight.copy_((R @ A).float())
        lins[1].bias.copy_((R @ c + bb).float())
        if o.get("l3scale") is not None:
            lins[2].weight.mul_(o["l3scale"]); lins[2].bias.mul_(o["l3scale"])
        if o.get("out_scale") is not None:
            lins[-1].weight.mul_(o["out_scale"])
    return model

def ranks(model, coords):
    hs = model.hidden_features(coords)[1:]
    return [round(effective_rank(h), 1) for h in hs], [numerical_rank(h) for h in hs]

if __name__ == "__main__":
    torch.set_num_threads(1)
    cfgs = json.loads(sys.argv[1])
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    img = sys.argv[3] if len(sys.argv) > 3 else "astronaut"
    sig = inrank.load_image(img, size=64)
    for cfg in cfgs:
        cfg = dict(cfg)
        name = cfg.pop("method", "relu"); lr = cfg.pop("lr", 1e-3); depth = cfg.pop("depth", 3)
        variant = cfg.pop("variant", "default"); eps = cfg.pop("eps", None)
        extra = {k: cfg.pop(k) for k in list(cfg) if k in ("pe_octaves",)}
        model = inrank.build(name, 2, 3, depth=depth, seed=0, **extra)
        g = torch.Generator().manual_seed(0)
        init_model(model, variant, g, **cfg)
        r0 = ranks(model, sig.coords)
        t = time.time()
        res = inrank.fit(model, sig, steps=steps, lr=lr, progress=False, device="cpu", eval_every=steps//3 if steps>=300 else steps)
        r1 = ranks(model, sig.coords)
        print(json.dumps(dict(name=name, variant=variant, lr=lr, depth=depth, **cfg, **extra,
              psnr=[round(h["psnr"], 2) for h in res.history], er0=r0[0], er1=r1[0], nr0=r0[1], sec=round(time.time()-t))), flush=True)
