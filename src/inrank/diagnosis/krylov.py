"""Block Krylov methods for large PSD operators: every product is with a block of vectors
(one BLAS-3 pass over the operator's factors instead of one per vector).

* :func:`block_lanczos`: the top eigenpairs by block Lanczos with full reorthogonalisation
  and Rayleigh-Ritz, stopped on the Ritz pairs' a posteriori error estimate.
* :func:`block_slq`: stochastic Lanczos quadrature with all probes advanced together
  (independent recurrences, one block product per step).

An operator has ``shape (n, n)`` and ``matmul(V (n, k)) -> (n, k)`` (float64).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .. import validation
from .rank import eigh_desc, flush_denormals, one_thread

__all__ = ["block_lanczos", "block_slq", "ONE_THREAD_N"]


#: Below this many points a solver runs on one thread: its products and small factorisations
#: are too small for threads to pay (on a busy machine they cost 10-100x).
ONE_THREAD_N = 8192


def _orth_against(W: torch.Tensor, Q: torch.Tensor | None) -> torch.Tensor:
    """``W`` with the span of ``Q``'s orthonormal columns removed, twice (CGS2)."""
    if Q is None or not Q.shape[1]:
        return W
    for _ in range(2):
        W = W - Q @ (Q.T @ W)
    return W


def block_lanczos(op, k: int, *, tol: float = 1e-8, block: int = 16, max_products: int = 600,
                  seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, int]:
    """The ``k`` largest eigenvalues (descending, float64) and eigenvectors ``(n, k)`` of a
    symmetric PSD operator by block Lanczos.

    Each step multiplies the newest block ``Q_j (n, b)`` once, orthogonalises the result
    against the whole basis (twice) and takes a QR; the Ritz pairs ``(theta_i, Q s_i)`` of
    ``T = Q^T A Q`` have residual norms ``r_i = ||R_j s_i[last block]||`` exactly. Stops when
    each wanted pair's error estimate ``min(r_i, r_i^2 / gap_i)`` is at most
    ``tol * theta_i`` (``gap_i``: the distance to the nearest other Ritz value), when the
    basis spans an invariant subspace, or after ``max_products`` products.

    Args:
        op: the operator.
        k: how many eigenpairs.
        tol: relative accuracy of the eigenvalues.
        block: vectors per product ``b``.
        max_products: the most operator products (columns) to spend.
        seed: seeds the start block.

    Returns:
        ``(values (k,), vectors (n, k), products)``.

    Examples:
        >>> A = torch.diag(torch.arange(1.0, 201.0, dtype=torch.float64))
        >>> class M:
        ...     shape = (200, 200)
        ...     def matmul(self, V): return A @ V
        >>> w, V, _ = block_lanczos(M(), 3, block=4)
        >>> [round(float(x), 6) for x in w]
        [200.0, 199.0, 198.0]
    """
    # a low-rank operator's basis otherwise drives LAPACK through subnormal arithmetic
    with flush_denormals(), one_thread(op.shape[0] < ONE_THREAD_N):
        return _block_lanczos(op, k, tol, block, max_products, seed)


def _block_lanczos(op, k: int, tol: float, block: int, max_products: int,
                   seed: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    n = op.shape[0]
    k = min(validation.positive_int("k", k), n)
    b = min(validation.positive_int("block", block), n)
    if n <= max(64, 3 * (k + b)):  # small: the whole matrix
        A = op.matmul(torch.eye(n, dtype=torch.float64)).cpu()
        w, V = eigh_desc((A + A.T) / 2)
        return w[:k].clamp_min(0), V[:, :k], n
    g = torch.Generator().manual_seed(seed)
    dev = getattr(op, "device", torch.device("cpu"))
    Qj, _ = torch.linalg.qr(torch.randn(n, b, generator=g, dtype=torch.float64).to(dev))
    Q = Qj
    T = torch.zeros(0, 0, dtype=torch.float64)
    products = 0
    while True:
        W = op.matmul(Qj)
        products += Qj.shape[1]
        m, bj = Q.shape[1], Qj.shape[1]
        C = Q.T @ W                                            # (m, b): T's newest columns
        grown = W.new_zeros(m, m)
        grown[:m - bj, :m - bj] = T
        grown[:, m - bj:] = C
        grown[m - bj:, :] = C.T
        T = grown
        W = _orth_against(W, Q)
        Qn, R = torch.linalg.qr(W)
        Qn, _ = torch.linalg.qr(_orth_against(Qn, Q))        # deficient columns: re-orthonormal
        Ts = (T + T.T) / 2
        theta, S = eigh_desc(Ts.cpu())
        S = S.to(Ts.device)
        res = (R @ S[m - bj:, :]).norm(dim=0).cpu()              # (m,)
        kk = min(k, m)
        gaps = torch.stack([(theta[i] - torch.cat([theta[:i], theta[i + 1:]])).abs().min()
                            if m > 1 else theta[i].abs() for i in range(kk)])
        err = torch.minimum(res[:kk], res[:kk] ** 2 / gaps.clamp_min(1e-300))
        scale = float(theta[0].abs()) or 1.0
        done = kk == k and bool((err <= tol * theta[:kk].clamp_min(1e-14 * scale)).all())
        invariant = float(R.norm()) <= 1e-12 * scale
        if done or invariant or products + b > max_products or m + b > n:
            vecs = Q @ S[:, :k]
            return theta[:k].clamp_min(0), vecs, products
        Qj = Qn
        Q = torch.cat([Q, Qj], 1)


def _tridiagonal_nodes(alpha: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    T = np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1)
    theta, U = np.linalg.eigh(T)
    return np.clip(theta, 0, None), U[0] ** 2


def block_slq(op, fs, *, steps: int = 40, probes: int = 8, seed: int = 0,
              deflate: torch.Tensor | None = None) -> list[tuple[float, float]]:
    """``tr f(A)`` for each function in ``fs`` by stochastic Lanczos quadrature, the probes'
    Lanczos recurrences advanced together: each step is one product with a block of
    ``probes`` vectors. Rademacher probes, full reorthogonalisation per probe, Gauss
    quadrature of ``z^T f(A) z``. With ``deflate`` (orthonormal columns ``(n, k)``) the
    estimates are of ``tr f`` on their orthogonal complement.

    Returns:
        Per function, the estimate and its standard error over the probes.
    """
    with one_thread(op.shape[0] < ONE_THREAD_N):
        return _block_slq(op, fs, steps, probes, seed, deflate)


def _block_slq(op, fs, steps: int, probes: int, seed: int,
               deflate: torch.Tensor | None) -> list[tuple[float, float]]:
    n = op.shape[0]
    p = validation.positive_int("probes", probes)
    steps = min(validation.positive_int("steps", steps), n)
    g = torch.Generator().manual_seed(seed)
    dev = getattr(op, "device", torch.device("cpu"))
    Vd = deflate.to(dev, torch.float64) if deflate is not None and deflate.shape[1] else None
    project = (lambda X: X - Vd @ (Vd.T @ X)) if Vd is not None else (lambda X: X)  # noqa: E731
    Z = project((torch.randint(0, 2, (n, p), generator=g).to(torch.float64) * 2 - 1).to(dev))
    znorm2 = (Z * Z).sum(0).cpu()
    Q = torch.zeros(steps, n, p, dtype=torch.float64, device=dev)
    q = Z / Z.norm(dim=0)
    alpha, beta = np.zeros((steps, p)), np.zeros((steps, p))
    length = np.full(p, steps)
    live = np.ones(p, dtype=bool)
    for j in range(steps):
        Q[j] = q
        W = project(op.matmul(project(q)))                       # (n, p)
        alpha[j] = (W * q).sum(0).cpu().numpy()
        for _ in range(2):                                       # full reorthogonalisation
            coef = torch.einsum("jnp,np->jp", Q[:j + 1], W)
            W = W - torch.einsum("jnp,jp->np", Q[:j + 1], coef)
        b = W.norm(dim=0).cpu()
        if j + 1 == steps:
            break
        small = (b < 1e-12 * torch.from_numpy(np.maximum(1.0, np.abs(alpha[j])))).numpy()
        stop = live & small                                      # invariant subspace found
        length[stop] = j + 1
        live &= ~small
        if not live.any():
            break
        beta[j] = np.where(live, b.numpy(), 0.0)
        q = torch.where(torch.from_numpy(live).to(dev), W / b.clamp_min(1e-300).to(dev),
                        torch.zeros_like(W))
    samples: list[list[float]] = [[] for _ in fs]
    for i in range(p):
        m = int(length[i])
        theta, w = _tridiagonal_nodes(alpha[:m, i], beta[:m - 1, i])
        for out, f in zip(samples, fs):
            out.append(float(znorm2[i]) * float(np.sum(w * f(theta))))
    result = []
    for vals in samples:
        mean = sum(vals) / len(vals)
        err = float(np.std(vals, ddof=1) / math.sqrt(len(vals))) if len(vals) > 1 else float("nan")
        result.append((mean, err))
    return result
