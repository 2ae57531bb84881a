"""The NTK as matrix-free linear operators: no ``N x N`` kernel is ever formed.

* :class:`BlockOperator`: one dense layer's block ``Theta_l = (G G^T) o (H~ H~^T)`` from its
  factors (:func:`~inrank.diagnosis.ntk.ntk_factors`). A product is
  ``(Theta_l v)_i = g_i^T (G^T diag(v) H~) h~_i`` (Zheng et al. 2026's factorisation), two matrix
  products of ``O(N c D P)`` work and ``O(c D P)`` extra memory, streamed over chunks of points.
* :class:`SumOperator`: the whole NTK (or any sum of blocks).
* :class:`JacobianOperator`: any differentiable model, any group of its parameters
  (a hash-grid, a convolution, a custom module): ``J_P (J_P^T u)`` by a vector-Jacobian product
  then a Jacobian-vector product (``torch.func``), streamed over chunks of points.

Layout: ``outputs="trace"`` acts on ``R^N`` (vectors ``(N,)`` or blocks ``(N, k)``), the kernel
summed over the c outputs; ``outputs="full"`` on ``R^(N c)`` with index ``i * c + a``, as
:func:`~inrank.diagnosis.ntk.layerwise_ntk` lays out its blocks.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.func import functional_call, jacrev, jvp, vjp, vmap

from .. import validation
from ..errors import InputError
from .ntk import OUTPUTS, frozen_copy, no_tf32, ntk_block, ntk_factors

__all__ = ["BlockOperator", "SumOperator", "JacobianOperator", "block_operators", "compress_factor",
           "row_norms2"]


def row_norms2(A: torch.Tensor, chunk: int = 65536) -> torch.Tensor:
    """``|a_i|^2`` of every row of ``A (N, k)``, float64 ``(N,)``, in chunks of rows (a float64
    copy of a whole-image factor would be gigabytes)."""
    return torch.cat([(A[s:s + chunk].double() ** 2).sum(1) for s in range(0, A.shape[0], chunk)])


def compress_factor(A: torch.Tensor, chunk: int = 65536) -> torch.Tensor:
    """``B (N, r)`` with ``B B^T = A A^T`` for ``A (N, k)``, ``r`` its rank: ``A`` times the
    eigenvectors of ``A^T A`` (accumulated in float64 over chunks of rows) whose eigenvalues
    exceed ``k * eps64`` of the largest (the rows are exact as stored, so the Gram is accurate
    to float64 round-off whatever ``A``'s dtype). The one helper that shrinks a kernel factor
    to its exact rank, used by the dense, dual and matrix-free solvers alike.

    Examples:
        >>> A = torch.randn(50, 2, dtype=torch.float64) @ torch.randn(2, 6, dtype=torch.float64)
        >>> B = compress_factor(A)
        >>> B.shape[1], bool(torch.allclose(B @ B.T, A @ A.T))
        (2, True)
    """
    k = A.shape[1]
    gram = torch.zeros(k, k, dtype=torch.float64, device=A.device)
    for s in range(0, A.shape[0], chunk):
        a = A[s:s + chunk].double()
        gram += a.T @ a
    w, V = torch.linalg.eigh(gram)
    keep = w > w.max().clamp_min(0) * k * torch.finfo(torch.float64).eps
    if int(keep.sum()) == k:
        return A
    V = V[:, keep].to(A.dtype)
    return torch.cat([A[s:s + chunk] @ V for s in range(0, A.shape[0], chunk)])


#: float32 elements of one chunk's intermediate in a block product (128 MiB).
_PRODUCT_ELEMENTS = 1 << 25


def _trace_products(G: torch.Tensor, H: torch.Tensor, V: torch.Tensor, dtype: torch.dtype,
                    one: bool) -> torch.Tensor:
    """``((G G^T) o (H H^T)) V`` for ``G (N, r_g)``, ``H (N, r_h)``, ``V (N, k)`` float64: two
    streamed passes of one large matrix product each, ``M_j = G^T diag(v_j) H`` for every
    ``j`` at once (``(k r_s, N) @ (N, r_b)``, ``r_s`` the smaller rank), then
    ``out_ij = g_i^T M_j h_i`` (``(N, r_b) @ (r_b, k r_s)``); ``4 N r_g r_h k`` flops in the
    factors' dtype, sums over chunks in float64."""
    n, k = V.shape
    V = V.to(G.device)
    swap = G.shape[1] > H.shape[1]
    S, B = (H, G) if swap else (G, H)                     # S: the smaller rank, B: the bigger
    rs, rb = S.shape[1], B.shape[1]
    step = max(256, _PRODUCT_ELEMENTS // max(1, k * max(rs, 1)))
    M = torch.zeros(k * rs, rb, dtype=torch.float64, device=G.device)
    for s in range(0, n, step):
        sv = (S[s:s + step, None, :] * V[s:s + step, :, None].to(dtype)).reshape(-1, k * rs)
        M += (sv.T @ B[s:s + step]).double()             # (k r_s, r_b)
    Mt = M.to(dtype).reshape(k, rs, rb).permute(2, 0, 1).reshape(rb, k * rs)
    out = torch.empty(n, k, dtype=torch.float64, device=G.device)
    for s in range(0, n, step):
        bm = (B[s:s + step] @ Mt).reshape(-1, k, rs)      # (n, k, r_s)
        out[s:s + step] = (bm * S[s:s + step, None, :]).sum(2).double()
    return out[:, 0] if one else out


class BlockOperator:
    """One dense layer's NTK block as a linear operator.

    Args:
        G: ``(N, c, D)`` per-sample output gradients w.r.t. the layer's pre-activation.
        H: ``(N, P)`` the layer's input with its ones column.
        outputs: ``"trace"`` (operator on ``R^N``) or ``"full"`` (on ``R^(N c)``).
        chunk: points per streamed product.
        compress: ``"trace"`` only: replace ``G`` (flattened to ``(N, c D)``) and ``H`` by
            factors of their exact rank when that is smaller (the same kernel, cheaper products).
        name: the layer's module name.
        keep_dense: keep the uncompressed factors for :meth:`dense` (N up to 16384).
    """

    def __init__(self, G: torch.Tensor, H: torch.Tensor, *, outputs: str = "trace",
                 chunk: int = 16384, compress: bool = True, name: str = "",
                 keep_dense: bool = True) -> None:
        self.outputs = validation.one_of("outputs", outputs, OUTPUTS)
        self.n, self.c, _ = G.shape
        self.name, self.chunk = name, validation.positive_int("chunk", chunk)
        self._G3, self._H0, self.H = G, H, H
        self.G = G.reshape(self.n, -1)                                    # (N, c D)
        if outputs == "trace" and compress:
            if self.G.shape[1] > 1:
                g = compress_factor(self.G)
                if g.shape[1] < self.G.shape[1]:
                    self.G = g
            h = compress_factor(self.H)
            if h.shape[1] < self.H.shape[1]:
                self.H = h
        self.dtype, self.device = G.dtype, G.device
        self.shape = (self.n, self.n) if outputs == "trace" else (self.n * self.c,) * 2
        if outputs == "trace" and (self.n > 16384 or not keep_dense):  # one copy at scale
            self._G3 = self._H0 = None

    @classmethod
    def from_factors(cls, G: torch.Tensor, H: torch.Tensor, *, name: str = "",
                     chunk: int = 16384) -> "BlockOperator":
        """An output-trace block ``(G G^T) o (H H^T)`` from 2-D factors ``G (N, r_g)`` and
        ``H (N, r_h)`` as they are (e.g. compressed by
        :func:`~inrank.diagnosis.compress.compressed_blocks`); no dense form is kept."""
        return cls(G[:, None, :], H, outputs="trace", chunk=chunk, compress=False, name=name,
                   keep_dense=False)

    def trace(self) -> float:
        """``tr(Theta_l)`` exactly from the factors: ``sum_i |g_i|^2 |h_i|^2`` (float64)."""
        return float((row_norms2(self.G) * row_norms2(self.H)).sum())

    def diagonal(self) -> torch.Tensor:
        """The kernel's diagonal ``(N,)`` (trace) or ``(N c,)`` (full), float64."""
        h2 = row_norms2(self.H)
        if self.outputs == "trace":
            return row_norms2(self.G) * h2
        return ((self._G3.double() ** 2).sum(2) * (self._H0.double() ** 2).sum(1)[:, None]).reshape(-1)

    @torch.no_grad()
    def matmul(self, V: torch.Tensor) -> torch.Tensor:
        """``Theta_l V`` for ``V`` ``(N,)`` / ``(N, k)`` (trace) or ``(N c,)`` / ``(N c, k)``
        (full); float64 result, products in the factors' dtype with float64 accumulation."""
        one = V.ndim == 1
        V = (V[:, None] if one else V).to(torch.float64)
        k = V.shape[1]
        out = torch.empty_like(V)
        if self.outputs == "trace":
            return _trace_products(self.G, self.H, V, self.dtype, one)
        U = V.reshape(self.n, self.c, k)
        Ms = torch.zeros(k, self._G3.shape[2], self.H.shape[1], dtype=torch.float64,
                         device=self.H.device)
        for s in range(0, self.n, self.chunk):
            g, h = self._G3[s:s + self.chunk], self._H0[s:s + self.chunk]  # (n, c, D), (n, P)
            u = U[s:s + self.chunk].to(self.dtype)                        # (n, c, k)
            for j in range(k):
                Ms[j] += (torch.einsum("icd,ic->id", g, u[:, :, j]).T @ h).double()
        for s in range(0, self.n, self.chunk):
            g, h = self._G3[s:s + self.chunk], self._H0[s:s + self.chunk]
            for j in range(k):
                gm = torch.einsum("icd,dp->icp", g, Ms[j].to(self.dtype))  # (n, c, P)
                out.view(self.n, self.c, k)[s:s + self.chunk, :, j] = (gm * h[:, None, :]).sum(2).double()
        return out[:, 0] if one else out

    def dense(self) -> torch.Tensor:
        """The block as a matrix, from the uncompressed factors (N up to 16384)."""
        if self._G3 is None:
            raise InputError(f"a dense block of N = {self.n} points is not kept; use matmul")
        return ntk_block(self._G3.double(), self._H0.double(), self.outputs)


class SumOperator:
    """The sum of operators of one shape (e.g. every block: the whole NTK)."""

    def __init__(self, ops: Sequence) -> None:
        if not ops:
            raise InputError("SumOperator needs at least one operator")
        self.ops, self.shape = list(ops), ops[0].shape
        if any(op.shape != self.shape for op in ops):
            raise InputError("operators of different shapes cannot be summed")

    def matmul(self, V: torch.Tensor) -> torch.Tensor:
        out = self.ops[0].matmul(V)
        for op in self.ops[1:]:
            out = out + op.matmul(V)
        return out

    def trace(self) -> float:
        return sum(op.trace() for op in self.ops)


def block_operators(model: nn.Module, coords: torch.Tensor, *, outputs: str = "trace",
                    dtype: torch.dtype = torch.float64, store_dtype: torch.dtype | None = None,
                    batchnorm: str = "batch", chunk: int = 16384,
                    layers: Sequence[int | str] | None = None) -> list[BlockOperator]:
    """One :class:`BlockOperator` per dense layer of ``model`` on ``coords (N, d)``.

    Args:
        model, coords, batchnorm, layers: as :func:`~inrank.diagnosis.ntk.layerwise_ntk`.
        outputs: ``"trace"`` or ``"full"``.
        dtype: the dtype the factors are computed in.
        store_dtype: the dtype they are kept in (float32 halves the memory at large N).
        chunk: points per pass.

    Examples:
        >>> import inrank
        >>> ops = block_operators(inrank.build("relu", 2, 3, width=8, depth=2), torch.rand(6, 2))
        >>> [op.shape for op in ops][0], len(ops)
        ((6, 6), 3)
    """
    f = ntk_factors(model, coords, dtype=dtype, store_dtype=store_dtype, batchnorm=batchnorm,
                    chunk=chunk, layers=layers)
    return [BlockOperator(G, H, outputs=outputs, chunk=chunk, name=n)
            for G, H, n in zip(f.G, f.H, f.names)]


class JacobianOperator:
    """``Theta_P = J_P J_P^T`` of any differentiable model, for the parameters in ``params``.

    Args:
        model: any ``nn.Module`` ``(N, d) -> (N, c)`` (BatchNorm frozen as ``batchnorm`` says).
        coords: ``(N, d)``.
        params: names of the parameters in the group P (``model.named_parameters()`` names, or
            prefixes of them, e.g. ``"encoding"``); default every parameter.
        outputs: ``"trace"`` or ``"full"``.
        dtype: compute dtype.
        chunk: points per vector-Jacobian / Jacobian-vector product.

    Examples:
        >>> import inrank
        >>> op = JacobianOperator(inrank.build("siren", 2, 1, width=8, depth=1), torch.rand(5, 2),
        ...                       params=["linears.0"])
        >>> op.matmul(torch.ones(5)).shape
        torch.Size([5])
    """

    def __init__(self, model: nn.Module, coords: torch.Tensor, *,
                 params: Sequence[str] | None = None, outputs: str = "trace",
                 dtype: torch.dtype = torch.float64, batchnorm: str = "batch",
                 chunk: int = 4096) -> None:
        self.outputs = validation.one_of("outputs", outputs, OUTPUTS)
        self.model, self.x = frozen_copy(model, coords, batchnorm, dtype)
        every = dict(self.model.named_parameters())
        if params is None:
            chosen = list(every)
        else:
            chosen = [n for n in every if any(n == p or n.startswith(p + ".") for p in params)]
            if not chosen:
                raise InputError(f"no parameter matches {list(params)}; the model's parameters "
                                 f"are {list(every)}")
        self.names = chosen
        self.p = {n: every[n].detach() for n in chosen}
        self.rest = {n: t.detach() for n, t in every.items() if n not in self.p}
        self.rest.update(dict(self.model.named_buffers()))
        self.n = self.x.shape[0]
        with torch.no_grad():
            self.c = self.model(self.x[:1]).shape[1]
        self.chunk = validation.positive_int("chunk", chunk)
        self.shape = (self.n, self.n) if outputs == "trace" else (self.n * self.c,) * 2
        self.dtype, self.device = dtype, self.x.device

    def _f(self, x: torch.Tensor):
        return lambda p: functional_call(self.model, {**self.rest, **p}, (x,))

    def _jtv(self, U: torch.Tensor) -> dict:
        """``J^T u`` for a block of ``B`` cotangents ``U (B, N, c)``: parameter-shaped tensors
        with a leading ``(B,)``; one linearisation per chunk, the block by ``vmap``."""
        total = None
        for s in range(0, self.n, self.chunk):
            _, pull = vjp(self._f(self.x[s:s + self.chunk]), self.p)
            (g,) = vmap(pull)(U[:, s:s + self.chunk])
            total = g if total is None else {k: total[k] + g[k] for k in g}
        return total

    def _jv(self, w: dict) -> torch.Tensor:
        """``J w`` for a block of ``B`` tangents (leading ``(B,)``): ``(B, N, c)``."""
        def one(x):
            return vmap(lambda t: jvp(self._f(x), (self.p,), (t,))[1])(w)

        return torch.cat([one(self.x[s:s + self.chunk]) for s in range(0, self.n, self.chunk)], 1)

    def matmul(self, V: torch.Tensor) -> torch.Tensor:
        """``Theta_P V`` (shapes as :meth:`BlockOperator.matmul`), float64: one block of
        ``k`` (full) or ``k c`` (trace: one cotangent per column and output) vector-Jacobian
        then Jacobian-vector products, vectorised (``vmap``) over the block."""
        one = V.ndim == 1
        V = (V[:, None] if one else V).to(self.x.device, self.dtype)
        k = V.shape[1]
        with no_tf32():
            if self.outputs == "full":
                out = self._jv(self._jtv(V.T.reshape(k, self.n, self.c)))   # (k, N, c)
                out = out.reshape(k, -1).T
            else:  # trace over outputs: cotangent (j, a) is V[:, j] on output a
                eye = torch.eye(self.c, dtype=self.dtype, device=V.device)
                U = (V.T[:, None, :, None] * eye[None, :, None, :]).reshape(-1, self.n, self.c)
                Y = self._jv(self._jtv(U)).reshape(k, self.c, self.n, self.c)
                out = torch.diagonal(Y, dim1=1, dim2=3).sum(-1).T          # (N, k)
        out = out.to(torch.float64)
        return out[:, 0] if one else out

    def trace(self) -> float:
        """``tr(Theta_P) = sum_i sum_a |d f_a(x_i) / d P|^2`` exactly, from per-sample
        Jacobians (``vmap(jacrev)``) in chunks of at most ``2^24 / (c |P|)`` points."""
        size = sum(t.numel() for t in self.p.values())
        step = max(1, min(self.chunk, (1 << 24) // max(1, self.c * size)))

        def single(p, xi):
            return functional_call(self.model, {**self.rest, **p}, (xi[None],))[0]

        total = 0.0
        with no_tf32():
            for s in range(0, self.n, step):
                jac = vmap(jacrev(single), in_dims=(None, 0))(self.p, self.x[s:s + step])
                total += float(sum((j.double() ** 2).sum() for j in jac.values()))
        return total
