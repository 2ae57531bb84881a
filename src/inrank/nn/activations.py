"""Element-wise activations of coordinate MLPs, named by string (see :data:`ACTIVATIONS`).

Each maps a pre-activation ``z`` of any shape to the same shape.
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import InputError

__all__ = ["Sine", "Gauss", "Gabor", "Finer", "make_activation", "ACTIVATIONS"]


class Sine(nn.Module):
    """``sin(omega0 z)`` (SIREN, Sitzmann et al. 2020)."""

    def __init__(self, omega0: float = 30.0) -> None:
        super().__init__()
        self.omega0 = float(omega0)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.omega0 * z)

    def extra_repr(self) -> str:
        return f"omega0={self.omega0}"


class Gauss(nn.Module):
    """``exp(-(s z)^2)`` (Gaussian activation, Ramasinghe and Lucey, ECCV 2022)."""

    def __init__(self, sigma: float = 10.0) -> None:
        super().__init__()
        self.sigma = float(sigma)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.exp(-(self.sigma * z) ** 2)

    def extra_repr(self) -> str:
        return f"sigma={self.sigma}"


class Gabor(nn.Module):
    """Real Gabor wavelet ``cos(omega0 z) exp(-(s z)^2)`` (WIRE, Saragadam et al., CVPR 2023).

    WIRE's main model is complex-valued; this is the real Gabor form the paper also describes,
    used here so every layer stays a real ``nn.Linear`` that the NTK diagnosis can read.
    """

    def __init__(self, omega0: float = 20.0, sigma: float = 10.0) -> None:
        super().__init__()
        self.omega0, self.sigma = float(omega0), float(sigma)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.cos(self.omega0 * z) * torch.exp(-(self.sigma * z) ** 2)

    def extra_repr(self) -> str:
        return f"omega0={self.omega0}, sigma={self.sigma}"


class Finer(nn.Module):
    """``sin(omega0 (|z| + 1) z)`` with the scale ``|z| + 1`` held constant in backprop
    (FINER, Liu et al., CVPR 2024, as in the authors' code's default)."""

    def __init__(self, omega0: float = 30.0) -> None:
        super().__init__()
        self.omega0 = float(omega0)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.omega0 * (z.detach().abs() + 1) * z)

    def extra_repr(self) -> str:
        return f"omega0={self.omega0}"


#: activation names accepted by :class:`inrank.nn.mlp.MLPConfig`.
ACTIVATIONS = ("relu", "sine", "gauss", "gabor", "finer", "tanh")


def make_activation(name: str, *, omega0: float, sigma: float) -> nn.Module:
    """Build the activation module called ``name``."""
    table = {
        "relu": lambda: nn.ReLU(),
        "tanh": lambda: nn.Tanh(),
        "sine": lambda: Sine(omega0),
        "gauss": lambda: Gauss(sigma),
        "gabor": lambda: Gabor(omega0, sigma),
        "finer": lambda: Finer(omega0),
    }
    if name not in table:
        raise InputError(f"unknown activation {name!r}; choose one of: {', '.join(ACTIVATIONS)}")
    return table[name]()
