"""The timers of ``benchmarks.gpu.fit_speed``: a hand-written loop, the same step captured as a
CUDA graph, ``inrank.fit`` read off its own training clock, its costs outside the step, the
time to a PSNR, and ``inrank.fit_many`` against separate fits. Times are synchronised on CUDA."""
from __future__ import annotations

import copy
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

import inrank
from inrank.bench import KODAK
from inrank.train.batched import default_chunk
from inrank.train.evaluate import image_ssim, predict, scores

__all__ = ["hand_ms", "graph_ms", "fit_call", "fit_parts", "time_to", "landscape",
           "many_vs_separate"]


class _Reached(Exception):
    """Raised by the time-to-target callback to end a fit once the last target is reached."""


def _clock(device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter()


def hand_ms(model, x, y, lr: float, steps: int, warm: int, device) -> float:
    """ms per step of the reference: full-batch Adam on the MSE, nothing else."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)

    def step():
        loss = F.mse_loss(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(warm):
        step()
    t0 = _clock(device)
    for _ in range(steps):
        step()
    return (_clock(device) - t0) / steps * 1e3


def graph_ms(model, x, y, lr: float, steps: int, warm: int, device) -> float:
    """ms per replay of the whole hand step (forward, backward, Adam) captured as one CUDA
    graph (the recipe of PyTorch's CUDA semantics notes: warm-up on a side stream, gradients
    set to None before the capture)."""
    opt = torch.optim.Adam(model.parameters(), lr=lr, capturable=True)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(max(3, warm)):
            opt.zero_grad(set_to_none=True)
            F.mse_loss(model(x), y).backward()
            opt.step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        F.mse_loss(model(x), y).backward()
        opt.step()
    graph.replay()
    t0 = _clock(device)
    for _ in range(steps):
        graph.replay()
    return (_clock(device) - t0) / steps * 1e3


def fit_call(model, signal, lr: float, steps: int, warm: int, device, **opts) -> dict:
    """``inrank.fit`` for ``warm + steps`` steps, evaluated every ``warm``: ms per step on its
    training clock between the first evaluation and the last; the call's wall seconds, its
    training seconds and its evaluations."""
    t0 = time.perf_counter()
    res = inrank.fit(model, signal, steps=warm + steps, lr=lr, optimizer="adam",
                     eval_every=warm, device=str(device), progress=False, accept_worse=True,
                     **opts)
    wall = time.perf_counter() - t0
    h = res.history
    return {"ms": (h[-1]["train_seconds"] - h[0]["train_seconds"])
            / (h[-1]["step"] - h[0]["step"]) * 1e3,
            "wall_s": wall, "train_s": h[-1]["train_seconds"], "evals": len(h)}


def fit_parts(model, signal, device, repeats: int = 3) -> dict:
    """ms of what ``inrank.fit`` does besides training, each timed alone (median of
    ``repeats``): one evaluation pass (prediction on every point and its PSNR), one best-state
    copy (``deepcopy(state_dict())``), the final SSIM (the prediction to the CPU included)."""
    coords, values = signal.coords.to(device), signal.values.to(device)

    def timed(fn) -> float:
        out = []
        for _ in range(repeats):
            t0 = _clock(device)
            fn()
            out.append((_clock(device) - t0) * 1e3)
        return statistics.median(out)

    pred = predict(model, coords)
    return {"eval_ms": timed(lambda: scores(predict(model, coords), values, loss="mse",
                                             data_range=1.0, test=None)),
            "copy_ms": timed(lambda: copy.deepcopy(model.state_dict())),
            "ssim_ms": timed(lambda: image_ssim(signal, pred.detach().float().cpu()))}


def time_to(model, signal, lr: float, targets: list[float], max_steps: int, device) -> dict:
    """Steps and training seconds (``inrank.fit``'s clock, evaluations excluded) until the
    PSNR first reaches each of ``targets``, evaluating every ``max_steps // 200`` steps; the fit
    stops at the last target or ``max_steps``."""
    seen: list[tuple[int, float, float]] = []

    def on_eval(step, metrics, _model):
        seen.append((step, metrics["psnr"], metrics["train_seconds"]))
        if metrics["psnr"] >= max(targets):
            raise _Reached

    try:
        inrank.fit(model, signal, steps=max_steps, lr=lr, optimizer="adam",
                   eval_every=max(1, max_steps // 200), device=str(device), progress=False,
                   accept_worse=True, callbacks=[on_eval])
    except _Reached:
        pass
    first = lambda t: next(({"step": s, "seconds": sec} for s, p, sec in seen if p >= t), None)  # noqa: E731
    return {"max_steps": max_steps, "steps_run": seen[-1][0], "best_psnr": max(p for _, p, _ in seen),
            "reached": {f"{t:g}": first(t) for t in targets}}


def landscape(data: Path, size: int, count: int) -> list:
    """The first ``count`` Kodak images that are wider than tall (one shape for fit_many)."""
    out = []
    for name in KODAK:
        sig = inrank.load_image(data / f"{name}.png", size=size)
        if sig.shape[0] < sig.shape[1]:
            out.append(sig)
        if len(out) == count:
            return out
    raise ValueError(f"only {len(out)} landscape Kodak images in {data}")


def many_vs_separate(method: str, signals: list, lr: float, a, device, rounds: int) -> dict:
    """ms per signal-step (whole calls) of ``fit_many`` over ``signals`` against separate fits,
    interleaved rounds; ``chunk``: the models ``fit_many`` trains per pass."""
    kw = dict(steps=a.many_steps, lr=lr, optimizer="adam", eval_every=a.many_steps,
              device=str(device), progress=False, accept_worse=True)
    scale = 1e3 / (len(signals) * a.many_steps)

    def batched() -> float:
        t0 = _clock(device)
        inrank.fit_many(method, signals, width=a.width, depth=a.depth, **kw)
        return (_clock(device) - t0) * scale

    def separate() -> float:
        t0 = _clock(device)
        for s in signals:
            inrank.fit(inrank.build(method, 2, 3, width=a.width, depth=a.depth, seed=0,
                                    optimizer="adam"), s, **kw)
        return (_clock(device) - t0) * scale

    out = {"batched": [], "separate": []}
    for r in range(rounds):
        pair = [("batched", batched), ("separate", separate)]
        for k, fn in pair if r % 2 == 0 else pair[::-1]:
            out[k].append(fn())
    model = inrank.build(method, 2, 3, width=a.width, depth=a.depth)
    return {"method": method, "images": [s.name for s in signals], "shape": list(signals[0].shape),
            "steps": a.many_steps, "rounds": rounds,
            "chunk": min(len(signals), default_chunk(model, len(signals[0]), device)),
            "batched_ms": statistics.median(out["batched"]),
            "separate_ms": statistics.median(out["separate"]),
            "speedup": statistics.median(s / b for s, b in zip(out["separate"], out["batched"])),
            "all": out}
