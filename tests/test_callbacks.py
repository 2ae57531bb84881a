"""The loop's callbacks: what they see, the CSV and TensorBoard loggers, bad callbacks."""
from __future__ import annotations

import csv

import pytest

import inrank
from inrank.errors import InputTypeError
from inrank.train.callbacks import CSVLogger, TensorBoardLogger


@pytest.fixture(scope="module")
def sig():
    return inrank.load_image("camera", size=10)


def test_callback_sees_every_evaluation_with_step_metrics_and_model(sig):
    seen = []

    class Probe:
        def on_start(self, info):
            seen.append(("start", info["steps"], info["optimizer"]))

        def on_eval(self, step, metrics, model):
            seen.append((step, round(metrics["psnr"], 6), model.linears[0].weight.sum().item()))

        def on_end(self, results):
            seen.append(("end", len(results)))

    model = inrank.build("relu", 2, 1, width=8, depth=2)
    res = inrank.fit(model, sig, steps=6, lr=1e-3, eval_every=2, progress=False,
                     callbacks=[Probe()], accept_worse=True)
    assert seen[0] == ("start", 6, "adam") and seen[-1] == ("end", 1)
    evals = seen[1:-1]
    assert [e[0] for e in evals] == [2, 4, 6]
    assert [e[1] for e in evals] == [round(h["psnr"], 6) for h in res.history]
    assert evals[-1][2] == pytest.approx(model.linears[0].weight.sum().item())


def test_csv_logger_writes_one_row_per_evaluation(sig, tmp_path):
    path = tmp_path / "logs" / "fit.csv"
    res = inrank.fit(inrank.build("relu", 2, 1, width=8, depth=2), sig, steps=5, lr=1e-3,
                     eval_every=1, progress=False, callbacks=CSVLogger(path), accept_worse=True)
    rows = list(csv.DictReader(path.open()))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4, 5]
    assert [float(r["psnr"]) for r in rows] == pytest.approx([h["psnr"] for h in res.history])
    assert {r["signal"] for r in rows} == {"camera"}


def test_csv_logger_in_a_batched_fit_names_each_model(tmp_path):
    sigs = [inrank.load_image(s, size=8) for s in ("camera", "moon")]
    path = tmp_path / "many.csv"
    inrank.fit_many("relu", sigs, steps=3, lr=1e-3, width=8, depth=2, chunk=2, eval_every=1,
                    progress=False, callbacks=[CSVLogger(path)], accept_worse=True)
    rows = list(csv.DictReader(path.open()))
    assert sorted({(r["index"], r["signal"]) for r in rows}) == [("0", "camera"), ("1", "moon")]
    assert len(rows) == 6


def test_tensorboard_logger_writes_scalars(sig, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    inrank.fit(inrank.build("relu", 2, 1, width=8, depth=2), sig, steps=4, lr=1e-3,
               eval_every=1, progress=False, callbacks=[TensorBoardLogger(tmp_path / "tb")], accept_worse=True)
    acc = EventAccumulator(str(tmp_path / "tb"))
    acc.Reload()
    psnr = acc.Scalars("camera/psnr")
    assert [e.step for e in psnr] == [1, 2, 3, 4]


def test_a_callback_that_is_neither_function_nor_hook_object_is_refused(sig):
    with pytest.raises(InputTypeError, match="neither a function"):
        inrank.fit(inrank.build("relu", 2, 1, width=8, depth=1), sig, steps=1, lr=1e-3,
                   progress=False, callbacks=[42], accept_worse=True)


def test_loggers_are_closed_when_a_fit_diverges(sig, tmp_path):
    class Probe:
        ended = None

        def on_end(self, results):
            Probe.ended = results

    with pytest.raises(inrank.DivergedError):
        inrank.fit(inrank.build("relu", 2, 1, width=8, depth=2), sig, steps=30, lr=1e12,
                   eval_every=1, progress=False, callbacks=[Probe()], accept_worse=True)
    assert Probe.ended is not None and len(Probe.ended) == 1
