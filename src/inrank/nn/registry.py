"""The one registry of named methods: a name maps to an :class:`MLPConfig`, the learning rate
the method runs at by default and the groups it belongs to.

The CLI's choices, the bench suites, the demo, the README table and the tests all read the
registry through :func:`presets`, :func:`preset` and :func:`build`; lookups return copies.
Adding a method is one :class:`Preset` entry here (or :func:`register_preset` at run time).

Defaults come from each method's paper; where a tuning run has chosen a value on calibration
signals (``inrank tune``), :data:`inrank.nn.tuned_state.TUNED_PATH` holds it, with its grid and reason, and
:func:`preset` applies it: the same value for ``inrank fit`` and ``inrank bench``. Another
file's values (an archived tuning), or none, apply within
:func:`inrank.nn.tuned_state.tuned_values`; the file's format is :mod:`inrank.nn.tuned_file`.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields, replace

import torch

from .. import validation
from ..errors import InputError
from .init import REI_GAIN_AT_DEPTH, REI_OPTION_GRIDS, rei_option_default
from .mlp import DEFAULT_DEPTH, DEFAULT_WIDTH, LEARNED_ENCODINGS, CoordinateMLP, MLPConfig
from .tuned_state import tuned_by_method, tuned_network

__all__ = ["Preset", "presets", "preset", "build", "register_preset", "with_knobs",
           "knob_overrides", "knob_value", "GROUPS", "LR_WIDTH_EXPONENT", "width_lr_scale",
           "REI_GAIN_AT_DEPTH", "rei_gain_for"]

#: Groups of methods that suites and the demo compare (a preset lists the groups it is in).
GROUPS = {
    "demo": "the methods `inrank demo` compares by default",
    "paper": "the methods of the paper-style comparison (`inrank bench table1`)",
    "core": "the methods a comparison runs over several seeds",
    "tasks": "the methods of the generalize, audio and occupancy suites",
    "bn": "the BatchNorm placement study",
    "grids": "the feature-grid methods (a dense grid, a multiresolution hash grid)",
}
@dataclass(frozen=True)
class Preset:
    """A named method."""

    name: str
    """Registry key, e.g. ``"relu+rei"``."""
    summary: str
    """One line: what it is."""
    source: str
    """The paper its defaults follow, and any deviation."""
    config: MLPConfig
    """Architecture and init; ``in_dim``, ``out_dim``, ``width``, ``depth`` are set by :func:`build`."""
    lr: float
    """The Adam learning rate the method runs at by default (tuned when :data:`~inrank.nn.tuned_state.TUNED_PATH`
    says so, else the paper's or PyTorch's default)."""
    groups: tuple[str, ...] = ()
    """Keys of :data:`GROUPS` this method belongs to."""
    tuned: dict = field(default_factory=dict)
    """Where ``lr`` and any config knobs came from: the tuning record (empty: defaults)."""
    knob: str | None = None
    """The method's frequency (or scale) hyperparameter that a tuning run chooses: an
    :class:`MLPConfig` field, or ``"rei_options.NAME"`` for an REI option."""
    knob_grid: tuple[float, ...] = ()
    """The values of ``knob`` a tuning run tries (the default among them)."""
    muon_lr: float | None = None
    """Muon's learning rate with ``optimizer="muon"`` (Adam keeps ``lr`` on the other
    tensors): tuned when :data:`~inrank.nn.tuned_state.TUNED_PATH` holds a ``muon`` entry for the method, else None
    (then ``lr``: Muon's update is scaled to Adam's RMS)."""
    muon_tuned: dict = field(default_factory=dict)
    """Where ``muon_lr`` came from: the Muon tuning record (empty: untuned)."""

    @property
    def default_optimizer(self) -> str:
        """The optimiser this method trains with when none is named (:func:`build`,
        :func:`inrank.fit`, ``inrank fit`` and ``inrank demo``): the one whose tuned setting
        scored the better mean off-grid PSNR on the calibration images (each tuning entry's
        ``offgrid_psnr``), ``"adam"`` until both optimisers are tuned.

        Examples:
            >>> p = Preset("x", "", "", MLPConfig(), 1e-3, tuned={"offgrid_psnr": 25.0},
            ...            muon_tuned={"offgrid_psnr": 26.5})
            >>> p.default_optimizer, Preset("y", "", "", MLPConfig(), 1e-3).default_optimizer
            ('muon', 'adam')
        """
        adam, muon = self.tuned.get("offgrid_psnr"), self.muon_tuned.get("offgrid_psnr")
        if adam is None or muon is None:
            return "adam"
        return "muon" if muon > adam else "adam"

    def optimizer_at(self, depth: int) -> str:
        """:attr:`default_optimizer` where it can train at ``depth`` hidden layers: Adam at
        depth 1, where Muon has no weight between two hidden layers.

        Examples:
            >>> p = Preset("x", "", "", MLPConfig(), 1e-3, tuned={"offgrid_psnr": 25.0},
            ...            muon_tuned={"offgrid_psnr": 26.5})
            >>> p.optimizer_at(3), p.optimizer_at(1)
            ('muon', 'adam')
        """
        return self.default_optimizer if depth >= 2 else "adam"

    def lr_for(self, optimizer: str, *, width: int | None = None) -> dict[str, float | None]:
        """``{"lr", "muon_lr"}`` this method trains at with ``optimizer`` (``"adam"``: no
        ``muon_lr``; ``"muon"``: Adam's ``lr`` and the tuned Muon lr, else ``lr``), at
        ``width`` by :func:`width_lr_scale` (None: the width the values were tuned at). A
        feature grid's lrs are not scaled: the rule was measured on MLPs, whose parameters
        the width sets, and a grid's are nearly all its table's.

        Examples:
            >>> p = Preset("x", "", "", MLPConfig(), 1e-3)
            >>> p.lr_for("adam"), p.lr_for("muon")
            ({'lr': 0.001, 'muon_lr': None}, {'lr': 0.001, 'muon_lr': 0.001})
        """
        _check_optimizer(optimizer)
        learned = self.config.encoding in LEARNED_ENCODINGS
        scale = width_lr_scale(optimizer, None if learned else width)
        lr = float(f"{self.lr * scale['lr']:.6g}")
        if optimizer == "adam":
            return {"lr": lr, "muon_lr": None}
        base = self.lr if self.muon_lr is None else self.muon_lr
        return {"lr": lr, "muon_lr": float(f"{base * scale['muon_lr']:.6g}")}

    def config_at(self, *, width: int, depth: int, optimizer: str = "adam",
                  **overrides) -> MLPConfig:
        """The config this method builds at ``width`` x ``depth`` to train with ``optimizer``:
        :attr:`config` (its knob tuned with Adam), with ``"muon"`` the knob tuned with Muon
        (:attr:`muon_tuned`'s ``config``, when the tuning chose one), then the depth rule for
        REI's gain (:data:`REI_GAIN_AT_DEPTH`, for a method whose tuned knob is that gain),
        then ``overrides`` (:class:`MLPConfig` fields; an ``rei_options`` override replaces
        the preset's options, keeping the depth rule's gain unless it sets one).
        ``in_dim``/``out_dim`` are left as they are.

        Examples:
            >>> p = preset("relu+rei")
            >>> p.config_at(width=64, depth=2).rei_options["gain"]  # the depth rule
            1.0
            >>> p.config_at(width=64, depth=3, rei_options={"gain": 3.0}).rei_options
            {'gain': 3.0}
        """
        _check_optimizer(optimizer)
        cfg = replace(self.config, width=width, depth=depth)
        if optimizer == "muon":
            cfg = with_knobs(cfg, self.muon_tuned.get("config", {}))
        if self.knob == "rei_options.gain" and depth in REI_GAIN_AT_DEPTH:
            gain = {"gain": REI_GAIN_AT_DEPTH[depth]}
            cfg = replace(cfg, rei_options={**cfg.rei_options, **gain})
            if isinstance(overrides.get("rei_options"), dict):
                overrides = {**overrides, "rei_options": {**gain, **overrides["rei_options"]}}
        return replace(cfg, **overrides)


def _check_optimizer(optimizer: str) -> None:
    """Refuse an optimiser the registry holds no values for (tuned values exist per name)."""
    if optimizer not in ("adam", "muon"):
        raise InputError(f"unknown optimizer {optimizer!r}; choose adam or muon")


def _p(name: str, summary: str, source: str, lr: float, *, groups: tuple[str, ...] = (),
       knob: str | None = None, knob_grid: tuple[float, ...] = (), **cfg) -> Preset:
    return Preset(name, summary, source, MLPConfig(**cfg), lr, groups, knob=knob,
                  knob_grid=knob_grid)


#: The integer :class:`MLPConfig` fields (a knob value read back as a float is made an int).
_INT_FIELDS = {f.name for f in fields(MLPConfig) if f.type in ("int", int)}


def knob_overrides(knob: str, value: float) -> dict:
    """:func:`build` overrides that set ``knob`` (a config field or ``rei_options.NAME``).

    Examples:
        >>> knob_overrides("pe_octaves", 6), knob_overrides("rei_options.gain", 3.0)
        ({'pe_octaves': 6}, {'rei_options': {'gain': 3.0}})
    """
    if knob.startswith("rei_options."):
        name = knob.split(".", 1)[1]
        return {"rei_options": {name: int(value) if name in ("directions", "octaves")
                                else value}}
    if knob in _INT_FIELDS:  # e.g. pe_octaves, grid_resolution, hash_levels
        return {knob: int(value)}
    return {knob: value}


def knob_value(p: "Preset") -> float | None:
    """The current value of preset ``p``'s knob (None if it has none)."""
    if p.knob is None:
        return None
    if p.knob.startswith("rei_options."):
        name = p.knob.split(".", 1)[1]

        return p.config.rei_options.get(name, rei_option_default(p.config.rei_variant, name))
    return getattr(p.config, p.knob)


_REGISTRY: dict[str, Preset] = {p.name: p for p in [
    _p("relu", "ReLU MLP, PyTorch default init", "PyTorch nn.Linear default "
       "(kaiming_uniform a=sqrt(5)): W, b ~ U(+-1/sqrt(fan_in))", 1e-3,
       groups=("demo", "paper", "core", "tasks", "bn")),
    _p("relu+rei", "ReLU MLP, first two layers by the Rank-Expanding Initialization",
       "Zheng, Saratchandran, Lucey 2026 (inlet rank collapse); variant 'triangle' "
       "(benchmarks/archive/rei_ablation.py): layers 1-2 start as a triangle-wave positional encoding "
       "built from ReLUs; lr 5e-4 from that ablation", 5e-4, first_init="rei",
       rei_variant="triangle", groups=("demo", "paper", "core", "tasks", "bn"),
       knob="rei_options.gain", knob_grid=REI_OPTION_GRIDS["gain"]),
    _p("relu+rei-kink", "ReLU MLP, first layer by the paper's Rank-Expanding Initialization",
       "Zheng, Saratchandran, Lucey 2026: every first-layer kink crosses the data domain "
       "(variant 'kink': w_i = u_i on the sphere, b_i = -w_i . p_i, p_i in the domain); the "
       "rest PyTorch's default", 1e-3, first_init="rei", rei_variant="kink",
       groups=("paper", "core"), knob="rei_options.scale", knob_grid=REI_OPTION_GRIDS["scale"]),
    _p("pe", "NeRF positional encoding + ReLU MLP",
       "Mildenhall et al., ECCV 2020: gamma(x) = [x, sin(2^k pi x), cos(2^k pi x)], L = 10",
       1e-3, encoding="pe", groups=("demo", "paper", "core", "tasks"), knob="pe_octaves",
       knob_grid=(4, 6, 8, 10)),
    _p("rff", "Gaussian random Fourier features + ReLU MLP",
       "Tancik et al., NeurIPS 2020: m = 256, sigma = 10 on [0, 1] coordinates", 1e-3,
       encoding="rff", groups=("paper", "tasks"), knob="rff_sigma",
       knob_grid=(3.0, 6.0, 10.0, 20.0)),
    _p("siren", "SIREN: sin(omega0 (W x + b)), omega0 = 30",
       "Sitzmann et al., NeurIPS 2020: first W ~ U(+-1/fan_in), hidden W ~ "
       "U(+-sqrt(6/fan_in)/omega0), output layer likewise", 1e-4,
       activation="sine", first_init="siren", hidden_init="siren",
       groups=("demo", "paper", "core", "tasks"), knob="omega0", knob_grid=(10.0, 20.0, 30.0, 60.0)),
    _p("bn", "ReLU MLP with BatchNorm after the first dense layer only",
       "BatchNorm (Ioffe and Szegedy 2015) as the inlet remedy studied by Zheng et al. 2026; "
       "batch statistics in training, running statistics in eval", 1e-3, batchnorm="first",
       groups=("paper", "core", "tasks", "bn")),
    _p("bn-later", "ReLU MLP with BatchNorm after hidden dense layers 2..L (not the first)",
       "Ioffe and Szegedy 2015; the control for 'bn': normalisation away from the inlet", 1e-3,
       batchnorm="later", groups=("bn",)),
    _p("bn-all", "ReLU MLP with BatchNorm after every hidden dense layer",
       "Ioffe and Szegedy 2015; as 'bn' but on all hidden layers", 1e-3, batchnorm="all",
       groups=("paper", "bn")),
    _p("gauss", "Gaussian activation exp(-(s z)^2), s = 10",
       "Ramasinghe and Lucey, ECCV 2022; PyTorch default init", 1e-3, activation="gauss",
       groups=("paper",), knob="sigma", knob_grid=(3.0, 10.0, 30.0)),
    _p("wire", "Real Gabor wavelet activation cos(omega0 z) exp(-(s z)^2), omega0 = 20, s = 10",
       "Saragadam et al., CVPR 2023 (WIRE); deviation: the real Gabor form, not the complex "
       "one, so all layers are real nn.Linear; PyTorch default init", 1e-3,
       activation="gabor", omega0=20.0, hidden_omega0=20.0, groups=("paper",), knob="sigma",
       knob_grid=(3.0, 10.0, 30.0)),
    _p("finer", "FINER: sin(omega0 (|z| + 1) z), omega0 = 30, first bias U(-k, k), k = 20",
       "Liu et al., CVPR 2024: SIREN weight init, larger first-layer bias, scale |z| + 1 "
       "detached as in the authors' code", 5e-4,
       activation="finer", first_init="finer", hidden_init="siren", groups=("paper",),
       knob="omega0", knob_grid=(10.0, 20.0, 30.0, 60.0)),
    _p("grid", "Dense feature grid (64 x 64 x 4, bilinear) read by the ReLU MLP head; depth 0: "
       "direct output", "A single-resolution dense grid, the baseline of Mueller et al. 2022 "
       "(Instant-NGP) and the feature grids of DVGO (Sun et al. 2022): R = 64 nodes per axis, "
       "corners at +-1, F = 4, table init U(+-1e-4); the table trains at 10x the lr (1e-2, "
       "Instant-NGP's), the head (the run's width x depth; depth 0: a linear read-out) at 1e-3",
       1e-3, encoding="grid", grid_resolution=64, grid_features=4, encoding_lr_scale=10.0,
       groups=("grids",), knob="grid_resolution", knob_grid=(16, 32, 64, 128)),
    _p("hashgrid", "Multiresolution hash encoding (16 levels, T = 2^12, F = 2) + ReLU MLP head",
       "Mueller, Evans, Schied and Keller, SIGGRAPH 2022 (Instant-NGP): L = 16, F = 2, "
       "N_min = 16, b = 1.26 (N_max = 512), hash primes 1, 2654435761, 805459861, table init "
       "U(+-1e-4); T = 2^12 (the paper: 2^14-2^24) for a budget of about 1e5 parameters "
       "(95k at d = 2); deviations: PyTorch's Adam (betas 0.9/0.999, eps 1e-8; the paper: "
       "0.9/0.99, 1e-15), tables at 10x the lr (1e-2, the paper's), the head (the run's width "
       "x depth; the paper: 2 x 64) at 1e-3; no fused CUDA kernel", 1e-3, encoding="hashgrid",
       hash_levels=16, hash_log2_table=12, hash_features=2, hash_base_resolution=16,
       hash_growth=1.26, encoding_lr_scale=10.0, groups=("grids",), knob="hash_levels",
       knob_grid=(8, 10, 12, 14, 16)),
]}


#: How the learning rates scale with the width D away from the tuned width D0:
#: ``lr(D) = lr(D0) * (D0 / D) ** exponent``, per optimiser and per lr (Adam's, Muon's).
#: Both exponents were chosen on the calibration images (coffee, chelsea; 32 px, 500 steps,
#: width 256, depth 3) by ``benchmarks/training/width_depth.py``, by the mean fit PSNR of relu
#: and relu+rei over exponents 0 / 0.5 / 1: Adam's lr 24.18 / 24.68 / **26.92** dB; Muon's lr
#: (Adam's part at exponent 1) 32.08 / 32.21 / **32.63** dB (off-grid 23.61 / 23.84 / 24.58):
#: 1 for both (Muon's update is scaled to Adam's RMS, so it widens like Adam). BENCHMARKS.md,
#: "Defaults across width and depth".
LR_WIDTH_EXPONENT = {"adam": {"lr": 1.0}, "muon": {"lr": 1.0, "muon_lr": 1.0}}


def rei_gain_for(depth: int, name: str = "relu+rei", optimizer: str = "adam") -> float:
    """The REI gain preset ``name`` builds with at ``depth`` for ``optimizer``
    (:data:`REI_GAIN_AT_DEPTH`, else its gain tuned with that optimiser, else the default).

    Examples:
        >>> rei_gain_for(3) == knob_value(preset("relu+rei"))
        True
    """
    p = preset(name)
    cfg = p.config_at(width=p.config.width, depth=depth, optimizer=optimizer)
    return float(cfg.rei_options.get("gain", rei_option_default(cfg.rei_variant, "gain")))


def width_lr_scale(optimizer: str, width: int | None) -> dict[str, float]:
    """The factors :data:`LR_WIDTH_EXPONENT` applies to the lrs at ``width`` (1 at the tuned
    width, or when ``width`` is None).

    Examples:
        >>> width_lr_scale("adam", tuned_network()["width"])
        {'lr': 1.0, 'muon_lr': 1.0}
    """
    if width is None:
        return {"lr": 1.0, "muon_lr": 1.0}
    ratio = tuned_network()["width"] / validation.positive_int("width", width)
    exps = LR_WIDTH_EXPONENT[optimizer]
    return {k: ratio ** exps.get(k, 0.0) for k in ("lr", "muon_lr")}


def presets(group: str | None = None) -> list[str]:
    """Names of every registered method in registry order, or of those in ``group``.

    Examples:
        >>> presets()[:3]
        ['relu', 'relu+rei', 'relu+rei-kink']
        >>> presets("demo")
        ['relu', 'relu+rei', 'pe', 'siren']
    """
    if group is None:
        return list(_REGISTRY)
    if group not in GROUPS:
        raise InputError(f"unknown method group {group!r}; choose one of: {', '.join(GROUPS)}")
    return [name for name, p in _REGISTRY.items() if group in p.groups]


def preset(name: str, *, tuned: bool = True) -> Preset:
    """Return a copy of the preset called ``name`` with its tuned values applied (``tuned=False``:
    the paper defaults); an unknown name raises ``ValueError`` listing the names."""
    if name not in _REGISTRY:
        raise InputError(f"unknown method {name!r}; choose one of: {', '.join(_REGISTRY)}")
    p = copy.deepcopy(_REGISTRY[name])
    if not tuned:
        return p
    tuned = tuned_by_method().get(name)
    if not tuned:
        return p
    muon = tuned.get("muon") or {}
    if muon.get("muon_lr") is not None:
        p = replace(p, muon_lr=float(muon["muon_lr"]), muon_tuned=copy.deepcopy(muon))
    config = with_knobs(p.config, tuned.get("config", {}))
    return replace(p, lr=float(tuned.get("lr", p.lr)), config=config, tuned=copy.deepcopy(tuned))


def with_knobs(config: MLPConfig, knobs: dict) -> MLPConfig:
    """``config`` with ``knobs`` (``{knob: value}``, e.g. ``{"rei_options.gain": 10}``)
    set; an REI option merges into the other REI options."""
    for knob, value in knobs.items():
        over = knob_overrides(knob, value)
        if "rei_options" in over:
            over = {"rei_options": {**config.rei_options, **over["rei_options"]}}
        config = replace(config, **over)
    return config


def register_preset(p: Preset) -> None:
    """Add a method to the registry (it then shows up in the CLI, the suites and the docs).

    Raises ``ValueError`` if the name is taken or a group is unknown."""
    if p.name in _REGISTRY:
        raise InputError(f"a method called {p.name!r} exists already")
    unknown = set(p.groups) - set(GROUPS)
    if unknown:
        raise InputError(f"unknown group(s) {sorted(unknown)}; choose from: {', '.join(GROUPS)}")
    _REGISTRY[p.name] = p


_CONFIG_FIELDS = {f.name for f in fields(MLPConfig)}


def build(name: str, in_dim: int, out_dim: int, *, width: int = DEFAULT_WIDTH,
          depth: int = DEFAULT_DEPTH, seed: int = 0, optimizer: str | None = None,
          knobs: dict | None = None, **overrides) -> CoordinateMLP:
    """Build the model of preset ``name``, initialised from ``seed``.

    Args:
        name: a preset from :func:`presets`.
        in_dim: d, the coordinate dimension.
        out_dim: c, the output channels.
        width: D, units per hidden layer.
        depth: L, the number of hidden layers.
        seed: seeds every random draw of the init (global RNG untouched).
        optimizer: the optimiser the model will train with (``"adam"`` or ``"muon"``; None:
            the method's :attr:`Preset.default_optimizer`, Adam at depth 1, where Muon has no
            hidden weight to train): its knob is the one tuned with
            that optimiser (:meth:`Preset.config_at`), and :func:`inrank.fit` trains with it
            unless told otherwise.
        knobs: knob values by name, as ``inrank advise`` names them (``{"pe_octaves": 4}``,
            ``{"rei_options.gain": 3}``): set over the tuned ones, an REI option merged into the
            preset's other REI options.
        **overrides: any :class:`MLPConfig` field the method uses, e.g. ``omega0=3000`` for
            audio (a field the method does not read, e.g. ``omega0`` for ``pe``, is refused).

    Returns:
        A :class:`CoordinateMLP`; ``model.preset`` holds the name, ``model.built_for`` the
        optimiser.

    Examples:
        >>> import inrank
        >>> inrank.build("siren", 2, 3, width=32, depth=2)(torch.zeros(4, 2)).shape
        torch.Size([4, 3])
        >>> inrank.build("pe", 2, 3, knobs={"pe_octaves": 4}).config.pe_octaves
        4
    """
    p = preset(name)
    unknown = set(overrides) - _CONFIG_FIELDS
    if unknown:
        raise InputError(f"unknown option(s) {sorted(unknown)} for build(); valid: "
                         f"{', '.join(sorted(_CONFIG_FIELDS - {'in_dim', 'out_dim', 'width', 'depth'}))}")
    if optimizer is None:
        optimizer = p.optimizer_at(depth)
    cfg = replace(p.config_at(width=width, depth=depth, optimizer=optimizer, **overrides),
                  in_dim=in_dim, out_dim=out_dim)
    if knobs:
        cfg = with_knobs(cfg, _checked_knobs(p, knobs))
    ignored = (set(overrides) | {k.split(".")[0] for k in knobs or {}}) - cfg.used_fields()
    if ignored:
        raise InputError(f"{', '.join(sorted(ignored))} does nothing for {name} (its network "
                         f"does not read it); options {name} reads: "
                         f"{', '.join(sorted(cfg.used_fields() - {'in_dim', 'out_dim', 'width', 'depth'}))}")
    model = CoordinateMLP(cfg, generator=torch.Generator().manual_seed(
        validation.seed("seed", seed)))
    model.preset = name
    model.built_for = optimizer
    model.seed = int(seed)                      # what a rebuild with another knob draws from
    model.knobs = dict(knobs or {})             # the knobs the caller set (auto keeps them)
    return model


def _checked_knobs(p: Preset, knobs: dict) -> dict:
    """``knobs`` checked: each a config field or ``rei_options.NAME``, with a number."""
    if not isinstance(knobs, dict):
        raise InputError(f"knobs must be a dict of knob name to value, got {type(knobs).__name__}")
    for knob, value in knobs.items():
        field_name = str(knob).split(".")[0]
        if field_name not in _CONFIG_FIELDS or ("." in str(knob) and field_name != "rei_options"):
            raise InputError(f"unknown knob {knob!r} for {p.name}; a knob is an MLPConfig field "
                             f"or rei_options.NAME (the method's own: {p.knob or 'none'})")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"knob {knob} needs a number, got {value!r}")
    return knobs
