"""Target-aware REI (issue 27, item 4): the design chosen at init for a signal."""
from __future__ import annotations

import pytest
import torch

import inrank
from inrank.diagnosis.rei_design import (choose_rei_design, default_rei_candidates, held_out_split,
                                         rank_expanding_for_)
from inrank.errors import InputError
from inrank.nn.init import rank_expanding_mlp_

CANDS = [{"gain": 1.0, "directions": 3}, {"gain": 30.0, "directions": 3},
         {"gain": 3.0, "directions": 4}]


@pytest.fixture(scope="module")
def camera():
    return inrank.load_image("camera", size=20)


def _first_two(model):
    lin = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    return [t.clone() for m in lin[:2] for t in (m.weight, m.bias)]


def test_target_writes_the_design_its_predictor_ranks_first(camera):
    model = inrank.build("relu", 2, 1, width=32, depth=3, seed=0)
    rank_expanding_for_(model, camera, generator=torch.Generator().manual_seed(5),
                        candidates=CANDS)
    d = model.rei_design
    assert d.predictor == "linear_offgrid" and len(d.scores) == len(CANDS)
    assert d.options == CANDS[max(range(3), key=d.scores.__getitem__)]
    # the model holds exactly that candidate, drawn from the same random state
    ref = inrank.build("relu", 2, 1, width=32, depth=3, seed=0)
    rank_expanding_mlp_(ref, generator=torch.Generator().manual_seed(5), **d.options)
    for a, b in zip(_first_two(model), _first_two(ref)):
        assert torch.equal(a, b)
    # candidates differ in the design only: two fills of one candidate are identical, and
    # scores differ between designs
    assert len({round(s, 6) for s in d.scores}) > 1


def test_fixed_options_win_and_fresh_needs_an_image(camera):
    model = inrank.build("relu", 2, 1, width=32, depth=3, seed=0)
    rank_expanding_for_(model, camera, generator=torch.Generator().manual_seed(0),
                        candidates=CANDS, gain=2.0)
    d = model.rei_design
    assert d.candidates == [{"directions": 3}, {"directions": 4}]  # gain fixed: deduplicated
    ref = inrank.build("relu", 2, 1, width=32, depth=3, seed=0)
    rank_expanding_mlp_(ref, generator=torch.Generator().manual_seed(0), gain=2.0, **d.options)
    for a, b in zip(_first_two(model), _first_two(ref)):
        assert torch.equal(a, b)
    fit, held = held_out_split(camera)
    assert len(fit) + len(held) == len(camera) and fit.kind == "points"
    with pytest.raises(InputError, match="needs an image"):
        choose_rei_design(model, fit, lambda m, o, g: None, candidates=CANDS, predictor="fresh")


def test_design_options_without_target_are_refused():
    model = inrank.build("relu", 2, 1, width=32, depth=3, seed=0)
    with pytest.raises(InputError, match="target=signal"):
        rank_expanding_mlp_(model, candidates=CANDS)
    outside = [torch.nn.Linear(2, 32), torch.nn.Linear(32, 32), torch.nn.Linear(32, 1)]
    with pytest.raises(InputError, match="submodules"):
        rank_expanding_for_(model, inrank.load_image("camera", size=8), layers=outside)


def test_default_candidates_respect_the_width():
    assert {c["directions"] for c in default_rei_candidates("triangle", 72)} == {3, 6, 9}
    assert {c["directions"] for c in default_rei_candidates("triangle", 32)} == {3}
    assert [c["scale"] for c in default_rei_candidates("kink", 72)] == [0.3, 1.0, 3.0, 10.0]
