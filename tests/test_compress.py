"""Compressed NTK blocks (diagnosis/compress.py) and the spectra built on them (scale.py,
krylov.py): the stated operator-error bound against the exact blocks in float64, the exact
path at tol = 0, block Lanczos and batched SLQ against dense eigenvalues, and the tolerance
as an option of diagnose and `inrank diagnose`."""
from __future__ import annotations

import pytest
import torch

import inrank
from inrank.cli import main
from inrank.diagnosis.compress import compressed_blocks
from inrank.diagnosis.krylov import block_lanczos, block_slq
from inrank.diagnosis.ntk import layerwise_ntk
from inrank.diagnosis.operators import BlockOperator
from inrank.diagnosis.per_layer import diagnose
from inrank.diagnosis.rank import kernel_eigenvalues, spectral_effective_rank
from inrank.diagnosis.scale import ntk_spectra


def _x(n: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 2, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _dense(b) -> torch.Tensor:
    G, H = b.G.double(), b.H.double()
    return (G @ G.T) * (H @ H.T)


@pytest.mark.parametrize("name", ["relu", "siren"])
@pytest.mark.parametrize("tol", [1e-2, 1e-4])
def test_compressed_operator_error_within_the_stated_bound(name, tol):
    """0 <= Theta - Theta_r <= delta I with delta <= tol * lambda_1: on random vectors, in the
    eigenvalues (each exact one in [lambda_k(Theta_r), lambda_k(Theta_r) + delta]) and in the
    trace deficit."""
    torch.set_num_threads(1)  # small dense eigenproblems (conftest restores the count)
    model = inrank.build(name, 2, 3, width=24, depth=2, seed=0)
    x = _x(150)
    exact = layerwise_ntk(model, x).blocks
    blocks = compressed_blocks(model, x, tol=tol, dtype=torch.float64, chunk=40)
    assert any(b.G.shape[1] * b.H.shape[1] < b.full_rank[0] * b.full_rank[1] for b in blocks)
    V = torch.randn(150, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    for b, K in zip(blocks, exact):
        lam = kernel_eigenvalues(K)
        assert b.delta <= tol * b.lambda_lb <= tol * float(lam[0]) * (1 + 1e-9)
        E = K - _dense(b)                                          # PSD, norm <= delta
        assert float((E @ V).norm(dim=0).max()) <= b.delta * float(V.norm(dim=0).max()) + 1e-9
        assert float(torch.linalg.eigvalsh(E).min()) >= -1e-9 * float(lam[0])
        lam_r = kernel_eigenvalues(_dense(b))
        assert bool((lam_r <= lam + 1e-9 * lam[0]).all())
        assert bool((lam <= lam_r + b.delta + 1e-9 * lam[0]).all())
        assert b.trace == pytest.approx(float(K.trace()), rel=1e-12)
        assert b.trace_deficit == pytest.approx(float((lam - lam_r).sum()) / b.trace, abs=1e-9)
        op = BlockOperator.from_factors(b.G, b.H)                   # the batched products
        assert torch.allclose(op.matmul(V), _dense(b) @ V, rtol=1e-10, atol=1e-10 * float(lam[0]))


def test_tol_zero_keeps_the_exact_kernel_and_bad_tol_is_refused():
    model = inrank.build("relu", 2, 3, width=16, depth=2, seed=0)
    x = _x(60)
    for b, K in zip(compressed_blocks(model, x, tol=0, dtype=torch.float64),
                    layerwise_ntk(model, x).blocks):
        assert float((_dense(b) - K).abs().max()) <= 1e-10 * float(K.abs().max())
    for bad in (-1e-3, 1.0, float("nan")):
        with pytest.raises(ValueError, match="tol must be a number in"):
            compressed_blocks(model, x, tol=bad)


def test_block_lanczos_and_batched_slq_against_dense():
    g = torch.Generator().manual_seed(0)
    U, _ = torch.linalg.qr(torch.randn(300, 300, generator=g, dtype=torch.float64))
    ev = torch.logspace(0, -8, 300, dtype=torch.float64)
    A = (U * ev) @ U.T

    class Op:
        shape = (300, 300)

        def matmul(self, V):
            return A @ V

    w, vecs, products = block_lanczos(Op(), 10, tol=1e-10, block=4)
    assert torch.allclose(w, ev[:10], rtol=1e-9) and products < 300
    assert torch.allclose((A @ vecs).norm(dim=0), w, rtol=1e-8)
    (tr, err), = block_slq(Op(), [lambda t: t], steps=20, probes=16, deflate=vecs)
    assert abs(tr - float(ev[10:].sum())) <= 4 * err + 1e-12


def test_ntk_spectra_agree_with_dense_within_the_stated_accuracy():
    torch.set_num_threads(1)
    model = inrank.build("relu", 2, 3, width=32, depth=2, seed=0)
    x = inrank.grid_coords((18, 18))                                # N = 324
    spectra = ntk_spectra(model, x, tol=1e-6, top=8, probes=8, steps=20, dtype=torch.float32)
    for s, K in zip(spectra, layerwise_ntk(model, x).blocks):
        lam = kernel_eigenvalues(K)
        assert s.bound <= 1e-6 * (1 + 1e-6)
        # float32 factors: rounding beyond the compression's bound, far inside 1e-4
        assert float(((s.top - lam[:8]).abs() / lam[:8]).max()) < 1e-4
        eff = spectral_effective_rank(lam)
        tolerance = 4 * s.effective_rank_error + s.compression_error + 1e-4
        assert abs(s.effective_rank / eff - 1) <= tolerance, (s.name, s.solver)


def test_diagnose_and_cli_take_the_tolerance(tmp_path, capsys):
    torch.set_num_threads(1)
    model = inrank.build("relu", 2, 3, width=16, depth=2, seed=0)
    x = _x(200)
    dense = diagnose(model, x, solver="dense")
    loose = diagnose(model, x, solver="matrix-free", tol=1e-3, top=8)
    assert loose.tol == 1e-3 and dense.tol is None
    for a, b in zip(dense.layers, loose.layers):
        assert b.ntk_bound <= 1e-3 * (1 + 1e-9)
        lam_r, lam = torch.tensor(b.ntk_top), torch.tensor(a.ntk_top)
        assert bool((lam_r <= lam * (1 + 1e-6)).all())
        assert bool((lam <= lam_r + b.ntk_bound * lam_r[0] * (1 + 1e-6)).all())
    with pytest.raises(ValueError, match="tol must be"):
        diagnose(model, x, solver="matrix-free", tol=2.0)
    out = tmp_path / "d"
    assert main(["diagnose", "camera", "--methods", "relu", "--size", "12", "--width", "8",
                 "--depth", "2", "--solver", "matrix-free", "--tol", "1e-4",
                 "--out", str(out)]) == 0
    import json
    record = json.loads((out / "diagnosis.json").read_text())[0]
    assert record["tol"] == 1e-4 and all(layer["ntk_bound"] <= 1e-4 * (1 + 1e-9)
                                         for layer in record["layers"])
