import math

import pytest
import torch
from torch import nn

import inrank
from inrank.nn.mlp import CoordinateMLP, MLPConfig


@pytest.mark.parametrize("name", inrank.presets())
def test_every_preset_builds_runs_and_backprops(name):
    model = inrank.build(name, 2, 3, width=16, depth=2, seed=1)
    x = torch.rand(10, 2) * 2 - 1
    y = model(x)
    assert y.shape == (10, 3) and torch.isfinite(y).all()
    y.square().mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert len(model.linears) == 3 and all(isinstance(m, nn.Linear) for m in model.linears)


@pytest.mark.parametrize("name", inrank.presets())
def test_two_step_smoke_fit(name, camera16):
    model = inrank.build(name, 2, 1, width=16, depth=2)
    res = inrank.fit(model, camera16, steps=2, lr=inrank.preset(name).lr, progress=False, accept_worse=True)
    assert len(res.history) == 2 and math.isfinite(res.final_psnr)


def test_same_seed_same_weights_and_global_rng_untouched():
    state = torch.get_rng_state()
    a, b = inrank.build("rff", 2, 3, width=32, seed=7), inrank.build("rff", 2, 3, width=32, seed=7)
    assert torch.equal(torch.get_rng_state(), state)
    for pa, pb in zip(a.state_dict().values(), b.state_dict().values()):
        assert torch.equal(pa, pb)
    c = inrank.build("rff", 2, 3, width=32, seed=8)
    assert not torch.equal(a.linears[0].weight, c.linears[0].weight)


def test_siren_preset_follows_paper():
    m = inrank.build("siren", 2, 3, width=256, depth=3)
    assert float(m.linears[0].weight.abs().max()) <= 1 / 2
    bound = math.sqrt(6 / 256) / 30
    for lin in m.linears[1:]:
        assert float(lin.weight.detach().abs().max()) <= bound
    x = torch.rand(4, 2)
    assert torch.allclose(m.acts[0](x), torch.sin(30 * x))


def test_preset_registry_is_copied_and_errors_are_clear():
    p = inrank.preset("relu")
    p.config.width = 3
    assert inrank.preset("relu").config.width == inrank.nn.mlp.DEFAULT_WIDTH
    with pytest.raises(ValueError, match="unknown method 'nope'; choose one of: relu"):
        inrank.build("nope", 2, 3)
    with pytest.raises(ValueError, match="unknown option"):
        inrank.build("relu", 2, 3, widht=3)
    for bad, says in (({"width": 0}, "positive integer"), ({"depth": -1}, "depth must be >= 0")):
        with pytest.raises(ValueError, match=says):  # depth 0: a linear read-out
            inrank.build("relu", 2, 3, **bad)
    with pytest.raises(ValueError, match="expects coordinates"):
        inrank.build("relu", 2, 3, width=8)(torch.zeros(4, 3))


def test_batchnorm_placement_and_encodings():
    assert [type(n).__name__ for n in inrank.build("bn", 2, 3, depth=3).norms] == \
        ["BatchNorm1d", "Identity", "Identity"]
    assert all(isinstance(n, nn.BatchNorm1d) for n in inrank.build("bn-all", 2, 3, depth=3).norms)
    later = CoordinateMLP(MLPConfig(batchnorm="later", depth=3))
    assert [type(n).__name__ for n in later.norms] == ["Identity", "BatchNorm1d", "BatchNorm1d"]
    assert inrank.build("pe", 2, 3).linears[0].in_features == 2 * (2 * 10 + 1)
    assert inrank.build("rff", 2, 3).linears[0].in_features == 512


def test_overrides_reach_the_config():
    m = inrank.build("siren", 1, 1, width=8, depth=1, omega0=3000.0)
    assert m.acts[0].omega0 == 3000.0 and m.config.in_dim == 1


def test_one_default_width_everywhere(tmp_path, monkeypatch):
    """build, fit_many and MLPConfig agree on the default width; where the lrs were tuned at
    another width (table1 at 3 x 72), the default width's lrs follow the width rule."""
    import inspect
    import json

    from inrank.nn import tuned_state
    from inrank.nn.mlp import DEFAULT_WIDTH

    assert inrank.MLPConfig().width == DEFAULT_WIDTH
    for fn in (inrank.build, inrank.fit_many):
        assert inspect.signature(fn).parameters["width"].default == DEFAULT_WIDTH
    path = tmp_path / "tuned.json"
    path.write_text(json.dumps({"protocol": {"suite": {"widths": [72], "depth": 3, "size": 96}},
                                "methods": {"relu": {"lr": 0.01}}}))
    monkeypatch.setattr(tuned_state, "TUNED_PATH", path)
    assert tuned_state.tuned_network()["width"] == 72
    assert inrank.preset("relu").lr_for("adam", width=DEFAULT_WIDTH)["lr"] == pytest.approx(
        0.01 * 72 / DEFAULT_WIDTH)


def test_lrs_scale_with_width_by_the_measured_rule():
    """Adam's and Muon's lrs fall as 1 / width away from the tuned width
    (benchmarks/training/width_depth.py)."""
    from inrank.nn.registry import width_lr_scale

    p, base = inrank.preset("relu"), inrank.nn.tuned_state.tuned_network()["width"]
    assert p.lr_for("adam", width=base) == p.lr_for("adam")
    assert p.lr_for("adam", width=2 * base)["lr"] == pytest.approx(p.lr / 2, rel=1e-5)
    muon = p.lr_for("muon", width=4 * base)
    assert muon["muon_lr"] == pytest.approx(p.lr_for("muon")["muon_lr"] / 4, rel=1e-5)
    assert muon["lr"] == pytest.approx(p.lr / 4, rel=1e-5)
    assert width_lr_scale("adam", None) == {"lr": 1.0, "muon_lr": 1.0}


def test_rei_gain_follows_the_depth_rule_in_build_and_run_records(monkeypatch):
    """At a depth of REI_GAIN_AT_DEPTH the gain is the rule's, in the model build() makes and in
    the config a bench run records (one function builds both); other depths keep the tuned
    gain; an explicit gain wins; methods without that knob are untouched."""
    from inrank.bench.run import Run, overrides_tuple
    from inrank.nn import registry

    monkeypatch.setitem(registry.REI_GAIN_AT_DEPTH, 2, 1.5)
    tuned = registry.knob_value(inrank.preset("relu+rei"))

    def run(depth, over=()):
        return Run(method="relu+rei", preset="relu+rei", overrides=over, signal="coffee",
                   size=16, seed=0, width=32, depth=depth, steps=1, lr=1e-3)

    m2 = inrank.build("relu+rei", 2, 3, width=32, depth=2)
    assert m2.config.rei_options["gain"] == 1.5 == registry.rei_gain_for(2)
    assert run(2).config()["rei_options"]["gain"] == 1.5
    assert inrank.build("relu+rei", 2, 3, width=32, depth=3).config.rei_options.get(
        "gain", 10.0) == tuned == registry.rei_gain_for(3)
    assert run(3).config()["rei_options"].get("gain", 10.0) == tuned
    over = {"rei_options": {"gain": 7.0}}
    assert inrank.build("relu+rei", 2, 3, width=32, depth=2, **over).config.rei_options == {"gain": 7.0}
    assert run(2, overrides_tuple(over)).config()["rei_options"] == {"gain": 7.0}
    # another REI option at depth 2 keeps the rule's gain
    kept = inrank.build("relu+rei", 2, 3, width=32, depth=2, rei_options={"directions": 2})
    assert kept.config.rei_options == {"gain": 1.5, "directions": 2}
    # the rule's gain reaches the weights: layer 2's bound is gain / sqrt(F)
    lo = inrank.build("relu+rei", 2, 3, width=32, depth=2, rei_options={"gain": 1.0})
    hi = inrank.build("relu+rei", 2, 3, width=32, depth=2, rei_options={"gain": 10.0})
    assert float(hi.linears[1].bias.abs().max()) > 5 * float(lo.linears[1].bias.abs().max())
    assert inrank.build("relu+rei-kink", 2, 3, width=32, depth=2).config.rei_options.get(
        "gain") is None
