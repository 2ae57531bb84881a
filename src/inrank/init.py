"""In-place initialisers for ``nn.Linear`` layers, in the style of ``torch.nn.init``.

Every function fills under ``torch.no_grad()``, returns the object it was given and takes
``generator=`` (passed to every random draw), so the same seed gives ``torch.equal`` weights.
Weights are ``(fan_out, fan_in)`` like ``nn.Linear.weight``.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from enum import Enum

import torch
from torch import nn

from . import _checks

__all__ = [
    "torch_default_",
    "siren_first_",
    "siren_hidden_",
    "uniform_bias_",
    "rank_expanding_",
    "REIVariant",
    "rei_variants",
]


def _uniform_(t: torch.Tensor, bound: float, generator: torch.Generator | None) -> torch.Tensor:
    return t.uniform_(-bound, bound, generator=generator)


def torch_default_(linear: nn.Linear, *, generator: torch.Generator | None = None) -> nn.Linear:
    """Fill a layer as ``nn.Linear.reset_parameters`` does, but from ``generator``.

    ``W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (kaiming_uniform with ``a = sqrt(5)``).

    Examples:
        >>> g = torch.Generator().manual_seed(0)
        >>> lin = nn.Linear(4, 3)
        >>> torch_default_(lin, generator=g) is lin
        True
    """
    bound = 1.0 / math.sqrt(linear.in_features)
    with torch.no_grad():
        _uniform_(linear.weight, bound, generator)
        if linear.bias is not None:
            _uniform_(linear.bias, bound, generator)
    return linear


def siren_first_(linear: nn.Linear, *, generator: torch.Generator | None = None) -> nn.Linear:
    """SIREN's first layer (Sitzmann et al., NeurIPS 2020): ``W ~ U(-1/fan_in, 1/fan_in)``.

    The bias keeps PyTorch's default ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, as in the
    authors' code. The activation applies ``sin(omega0 (W x + b))``.
    """
    fan_in = linear.in_features
    with torch.no_grad():
        _uniform_(linear.weight, 1.0 / fan_in, generator)
        if linear.bias is not None:
            _uniform_(linear.bias, 1.0 / math.sqrt(fan_in), generator)
    return linear


def siren_hidden_(linear: nn.Linear, *, omega0: float = 30.0,
                  generator: torch.Generator | None = None) -> nn.Linear:
    """SIREN's hidden layers: ``W ~ U(-sqrt(6/fan_in)/omega0, sqrt(6/fan_in)/omega0)``.

    With ``sin(omega0 z)`` this keeps pre-activations ~ arcsine-distributed at every depth.
    """
    omega0 = _checks.positive_float("omega0", omega0)
    fan_in = linear.in_features
    with torch.no_grad():
        _uniform_(linear.weight, math.sqrt(6.0 / fan_in) / omega0, generator)
        if linear.bias is not None:
            _uniform_(linear.bias, 1.0 / math.sqrt(fan_in), generator)
    return linear


def uniform_bias_(linear: nn.Linear, bound: float, *,
                  generator: torch.Generator | None = None) -> nn.Linear:
    """Fill only the bias with ``U(-bound, bound)`` (FINER's first-layer bias, Liu et al. 2024)."""
    bound = _checks.positive_float("bound", bound)
    with torch.no_grad():
        _uniform_(linear.bias, bound, generator)
    return linear


# --------------------------------------------------------------------------- REI


class REIVariant(str, Enum):
    """Variants of the Rank-Expanding Initialization; see :func:`rank_expanding_`."""

    KINK = "kink"


def _sphere(n: int, d: int, generator: torch.Generator | None) -> torch.Tensor:
    """``n`` directions uniform on the unit sphere ``S^{d-1}``: ``(n, d)``."""
    u = torch.randn(n, d, generator=generator, dtype=torch.float64)
    return u / u.norm(dim=1, keepdim=True).clamp_min(1e-12)


def _kink_points(n: int, d: int, coords: torch.Tensor | None, domain: tuple[float, float],
                 generator: torch.Generator | None) -> torch.Tensor:
    """``n`` points where the kinks will pass: rows of ``coords`` or uniform in the box."""
    if coords is not None:
        idx = torch.randint(0, coords.shape[0], (n,), generator=generator)
        return coords[idx].to(torch.float64)
    lo, hi = domain
    return lo + (hi - lo) * torch.rand(n, d, generator=generator, dtype=torch.float64)


def _rei_kink(linear: nn.Linear, coords: torch.Tensor | None, *, domain: tuple[float, float],
              generator: torch.Generator | None, scale: float = 1.0) -> None:
    """Kink placement: ``w_i = scale * u_i``, ``b_i = -w_i . p_i`` with ``p_i`` in the domain."""
    n, d = linear.out_features, linear.in_features
    u = _sphere(n, d, generator)                                 # (D, d)
    p = _kink_points(n, d, coords, domain, generator)            # (D, d)
    w = _checks.positive_float("scale", scale) * u
    linear.weight.copy_(w.to(linear.weight.dtype))
    linear.bias.copy_((-(w * p).sum(dim=1)).to(linear.bias.dtype))


_REI_VARIANTS: dict[REIVariant, Callable[..., None]] = {
    REIVariant.KINK: _rei_kink,
}


def rei_variants() -> list[str]:
    """Names of the available REI variants."""
    return [v.value for v in _REI_VARIANTS]


def rank_expanding_(linear: nn.Linear, coords: torch.Tensor | None = None, *,
                    domain: tuple[float, float] = (-1.0, 1.0), variant: str = "kink",
                    generator: torch.Generator | None = None, **options: float) -> nn.Linear:
    """Rank-Expanding Initialization of a first ReLU layer (Zheng, Saratchandran, Lucey 2026).

    With PyTorch's default init many first-layer ReLU kinks (the hyperplanes ``w . x + b = 0``)
    miss the data domain; such neurons are affine on the data and add nothing beyond
    ``span{x, 1}`` (the inlet rank collapse). The ``"kink"`` variant points every neuron in a
    direction ``u_i`` uniform on the sphere and puts its kink through a point ``p_i`` of the
    domain (uniform in the box, or a random row of ``coords``): ``w_i = scale * u_i``,
    ``b_i = -w_i . p_i``. On a generic grid the exact rank of ``[ReLU(X W^T + b), 1]`` is then
    ``min(width + 1, N)``. No parameters or compute are added.

    Args:
        linear: the first layer, weight ``(D, d)``; needs a bias.
        coords: optional data coordinates ``(N, d)``; kinks are placed through its rows.
        domain: ``(lo, hi)`` bounds of the box ``[lo, hi]^d`` when ``coords`` is None.
        variant: one of :func:`rei_variants`.
        generator: the source of every random draw.
        **options: variant options (``"kink"``: ``scale``, the slope ``|w_i|``, default 1).

    Returns:
        ``linear``, filled in place.

    Examples:
        >>> g = torch.Generator().manual_seed(0)
        >>> lin = rank_expanding_(nn.Linear(2, 8), generator=g)
        >>> torch.allclose(lin.weight.norm(dim=1), torch.ones(8))
        True
    """
    if not isinstance(linear, nn.Linear) or linear.bias is None:
        raise TypeError(f"rank_expanding_ needs an nn.Linear with a bias, got {type(linear).__name__}")
    try:
        kind = REIVariant(variant)
    except ValueError:
        raise ValueError(f"unknown REI variant {variant!r}; choose one of: {', '.join(rei_variants())}") from None
    if coords is not None:
        _checks.tensor_2d("coords", coords, cols=linear.in_features)
    lo, hi = float(domain[0]), float(domain[1])
    if not hi > lo:
        raise ValueError(f"domain must be (lo, hi) with hi > lo, got {domain!r}")
    with torch.no_grad():
        _REI_VARIANTS[kind](linear, coords, domain=(lo, hi), generator=generator, **options)
    return linear
