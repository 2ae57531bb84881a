"""The signed-distance loss of SIREN (Sitzmann et al. 2020, eq. 6 and its released weights) and
the trainee that fits it: :func:`sdf_loss` on a batch of surface points with normals and
off-surface points, gradients of the network by autograd (``create_graph=True``, so the loss's
own gradient goes through them), and :class:`SDFModel`, :func:`inrank.fit`'s trainee for
``loss="sdf"``.

Terms, each a mean over its points (``x_s`` on the surface with outward normals ``n``, ``x_o``
uniform in the cube, ``x`` both):

- surface: ``|f(x_s)|``, weight 3e3;
- normal: ``1 - cos(grad f(x_s), n)``, weight 1e2;
- eikonal: ``| |grad f(x)| - 1 |``, weight 5e1;
- off-surface: ``exp(-alpha |f(x_o)|)``, ``alpha = 100``, weight 1e2 (no zero crossing away
  from the surface).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..signals.signal import Signal
from .checkpoint import tensor_digest
from .precision import autocast
from .trainees import OneModel

__all__ = ["SDFWeights", "sdf_loss", "SDFModel"]


@dataclass(frozen=True)
class SDFWeights:
    """The weights of the four terms and the off-surface falloff ``alpha`` (SIREN's values)."""

    surface: float = 3e3
    normal: float = 1e2
    eikonal: float = 5e1
    offsurface: float = 1e2
    alpha: float = 100.0


def sdf_loss(model: nn.Module, surface: torch.Tensor, normals: torch.Tensor,
             offsurface: torch.Tensor, *, weights: SDFWeights = SDFWeights(),
             forward=None, precision: str = "float32") -> tuple[torch.Tensor, dict]:
    """The SDF loss of ``model`` on one batch.

    Args:
        model: maps ``(n, 3)`` points to ``(n, 1)`` signed distances (negative inside).
        surface: ``(b, 3)`` points on the surface.
        normals: ``(b, 3)`` unit outward normals at ``surface``.
        offsurface: ``(m, 3)`` points in the cube.
        weights: :class:`SDFWeights`.
        forward: the callable to evaluate (default ``model``; e.g. its compiled form).
        precision: the forward pass's autocast; gradients and terms are float32 (float64
            for a float64 model).

    Returns:
        The weighted sum (a scalar that can be differentiated again) and the unweighted terms
        ``{"surface", "normal", "eikonal", "offsurface"}`` as floats.
    """
    fwd = model if forward is None else forward
    x = torch.cat([surface, offsurface]).detach().requires_grad_(True)     # (b + m, 3)
    with autocast(x.device, precision):
        f = fwd(x)
    if f.dtype != torch.float64:                                          # autocast's output
        f = f.float()                                                     # (b + m, 1)
    (grad,) = torch.autograd.grad(f.sum(), x, create_graph=True)          # (b + m, 3)
    b = surface.shape[0]
    terms = {
        "surface": f[:b].abs().mean(),
        "normal": (1 - F.cosine_similarity(grad[:b], normals, dim=-1)).mean(),
        "eikonal": (grad.norm(dim=-1) - 1).abs().mean(),
        "offsurface": torch.exp(-weights.alpha * f[b:].abs()).mean(),
    }
    total = sum(getattr(weights, k) * v for k, v in terms.items())
    return total, {k: float(v.detach()) for k, v in terms.items()}


class SDFModel(OneModel):
    """One model fitted to an SDF signal (:func:`inrank.signals.sdf.mesh_sdf`) with
    :func:`sdf_loss`: a step's batch ``idx`` picks surface points, their normals and the
    off-surface points of the same indices; the loop's predictions are ``f`` on the surface
    points (target 0).

    Args:
        model: maps ``(N, 3)`` to ``(N, 1)``.
        signal: a ``kind="sdf"`` signal.
        device, precision, compile: as :class:`~inrank.train.trainees.OneModel`.
        weights: :class:`SDFWeights`.
    """

    def __init__(self, model: nn.Module, signal: Signal, device: torch.device,
                 precision: str = "float32", compile: bool = False,
                 weights: SDFWeights = SDFWeights()) -> None:
        super().__init__(model, signal, None, device, "mse", precision, compile=compile)
        self.normals = signal.meta["normals"].to(device)                  # (N, 3)
        self.offsurface = signal.meta["offsurface"].to(device)            # (N, 3)
        self.weights = weights
        self.terms: dict = {}
        #: the loss and its data, for the protocol (result and checkpoint) and the identity
        self.measurement = {"operator": {"name": "sdf-loss", **asdict(weights)},
                            "content": tensor_digest(self.normals, self.offsurface)}

    def losses(self, idx: torch.Tensor | None) -> torch.Tensor:
        """The SDF loss on the batch ``idx`` (None: every point), shape ``(1,)``; the last
        batch's unweighted terms are kept in :attr:`terms`."""
        if idx is None:
            xs, ns, xo = self.coords, self.normals, self.offsurface
        else:
            i = idx.to(self.device)
            xs, ns, xo = self.coords[i], self.normals[i], self.offsurface[i]
        total, self.terms = sdf_loss(self.model, xs, ns, xo, weights=self.weights,
                                     forward=self.forward, precision=self.precision)
        return total.reshape(1)
