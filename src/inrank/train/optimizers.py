"""The optimisers of a fit: Adam, Muon on the hidden dense weights with Adam on the rest, or any
``torch.optim.Optimizer`` a user brings through a factory.

Muon (Jordan et al. 2024) replaces a weight matrix's update by its orthogonalised momentum (a
few Newton-Schulz iterations towards ``U V^T``): every singular direction moves at the same rate,
so the update has full rank. McGinnis et al. ("Optimizing Rank for High-Fidelity Implicit Neural
Representations", 2025) show that this keeps the hidden features' rank of coordinate MLPs where
Adam lets it collapse. The split follows them and PyTorch's advice: Muon on the 2-D weights of
every dense layer but the first and the last (:func:`hidden_weight_names`), Adam on the first and
last layers, the biases and everything else.

Parameter groups: a model's learned encoding (a feature grid's or hash grid's tables, named
``encoding.*``) trains at ``lr * config.encoding_lr_scale`` (:func:`lr_scales`), in Adam's part
with either optimiser (a table is no hidden dense weight); the other tensors at ``lr``.

:class:`Muon` is ``torch.optim.Muon``'s update (tested bit for bit against it) with two things
that class lacks: stacked weights ``(B, out, in)`` (:func:`inrank.fit_many`: each slice gets
the update a separate fit gives it, by batched products), and the Newton-Schulz iteration in
float32 on CPUs. ``torch.optim.Muon`` always iterates in bfloat16, which costs 20x float32 on a
CPU without bfloat16 units (measured on this project's machines: a 128 x 128 product 3.5 ms vs
0.18 ms; one Newton-Schulz at 256 x 256, 359 ms); on CUDA it iterates in bfloat16, as torch.

Both optimisers sit in one :class:`MuonAdam`, whose ``param_groups`` are those of its two parts,
so one learning-rate schedule drives both and one ``state_dict`` holds both states.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from ..errors import InputError, InputTypeError
from ..nn.layers import dense_layers

__all__ = ["OPTIMIZERS", "MUON_DEFAULTS", "OptimizerSpec", "hidden_weight_names",
           "newton_schulz", "Muon", "MuonAdam", "make_optimizer", "optimizer_name",
           "current_lrs", "lr_scales"]

#: ``"adam"``: Adam on every parameter; ``"muon"``: Muon on the hidden dense weights, Adam on
#: the rest.
OPTIMIZERS = ("adam", "muon")

#: Muon's settings in a fit: Nesterov momentum 0.95, 5 Newton-Schulz steps (``torch.optim.Muon``'s
#: defaults), no weight decay (a fit has no held-out loss to regularise for), and the update
#: scaled to Adam's RMS (``match_rms_adamw``: ``0.2 sqrt(max(out, in))``), so a Muon lr reads on
#: Adam's scale.
MUON_DEFAULTS = {"momentum": 0.95, "nesterov": True, "weight_decay": 0.0,
                 "ns_coefficients": (3.4445, -4.775, 2.0315), "eps": 1e-7, "ns_steps": 5,
                 "adjust_lr_fn": "match_rms_adamw"}

#: An optimiser by name (:data:`OPTIMIZERS`) or a factory ``f(params, lr=lr) -> Optimizer``
#: over the list of trainable tensors, e.g. ``torch.optim.AdamW`` itself.
OptimizerSpec = str | Callable[..., torch.optim.Optimizer]


def optimizer_name(spec: OptimizerSpec) -> str:
    """The name a result, record or checkpoint stores for ``spec``: the name itself, or a
    factory's qualified name (``"torch.optim.adamw.AdamW"``).

    Examples:
        >>> optimizer_name("muon"), optimizer_name(torch.optim.SGD)
        ('muon', 'torch.optim.sgd.SGD')
    """
    if isinstance(spec, str):
        if spec not in OPTIMIZERS:
            raise InputError(f"optimizer must be one of {', '.join(OPTIMIZERS)} or a factory "
                             f"f(params, lr=lr) -> torch.optim.Optimizer; got {spec!r}")
        return spec
    if callable(spec):
        return f"{getattr(spec, '__module__', '?')}.{getattr(spec, '__qualname__', repr(spec))}"
    raise InputTypeError(f"optimizer must be a name ({', '.join(OPTIMIZERS)}) or a callable "
                         f"factory, got {type(spec).__name__}")


def hidden_weight_names(model: nn.Module, coords: torch.Tensor | None = None) -> list[str]:
    """Names (as in ``model.named_parameters()``) of the weights Muon trains: those of every
    dense layer but the first and the last, in forward order (:func:`inrank.nn.dense_layers`).

    Examples:
        >>> import inrank
        >>> hidden_weight_names(inrank.build("relu", 2, 3, width=8, depth=3))
        ['linears.1.weight', 'linears.2.weight']
    """
    layers = dense_layers(model, coords)  # runs two rows of coords
    return [f"{name}.weight" for name, _ in layers[1:-1]]


def newton_schulz(g: torch.Tensor, *, ns_coefficients: tuple[float, float, float] = (3.4445, -4.775, 2.0315),
                  ns_steps: int = 5, eps: float = 1e-7,
                  dtype: torch.dtype = torch.bfloat16) -> torch.Tensor:
    """The quintic Newton-Schulz iteration of Muon towards the orthogonal factor ``U V^T`` of
    each matrix of ``g``, in ``dtype`` (bfloat16: as ``torch.optim.Muon`` computes it).

    Args:
        g: ``(..., m, n)``: one matrix or a stack of them (each orthogonalised on its own).
        dtype: the iteration's dtype.

    Returns:
        ``(..., m, n)`` in ``dtype``, singular values near 1 (within about 0.5-1.5).

    Examples:
        >>> g = torch.randn(3, 8, 5, generator=torch.Generator().manual_seed(0))
        >>> s = torch.linalg.svdvals(newton_schulz(g).float())
        >>> bool(((s > 0.5) & (s < 1.5)).all())
        True
    """
    a, b, c = ns_coefficients
    shape = g.shape
    x = g.to(dtype).reshape(-1, shape[-2], shape[-1])           # (K, m, n)
    tall = shape[-2] > shape[-1]
    if tall:
        x = x.mT
    x = x / x.norm(dim=(-2, -1), keepdim=True).clamp(min=eps)  # spectral norm <= 1
    for _ in range(ns_steps):
        gram = torch.bmm(x, x.mT)                                # (K, m, m)
        update = torch.baddbmm(gram, gram, gram, beta=b, alpha=c)
        x = torch.baddbmm(x, update, x, beta=a)
    if tall:
        x = x.mT
    return x.reshape(shape)


def _adjusted_lr(lr: float, adjust: str | None, shape: torch.Size) -> float:
    """``torch.optim.Muon``'s lr adjustment on a matrix of ``shape`` (its last two dims)."""
    rows, cols = shape[-2], shape[-1]
    if adjust is None or adjust == "original":
        return lr * math.sqrt(max(1.0, rows / cols))
    if adjust == "match_rms_adamw":
        return lr * 0.2 * math.sqrt(max(rows, cols))
    return lr


def _evaluate(closure) -> torch.Tensor | None:
    """The loss of an optimiser step's ``closure`` (with gradients), or None."""
    if closure is None:
        return None
    with torch.enable_grad():
        return closure()


class Muon(torch.optim.Optimizer):
    """Muon on weights ``(out, in)`` or stacked weights ``(B, out, in)``: each matrix gets the
    update ``torch.optim.Muon`` gives it alone (momentum, Nesterov, Newton-Schulz, decoupled
    weight decay, lr adjustment), all B at once with batched products (:func:`newton_schulz`).

    Args:
        params: tensors ``(out, in)`` or ``(B, out, in)``.
        lr, weight_decay, momentum, nesterov, ns_coefficients, eps, ns_steps, adjust_lr_fn: as
            ``torch.optim.Muon``.
        ns_dtype: the Newton-Schulz dtype; None: bfloat16 on CUDA (as torch), float32 elsewhere
            (bfloat16 products are 20x slower on CPUs without bfloat16 units).

    Examples:
        >>> w = torch.nn.Parameter(torch.randn(4, 6, 3))       # 4 stacked 6 x 3 weights
        >>> opt = Muon([w], lr=0.02)
        >>> w.grad = torch.randn(4, 6, 3); opt.step()
    """

    def __init__(self, params, lr: float = 1e-3, weight_decay: float = 0.1, momentum: float = 0.95,
                 nesterov: bool = True, ns_coefficients: tuple[float, float, float] = (3.4445, -4.775, 2.0315),
                 eps: float = 1e-7, ns_steps: int = 5, adjust_lr_fn: str | None = None,
                 ns_dtype: torch.dtype | None = None) -> None:
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                        ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps,
                        adjust_lr_fn=adjust_lr_fn, ns_dtype=ns_dtype)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.dim() not in (2, 3):
                    raise InputError(f"Muon trains (out, in) or (B, out, in) weights, got a "
                                     f"parameter of shape {tuple(p.shape)}; give the others "
                                     "to Adam")

    @torch.no_grad()
    def step(self, closure=None):
        loss = _evaluate(closure)
        for group in self.param_groups:
            lr, mom = float(group["lr"]), group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(p.grad)
                buf = state["momentum_buffer"]
                buf.lerp_(p.grad, 1 - mom)
                update = p.grad.lerp(buf, mom) if group["nesterov"] else buf
                dtype = group["ns_dtype"] or (torch.bfloat16 if p.device.type == "cuda"
                                              else torch.float32)
                update = newton_schulz(update, ns_coefficients=group["ns_coefficients"],
                                       ns_steps=group["ns_steps"], eps=group["eps"], dtype=dtype)
                p.mul_(1 - lr * group["weight_decay"])
                p.add_(update.to(p.dtype), alpha=-_adjusted_lr(lr, group["adjust_lr_fn"], p.shape))
        return loss


class MuonAdam(torch.optim.Optimizer):
    """Muon on some tensors, Adam on the others, as one optimiser: ``param_groups`` is the list
    of both parts' groups (Muon's first), so a ``torch.optim.lr_scheduler`` scales both lrs by
    the same factor, and ``state_dict`` holds ``{"muon": ..., "adam": ...}``.

    Args:
        muon_params: the hidden weights, ``(out, in)`` each, or ``(B, out, in)`` stacked.
        adam_params: everything else: tensors, or Adam parameter groups (dicts with
            ``"params"`` and their own ``"lr"``).
        lr: Adam's learning rate.
        muon_lr: Muon's learning rate (on Adam's scale: :data:`MUON_DEFAULTS`).
    """

    def __init__(self, muon_params: Sequence[torch.Tensor], adam_params: Sequence[torch.Tensor],
                 *, lr: float, muon_lr: float) -> None:
        muon_params, adam_params = list(muon_params), list(adam_params)
        if not muon_params:
            raise InputError("MuonAdam got no tensor for Muon; train with Adam instead")
        self.muon = Muon(muon_params, lr=muon_lr, **MUON_DEFAULTS)
        self.adam = torch.optim.Adam(adam_params, lr=lr) if adam_params else None
        flat = [t for g in adam_params for t in (g["params"] if isinstance(g, dict) else [g])]
        super().__init__(muon_params + flat, {})
        self._share_groups()

    @torch.no_grad()
    def step(self, closure=None):
        loss = _evaluate(closure)
        self.muon.step()
        if self.adam is not None:
            self.adam.step()
        return loss

    def state_dict(self) -> dict:
        return {"muon": self.muon.state_dict(),
                "adam": self.adam.state_dict() if self.adam is not None else None}

    def load_state_dict(self, state_dict: dict) -> None:
        if not isinstance(state_dict, dict) or set(state_dict) != {"muon", "adam"}:
            raise InputError("this optimiser state is not a Muon + Adam state (keys muon, adam); "
                             "it belongs to another optimiser")
        self.muon.load_state_dict(state_dict["muon"])
        if self.adam is not None:
            self.adam.load_state_dict(state_dict["adam"])
        self._share_groups()  # loading gives the parts new group dicts: share those

    def _share_groups(self) -> None:
        self.param_groups = list(self.muon.param_groups) + (
            list(self.adam.param_groups) if self.adam is not None else [])


def lr_scales(model: nn.Module) -> dict[str, float]:
    """``{name prefix: factor}``: the parameters whose names start with a prefix train at
    ``lr * factor``. A model whose config sets ``encoding_lr_scale`` (a feature grid's or hash
    grid's tables, :class:`~inrank.nn.mlp.MLPConfig`) gives ``{"encoding.": scale}``; ``{}``
    when every tensor trains at ``lr``.

    Examples:
        >>> import inrank
        >>> lr_scales(inrank.build("hashgrid", 2, 3, width=8, depth=1)), lr_scales(nn.Linear(2, 1))
        ({'encoding.': 10.0}, {})
    """
    scale = getattr(getattr(model, "config", None), "encoding_lr_scale", 1.0)
    return {} if scale == 1.0 else {"encoding.": float(scale)}


def _groups(named: Sequence[tuple[str, torch.Tensor]], lr: float,
            scales: dict[str, float]) -> list[torch.Tensor] | list[dict]:
    """The tensors of ``named`` as they go to Adam: a plain list when nothing is scaled, else
    parameter groups: the unscaled tensors at ``lr`` first, then one group per prefix."""
    pick = lambda n: next((p for p in scales if n.startswith(p)), None)  # noqa: E731
    if not scales or all(pick(n) is None for n, _ in named):
        return [p for _, p in named]
    groups = [{"params": [p for n, p in named if pick(n) is None], "lr": lr}]
    groups += [{"params": [p for n, p in named if pick(n) == prefix], "lr": lr * factor}
               for prefix, factor in scales.items() if any(pick(n) == prefix for n, _ in named)]
    return [g for g in groups if g["params"]]


def make_optimizer(named: Sequence[tuple[str, torch.Tensor]], hidden: Sequence[str], *,
                   optimizer: OptimizerSpec = "adam", lr: float, muon_lr: float | None = None,
                   stacked: bool = False,
                   lr_scales: dict[str, float] | None = None) -> torch.optim.Optimizer:
    """The optimiser of a fit over the trainable tensors ``named``.

    Args:
        named: ``(name, tensor)`` pairs, as ``model.named_parameters()`` (stacked: ``(B, ...)``).
        hidden: the names Muon trains (:func:`hidden_weight_names`).
        optimizer: a name of :data:`OPTIMIZERS` or a factory ``f(params, lr=lr)``.
        lr: Adam's (or the factory's) learning rate.
        muon_lr: Muon's learning rate (None: ``lr``, on Adam's scale by :data:`MUON_DEFAULTS`).
        stacked: the tensors are B models' stacked parameters (a factory is refused then).
        lr_scales: ``{name prefix: factor}`` (:func:`lr_scales`): those tensors train in an
            Adam group of their own at ``lr * factor`` (never Muon's); a factory then gets
            the parameter groups (dicts, as every ``torch.optim`` optimiser takes them).

    Returns:
        ``torch.optim.Adam``, a :class:`MuonAdam`, or what the factory built. Adam's first
        group is the one at ``lr``.

    Examples:
        >>> import inrank
        >>> m = inrank.build("relu", 2, 3, width=8, depth=3)
        >>> opt = make_optimizer(list(m.named_parameters()), hidden_weight_names(m),
        ...                      optimizer="muon", lr=1e-3, muon_lr=0.02)
        >>> [len(g["params"]) for g in opt.param_groups], [g["lr"] for g in opt.param_groups]
        ([2, 6], [0.02, 0.001])
        >>> g = inrank.build("grid", 2, 3, width=8, depth=1)
        >>> opt = make_optimizer(list(g.named_parameters()), [], lr=1e-3, lr_scales={"encoding.": 10})
        >>> [(len(g["params"]), g["lr"]) for g in opt.param_groups]
        [(4, 0.001), (1, 0.01)]
    """
    scales = dict(lr_scales or {})
    if not isinstance(optimizer, str) and stacked:
        raise InputTypeError("a factory optimiser would see B models' stacked tensors; fit each "
                             "model with inrank.fit(..., optimizer=factory)")
    if not isinstance(optimizer, str):
        optimizer_name(optimizer)  # a callable, or a clear TypeError
        opt = optimizer(_groups(named, lr, scales), lr=lr)
        if not isinstance(opt, torch.optim.Optimizer):
            raise InputTypeError(f"the optimizer factory must return a torch.optim.Optimizer, "
                                 f"got {type(opt).__name__}")
        return opt
    if optimizer_name(optimizer) == "adam":
        return torch.optim.Adam(_groups(named, lr, scales), lr=lr)
    hidden = set(hidden)
    muon = [p for n, p in named if n in hidden]
    if not muon:
        raise InputError("optimizer='muon' needs a hidden dense layer (depth >= 2: a weight "
                         "between two hidden layers); this model has none: use optimizer='adam'")
    rest = _groups([(n, p) for n, p in named if n not in hidden], lr, scales)
    return MuonAdam(muon, rest, lr=lr, muon_lr=lr if muon_lr is None else muon_lr)


def current_lrs(opt: torch.optim.Optimizer) -> dict[str, float]:
    """The learning rates ``opt`` steps with now (after its schedule): ``{"lr"}``, Adam's (or
    the factory's first group's); with :class:`MuonAdam` also ``{"muon_lr"}``, Muon's."""
    if isinstance(opt, MuonAdam):
        out = {"muon_lr": float(opt.muon.param_groups[0]["lr"])}
        if opt.adam is not None:
            out = {"lr": float(opt.adam.param_groups[0]["lr"]), **out}
        return out
    return {"lr": float(opt.param_groups[0]["lr"])}
