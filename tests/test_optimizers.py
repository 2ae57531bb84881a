"""Optimisers of a fit: the Muon parameter split, the batched Newton-Schulz against
torch.optim.Muon's, batched Muon fits against separate ones, resume, factories."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import inrank
from inrank.errors import InputError, InputTypeError
from inrank.train.optimizers import (Muon, MuonAdam, hidden_weight_names, make_optimizer,
                                     newton_schulz)

NS = ((3.4445, -4.775, 2.0315), 5, 1e-7)


@pytest.fixture(scope="module")
def sig():
    return inrank.load_image("camera", size=12)


def test_split_puts_only_hidden_dense_weights_on_muon():
    m = inrank.build("pe", 2, 3, width=16, depth=3)
    assert hidden_weight_names(m) == ["linears.1.weight", "linears.2.weight"]
    opt = make_optimizer(list(m.named_parameters()), hidden_weight_names(m), optimizer="muon",
                         lr=1e-3, muon_lr=0.05)
    assert isinstance(opt, MuonAdam) and isinstance(opt.muon, Muon)
    on_muon = {id(p) for p in opt.muon.param_groups[0]["params"]}
    named = dict(m.named_parameters())
    assert on_muon == {id(named["linears.1.weight"]), id(named["linears.2.weight"])}
    # the first and last layers, every bias and the encoding's buffers-as-params go to Adam
    assert {id(p) for g in opt.adam.param_groups for p in g["params"]} == \
        {id(p) for n, p in named.items() if n not in ("linears.1.weight", "linears.2.weight")}
    assert [g["lr"] for g in opt.param_groups] == [0.05, 1e-3]


def test_split_on_a_users_sequential_follows_forward_order():
    seq = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 1))
    assert hidden_weight_names(seq) == ["2.weight"]


def test_muon_needs_a_hidden_layer(sig):
    with pytest.raises(InputError, match="hidden dense layer"):
        inrank.fit(inrank.build("relu", 2, 1, width=8, depth=1), sig, steps=1, lr=1e-3,
                   optimizer="muon", progress=False, accept_worse=True)


def test_stacked_newton_schulz_equals_torch_muon_per_matrix():
    from torch.optim._muon import _zeropower_via_newtonschulz as reference

    g = torch.Generator().manual_seed(0)
    for shape in [(3, 16, 8), (3, 8, 16), (2, 12, 12)]:
        x = torch.randn(*shape, generator=g)
        assert torch.equal(newton_schulz(x), torch.stack([reference(m, *NS) for m in x]))


def test_float32_newton_schulz_orthogonalises_like_bfloat16():
    x = torch.randn(4, 32, 16, generator=torch.Generator().manual_seed(2))
    f32, bf16 = newton_schulz(x, dtype=torch.float32), newton_schulz(x).float()
    s = torch.linalg.svdvals(f32)
    assert bool(((s > 0.5) & (s < 1.5)).all())
    assert (f32 - bf16).norm() / bf16.norm() < 0.02  # the same map, to bfloat16's precision


@pytest.mark.parametrize("stacked", [True, False])
def test_muon_step_equals_torch_muon_per_matrix(stacked):
    """Ours with bfloat16 Newton-Schulz: torch.optim.Muon's update exactly, stacked or not."""
    g = torch.Generator().manual_seed(1)
    w = torch.randn(3, 10, 6, generator=g)
    grads = [torch.randn(3, 10, 6, generator=g) for _ in range(4)]
    kw = dict(lr=0.02, weight_decay=0.01, adjust_lr_fn="match_rms_adamw")
    mine = [w.clone().requires_grad_()] if stacked else [x.clone().requires_grad_() for x in w]
    ours = [Muon(mine, ns_dtype=torch.bfloat16, **kw)]
    theirs = [x.clone().requires_grad_() for x in w]
    refs = [torch.optim.Muon([p], **kw) for p in theirs]
    for grad in grads:
        for p, gr in zip(mine, [grad] if stacked else grad):
            p.grad = gr.clone()
        for p, gr in zip(theirs, grad):
            p.grad = gr.clone()
        for opt in ours + refs:
            opt.step()
    got = mine[0].detach() if stacked else torch.stack([p.detach() for p in mine])
    assert torch.equal(got, torch.stack([p.detach() for p in theirs]))


def test_batched_muon_fit_equals_separate_fits():
    sigs = [inrank.load_image(s, size=12) for s in ("camera", "moon", "coins")]
    kw = dict(steps=15, lr=1e-3, optimizer="muon", muon_lr=0.03, progress=False)
    batched = inrank.fit_many("relu", sigs, width=16, depth=3, chunk=3, **kw, accept_worse=True)
    for s, res in zip(sigs, batched):
        ref = inrank.fit(inrank.build("relu", 2, 1, width=16, depth=3), s, **kw, accept_worse=True)
        assert res.optimizer == "muon" and res.muon_lr == 0.03
        assert res.final_psnr == pytest.approx(ref.final_psnr, abs=1e-4)


def test_muon_resume_is_bit_identical(sig, tmp_path):
    kw = dict(steps=12, lr=1e-3, optimizer="muon", muon_lr=0.03, progress=False, eval_every=1,
              schedule="cosine")
    full = inrank.fit(inrank.build("relu", 2, 1, width=16, depth=3), sig, **kw, accept_worse=True)

    class Stop(Exception):
        pass

    def stop(step, metrics, model):
        if step == 8:
            raise Stop

    ck = tmp_path / "ck.pt"
    with pytest.raises(Stop):
        inrank.fit(inrank.build("relu", 2, 1, width=16, depth=3), sig, checkpoint=ck,
                   checkpoint_every=4, callbacks=[stop], **kw, accept_worse=True)
    state = torch.load(ck, weights_only=True)
    assert set(state["optimizer"]) == {"muon", "adam"} and state["step"] == 4
    resumed = inrank.fit(inrank.build("relu", 2, 1, width=16, depth=3), sig, checkpoint=ck,
                         checkpoint_every=4, **kw, accept_worse=True)
    assert resumed.resumed_from == 4
    assert torch.equal(resumed.prediction, full.prediction)
    assert [h["lr"] for h in resumed.history] == [h["lr"] for h in full.history]


def test_schedule_scales_both_learning_rates(sig):
    seen = []
    inrank.fit(inrank.build("relu", 2, 1, width=8, depth=2), sig, steps=4, lr=1e-3,
               optimizer="muon", muon_lr=0.1, schedule="exponential", progress=False,
               eval_every=1, callbacks=[lambda step, metrics, model: seen.append(
                   (metrics["lr"], metrics["muon_lr"]))], accept_worse=True)
    assert seen[0] == pytest.approx((1e-3, 0.1))  # each lr in its own column
    assert seen[-1][0] < 1e-3 and seen[-1][1] < 0.1 and seen[-1][1] / seen[-1][0] == pytest.approx(100)


def test_muon_beats_adam_on_a_plain_relu_mlp():
    sig = inrank.load_image("camera", size=24)
    kw = dict(steps=150, progress=False)
    adam = inrank.fit(inrank.build("relu", 2, 1, width=32, depth=3), sig, lr=3e-3, **kw, accept_worse=True)
    muon = inrank.fit(inrank.build("relu", 2, 1, width=32, depth=3), sig, lr=3e-3,
                      optimizer="muon", muon_lr=0.05, **kw, accept_worse=True)
    assert muon.final_psnr > adam.final_psnr + 0.5


def test_a_factory_trains_and_is_named(sig):
    res = inrank.fit(inrank.build("relu", 2, 1, width=8, depth=2), sig, steps=3, lr=1e-2,
                     optimizer=torch.optim.SGD, progress=False, accept_worse=True)
    assert res.optimizer == "torch.optim.sgd.SGD"
    with pytest.raises(InputTypeError, match="fit each model"):
        inrank.fit_many("relu", [sig, sig], steps=1, lr=1e-3, width=8, depth=1,
                        optimizer=torch.optim.SGD, progress=False, accept_worse=True)


@pytest.mark.parametrize("kwargs, match", [
    (dict(optimizer="lion"), "optimizer must be one of"),
    (dict(optimizer=3), "optimizer must be a name"),
    (dict(muon_lr=0.1), "needs optimizer='muon'"),
    (dict(optimizer="muon", muon_lr=-1.0), "muon_lr"),
])
def test_bad_optimizer_options_are_refused(sig, kwargs, match):
    with pytest.raises((InputError, InputTypeError), match=match):
        inrank.fit(inrank.build("relu", 2, 1, width=8, depth=2), sig, steps=1, lr=1e-3,
                   progress=False, **kwargs, accept_worse=True)


def test_muon_lr_defaults_to_the_presets_tuned_one_and_the_result_says_which(sig):
    """It used to default to ``lr`` (Adam's): a preset model trained Muon at Adam's rate."""
    res = inrank.fit(inrank.build("relu", 2, 1, width=8, depth=2), sig, steps=2, lr=2e-3,
                     optimizer="muon", progress=False, accept_worse=True)
    tuned = inrank.preset("relu").lr_for("muon", width=8)["muon_lr"]
    assert res.optimizer == "muon" and res.muon_lr == tuned != 2e-3
    assert inrank.fit(inrank.build("relu", 2, 1, width=8, depth=2), sig, steps=2, lr=2e-3,
                      progress=False, accept_worse=True).muon_lr is None
