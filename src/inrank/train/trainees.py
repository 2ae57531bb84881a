"""What the training loop trains: one model (:class:`OneModel`) or B models of one
architecture with stacked weights (:class:`StackedModels`: batched matrix products for
coordinate MLPs, ``vmap(functional_call)`` for other models). Both give per-model losses ``(B,)`` and predictions ``(B, N, c)``, so one loop serves
:func:`inrank.fit` and :func:`inrank.fit_many`."""
from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from ..signals.signal import Signal
from .evaluate import predict
from .optimizers import hidden_weight_names
from .precision import autocast
from .stacked import stacked_forward

__all__ = ["OneModel", "StackedModels"]


def _criterion(loss: str):
    return F.binary_cross_entropy_with_logits if loss == "bce" else F.mse_loss


class OneModel:
    """One model on one signal, trained in place.

    Args:
        model: maps ``(N, d)`` to ``(N, c)``.
        signal: the target.
        train_idx: indices ``(n,)`` of the training points, or None for all.
        device: where to train.
        loss: ``"mse"`` or ``"bce"``.
        precision: the forward pass's autocast (:data:`~inrank.train.precision.PRECISIONS`);
            the loss is computed in float32.
    """

    size = 1
    stacked_parameters = False
    #: an inverse problem's operator and measurements (:mod:`~inrank.train.measured`); None here
    measurement: dict | None = None

    def __init__(self, model: nn.Module, signal: Signal, train_idx: torch.Tensor | None,
                 device: torch.device, loss: str, precision: str = "float32",
                 compile: bool = False) -> None:
        self.precision = precision
        self.model = model.to(device).train()
        self.forward = torch.compile(self.model) if compile else self.model
        self.device = device
        self.coords, self.values = signal.coords.to(device), signal.values.to(device)
        self.x, self.y = self.coords, self.values
        if train_idx is not None:
            idx = train_idx.to(device)
            self.x, self.y = self.coords[idx], self.values[idx]                  # (n, d), (n, c)
        self.criterion = _criterion(loss)

    def parameters(self) -> list[torch.Tensor]:
        return list(self.model.parameters())

    def named_parameters(self) -> list[tuple[str, torch.Tensor]]:
        """``(name, tensor)`` of every parameter the optimiser trains."""
        return list(self.model.named_parameters())

    def hidden_weight_names(self) -> list[str]:
        """The weights Muon trains (:func:`inrank.train.optimizers.hidden_weight_names`)."""
        return hidden_weight_names(self.model, self.coords[:2])

    def losses(self, idx: torch.Tensor | None) -> torch.Tensor:
        """The loss on the batch ``idx`` (None: every training point), shape ``(1,)``."""
        x, y = (self.x, self.y) if idx is None else (self.x[idx.to(self.device)],
                                                     self.y[idx.to(self.device)])
        with autocast(self.device, self.precision):
            pred = self.forward(x)
        return self.criterion(pred.float(), y).reshape(1)

    def predict(self) -> torch.Tensor:
        """Predictions on every point, eval mode: ``(1, N, c)``."""
        return predict(self.model, self.coords)[None]

    def targets(self, i: int) -> torch.Tensor:
        """Model ``i``'s target values ``(N, c)`` on the device."""
        return self.values

    def module(self, i: int) -> nn.Module:
        """Model ``i`` as a module with its current weights."""
        return self.model

    def snapshot(self, i: int) -> dict:
        return copy.deepcopy(self.model.state_dict())

    def restore(self, i: int, state: dict) -> None:
        self.model.load_state_dict(state)

    def state_dict(self) -> dict:
        return self.model.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state)

    def finish(self) -> None:
        """Nothing to write back: the model trained in place."""


class StackedModels:
    """B models of one architecture on B signals of one shape, with stacked parameters
    (``torch.func.stack_module_state``) and one batched forward (``vmap(functional_call)``).

    Each model's loss is the mean over its own points, and the total is their sum, so each
    model's gradient is exactly its own and Adam (element-wise) follows each model's own
    trajectory: the same arithmetic as separate fits up to the order of float sums.

    Args:
        models: B models without BatchNorm (``vmap`` cannot update running statistics).
        signals: B signals with equal ``(N, d, c)``.
        train_idx: per signal, indices ``(n,)`` of its training points (equal ``n``), or None.
        device, loss, precision: as :class:`OneModel`.
        chunk: points per batched evaluation pass.
    """

    stacked_parameters = True  # parameters are (B, ...): the optimisers treat slices separately
    measurement: dict | None = None  # values are the targets: no operator

    def __init__(self, models: Sequence[nn.Module], signals: Sequence[Signal],
                 train_idx: Sequence[torch.Tensor | None], device: torch.device, loss: str,
                 *, chunk: int = 65536, precision: str = "float32") -> None:
        self.precision = precision

        self.models, self.device, self.chunk = list(models), device, chunk
        self.size = len(self.models)
        for m in self.models:
            m.to(device).train()
        self.params, self.buffers = stack_module_state(self.models)       # each (B, ...)
        fast = stacked_forward(self.models)
        if fast is not None:  # batched matrix products, weights stacked
            self.call = lambda p, b, x: fast({**p, **b}, x)
        else:
            base = copy.deepcopy(self.models[0]).to("meta")
            self.call = vmap(lambda p, b, x: functional_call(base, (p, b), (x,)))
        self.stacked = fast is not None
        self.coords = torch.stack([s.coords for s in signals]).to(device)  # (B, N, d)
        self.values = torch.stack([s.values for s in signals]).to(device)  # (B, N, c)
        pick = lambda t, idx: t if idx is None else t[idx.to(device)]  # noqa: E731
        self.x = torch.stack([pick(c, i) for c, i in zip(self.coords, train_idx)])  # (B, n, d)
        self.y = torch.stack([pick(v, i) for v, i in zip(self.values, train_idx)])  # (B, n, c)
        self.loss = loss

    def parameters(self) -> list[torch.Tensor]:
        return list(self.params.values())

    def named_parameters(self) -> list[tuple[str, torch.Tensor]]:
        """``(name, stacked tensor (B, ...))`` of every parameter the optimiser trains."""
        return list(self.params.items())

    def hidden_weight_names(self) -> list[str]:
        """The weights Muon trains, found on the first model (all share its architecture)."""
        return hidden_weight_names(self.models[0], self.coords[0, :2])

    def losses(self, idx: torch.Tensor | None) -> torch.Tensor:
        """Each model's mean loss on the batch ``idx`` of its own points: ``(B,)``."""
        x, y = (self.x, self.y) if idx is None else (self.x[:, idx.to(self.device)],
                                                     self.y[:, idx.to(self.device)])
        with autocast(self.device, self.precision):
            pred = self.call(self.params, self.buffers, x)                  # (B, n, c)
        pred = pred.float()
        if self.loss == "bce":
            per = F.binary_cross_entropy_with_logits(pred, y, reduction="none")
        else:
            per = (pred - y) ** 2
        return per.mean(dim=(1, 2))

    @torch.no_grad()
    def predict(self) -> torch.Tensor:
        """Predictions on every point: ``(B, N, c)``."""
        n = self.coords.shape[1]
        return torch.cat([self.call(self.params, self.buffers, self.coords[:, i:i + self.chunk])
                          for i in range(0, n, self.chunk)], dim=1)

    def targets(self, i: int) -> torch.Tensor:
        return self.values[i]

    def module(self, i: int) -> nn.Module:
        """Model ``i`` as a module with its current weights (a copy)."""
        m = copy.deepcopy(self.models[i])
        with torch.no_grad():
            for name, p in m.named_parameters():
                p.copy_(self.params[name][i])
        return m

    def snapshot(self, i: int) -> dict:
        return {k: v[i].detach().clone() for k, v in self.params.items()}

    @torch.no_grad()
    def restore(self, i: int, state: dict) -> None:
        for k, v in state.items():
            self.params[k][i].copy_(v)

    def state_dict(self) -> dict:
        return {k: v.detach() for k, v in self.params.items()}

    @torch.no_grad()
    def load_state_dict(self, state: dict) -> None:
        for k, v in state.items():
            self.params[k].copy_(v)

    @torch.no_grad()
    def finish(self) -> None:
        """Write each model's trained parameters back into it."""
        for i, model in enumerate(self.models):
            for name, p in model.named_parameters():
                p.copy_(self.params[name][i])
