"""Property-based tests (hypothesis) of the rank measures and the layer-wise NTK."""
import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import inrank
from inrank.diagnosis.ntk import layerwise_ntk
from inrank.diagnosis.rank import (effective_rank, exact_rank, numerical_rank, participation_ratio,
                         stable_rank)

_SETTINGS = settings(max_examples=25, deadline=None)


@st.composite
def low_rank_matrices(draw):
    """A float64 ``(n, m)`` matrix of known rank ``r`` = product of Gaussian factors."""
    n, m = draw(st.integers(2, 24)), draw(st.integers(2, 24))
    r = draw(st.integers(0, min(n, m)))
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    a = torch.randn(n, r, generator=g, dtype=torch.float64)
    b = torch.randn(r, m, generator=g, dtype=torch.float64)
    return a @ b, r


@_SETTINGS
@given(low_rank_matrices())
def test_rank_measures_bounds_and_order(case):
    mat, r = case
    assert exact_rank(mat) == r
    assert numerical_rank(mat, rtol=1e-3) <= exact_rank(mat)
    if r == 0:
        assert effective_rank(mat) == stable_rank(mat) == participation_ratio(mat) == 0
        return
    # 1 <= stable rank <= participation ratio <= rank, and effective rank <= rank
    sr, pr, er = stable_rank(mat), participation_ratio(mat), effective_rank(mat)
    assert 1 - 1e-9 <= sr <= pr + 1e-9 <= r + 1e-9
    assert 1 - 1e-9 <= er <= r + 1e-9


@_SETTINGS
@given(low_rank_matrices(), st.floats(1e-3, 1e3))
def test_rank_measures_are_scale_invariant(case, scale):
    mat, _ = case
    for f in (effective_rank, stable_rank, participation_ratio):
        assert math.isclose(f(mat * scale), f(mat), rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=12, deadline=None)
@given(name=st.sampled_from(inrank.presets()), n=st.integers(2, 12), seed=st.integers(0, 1000),
       outputs=st.sampled_from(["trace", "full"]))
def test_ntk_symmetric_psd_and_total_matches_one_jacobian(whole_ntk, name, n, seed, outputs):
    model = inrank.build(name, 2, 2, width=6, depth=2, seed=seed)
    coords = torch.rand(n, 2, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    # running statistics: the reference evaluates BatchNorm in eval mode
    ntk = layerwise_ntk(model, coords, outputs=outputs, batchnorm="running")
    scale = float(ntk.total.abs().max()) + 1e-300
    ref = whole_ntk(model, coords, outputs=outputs)  # all parameters, one Jacobian
    assert torch.allclose(ntk.total, ref, rtol=0, atol=1e-10 * scale)
    for k in list(ntk.blocks) + [ntk.total]:
        assert torch.allclose(k, k.T, rtol=0, atol=1e-12 * scale)
        assert float(torch.linalg.eigvalsh(k).min()) >= -1e-9 * scale
