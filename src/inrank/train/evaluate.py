"""Evaluating a model on a signal: predictions in chunks, PSNR on all / training / held-out
points, the task metrics of the final prediction, and an occupancy field's IoU on a grid."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .. import memory, validation
from ..metrics import frame_ssim, psnr, snr, ssim
from ..nn.forward import predict
from ..signals.mesh import grid_occupancy
from ..signals.signal import Signal, grid_coords

__all__ = ["predict", "scores", "task_metrics", "image_ssim", "occupancy_logits",
           "occupancy_iou"]


def scores(pred: torch.Tensor, values: torch.Tensor, *, loss: str, data_range: float,
           test: torch.Tensor | None) -> dict:
    """PSNR of a full prediction ``(N, c)`` (dB), and with a held-out mask ``test (N,)`` also
    ``train_psnr`` and ``test_psnr``; for ``loss="bce"`` the probabilities ``sigmoid(pred)``
    against the 0/1 labels (peak 1)."""
    if loss == "bce":
        pred, data_range = torch.sigmoid(pred), 1.0
    out = {"psnr": psnr(pred, values, data_range=data_range)}
    if test is not None:
        out["train_psnr"] = psnr(pred[~test], values[~test], data_range=data_range)
        out["test_psnr"] = (psnr(pred[test], values[test], data_range=data_range)
                            if bool(test.any()) else float("nan"))
    return out


def task_metrics(signal: Signal, pred: torch.Tensor, loss: str) -> dict:
    """Task metrics of the final prediction ``(N, c)``: ``snr`` (dB) for audio and 1-D signals,
    ``accuracy`` and ``iou`` (on the sample points, logit > 0) for ``loss="bce"``."""
    if loss == "bce":
        inside, truth = pred > 0, signal.values > 0.5
        union = float((inside | truth).sum())
        return {"accuracy": float((inside == truth).double().mean()),
                "iou": float((inside & truth).sum()) / union if union else 1.0}
    if signal.kind in ("audio", "1d"):
        return {"snr": snr(pred, signal.values)}
    return {}


def image_ssim(signal: Signal, pred: torch.Tensor) -> float | None:
    """SSIM of a prediction ``(N, c)`` of an image signal, clipped to ``[0, 1]``; of a video,
    the mean over its frames (:func:`~inrank.metrics.frame_ssim`); None for other kinds."""
    if signal.kind not in ("image", "video"):
        return None
    recon, target = signal.to_image(pred), signal.to_image(signal.values)
    data_range = float(signal.meta.get("data_range", 1.0))
    if signal.kind == "video":
        return float(np.mean(frame_ssim(recon, target, shape=signal.shape,
                                        data_range=data_range)))
    return ssim(recon, target, data_range=data_range)


@torch.no_grad()
def occupancy_logits(model: nn.Module, resolution: int = 64, *, chunk: int = 65536) -> np.ndarray:
    """The model's logits on the ``R^3`` cell centres of ``[-1, 1]^3``: ``(R, R, R)`` float32."""
    r = validation.positive_int("resolution", resolution)
    memory.check_grid(r)
    dev = next(model.parameters()).device
    out = predict(model, grid_coords((r, r, r)).to(dev), chunk=chunk)  # (R^3, 1)
    return out[:, 0].float().cpu().numpy().reshape(r, r, r)


def occupancy_iou(model: nn.Module, signal: Signal, *, resolution: int = 64) -> float:
    """Intersection over union of ``logit > 0`` and the mesh's inside on a dense ``R^3`` grid
    (the ground truth from :func:`inrank.signals.mesh.grid_occupancy`)."""
    truth = grid_occupancy(signal, validation.positive_int("resolution", resolution))
    pred = occupancy_logits(model, resolution) > 0
    union = int((pred | truth).sum())
    return float((pred & truth).sum()) / union if union else 1.0
