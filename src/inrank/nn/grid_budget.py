"""Feature grids sized to a parameter budget: the table as large as fits beside a fixed head.

A grid's parameters are nearly all its table (a dense grid's ``R^d F`` nodes, a hash grid's
``sum_l min(T, (N_l + 1)^d) F`` entries), so narrowing the head, which sizes an MLP to a
budget, cannot bring a grid there. :func:`grid_options_for` keeps a small head (``width`` x
``depth``) and grows the table: a dense grid's resolution ``R``; a hash grid's levels ``L`` and
table size ``T`` (a power of two), with the growth that takes its ``L`` levels from
``base_resolution`` to ``finest`` nodes per axis.
"""
from __future__ import annotations

import math

from ..errors import InputError
from .. import validation

__all__ = ["grid_options_for", "head_params", "dense_grid_params", "hash_grid_params"]


def head_params(in_dim: int, out_dim: int, width: int, depth: int) -> int:
    """Parameters of a ReLU head ``in_dim -> width (x depth) -> out_dim`` with biases
    (``depth`` 0: a linear read-out)."""
    if depth == 0:
        return (in_dim + 1) * out_dim
    return (in_dim + 1) * width + (depth - 1) * (width + 1) * width + (width + 1) * out_dim


def dense_grid_params(resolution: int, features: int, in_dim: int) -> int:
    """Table entries x features of a dense grid (:class:`inrank.nn.grids.DenseGrid`)."""
    return resolution ** in_dim * features


def hash_grid_params(levels: int, log2_table: int, features: int, in_dim: int,
                     base_resolution: int, growth: float) -> int:
    """Table rows x features of a hash grid, as :class:`inrank.nn.grids.HashGrid` lays it out
    (a coarse level stores its ``(N_l + 1)^d`` corners directly when they fit in ``T``)."""
    T = 2 ** log2_table
    rows = sum(min(T, (int(math.floor(base_resolution * growth ** level)) + 1) ** in_dim)
               for level in range(levels))
    return rows * features


def grid_options_for(method: str, params: int, *, in_dim: int = 2, out_dim: int = 3,
                     width: int = 32, depth: int = 2, finest: int = 256,
                     base_resolution: int = 16, features: int | None = None) -> dict:
    """:func:`inrank.build` options that give the grid preset ``method`` (``"grid"`` or
    ``"hashgrid"``) the most trainable parameters not above ``params``.

    Args:
        method: ``"grid"`` or ``"hashgrid"``.
        params: the budget (trainable parameters, head included).
        in_dim, out_dim: the signal's d and c.
        width, depth: the head's hidden layers (kept as given).
        finest: a hash grid's finest level, nodes per axis.
        base_resolution: a hash grid's coarsest level.
        features: per node / entry (default: the preset's, 4 for ``grid``, 2 for ``hashgrid``).

    Returns:
        ``{"width", "depth", "grid_resolution", "grid_features"}`` or ``{"width", "depth",
        "hash_levels", "hash_log2_table", "hash_features", "hash_base_resolution",
        "hash_growth"}``; for a hash grid, among each L's largest T within the budget (L from 2
        to 16), the most levels whose total is within 10% of the largest total.

    Raises:
        InputError: an unknown method, or a budget that not even the smallest table fits.

    Examples:
        >>> opts = grid_options_for("grid", 11_000)
        >>> opts["grid_resolution"], dense_grid_params(49, 4, 2) + head_params(4, 3, 32, 2)
        (49, 10919)
    """
    validation.positive_int("params", params)
    if method == "grid":
        f = features or 4
        head = head_params(f, out_dim, width, depth)
        r = int(((params - head) / f) ** (1 / in_dim)) if params > head else 0
        while r > 0 and dense_grid_params(r + 1, f, in_dim) + head <= params:
            r += 1
        while r > 0 and dense_grid_params(r, f, in_dim) + head > params:
            r -= 1
        if r < 2:
            raise InputError(f"a grid with a {width} x {depth} head does not fit in {params} "
                             f"parameters (the head alone has {head})")
        return {"width": width, "depth": depth, "grid_resolution": r, "grid_features": f}
    if method == "hashgrid":
        f = features or 2
        fits = []  # (total, levels, log2_table, growth): each L's largest T within the budget
        for levels in range(2, 17):
            growth = (finest / base_resolution) ** (1 / (levels - 1))
            head = head_params(levels * f, out_dim, width, depth)
            within = [(head + hash_grid_params(levels, t, f, in_dim, base_resolution, growth),
                       levels, t, growth) for t in range(4, 25)]
            within = [c for c in within if c[0] <= params]
            if within:
                fits.append(max(within))
        if not fits:
            raise InputError(f"a hash grid with a {width} x {depth} head does not fit in "
                             f"{params} parameters")
        most = max(c[0] for c in fits)  # then the most levels among those within 10% of it
        _, levels, log2_table, growth = max((c for c in fits if c[0] >= 0.9 * most),
                                            key=lambda c: (c[1], c[0]))
        return {"width": width, "depth": depth, "hash_levels": levels,
                "hash_log2_table": log2_table, "hash_features": f,
                "hash_base_resolution": base_resolution, "hash_growth": round(growth, 6)}
    raise InputError(f"grid_options_for sizes 'grid' or 'hashgrid', got {method!r}")
