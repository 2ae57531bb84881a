"""Finding a model's dense layers: :func:`dense_layers`, the ``nn.Linear`` modules in the order
a forward pass calls them. Diagnosis (one NTK block per layer), the optimisers' parameter split
(Muon on the hidden weights) and REI on a user's own model all read this one walk."""
from __future__ import annotations

import torch
from torch import nn

from ..errors import InputError, InputTypeError

__all__ = ["dense_layers", "declared_dim", "linear_layers"]


def declared_dim(model: nn.Module, name: str) -> int | None:
    """``model.NAME`` or ``model.config.NAME`` (``name``: ``"in_dim"`` or ``"out_dim"``) when
    the model declares it, else None (e.g. a plain ``nn.Sequential``).

    Examples:
        >>> import inrank
        >>> declared_dim(inrank.build("relu", 2, 3, width=8), "out_dim"), declared_dim(nn.ReLU(), "in_dim")
        (3, None)
    """
    value = getattr(model, name, None) or getattr(getattr(model, "config", None), name, None)
    return None if value is None else int(value)


def dense_layers(model: nn.Module, coords: torch.Tensor | None = None
                 ) -> list[tuple[str, nn.Linear]]:
    """The ``nn.Linear`` modules of ``model`` in the order a forward pass on ``coords`` calls
    them, with their module names. Layers never called are left out; a layer called more than
    once (shared weights) raises ``ValueError``.

    Args:
        model: any ``nn.Module`` mapping ``(N, d)`` to ``(N, c)``.
        coords: ``(N, d)``; only the first two rows are run (in eval mode). None: two zero rows
            of the model's declared ``in_dim`` (:func:`declared_dim`), else of each registered
            layer's fan-in in turn until a forward pass runs.

    Examples:
        >>> import inrank
        >>> [n for n, _ in dense_layers(inrank.build("relu", 2, 1, width=8, depth=2),
        ...                             torch.zeros(1, 2))]
        ['linears.0', 'linears.1', 'linears.2']
        >>> [n for n, _ in dense_layers(nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1)))]
        ['0', '2']
    """
    names = {mod: name for name, mod in model.named_modules() if isinstance(mod, nn.Linear)}
    if not names:
        raise InputError(f"{type(model).__name__} calls no nn.Linear layer; the layer-wise NTK "
                         "and the optimisers' split need dense layers")
    if coords is None:
        return _walk_without_coords(model, names)
    return _walk(model, names, coords)


def linear_layers(model: nn.Module, coords: torch.Tensor | None = None,
                  layers=None) -> list[nn.Linear]:
    """The dense layers of ``model`` in forward order: ``layers`` when given (checked),
    ``model.linears`` when it has them, else the forward walk of :func:`dense_layers` (on the
    first two rows of ``coords``)."""
    if layers is not None:
        layers = list(layers)
        if not all(isinstance(m, nn.Linear) for m in layers):
            raise InputTypeError("layers must be nn.Linear modules in forward order, got "
                                 f"{[type(m).__name__ for m in layers]}")
        return layers
    if isinstance(getattr(model, "linears", None), nn.ModuleList):
        return list(model.linears)
    if not isinstance(model, nn.Module):
        raise InputTypeError(f"expected an nn.Module, got {type(model).__name__}")
    probe = None if coords is None else coords[:2].to(torch.float32)
    return [lin for _, lin in dense_layers(model, probe)]


def _walk_without_coords(model: nn.Module, names: dict) -> list[tuple[str, nn.Linear]]:
    """The walk on two zero rows of the declared ``in_dim`` columns, or, for a model that does
    not declare it, of each registered layer's fan-in in turn until a forward pass runs."""
    first = next(iter(names))
    declared = declared_dim(model, "in_dim")
    widths = [declared] if declared is not None else list(
        dict.fromkeys(m.in_features for m in names))
    for i, width in enumerate(widths):
        x = torch.zeros(2, width, dtype=first.weight.dtype, device=first.weight.device)
        try:
            return _walk(model, names, x)
        except RuntimeError:
            if i == len(widths) - 1:
                raise InputError(f"cannot run {type(model).__name__} to find its dense layers' "
                                 "order; pass coordinates (coords=) or the layers") from None
    raise AssertionError("unreachable")


def _walk(model: nn.Module, names: dict, coords: torch.Tensor) -> list[tuple[str, nn.Linear]]:
    order: list[nn.Module] = []
    handles = [mod.register_forward_hook(lambda mod, i, o: order.append(mod)) for mod in names]
    was_training = model.training
    try:
        with torch.no_grad():
            model.eval()(coords[:2])
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    if len(set(order)) != len(order):
        twice = sorted({names[m] for m in order if order.count(m) > 1})
        raise InputError(f"dense layer(s) {twice} are called more than once per forward pass; "
                         "the per-layer NTK needs each nn.Linear used once")
    if not order:
        raise InputError("model calls no nn.Linear layer; the layer-wise NTK needs dense layers")
    return [(names[m], m) for m in order]
