"""Spectra and rank measures on spectra (the additions to inrank.rank)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from inrank.diagnosis import rank


def _low_rank(n: int, p: int, r: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, r, generator=g, dtype=torch.float64) @ torch.randn(
        r, p, generator=g, dtype=torch.float64)


def test_kernel_eigenvalues_against_numpy():
    a = _low_rank(30, 30, 30)
    k = a @ a.T
    ev = rank.kernel_eigenvalues(k)
    ref = np.sort(np.linalg.eigvalsh(k.numpy()))[::-1]
    assert ev.dtype == torch.float64 and torch.all(ev[:-1] >= ev[1:])
    assert np.allclose(ev.numpy(), ref, rtol=1e-10, atol=1e-10 * ref[0])
    with pytest.raises(ValueError, match="square"):
        rank.kernel_eigenvalues(torch.zeros(3, 4))


def test_gram_eigenvalues_dual_equals_primal_and_singular_values():
    f = _low_rank(400, 5, 5, seed=1)
    dual = rank.gram_eigenvalues(f)  # 5 x 5 Gram
    primal = rank.kernel_eigenvalues(f @ f.T)[:5]
    assert dual.shape == (5,)
    assert torch.allclose(dual, primal, rtol=1e-9)
    assert torch.allclose(dual, rank.singular_values(f) ** 2, rtol=1e-9)
    wide = rank.gram_eigenvalues(f.T)  # P > N: the N x N Gram
    assert torch.allclose(wide, dual, rtol=1e-9)


def test_dual_rank_exact_at_large_n():
    f = _low_rank(20000, 7, 4, seed=2)  # rank 4 however many rows
    ev = rank.gram_eigenvalues(f)
    assert rank.spectral_exact_rank(ev, size=20000) == 4
    assert rank.exact_rank(f) == 4


def test_spectral_measures_known_values():
    flat = torch.ones(6)
    assert rank.spectral_effective_rank(flat) == pytest.approx(6.0)
    assert rank.spectral_stable_rank(flat) == pytest.approx(6.0)
    assert rank.spectral_participation_ratio(flat) == pytest.approx(6.0)
    s = torch.tensor([4.0, 2.0, 1.0, 1e-4, 0.0])
    assert rank.spectral_numerical_rank(s, rtol=1e-3) == 3
    assert rank.spectral_numerical_rank(s, rtol=1e-6) == 4
    assert rank.spectral_exact_rank(s, size=5) == 4
    p = np.array([4, 2, 1, 1e-4]) / 7.0001
    assert rank.spectral_effective_rank(s) == pytest.approx(math.exp(-(p * np.log(p)).sum()))
    assert rank.spectral_stable_rank(s) == pytest.approx((16 + 4 + 1 + 1e-8) / 16)
    # unordered input and round-off negatives are handled
    assert rank.spectral_numerical_rank(torch.tensor([1e-4, -1e-15, 2.0]), rtol=1e-3) == 1
    assert rank.spectral_effective_rank(torch.zeros(3)) == 0.0
    with pytest.raises(ValueError, match="1-D"):
        rank.spectral_effective_rank(torch.ones(2, 2))


def test_spectral_measures_agree_with_matrix_measures():
    a = _low_rank(50, 20, 8, seed=3) + 1e-6 * _low_rank(50, 20, 20, seed=4)
    s = rank.singular_values(a)
    assert rank.spectral_numerical_rank(s, rtol=1e-3) == rank.numerical_rank(a, rtol=1e-3)
    assert rank.spectral_exact_rank(s, size=50) == rank.exact_rank(a)
    assert rank.spectral_effective_rank(s) == pytest.approx(rank.effective_rank(a))
    assert rank.spectral_stable_rank(s) == pytest.approx(rank.stable_rank(a))
    # participation ratio of a matrix = that of its Gram's eigenvalues
    assert rank.spectral_participation_ratio(s ** 2) == pytest.approx(rank.participation_ratio(a))
