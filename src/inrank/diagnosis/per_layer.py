"""Per-layer diagnosis of a coordinate MLP: representation rank and layer-wise NTK spectrum.

For every dense layer ``l`` of a model (any ``nn.Module`` built from ``nn.Linear`` layers):
the rank of the features it hands on, ``H~_l = [H_l, 1]`` (the input of the next dense layer,
with the ones column of its bias), and the rank, spectrum and trace share of its NTK block
``Theta_l = (G_l G_l^T) o (H~_{l-1} H~_{l-1}^T)`` (output-trace kernel, ``(N, N)``), after
Zheng, Saratchandran and Lucey 2026. A collapsed inlet shows as a low rank of ``H~_1`` and of
the second layer's block.

Conventions: numerical ranks count singular values (features) or eigenvalues (kernels) above
``rtol`` times the largest; "exact" ranks use ``size * eps * max`` (float64); effective rank is
Roy and Vetterli's ``exp`` of the entropy of the normalised singular values / eigenvalues.
A block whose factors have ``rank(G_l) * P_l < N`` (first and last layers at moderate N) has
its spectrum from the dual Gram of that size, exact at any N; other blocks from the
``(N, N)`` kernel.

A model on a learned table (a feature grid or a hash grid, :mod:`inrank.nn.grids`) has one more
block, the table's (:func:`~inrank.diagnosis.tables.table_ntk_block`: the Gram of the
interpolation weights times the head's backpropagated factor), reported as
``Diagnosis.encoding_table``; the input features ``[H_0, 1]`` are then the grid's encoded
features.
"""
from __future__ import annotations

import time
from typing import Sequence

import torch
from torch import nn

from . import rank as _rank
from .. import memory, validation
from ..errors import InputError
from .ntk import ntk_block, ntk_factors, select_layers
from .operators import compress_factor
from .result import Diagnosis, LayerDiagnosis
from .scale import DEFAULT_TOL, dual_eigenvalues, solve_block
from .compress import compressed_blocks
from .tables import has_table, table_ntk_block

__all__ = ["LayerDiagnosis", "Diagnosis", "diagnose", "SOLVERS", "DENSE_LIMIT", "DUAL_LIMIT"]

#: How :func:`diagnose` finds an NTK block's spectrum: ``auto``, ``dense``, ``matrix-free``.
SOLVERS = ("auto", "dense", "matrix-free")
#: ``solver="auto"`` eigendecomposes ``(N, N)`` blocks up to this N, goes matrix-free beyond.
DENSE_LIMIT = 4096
#: A block whose factors have ``rank(G) rank(H~)`` up to this is solved exactly by its dual Gram.
DUAL_LIMIT = 4096

_TOP = 5


def _measures(values: torch.Tensor, size: int, rtols: tuple[float, ...]) -> _rank.RankMeasures:
    return _rank.rank_measures(values, size=size, rtols=rtols)


def _dual_eigenvalues(g: torch.Tensor, h: torch.Tensor, chunk: int) -> torch.Tensor:
    """Eigenvalues of the trace block ``(g g^T) o (h h^T)`` from its dual Gram
    (:func:`~inrank.diagnosis.scale.dual_eigenvalues`)."""
    return dual_eigenvalues(g, h, chunk)


def _check_dense_memory(model: nn.Module, n: int, *, total: bool) -> None:
    """Refuse a dense diagnosis of ``n`` points whose ``(N, N)`` float64 kernels cannot fit
    (:func:`inrank.memory.check_dense_ntk`): needed when a block may exceed the dual Gram's
    size (its factors' column product above :data:`DUAL_LIMIT` or at least N) or for the
    whole kernel."""
    shapes = [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, nn.Linear)]
    c = shapes[-1][1] if shapes else 1
    duals = [c * fan_out * (fan_in + 1) for fan_in, fan_out in shapes]  # at most these sizes
    if shapes and (total or any(q > DUAL_LIMIT or q >= n for q in duals)):
        memory.check_dense_ntk(n, kernels=4 + int(total), layers=shapes)


def diagnose(model: nn.Module, coords: torch.Tensor, *, rtols: tuple[float, ...] = (1e-3, 1e-6),
             ntk: bool = True, total: bool = True, layers: Sequence[int | str] | None = None,
             batchnorm: str = "batch", label: str | None = None, chunk: int = 2048,
             solver: str = "auto", top: int = 32, probes: int = 8,
             steps: int = 20, gradients: bool = True, tol: float | None = None) -> Diagnosis:
    """Diagnose ``model`` on ``coords``: per dense layer, the rank of its features and of its
    NTK block (Zheng, Saratchandran and Lucey 2026).

    Args:
        model: any ``nn.Module`` ``(N, d) -> (N, c)`` made of ``nn.Linear`` layers (each used
            once per forward); not modified.
        coords: ``(N, d)`` points, e.g. a signal's ``coords``.
        rtols: relative tolerances of the numerical ranks.
        ntk: also diagnose the NTK blocks (else features only; cheap).
        total: also the whole NTK's spectrum (one ``(N, N)`` eigendecomposition); only
            when ``layers`` is None. With a learned table it includes the table's block.
        layers: dense-layer indices (0-based, negative from the end) or module names whose NTK
            block spectra to compute (default all; an index out of range raises ``ValueError``;
            each hidden block costs an ``(N, N)`` eigendecomposition). Features, gradients
            and trace shares are always reported for every layer.
        batchnorm: ``"batch"`` (this batch's statistics, frozen; forward equals training
            mode) or ``"running"`` (eval mode), see :mod:`inrank.diagnosis.ntk`.
        label: name in tables; default the model's ``preset`` attribute or its class name.
        chunk: rows per chunk.
        solver: how each NTK block's spectrum is found (:data:`SOLVERS`): ``"dense"``, its
            ``(N, N)`` eigendecomposition (or the exact small dual Gram when
            ``rank(G_l) * rank(H~) <=`` :data:`DUAL_LIMIT`); ``"matrix-free"``, Lanczos for
            the ``top`` eigenvalues and deflated stochastic Lanczos quadrature (``probes`` x
            ``steps``) for the effective and numerical ranks, with their standard errors
            (exact ranks are then not measured); ``"auto"``: dense up to N =
            :data:`DENSE_LIMIT`, matrix-free beyond. Each block says which in ``ntk_solver``.
        top, probes, steps: the matrix-free estimate's settings.

    A model whose ``encoding`` is a learned table (``inrank.build("grid" / "hashgrid")``) also
    gets the table's NTK block (``Diagnosis.encoding_table``, dense solver and ``layers=None``
    only: its ``(N, N)`` kernel, :func:`~inrank.diagnosis.tables.table_ntk_block`), and every trace share
    counts it.
        gradients: also the rank measures of each layer's gradient factor ``G_l``.
        tol: matrix-free only: the factors are streamed and compressed so that each block's
            operator is within ``tol`` times its top eigenvalue of the exact block
            (:mod:`inrank.diagnosis.compress`): every exact eigenvalue lies between the
            reported one and it plus ``ntk_bound * ntk_top[0]`` (``ntk_bound <= tol``), the
            effective rank moves by at most the Fannes bound of the trace deficit (about
            0.05% at the default 1e-6, below SLQ's standard error); measured against dense at
            N = 4,056 the top 32 eigenvalues agree to 6e-5 relative
            (``benchmarks/results/ntk_scale.md``). 0 keeps the exact factors; None:
            :data:`~inrank.diagnosis.scale.DEFAULT_TOL`. Refused with the dense solver, which
            does not compress.

    Returns:
        :class:`Diagnosis`.

    Examples:
        >>> import inrank
        >>> d = diagnose(inrank.build("relu", 2, 3, width=8, depth=2), torch.rand(16, 2))
        >>> len(d.layers), d.layers[0].features.exact <= 9
        (3, True)
    """
    t0 = time.perf_counter()
    layers_ntk = layers
    rtols = tuple(float(r) for r in rtols)
    if not rtols or not all(0 < r < 1 for r in rtols):
        raise InputError(f"rtols must be numbers in (0, 1), got {rtols}")
    label = label or getattr(model, "preset", None) or type(model).__name__
    n = coords.shape[0]
    validation.one_of("solver", solver, SOLVERS)
    matrix_free = solver == "matrix-free" or (solver == "auto" and n > DENSE_LIMIT)
    if tol is not None and ntk and not matrix_free:
        raise InputError(f"tol compresses the matrix-free solver's factors; the dense solver "
                         f"(solver={solver!r} at N = {n}) computes the exact blocks: leave tol "
                         "unset or pass solver='matrix-free'")
    tol = DEFAULT_TOL if tol is None else tol
    if ntk and not matrix_free:  # before any factor: the (N, N) kernels must fit
        _check_dense_memory(model, n, total=total and layers_ntk is None)
    if ntk and matrix_free:
        diag = _streamed(model, coords, rtols=rtols, layers_ntk=layers_ntk, batchnorm=batchnorm,
                         label=label, top=top, probes=probes, steps=steps, tol=tol,
                         gradients=gradients)
        diag.wall_seconds = time.perf_counter() - t0
        return diag
    f = ntk_factors(model, coords, layers=None, batchnorm=batchnorm, chunk=chunk,
                    store_dtype=torch.float32 if n > DENSE_LIMIT else torch.float64)

    def feats(H: torch.Tensor) -> _rank.RankMeasures:
        s = _rank.singular_values(H.double())
        return _measures(s, max(H.shape), rtols)

    mods = {name: model.get_submodule(name) for name in f.names}
    layers = []
    for k, name in enumerate(f.names):
        nxt = feats(f.H[k + 1]) if k + 1 < len(f.names) else None
        layers.append(LayerDiagnosis(k + 1, name, mods[name].in_features,
                                     mods[name].out_features, nxt))
    diag = Diagnosis(label, n, rtols, batchnorm, feats(f.H[0]), layers)
    diag.solver = "matrix-free" if matrix_free else "dense"
    keep = set(select_layers(layers_ntk, f.names))
    total = total and layers_ntk is None
    for k, layer in enumerate(layers if gradients else ()):
        Gf = f.G[k].reshape(n, -1).double()  # (N, c D_l)
        layer.gradients = _measures(_rank.gram_eigenvalues(Gf).sqrt(), max(Gf.shape), rtols)
    if ntk:
        traces = [float(((G.reshape(n, -1).double() ** 2).sum(1) * (H.double() ** 2).sum(1)).sum())
                  for G, H in zip(f.G, f.H)]
        whole = table = None
        if has_table(model) and layers_ntk is None:  # the learned table's block
            table = table_ntk_block(model, coords, batchnorm=batchnorm)
            diag.encoding_table = _table_line(model, table, rtols)
            traces.append(float(table.diagonal().sum()))
            share = traces[-1] / sum(traces) if sum(traces) > 0 else 0.0
            diag.encoding_table.ntk_share = share
            whole = table.clone() if total else None
        for k, layer in enumerate(layers):
            G, H = f.G[k], f.H[k]
            layer.ntk_share = traces[k] / sum(traces) if sum(traces) > 0 else 0.0
            if k not in keep:
                continue
            # factors of their exact rank where that is cheap to find (at most 256 columns):
            # the dual Gram's size is their product
            g, h = G.reshape(n, -1).double(), H.double()
            g = compress_factor(g) if g.shape[1] <= 256 else g
            h = compress_factor(h) if h.shape[1] <= 256 else h
            q = g.shape[1] * h.shape[1]
            if q <= DUAL_LIMIT and q < n:
                ev, layer.ntk_solver = _dual_eigenvalues(g, h, chunk), "dual"
            else:
                block = ntk_block(G.double(), H.double(), "trace", chunk=chunk)
                ev, layer.ntk_solver = _rank.kernel_eigenvalues(block), "primal"
                if total:
                    whole = block if whole is None else whole.add_(block)
                del block
            layer.ntk, layer.spectrum = _measures(ev, n, rtols), ev
            layer.ntk_top = [float(v) for v in ev[:_TOP]]
            if total and layer.ntk_solver == "dual":
                block = ntk_block(G.double(), H.double(), "trace", chunk=chunk)
                whole = block if whole is None else whole.add_(block)
        if total and whole is not None:
            ev = _rank.kernel_eigenvalues(whole)
            diag.total, diag.total_top = _measures(ev, n, rtols), [float(v) for v in ev[:_TOP]]
    diag.wall_seconds = time.perf_counter() - t0
    return diag


def _table_line(model: nn.Module, block: torch.Tensor,
                rtols: tuple[float, ...]) -> LayerDiagnosis:
    """The table's line of a :class:`Diagnosis`: its rows and features per row, and the rank
    measures and top eigenvalues of its NTK block ``(N, N)``."""
    rows, feats = model.encoding.table_rows().shape
    ev = _rank.kernel_eigenvalues(block)
    line = LayerDiagnosis(0, "encoding.table", int(rows), int(feats), None)
    line.ntk, line.spectrum = _measures(ev, block.shape[0], rtols), ev
    line.ntk_top, line.ntk_solver = [float(v) for v in ev[:_TOP]], "primal"
    return line


def _streamed(model: nn.Module, coords: torch.Tensor, *, rtols: tuple[float, ...], layers_ntk,
              batchnorm: str, label: str, top: int, probes: int, steps: int, tol: float,
              gradients: bool) -> Diagnosis:
    """The matrix-free diagnosis: factors streamed and compressed (never held whole), the
    features' and gradients' ranks from their Gram eigenvalues, each selected block's spectrum
    by :func:`~inrank.diagnosis.scale.solve_block`."""
    n = coords.shape[0]
    blocks = compressed_blocks(model, coords, tol=tol, batchnorm=batchnorm,
                                  dtype=torch.float32 if n > DENSE_LIMIT else torch.float64)
    names = [b.name for b in blocks]
    keep = set(select_layers(layers_ntk, names))

    def from_gram(sv2: torch.Tensor, cols: int) -> _rank.RankMeasures:
        return _measures(sv2.clamp_min(0).sqrt(), max(n, cols), rtols)

    layers = []
    for k, b in enumerate(blocks):
        mod = model.get_submodule(b.name)
        nxt = from_gram(blocks[k + 1].feat_sv2, blocks[k + 1].full_rank[1]) \
            if k + 1 < len(blocks) else None
        layer = LayerDiagnosis(k + 1, b.name, mod.in_features, mod.out_features, nxt)
        if gradients:
            layer.gradients = from_gram(b.grad_sv2, b.full_rank[0])
        layers.append(layer)
    diag = Diagnosis(label, n, rtols, batchnorm, from_gram(blocks[0].feat_sv2,
                                                           blocks[0].full_rank[1]), layers)
    diag.solver, diag.tol = "matrix-free", tol
    whole = sum(b.trace for b in blocks)
    for k, (b, layer) in enumerate(zip(blocks, layers)):
        layer.ntk_share = b.trace / whole if whole > 0 else 0.0
        if k not in keep:
            continue
        s = solve_block(b, top=min(top, n), rtols=rtols, probes=probes, steps=steps)
        layer.ntk_bound, layer.ntk_solver = s.bound, s.solver
        if s.solver == "dual":
            layer.ntk, layer.spectrum = _measures(s.values, n, rtols), s.values
        else:
            layer.ntk = _rank.RankMeasures(None, s.numerical, s.effective_rank, True,
                                           s.effective_rank_error)
            layer.spectrum = s.top
        layer.ntk_top = [float(v) for v in s.top[:_TOP]]
    return diag
