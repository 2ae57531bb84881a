"""The Rank-Expanding Initialization (Zheng, Saratchandran and Lucey 2026) of a ReLU
coordinate MLP's first layer or first two layers: its variants (:class:`REIVariant`), their
options and grids, the depth rule for the gain, and the in-place initialisers
:func:`rank_expanding_` and :func:`rank_expanding_mlp_` (``torch.nn.init``'s contract: fill
under ``torch.no_grad()``, return the object, ``generator=`` for every draw). Weights are
``(fan_out, fan_in)`` like ``nn.Linear.weight``.
"""
from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable, Sequence
from enum import Enum

import torch
from torch import nn

from .. import validation as _checks
from ..errors import InputError, InputTypeError
from . import _triangle
from .layers import declared_dim, linear_layers

__all__ = ["rank_expanding_", "rank_expanding_mlp_", "REIVariant", "rei_variants", "rei_layers",
           "rei_option_default", "REI_OPTION_GRIDS", "REI_GAIN_AT_DEPTH", "rei_gain_at_depth"]


class REIVariant(str, Enum):
    """Variants of the Rank-Expanding Initialization; see :func:`rank_expanding_mlp_`.

    ``KINK`` sets the first layer only (exact rank); ``ZIGZAG`` and ``TRIANGLE`` set the first
    two layers (numerical rank: a ReLU-built positional encoding); measurements in
    ``benchmarks/archive/results/rei_ablation.md``.
    """

    KINK = "kink"
    ZIGZAG = "zigzag"
    TRIANGLE = "triangle"


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


def _rei_kink(layers: list[nn.Linear], coords: torch.Tensor | None, *,
              domain: tuple[float, float], generator: torch.Generator | None,
              scale: float = 1.0) -> None:
    """Kink placement: ``w_i = scale * u_i``, ``b_i = -w_i . p_i`` with ``p_i`` in the domain."""
    linear = layers[0]
    n, d = linear.out_features, linear.in_features
    u = _sphere(n, d, generator)                                 # (D, d)
    p = _kink_points(n, d, coords, domain, generator)            # (D, d)
    w = _checks.positive_float("scale", scale) * u
    linear.weight.copy_(w.to(linear.weight.dtype))
    linear.bias.copy_((-(w * p).sum(dim=1)).to(linear.bias.dtype))


def _ramps(first: nn.Linear, coords: torch.Tensor | None, domain: tuple[float, float],
           generator: torch.Generator | None, directions: int | None, slope: float,
           octaves: int | None, rotate: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Fill ``first`` with evenly spaced kinks along ``directions`` directions; return ``A (F, D)``
    and ``c (F,)`` such that the triangle features are ``ReLU(first(x)) @ A.T + c``."""
    n, d = first.out_features, first.in_features
    if directions is None:  # 6 measured best at width 256 in 2-D; >= 8 kinks per direction
        directions = 1 if d == 1 else max(1, min(6, n // 8))
    k = _checks.positive_int("directions", directions)
    if n < 3 * k:
        raise InputError(f"directions={k} needs at least 3 kinks each, i.e. width >= {3 * k}; "
                         f"got width {n}: use fewer directions")
    if octaves is not None:
        octaves = _checks.positive_int("octaves", octaves)
    w, b, basis, const = _triangle.ramp_layer(
        n, d, coords, domain, directions=k, slope=_checks.positive_float("slope", slope),
        octaves=octaves, rotate=bool(rotate), generator=generator)
    first.weight.copy_(w.to(first.weight.dtype))
    first.bias.copy_(b.to(first.bias.dtype))
    return basis, const


def _set_layer(linear: nn.Linear, mix: torch.Tensor, basis: torch.Tensor, const: torch.Tensor,
               bias: torch.Tensor) -> None:
    """``W = mix @ basis``, ``b = mix @ const + bias``: layer pre-activations ``mix @ features + bias``."""
    linear.weight.copy_((mix @ basis).to(linear.weight.dtype))
    linear.bias.copy_((mix @ const + bias).to(linear.bias.dtype))


def _rei_zigzag(layers: list[nn.Linear], coords: torch.Tensor | None, *,
                domain: tuple[float, float], generator: torch.Generator | None,
                directions: int | None = None, slope: float = 1.0, octaves: int | None = None,
                rotate: bool = True, gain: float = 1.0) -> None:
    """Layer 2 neuron ``j`` is ``ReLU(+-gain * z_f(x) + beta_j)``: one zig-zag ``z_f`` each
    (``f = j mod F``), random sign, ``beta_j ~ U(-gain/2, gain/2)``."""
    basis, const = _ramps(layers[0], coords, domain, generator, directions, slope, octaves, rotate)
    f, n2 = basis.shape[0], layers[1].out_features
    gain = _checks.positive_float("gain", gain)
    sign = torch.randint(0, 2, (n2,), generator=generator).to(torch.float64) * 2 - 1
    mix = torch.zeros(n2, f, dtype=torch.float64)
    mix[torch.arange(n2), torch.arange(n2) % f] = gain * sign
    bias = gain * (torch.rand(n2, generator=generator, dtype=torch.float64) - 0.5)
    _set_layer(layers[1], mix, basis, const, bias)


def _rei_triangle(layers: list[nn.Linear], coords: torch.Tensor | None, *,
                  domain: tuple[float, float], generator: torch.Generator | None,
                  directions: int | None = None, slope: float = 1.0,
                  octaves: int | None = None, rotate: bool = True, gain: float = 10.0) -> None:
    """Layer 2 is ``ReLU(R z(x) + beta)``: a random mix of all ``F`` zig-zags,
    ``R, beta ~ U(-gain/sqrt(F), gain/sqrt(F))`` (PyTorch's default bound times ``gain``)."""
    basis, const = _ramps(layers[0], coords, domain, generator, directions, slope, octaves, rotate)
    f, n2 = basis.shape[0], layers[1].out_features
    bound = _checks.positive_float("gain", gain) / math.sqrt(f)
    mix = (2 * torch.rand(n2, f, generator=generator, dtype=torch.float64) - 1) * bound
    bias = (2 * torch.rand(n2, generator=generator, dtype=torch.float64) - 1) * bound
    _set_layer(layers[1], mix, basis, const, bias)


_REI_VARIANTS: dict[REIVariant, tuple[int, Callable[..., None]]] = {
    REIVariant.KINK: (1, _rei_kink),
    REIVariant.ZIGZAG: (2, _rei_zigzag),
    REIVariant.TRIANGLE: (2, _rei_triangle),
}


def rei_variants() -> list[str]:
    """Names of the available REI variants."""
    return [v.value for v in _REI_VARIANTS]


def _variant(variant: str) -> REIVariant:
    try:
        return REIVariant(variant)
    except ValueError:
        raise InputError(f"unknown REI variant {variant!r}; choose one of: {', '.join(rei_variants())}") from None


#: Candidate values of REI's options, where a knob grid or a design search needs them: the
#: relu+rei and relu+rei-kink presets' knob grids (gain, scale), ``inrank advise --knob
#: rei_options.NAME`` and target-aware REI's default designs.
REI_OPTION_GRIDS = {"gain": (1.0, 3.0, 10.0, 30.0), "scale": (0.3, 1.0, 3.0, 10.0),
                    "directions": (3, 6, 9), "slope": (0.5, 1.0, 2.0)}


def rei_option_default(variant: str, name: str):
    """The default of option ``name`` of REI ``variant`` (e.g. ``gain`` of ``triangle``: 10).

    Examples:
        >>> rei_option_default("triangle", "gain"), rei_option_default("kink", "scale")
        (10.0, 1.0)
    """
    params = inspect.signature(_REI_VARIANTS[_variant(variant)][1]).parameters
    if name not in params or params[name].default is inspect.Parameter.empty:
        options = [k for k, v in params.items() if v.kind is v.KEYWORD_ONLY
                   and v.default is not inspect.Parameter.empty and k not in ("domain", "generator")]
        raise InputError(f"REI variant {variant!r} has no option {name!r}; its options: "
                         f"{', '.join(options)}")
    return params[name].default


#: REI's gain (the ``"triangle"`` variant's ``gain``) at the depths where its default (10, chosen
#: at depth 3) does not hold: ``{depth: gain}``. At depth 2 layer 2, REI's encoding layer, feeds
#: the output layer directly, and the gain that protects the zig-zags from the next hidden
#: layer's drift only inflates what the output layer reads: relu+rei at gain 10 trailed plain
#: relu at depth 2 (-2.1 dB fit at width 256, -6.4 at 512). Chosen on the calibration images
#: (coffee, chelsea; 32 px, 500 steps, widths 64-512) by ``benchmarks/training/width_depth.py``
#: among gains 1 / 3 / 10, by mean fit PSNR: Adam 24.96 / 24.54 / 20.38 dB, Muon 26.79 / 26.53
#: / 23.82 dB: gain 1 with both optimisers.
REI_GAIN_AT_DEPTH: dict[int, float] = {2: 1.0}


def rei_gain_at_depth(depth: int, tuned: float | None = None) -> float:
    """The ``"triangle"`` gain at ``depth`` hidden layers: :data:`REI_GAIN_AT_DEPTH`'s where it
    has one, else ``tuned`` (a gain chosen at depth 3), else the default 10.

    Examples:
        >>> rei_gain_at_depth(2), rei_gain_at_depth(3), rei_gain_at_depth(3, tuned=3.0)
        (1.0, 10.0, 3.0)
    """
    if depth in REI_GAIN_AT_DEPTH:
        return REI_GAIN_AT_DEPTH[depth]
    return float(rei_option_default("triangle", "gain") if tuned is None else tuned)


def _check_relu_after(model: nn.Module, linears: Sequence[nn.Linear], count: int,
                      coords: torch.Tensor | None, domain: tuple[float, float]) -> None:
    """Refuse a model in which what follows a layer REI writes (the first ``count`` of
    ``linears``) is not a ReLU: on a forward pass over a few points, the next dense layer's
    input must equal ``relu`` of its output."""
    written = list(linears[:count])
    lo, hi = _domain(domain)
    d = written[0].in_features
    if coords is not None:
        probe = coords[:64].detach().to(written[0].weight.dtype)
    else:
        t = torch.linspace(lo, hi, 7, dtype=written[0].weight.dtype)
        probe = torch.stack(torch.meshgrid(*[t] * min(d, 3), indexing="ij"), -1).reshape(-1, min(d, 3))
        if d > 3:
            probe = torch.cat([probe, torch.zeros(probe.shape[0], d - 3, dtype=probe.dtype)], 1)
    after = {id(m): linears[i + 1] for i, m in enumerate(linears[:-1])}
    seen: dict[str, torch.Tensor] = {}
    hooks = []
    for k, lin in enumerate(written):
        nxt = after.get(id(lin))
        if nxt is None:
            continue
        hooks.append(lin.register_forward_hook(lambda m, i, o, k=k: seen.__setitem__(f"out{k}", o)))
        hooks.append(nxt.register_forward_pre_hook(lambda m, i, k=k: seen.__setitem__(f"in{k}", i[0])))
    was = model.training
    try:
        with torch.no_grad():
            model.eval()(probe.to(written[0].weight.device))
    except Exception:  # a model the probe cannot run: nothing to check against
        return
    finally:
        model.train(was)
        for h in hooks:
            h.remove()
    for k in range(len(written)):
        out, inp = seen.get(f"out{k}"), seen.get(f"in{k}")
        if out is None or inp is None:
            continue
        want = torch.relu(out)
        if inp.shape != want.shape or not torch.allclose(inp, want, rtol=1e-4,
                                                          atol=1e-5 * (1 + float(want.abs().max()))):
            raise InputError(f"rank_expanding_mlp_ builds REI from ReLU kinks, but what follows "
                             f"dense layer {k + 1} of this {type(model).__name__} is not a ReLU "
                             "(a sine, tanh, BatchNorm...); use it on a plain ReLU MLP, or pass "
                             "force=True to write the weights anyway")


def rei_layers(variant: str) -> int:
    """How many dense layers, from the first, the REI ``variant`` sets (1 or 2)."""
    return _REI_VARIANTS[_variant(variant)][0]


def _domain(domain: tuple[float, float]) -> tuple[float, float]:
    lo, hi = float(domain[0]), float(domain[1])
    if not hi > lo:
        raise InputError(f"domain must be (lo, hi) with hi > lo, got {domain!r}")
    return lo, hi


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
    ``min(width + 1, N)``. No parameters or compute are added. Variants that also set the
    second layer (``"zigzag"``, ``"triangle"``) go through :func:`rank_expanding_mlp_`.

    What it changes, measured (``benchmarks/results/rei_ranks.md``: 3 x 128, coffee at 48 px,
    N = 3456, at init): the exact rank of ``[H1, 1]`` becomes full (129 of 129; PyTorch's
    default 103), the numerical rank at 1e-3 rises from 59 to 83, but the effective rank only
    from 8.1 to 10.6: the spectrum stays steep, and on ``table1`` the gain over plain ReLU is
    about half a dB (``BENCHMARKS.md``). It pays most where the default init wastes kinks,
    e.g. coordinates in ``[0, 1]`` or pixel units (``benchmarks/rei/coordinate_convention.py``).

    Args:
        linear: the first layer, weight ``(D, d)``; needs a bias.
        coords: optional data coordinates ``(N, d)``; kinks are placed through its rows.
        domain: ``(lo, hi)`` bounds of the box ``[lo, hi]^d`` when ``coords`` is None.
        variant: a one-layer variant of :func:`rei_variants` (``"kink"``).
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
        raise InputTypeError(f"rank_expanding_ needs an nn.Linear with a bias, got {type(linear).__name__}")
    kind = _variant(variant)
    layers, fill = _REI_VARIANTS[kind]
    if layers != 1:
        raise InputError(f"REI variant {variant!r} sets the first {layers} dense layers; call "
                         f"rank_expanding_mlp_(model, variant={variant!r}) on the whole model")
    if coords is not None:
        _checks.tensor_2d("coords", coords, cols=linear.in_features)
    with torch.no_grad():
        fill([linear], coords, domain=_domain(domain), generator=generator, **options)
    return linear


def rank_expanding_mlp_(model: nn.Module, coords: torch.Tensor | None = None, *,
                        variant: str = "triangle", domain: tuple[float, float] = (-1.0, 1.0),
                        layers: Sequence[nn.Linear] | None = None, force: bool = False,
                        generator: torch.Generator | None = None, **options) -> nn.Module:
    """Rank-Expanding Initialization of a ReLU coordinate MLP, possibly over several layers.

    ``"kink"`` fixes the *exact* rank (see :func:`rank_expanding_`) but leaves the spectrum of
    the hidden features as steep as PyTorch's default: on a 64 x 64 grid their effective rank
    stays about 12 of 256, and PSNR stays where plain ReLU is. The two-layer variants fix the
    *numerical* rank by building a positional encoding out of ReLUs at initialisation:

    * layer 1 splits its ``D`` neurons into ``directions`` groups; group ``k`` has a direction
      ``u_k`` (a fan of angles, turned by a random angle when ``rotate``) and kinks evenly spaced
      along ``s = u_k . x`` across the domain with a random phase. Its ramps span every
      piecewise-linear function of ``s`` with those kinks, in particular triangle waves
      (zig-zags) whose vertices sit on every ``P``-th kink, ``P = 2, 4, ...``: a "sine" and a
      "cosine" zig-zag per octave, up to the grid's Nyquist rate for ``D / directions`` kinks
      (Telgarsky 2016; Milkert et al., ICML 2025), plus the linear ``s``;
    * ``"zigzag"``: each layer-2 neuron is one of those ``F`` zig-zags (random sign and bias),
      so layer 2 *is* the encoding and layer 3 (default init) mixes it;
    * ``"triangle"``: layer 2 is ``ReLU(R z(x) + beta)`` with ``R, beta`` drawn as PyTorch
      draws the first layer of a PE network over ``F`` inputs, so layers 1-2 of the ReLU MLP
      compute exactly the first hidden layer of a network on a triangle-wave positional
      encoding. ``gain`` multiplies ``R`` and ``beta``: Adam moves each weight by about ``lr``
      a step, and because ReLU outputs are non-negative those moves add large smooth ramps to
      the layer-2 pre-activations that wipe out the zig-zags; a larger ``gain`` keeps them.

    What ``"triangle"`` changes, measured (``benchmarks/results/rei_ranks.md``: 3 x 128, coffee
    at 48 px, at init): not the inlet: ``[H1, 1]`` keeps a numerical rank (1e-3) of 60 and an
    effective rank of 7.8, like PyTorch's default (59, 8.1). Layer 2 carries it: the effective
    rank of ``[H2, 1]`` is 70.7 (default 9.6; a PE network's first layer 81.2), and 61.8 after
    300 steps. The cost: block 1 of the NTK holds 70% of its trace with a top eigenvalue of
    1.6e6 (default: 0.3% and 35), so the lr stays moderate, and the construction (sums of
    large ramps that cancel) loses PSNR under bf16 autocast. The design (6 ramp directions
    turned by a random angle, ``gain`` 10, lr 3.16e-3 at width 128) was chosen on table1's
    calibration images only (``benchmarks/results/rei_search.md``: fewer, more or axis-aligned
    directions, other gains and slopes, and ``"zigzag"`` do not beat it beyond noise). A
    depth-L ``"triangle"`` MLP computes a depth-(L - 1) network on a triangle-wave encoding;
    on table1's calibration images one more layer recovers about half of its fit-PSNR gap to
    PE at depth 3 (-5.9 -> -3.1 dB), and it trails even PE at depth 2 by 4.3 dB
    (``benchmarks/results/rei_depth_table1.md``).

    Architecture, parameter count and compute per step are those of the plain ReLU MLP; only
    the first ``rei_layers(variant)`` dense layers are written, the rest keep their values.

    Where it applies is checked, not assumed: the activation after each layer it writes must
    be ReLU (checked on a forward pass: a sine, tanh or BatchNorm there is refused, as REI's
    zig-zags are built from ReLU kinks; ``force=True`` writes them anyway), and the
    ``"triangle"`` variant's ``gain`` follows the network's depth where the caller does not set
    it (:data:`REI_GAIN_AT_DEPTH`: gain 1 at depth 2, where layer 2 feeds the output layer).
    To choose the design for a signal at init, see
    :func:`inrank.diagnosis.rei_design.rank_expanding_for_`.

    Args:
        model: a ReLU MLP: :class:`CoordinateMLP` (``activation="relu"``, no encoding, no
            BatchNorm), an ``nn.Sequential`` or any module. Its dense layers are found in the
            order a forward pass calls them (:func:`inrank.nn.dense_layers`, as
            :func:`inrank.diagnose` finds them), or given as ``layers``; at least
            ``rei_layers(variant) + 1`` of them, each with a bias.
        coords: optional data coordinates ``(N, d)``: kinks span their range (or pass through
            their rows for ``"kink"``) instead of the box ``domain^d``.
        variant: one of :func:`rei_variants`.
        domain: ``(lo, hi)`` of the box ``[lo, hi]^d`` when ``coords`` is None.
        layers: the model's dense layers in forward order, when the walk cannot find them.
        force: write REI even where the activation after a written layer is not ReLU.
        generator: the source of every random draw.
        **options: ``"kink"``: ``scale``. ``"zigzag"`` / ``"triangle"``: ``directions``
            (default 6 in 2-D, capped at ``D // 8``; 1 in 1-D), ``slope`` of the layer-1 ramps (1), ``octaves`` (all that fit),
            ``rotate`` (True), ``gain`` (1 for zigzag; for triangle 10, or the depth's
            :data:`REI_GAIN_AT_DEPTH`).

    Returns:
        ``model``, filled in place.

    Examples:
        >>> from inrank.nn.mlp import CoordinateMLP, MLPConfig
        >>> model = CoordinateMLP(MLPConfig(width=64, depth=3))
        >>> g = torch.Generator().manual_seed(0)
        >>> rank_expanding_mlp_(model, variant="triangle", generator=g) is model
        True
        >>> seq = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
        ...                     nn.Linear(64, 3))
        >>> rank_expanding_mlp_(seq, generator=g) is seq
        True
    """
    kind = _variant(variant)
    count, fill = _REI_VARIANTS[kind]
    linears = linear_layers(model, coords, layers)
    if len(linears) < count + 1 or not all(isinstance(m, nn.Linear) and m.bias is not None
                                           for m in linears):
        raise InputError(f"REI variant {variant!r} needs at least {count + 1} nn.Linear layers "
                         f"with biases (depth >= {count}); got {len(linears)} dense layer(s) "
                         f"in {type(model).__name__}" + ("" if all(
                             m.bias is not None for m in linears) else ", some without a bias"))
    cfg = getattr(model, "config", None)
    if cfg is not None and (getattr(cfg, "activation", "relu") != "relu"
                            or getattr(cfg, "encoding", "none") != "none"
                            or getattr(cfg, "batchnorm", "none") != "none"):
        raise InputError("rank_expanding_mlp_ expects a plain ReLU MLP (activation='relu', "
                         f"encoding='none', batchnorm='none'); got activation={cfg.activation!r}, "
                         f"encoding={cfg.encoding!r}, batchnorm={cfg.batchnorm!r}")
    design = sorted({"target", "offgrid", "candidates", "predictor"} & set(options))
    if design:
        raise InputError(f"{', '.join(design)} choose REI's design for a signal: call "
                         "inrank.diagnosis.rei_design.rank_expanding_for_(model, target=signal, "
                         "...)")
    if coords is not None:
        _checks.tensor_2d("coords", coords, cols=linears[0].in_features)
    _warn_fan_in(linears[0], coords, model)
    if not force:
        _check_relu_after(model, linears, count, coords, domain)
    if kind is REIVariant.TRIANGLE and "gain" not in options:
        options["gain"] = rei_gain_at_depth(len(linears) - 1)
    with torch.no_grad():
        fill(linears[:count], coords, domain=_domain(domain), generator=generator, **options)
    return model


def _warn_fan_in(first: nn.Linear, coords: torch.Tensor | None, model: nn.Module) -> None:
    """Warn when REI's first layer does not read the coordinates themselves (an encoding in
    front, or the wrong layer): REI places kinks in coordinate space."""
    d = coords.shape[1] if coords is not None else declared_dim(model, "in_dim")
    if d is None and first.in_features <= 4:
        return  # plausibly the coordinates (d <= 4); nothing to compare with
    if d is None or first.in_features != d:
        warnings.warn(f"REI sets the first dense layer as if it read {d or 'd <= 4'}-D "
                      f"coordinates, but its fan-in is {first.in_features}: an encoding in front "
                      "of it, or not the first layer? Pass layers= or the coordinates",
                      stacklevel=3)
