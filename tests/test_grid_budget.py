"""Feature grids sized to a parameter budget (inrank.nn.grid_budget): the count the sizing
predicts is the built model's, it is within the budget, and the next size up is not."""
from __future__ import annotations

import pytest

import inrank
from inrank.errors import InputError
from inrank.nn.grid_budget import grid_options_for


def _params(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize("budget", [3_000, 12_589])
def test_a_dense_grid_is_the_largest_that_fits_the_budget(budget):
    opts = grid_options_for("grid", budget)
    n = _params(inrank.build("grid", 2, 3, **opts))
    bigger = _params(inrank.build("grid", 2, 3, **{**opts,
                                                   "grid_resolution": opts["grid_resolution"] + 1}))
    assert n <= budget < bigger


@pytest.mark.parametrize("budget,in_dim", [(5_744, 2), (12_589, 2), (20_000, 3)])
def test_a_hash_grid_fits_its_budget_and_its_count_is_the_models(budget, in_dim):
    opts = grid_options_for("hashgrid", budget, in_dim=in_dim, out_dim=1)
    model = inrank.build("hashgrid", in_dim, 1, **opts)
    n = _params(model)
    assert 0.5 * budget < n <= budget
    doubled = _params(inrank.build("hashgrid", in_dim, 1,
                                   **{**opts, "hash_log2_table": opts["hash_log2_table"] + 1}))
    assert doubled > budget or doubled == n     # a larger table would not fit (or is unused)
    enc = model.encoding
    assert enc.resolutions[0] == 16 and abs(enc.resolutions[-1] - 256) <= 1


def test_a_budget_below_the_head_is_refused_in_one_line():
    with pytest.raises(InputError, match="does not fit in 500 parameters"):
        grid_options_for("grid", 500)
    with pytest.raises(InputError, match="sizes 'grid' or 'hashgrid'"):
        grid_options_for("siren", 10_000)


def test_a_grids_lrs_do_not_follow_the_mlp_width_rule():
    """The width rule scales an MLP's lrs by its width; a grid's head width does not size it."""
    for name in ("grid", "hashgrid"):
        p = inrank.preset(name)
        assert p.lr_for("adam", width=16) == p.lr_for("adam", width=512) == p.lr_for("adam")
    relu = inrank.preset("relu")
    assert relu.lr_for("adam", width=16)["lr"] > relu.lr_for("adam", width=512)["lr"]
