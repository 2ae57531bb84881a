"""The coordinate MLP: ``(N, d)`` coordinates -> ``(N, c)`` values.

Layout: optional encoding (fixed: positional, Fourier features; learned: a dense feature grid,
a multiresolution hash grid), then ``depth`` hidden dense layers of ``width`` units (each
followed by optional BatchNorm and the activation), then a linear output layer. ``model.linears``
holds the ``depth + 1`` dense layers in order, for diagnosis. ``depth = 0`` is a linear read-out
of the encoding (a grid's "direct output").
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from .. import memory as _memory
from .. import validation as _checks
from . import init as inits
from .activations import ACTIVATIONS, make_activation
from .encodings import FourierFeatures, PositionalEncoding
from .grids import INTERPOLATIONS, DenseGrid, HashGrid
from ..errors import InputError

__all__ = ["MLPConfig", "CoordinateMLP", "ENCODINGS", "LEARNED_ENCODINGS", "BATCHNORM",
           "FIRST_INITS", "HIDDEN_INITS", "DEFAULT_WIDTH", "DEFAULT_DEPTH"]

#: D, the default width of :func:`inrank.build`, :func:`inrank.fit_many` and :class:`MLPConfig`
#: (``inrank fit/demo`` default to the width the registry's lrs were tuned at,
#: :func:`inrank.nn.tuned_state.tuned_network`; at any other width the lrs follow the width rule,
#: :meth:`inrank.Preset.lr_for`).
DEFAULT_WIDTH = 128
#: L, the default number of hidden layers.
DEFAULT_DEPTH = 3

ENCODINGS = ("none", "pe", "rff", "grid", "hashgrid")
#: The encodings with learned tables (their parameters are named ``encoding.*``).
LEARNED_ENCODINGS = ("grid", "hashgrid")
BATCHNORM = ("none", "first", "later", "all")
FIRST_INITS = ("default", "siren", "finer", "rei")
HIDDEN_INITS = ("default", "siren")


@dataclass
class MLPConfig:
    """Everything that defines a coordinate MLP; presets are instances of this."""

    in_dim: int = 2
    """d, the coordinate dimension."""
    out_dim: int = 3
    """c, the number of output channels."""
    width: int = DEFAULT_WIDTH
    """D, units per hidden layer."""
    depth: int = DEFAULT_DEPTH
    """L, the number of hidden layers (dense + activation); the model has L + 1 dense layers
    (0: a linear read-out of the encoding, e.g. a grid's direct output)."""
    activation: str = "relu"
    """One of ``relu``, ``sine``, ``gauss``, ``gabor``, ``finer``, ``tanh``."""
    omega0: float = 30.0
    """Frequency factor of the first layer's periodic activation (sine, gabor, finer)."""
    hidden_omega0: float = 30.0
    """Frequency factor of the hidden layers' periodic activation."""
    sigma: float = 10.0
    """Scale s of the Gaussian envelope (gauss, gabor): exp(-(s z)^2)."""
    encoding: str = "none"
    """Input encoding: ``none``, ``pe`` (NeRF positional encoding), ``rff`` (Fourier features),
    ``grid`` (a dense feature grid), ``hashgrid`` (Instant-NGP's multiresolution hash grid)."""
    pe_octaves: int = 10
    """L_pe, frequencies of the positional encoding (pi 2^k, k < L_pe)."""
    pe_include_input: bool = True
    """Keep x itself in the positional encoding."""
    rff_features: int = 256
    """m, Gaussian Fourier features (2 m encoded columns)."""
    rff_sigma: float = 10.0
    """Scale of the Gaussian frequencies, for [0, 1] coordinates as in Tancik et al."""
    grid_resolution: int = 64
    """R, the dense grid's nodes per axis (``encoding="grid"``; corner nodes at -1 and +1)."""
    grid_features: int = 4
    """F, the dense grid's features per node."""
    grid_interpolation: str = "linear"
    """``linear`` (bi-/trilinear) or ``cubic`` (bicubic, d <= 2)."""
    hash_levels: int = 16
    """L, the hash grid's levels (``encoding="hashgrid"``)."""
    hash_log2_table: int = 12
    """log2 T, the most entries per hash-grid level."""
    hash_features: int = 2
    """F, features per hash-grid entry (out width L F)."""
    hash_base_resolution: int = 16
    """N_min, the coarsest level's resolution."""
    hash_growth: float = 1.26
    """b, the per-level scale: level l has floor(N_min b^l) cells per axis (1.26 with 16 levels
    reaches 512, Instant-NGP's b for N_max = 512)."""
    encoding_lr_scale: float = 1.0
    """The learned encoding's tables train at lr times this (Adam; ``encoding.*`` parameters)."""
    batchnorm: str = "none"
    """BatchNorm1d before the activation: ``none``, ``first`` (layer 1), ``later`` (2..L), ``all``."""
    first_init: str = "default"
    """First layer's init: ``default`` (PyTorch), ``siren``, ``finer``, ``rei``."""
    hidden_init: str = "default"
    """Hidden and output layers' init: ``default`` (PyTorch) or ``siren``."""
    first_bias_scale: float = 20.0
    """k of FINER's first-layer bias U(-k, k) (``first_init="finer"``)."""
    rei_variant: str = "kink"
    """REI variant (``first_init="rei"``), see :func:`inrank.nn.init.rei_variants`."""
    rei_options: dict = field(default_factory=dict)
    """Keyword options of the REI variant."""

    def validate(self) -> "MLPConfig":
        """Check every field; return self. Raises ``ValueError`` naming the field."""
        for name in ("in_dim", "out_dim", "width", "rff_features", "grid_resolution",
                     "grid_features", "hash_levels", "hash_log2_table", "hash_features",
                     "hash_base_resolution"):
            setattr(self, name, _checks.positive_int(name, getattr(self, name)))
        for name in ("depth", "pe_octaves"):
            setattr(self, name, _checks.non_negative_int(name, getattr(self, name)))
        for name in ("omega0", "hidden_omega0", "sigma", "rff_sigma", "first_bias_scale",
                     "hash_growth", "encoding_lr_scale"):
            setattr(self, name, _checks.positive_float(name, getattr(self, name)))
        _checks.one_of("grid_interpolation", self.grid_interpolation, INTERPOLATIONS)
        _checks.one_of("activation", self.activation, ACTIVATIONS)
        _checks.one_of("encoding", self.encoding, ENCODINGS)
        _checks.one_of("batchnorm", self.batchnorm, BATCHNORM)
        _checks.one_of("first_init", self.first_init, FIRST_INITS)
        _checks.one_of("hidden_init", self.hidden_init, HIDDEN_INITS)
        _checks.one_of("rei_variant", self.rei_variant, tuple(inits.rei_variants()))
        if self.depth == 0 and self.batchnorm != "none":
            raise InputError(f"batchnorm={self.batchnorm!r} needs a hidden layer, got depth=0; "
                             "use depth >= 1 or batchnorm='none'")
        if self.depth == 0 and self.first_init == "rei":
            raise InputError("first_init='rei' shapes a hidden layer, got depth=0 (a linear "
                             "read-out); use depth >= 1 or first_init='default'")
        if self.depth == 0 and self.encoding == "none":
            raise InputError("depth=0 is a linear read-out of an encoding; without one "
                             "(encoding='none') it is a linear function of the coordinates: "
                             "use depth >= 1")
        return self

    def to_dict(self) -> dict:
        """A JSON-ready copy."""
        return asdict(self)

    def used_fields(self) -> set[str]:
        """The fields this config's architecture and init read (setting any other one changes
        nothing: :func:`inrank.build` refuses such an override by name).

        Examples:
            >>> sorted(MLPConfig(encoding="pe").used_fields() - MLPConfig().used_fields())
            ['pe_include_input', 'pe_octaves']
        """
        used = {"in_dim", "out_dim", "width", "depth", "activation", "encoding", "batchnorm",
                "first_init", "hidden_init"}
        periodic = self.activation in ("sine", "gabor", "finer")
        if self.encoding == "pe":
            used |= {"pe_octaves", "pe_include_input"}
        if self.encoding == "rff":
            used |= {"rff_features", "rff_sigma"}
        if self.encoding == "grid":
            used |= {"grid_resolution", "grid_features", "grid_interpolation"}
        if self.encoding == "hashgrid":
            used |= {"hash_levels", "hash_log2_table", "hash_features", "hash_base_resolution",
                     "hash_growth"}
        if self.encoding in LEARNED_ENCODINGS:
            used.add("encoding_lr_scale")
        if periodic:
            used.add("omega0")
        if (periodic and self.depth > 1) or self.hidden_init == "siren":
            used.add("hidden_omega0")
        if self.activation in ("gauss", "gabor"):
            used.add("sigma")
        if self.first_init == "finer":
            used.add("first_bias_scale")
        if self.first_init == "rei":
            used |= {"rei_variant", "rei_options"}
        return used


#: How each :data:`ENCODINGS` name builds its module from the config (one dispatch dict).
_ENCODERS = {
    "none": lambda cfg, gen: nn.Identity(),
    "pe": lambda cfg, gen: PositionalEncoding(cfg.in_dim, octaves=cfg.pe_octaves,
                                              include_input=cfg.pe_include_input),
    "rff": lambda cfg, gen: FourierFeatures(cfg.in_dim, features=cfg.rff_features,
                                            sigma=cfg.rff_sigma, generator=gen),
    "grid": lambda cfg, gen: DenseGrid(cfg.in_dim, resolution=cfg.grid_resolution,
                                       features=cfg.grid_features,
                                       interpolation=cfg.grid_interpolation, generator=gen),
    "hashgrid": lambda cfg, gen: HashGrid(cfg.in_dim, levels=cfg.hash_levels,
                                          log2_table=cfg.hash_log2_table,
                                          features=cfg.hash_features,
                                          base_resolution=cfg.hash_base_resolution,
                                          growth=cfg.hash_growth, generator=gen),
}


class CoordinateMLP(nn.Module):
    """A coordinate network ``f: [-1, 1]^d -> R^c`` built from an :class:`MLPConfig`.

    Args:
        config: the architecture and its initialisation.
        generator: the source of every random draw (init and Fourier features).

    Shapes: ``forward(coords (N, d)) -> (N, c)``.

    Attributes:
        linears: the ``depth + 1`` dense layers in order (``nn.ModuleList``).
        norms: per hidden layer, ``BatchNorm1d`` or ``Identity``.
        acts: per hidden layer, the activation module.
        encoding: the input encoding (``Identity`` if none); a learned one
            (:data:`LEARNED_ENCODINGS`) holds its table as ``encoding.table``.

    Examples:
        >>> model = CoordinateMLP(MLPConfig(in_dim=2, out_dim=3, width=16, depth=2))
        >>> model(torch.zeros(5, 2)).shape, len(model.linears)
        (torch.Size([5, 3]), 3)
    """

    def __init__(self, config: MLPConfig, *, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.config = cfg = config.validate()
        if generator is None:
            generator = torch.Generator().manual_seed(0)
        self.encoding: nn.Module = _ENCODERS[cfg.encoding](cfg, generator)
        enc_dim = getattr(self.encoding, "out_dim", cfg.in_dim)
        _memory.check_model(enc_dim, cfg.width, cfg.depth, cfg.out_dim)  # before allocating
        dims = [enc_dim] + [cfg.width] * cfg.depth + [cfg.out_dim]
        with torch.random.fork_rng(devices=[]):  # nn.Linear's own init must not touch global RNG
            self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        bn_layers = {"none": (), "first": (0,), "later": range(1, cfg.depth),
                     "all": range(cfg.depth)}[cfg.batchnorm]
        self.norms = nn.ModuleList(
            nn.BatchNorm1d(cfg.width) if i in bn_layers else nn.Identity() for i in range(cfg.depth))
        self.acts = nn.ModuleList(
            make_activation(cfg.activation, omega0=cfg.omega0 if i == 0 else cfg.hidden_omega0,
                            sigma=cfg.sigma) for i in range(cfg.depth))
        self.reset_parameters(generator=generator)

    def reset_parameters(self, *, generator: torch.Generator | None = None) -> None:
        """Initialise a learned encoding's table, then every dense layer as the config says,
        drawing from ``generator``."""
        cfg = self.config
        if cfg.encoding in LEARNED_ENCODINGS:
            self.encoding.reset_parameters(generator=generator)
        first, rest = self.linears[0], list(self.linears[1:])
        if cfg.first_init == "siren":
            inits.siren_first_(first, generator=generator)
        elif cfg.first_init == "finer":
            inits.siren_first_(first, generator=generator)
            inits.uniform_bias_(first, cfg.first_bias_scale, generator=generator)
        elif cfg.first_init == "rei" and inits.rei_layers(cfg.rei_variant) == 1:
            inits.rank_expanding_(first, variant=cfg.rei_variant, generator=generator,
                                  **cfg.rei_options)
        else:
            inits.torch_default_(first, generator=generator)
        for lin in rest:
            if cfg.hidden_init == "siren":
                inits.siren_hidden_(lin, omega0=cfg.hidden_omega0, generator=generator)
            else:
                inits.torch_default_(lin, generator=generator)
        if cfg.first_init == "rei" and inits.rei_layers(cfg.rei_variant) > 1:
            inits.rank_expanding_mlp_(self, variant=cfg.rei_variant, generator=generator,
                                      **cfg.rei_options)
        for norm in self.norms:
            if isinstance(norm, nn.BatchNorm1d):
                norm.reset_parameters()

    def reconfigure_(self, config: MLPConfig, *,
                     generator: torch.Generator | None = None) -> "CoordinateMLP":
        """Rebuild this module in place for ``config`` (new layers drawn from ``generator``),
        keeping its identity and the attributes :func:`inrank.build` set (``preset``,
        ``built_for``, ``seed``, ``knobs``): how a knob chosen for a signal (``auto``) reaches a
        model that is already built. Returns the module."""
        keep = {k: v for k, v in self.__dict__.items()
                if k in ("preset", "built_for", "seed", "knobs")}
        self.__init__(config, generator=generator)
        self.__dict__.update(keep)
        return self

    @property
    def in_dim(self) -> int:
        """d, the coordinate dimension the model expects."""
        return self.config.in_dim

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        if coords.shape[-1] != self.config.in_dim:
            raise InputError(f"model expects coordinates (N, {self.config.in_dim}), "
                             f"got shape {tuple(coords.shape)}")
        if self.training and coords.shape[0] < 2 and self.config.batchnorm != "none":
            raise InputError(f"BatchNorm needs at least 2 points per batch in training mode, "
                             f"got coordinates of shape {tuple(coords.shape)}; give more points "
                             "(a larger signal or batch) or call model.eval()")
        h = self.encoding(coords)
        for lin, norm, act in zip(self.linears[:-1], self.norms, self.acts):
            h = act(norm(lin(h)))
        return self.linears[-1](h)

    @torch.no_grad()
    def hidden_features(self, coords: torch.Tensor) -> list[torch.Tensor]:
        """Return ``[H_0, H_1, ..., H_L]``: the encoded input ``(N, d_enc)`` and every hidden
        layer's output ``(N, D)``. Uses the module's current train/eval mode."""
        h = self.encoding(coords)
        out = [h]
        for lin, norm, act in zip(self.linears[:-1], self.norms, self.acts):
            h = act(norm(lin(h)))
            out.append(h)
        return out
