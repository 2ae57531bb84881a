"""In-place initialisers for ``nn.Linear`` layers, in the style of ``torch.nn.init``: PyTorch's
default, SIREN's and FINER's; the Rank-Expanding Initialization's live in
:mod:`inrank.nn.rei` and are re-exported here.

Every function fills under ``torch.no_grad()``, returns the object it was given and takes
``generator=`` (passed to every random draw), so the same seed gives ``torch.equal`` weights.
Weights are ``(fan_out, fan_in)`` like ``nn.Linear.weight``.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .. import validation as _checks
from ..errors import InputTypeError
from .rei import (REI_GAIN_AT_DEPTH, REI_OPTION_GRIDS, REIVariant, rank_expanding_,
                  rank_expanding_mlp_, rei_gain_at_depth, rei_layers, rei_option_default,
                  rei_variants)

__all__ = [
    "torch_default_",
    "siren_first_",
    "siren_hidden_",
    "uniform_bias_",
    "rank_expanding_",
    "rank_expanding_mlp_",
    "REIVariant",
    "rei_variants",
    "rei_layers",
    "rei_option_default",
    "REI_OPTION_GRIDS",
    "REI_GAIN_AT_DEPTH",
    "rei_gain_at_depth",
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
    """Fill only the bias with ``U(-bound, bound)`` (FINER's first-layer bias, Liu et al. 2024).

    Examples:
        >>> lin = uniform_bias_(nn.Linear(2, 4), 20.0, generator=torch.Generator().manual_seed(0))
        >>> bool(lin.bias.abs().max() <= 20.0)
        True
    """
    bound = _checks.positive_float("bound", bound)
    if not isinstance(linear, nn.Linear) or linear.bias is None:
        raise InputTypeError(f"uniform_bias_ needs an nn.Linear with a bias, got "
                             f"{type(linear).__name__}" + (" without a bias" if isinstance(
                                 linear, nn.Linear) else "") + "; build it with bias=True")
    with torch.no_grad():
        _uniform_(linear.bias, bound, generator)
    return linear
