"""Predictors of how a network at initialisation will fit a target, before any training: the
kernel-target alignment and the target's energy in the NTK's top eigenvectors (per layer block
and in total), the linearised training curve and off-grid PSNR (the NTK regressor), and FreSh's
spectrum-matching score (Kania et al. 2025) as the peer baseline.

The kernel is the empirical NTK at init on a seeded subsample of ``points`` training points
(:func:`inrank.diagnosis.layerwise_ntk`, output trace divided by the channels ``c``: one kernel
shared by the channels, the cross-channel terms dropped). For a loss ``mean((f - y)^2)`` over
``N c`` values, gradient descent at lr ``eta`` moves the residual ``r = f - y`` on the
subsample as ``r_{t+1} = (I - 2 eta K / (N c)) r_t`` (the linearised model; a subsample of the
grid stands for the whole by the Nystrom scaling ``K_full / N_full ~ K_sub / N_sub``). With
``lr=None`` the step is the largest that keeps every mode monotone, ``2 eta lambda_max / (N c)
= 1``, so the curve depends on the spectrum's shape, not its scale. Off the grid the linearised
model gives ``f_t(x*) = f_0(x*) - K(x*, X) K^+ (r_0 - r_t)``.
"""
from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .. import validation as _checks
from ..errors import InputError
from ..nn.forward import predict as predict_points
from ..signals.signal import Signal
from .ntk import layerwise_ntk
from .rank import eigh_desc

__all__ = ["Prediction", "predict", "kernel_target_alignment", "top_energy", "linear_curve",
           "spectrum_profile", "fresh_distance", "fresh_of_models", "model_outputs", "PREDICTORS"]

#: Each predictor's name -> whether higher is better (FreSh's is a distance: lower).
PREDICTORS = {"alignment": True, "energy": True, "linear_fit": True, "linear_offgrid": True,
              "fresh": False}


@dataclass
class Prediction:
    """What the network at init predicts for a target.

    Attributes:
        alignment: kernel-target alignment of the whole NTK, ``y^T K y / (||K||_F ||y||^2)``
            summed over channels, the target centred per channel (in ``[0, 1]``).
        alignment_blocks: the same per dense layer's block (module name -> value).
        energy: fraction of the centred target's energy in the top-``k`` eigenvectors of the
            whole NTK, per ``k``.
        energy_blocks: the same per block.
        steps: the steps of the linearised curve.
        fit_psnr: predicted PSNR on the training subsample at each step (dB, peak
            ``data_range``).
        offgrid_psnr: predicted PSNR at the last step on the off-grid points (None without
            an off-grid signal).
        fresh: FreSh's distance between the model's output spectrum at init and the target's
            (None for a signal that is not an image).
        lr: the gradient-descent lr of the curve; points: the subsample's size; seconds:
            wall time of the prediction.
    """

    alignment: float
    alignment_blocks: dict[str, float]
    energy: dict[int, float]
    energy_blocks: dict[str, dict[int, float]]
    steps: list[int]
    fit_psnr: list[float]
    offgrid_psnr: float | None
    fresh: float | None
    lr: float
    points: int
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    def score(self, name: str, k: int | None = None) -> float:
        """Predictor ``name`` of :data:`PREDICTORS` as one number (``energy``: at ``k``,
        default the largest ``k`` computed; ``linear_fit``: at the last step)."""
        if name == "alignment":
            return self.alignment
        if name == "energy":
            return self.energy[k if k is not None else max(self.energy)]
        if name == "linear_fit":
            return self.fit_psnr[-1]
        if name == "linear_offgrid":
            return float("nan") if self.offgrid_psnr is None else self.offgrid_psnr
        if name == "fresh":
            return float("nan") if self.fresh is None else self.fresh
        raise InputError(f"unknown predictor {name!r}; choose one of {', '.join(PREDICTORS)}")


def kernel_target_alignment(kernel: torch.Tensor, target: torch.Tensor) -> float:
    """``sum_a y_a^T K y_a / (||K||_F sum_a ||y_a||^2)`` for a kernel ``(N, N)`` and a target
    ``(N, c)`` (as given: centre it first for the usual centred alignment).

    Examples:
        >>> v = torch.tensor([[1.0], [0.0]])
        >>> kernel_target_alignment(torch.tensor([[2.0, 0.0], [0.0, 1.0]]), v)  # 2 / sqrt(5)
        0.894427...
    """
    y = target.to(kernel.dtype)
    num = float(torch.einsum("ia,ij,ja->", y, kernel, y))
    den = float(torch.linalg.matrix_norm(kernel)) * float((y * y).sum())
    return num / den if den > 0 else 0.0


def top_energy(vectors: torch.Tensor, target: torch.Tensor, ks: Sequence[int]) -> dict[int, float]:
    """Fraction of ``target (N, c)``'s energy in the span of the first ``k`` columns of
    ``vectors (N, N)`` (eigenvectors, descending), for each ``k`` (capped at N)."""
    y = target.to(vectors.dtype)
    total = float((y * y).sum())
    proj = (vectors.T @ y) ** 2                                        # (N, c)
    cum = torch.cumsum(proj.sum(1), 0)
    n = vectors.shape[1]
    return {int(k): (float(cum[min(int(k), n) - 1]) / total if total > 0 else 0.0) for k in ks}


def linear_curve(values: torch.Tensor, vectors: torch.Tensor, residual: torch.Tensor,
                 steps: Sequence[int], *, lr: float | None, channels: int
                 ) -> tuple[list[torch.Tensor], float]:
    """The linearised gradient-descent residuals ``r_t`` at ``steps``.

    Args:
        values, vectors: the kernel's eigenvalues ``(N,)`` (descending) and eigenvectors.
        residual: ``r_0 = f_0 - y``, ``(N, c)``.
        steps: the steps to report.
        lr: gradient-descent lr on ``mean((f - y)^2)`` over ``N c`` values; None: the largest
            monotone step, ``2 lr lambda_max / (N c) = 1``.
        channels: c.

    Returns:
        ``r_t`` ``(N, c)`` per step, and the lr used.
    """
    n = vectors.shape[0]
    lam = values.clamp(min=0)
    lr = float(n * channels / (2 * float(lam[0]))) if lr is None else float(lr)
    rate = 1 - 2 * lr * lam / (n * channels)                           # (N,)
    coef = vectors.T @ residual.to(vectors.dtype)                      # (N, c)
    out = []
    for t in steps:
        out.append(vectors @ (rate[:, None] ** int(t) * coef))
    return out, lr


def _psnr(residual: torch.Tensor, data_range: float) -> float:
    mse = float((residual ** 2).mean())
    return 10 * math.log10(data_range ** 2 / mse) if mse > 0 else float("inf")


def spectrum_profile(image: np.ndarray, bins: int | None = None) -> np.ndarray:
    """FreSh's spectrum of an image ``(H, W)`` or ``(H, W, c)`` (channels averaged): the
    magnitude of its 2-D DFT after removing the mean, summed over rings of integer radius
    ``1..bins`` in frequency-index units (``bins`` default ``min(H, W) // 2``), normalised to
    sum 1: a distribution over frequency."""
    img = np.asarray(image, dtype=np.float64)
    if img.ndim == 3:
        img = img.mean(-1)
    h, w = img.shape
    if min(h, w) < 2:
        raise InputError(f"FreSh's spectrum needs an image of at least 2 x 2 pixels (one "
                         f"frequency ring), got {h} x {w}; use a larger size")
    mag = np.abs(np.fft.fft2(img - img.mean()))
    ky, kx = np.meshgrid(np.fft.fftfreq(h) * h, np.fft.fftfreq(w) * w, indexing="ij")
    ring = np.rint(np.hypot(ky, kx)).astype(int)
    bins = bins or min(h, w) // 2
    prof = np.bincount(ring.ravel(), weights=mag.ravel(), minlength=bins + 1)[1:bins + 1]
    total = prof.sum()
    return prof / total if total > 0 else np.full(bins, 1.0 / bins)


def fresh_distance(outputs: Sequence[np.ndarray], target: np.ndarray) -> float:
    """FreSh's score (Kania et al. 2025): the Wasserstein-1 distance, over frequency (ring
    index), between the mean spectrum profile of the untrained model's outputs (one image per
    init) and the target's (:func:`spectrum_profile`); lower means the model at init already
    holds the target's frequencies. The ring binning is this library's reading of the paper's
    spectrum vector."""
    from scipy.stats import wasserstein_distance

    tgt = spectrum_profile(target)
    mine = np.mean([spectrum_profile(o, len(tgt)) for o in outputs], axis=0)
    idx = np.arange(1, len(tgt) + 1)
    return float(wasserstein_distance(idx, idx, mine, tgt))


@torch.no_grad()
def model_outputs(model: nn.Module, coords: torch.Tensor) -> torch.Tensor:
    """The model's output ``(N, c)`` float64 at ``coords`` (cast to its dtype), no gradient."""
    dtype = next(model.parameters()).dtype
    return predict_points(model, coords.to(dtype)).double()


def fresh_of_models(models: Sequence[nn.Module], signal: Signal) -> float:
    """FreSh's distance (:func:`fresh_distance`) of the models' mean output spectrum at their
    current weights (eval mode, restored after) to the image ``signal``'s."""
    outs = []
    for m in models:
        was = m.training
        m.eval()
        try:
            outs.append(signal.to_image(model_outputs(m, signal.coords).float()))
        finally:
            m.train(was)
    return fresh_distance(outs, signal.to_image(signal.values))


def predict(model: nn.Module, signal: Signal, *, points: int = 1024,
            offgrid: Signal | None = None, offgrid_points: int = 512,
            steps: Sequence[int] = (0, 50, 100, 200, 500), lr: float | None = None,
            ks: Sequence[int] = (16, 64, 256), seed: int = 0,
            inits: Sequence[nn.Module] = ()) -> Prediction:
    """Every predictor of ``model`` (at its current weights, usually init) for ``signal``.

    Args:
        model: ``(N, d) -> (N, c)`` built from dense layers (:func:`inrank.build`).
        signal: the target; ``points`` of its points (seeded) make the kernel's subsample.
        points: N of the subsample (all points if the signal has fewer).
        offgrid: the target at other points (e.g. the image at 2x:
            ``inrank.load_image(src, size=2 * size)``); ``offgrid_points`` of them, seeded,
            give the linearised off-grid PSNR.
        steps: the steps of the predicted curve (GD at ``lr``; None: the largest monotone
            step, see the module docstring).
        ks: the top-``k`` energies to report.
        seed: seeds both subsamples.
        inits: more initialisations of the same network: FreSh averages the output spectra of
            ``model`` and these (the kernel predictors read ``model`` only).

    Returns:
        A :class:`Prediction`.

    Examples:
        >>> import inrank
        >>> sig = inrank.load_image("camera", size=12)
        >>> p = predict(inrank.build("pe", 2, 1, width=16, depth=2), sig, points=64, ks=(8,))
        >>> 0 < p.alignment <= 1 and 0 < p.energy[8] <= 1 and len(p.fit_psnr) == 5
        True
    """
    t0 = time.perf_counter()
    if not isinstance(signal, Signal):
        raise InputError(f"signal must be an inrank Signal, got {type(signal).__name__}")
    n = min(_checks.positive_int("points", points), len(signal))
    steps = [_checks.non_negative_int("step", s) for s in steps]
    if not steps:
        raise InputError("steps is empty; give the steps of the predicted curve, e.g. (0, 500)")
    g = torch.Generator().manual_seed(int(seed))
    idx = torch.randperm(len(signal), generator=g)[:n]
    x, y = signal.coords[idx], signal.values[idx].double()               # (n, d), (n, c)
    c = y.shape[1]
    xs = x
    m = 0
    if offgrid is not None:
        m = min(_checks.positive_int("offgrid_points", offgrid_points), len(offgrid))
        oidx = torch.randperm(len(offgrid), generator=g)[:m]
        xs = torch.cat([x, offgrid.coords[oidx]])
    model_was = model.training
    model.eval()
    try:
        ntk = layerwise_ntk(model, xs, outputs="trace")
        f0 = model_outputs(model, xs)                                         # (n + m, c)
    finally:
        model.train(model_was)
    K = ntk.total[:n, :n] / c
    yc = y - y.mean(0)
    values, vectors = eigh_desc(K)
    blocks = {name: b[:n, :n] / c for name, b in zip(ntk.names, ntk.blocks)}
    energy_blocks = {}
    for name, b in blocks.items():
        bv, bV = eigh_desc(b)
        energy_blocks[name] = top_energy(bV, yc, ks)
    r0 = f0[:n] - y
    data_range = float(signal.meta.get("data_range", 1.0))
    rts, used_lr = linear_curve(values, vectors, r0, steps, lr=lr, channels=c)
    fit = [_psnr(r, data_range) for r in rts]
    off = None
    if offgrid is not None:
        keep = values > values[0] * 1e-10 * n                          # the pseudo-inverse's range
        coef = (vectors[:, keep].T @ (r0 - rts[-1])) / values[keep, None]
        cross = ntk.total[n:, :n] / c
        pred = f0[n:] - cross @ (vectors[:, keep] @ coef)
        off = _psnr(pred - offgrid.values[oidx].double(), data_range)
    fresh = fresh_of_models([model, *inits], signal) if signal.kind == "image" else None
    return Prediction(
        alignment=kernel_target_alignment(K, yc),
        alignment_blocks={k: kernel_target_alignment(b, yc) for k, b in blocks.items()},
        energy=top_energy(vectors, yc, ks), energy_blocks=energy_blocks, steps=list(steps),
        fit_psnr=fit, offgrid_psnr=off, fresh=fresh, lr=used_lr, points=n,
        seconds=time.perf_counter() - t0, extra={"offgrid_points": m})
