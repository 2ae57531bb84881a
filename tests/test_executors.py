"""The batched and Ray bench executors give the local executor's results."""
import sys

import pytest

from inrank.bench import run_suite
from inrank.errors import MissingDependencyError

# chelsea and coffee share a shape at size 10 (10 x 15), so "batched" trains them together
TINY = dict(methods=["relu", "siren"], images=["chelsea", "coffee"], steps=4, size=10,
            widths=[16], progress=False, plots=False)


# Batched (vmap) and separate fits, and Ray workers (1 thread) against the local executor (2),
# round float32 differently. Predictions then differ by at most ~1e-4 (the largest seen: rff,
# 15 steps, Intel), which moves a PSNR near 15 dB (error rms ~0.2) by about
# 4.34 * 2 * 1e-4 / 0.2 = 0.004 dB: we allow 0.01 dB, the tables' last printed digit.
PSNR_TOL = 0.01


def _psnr(res):
    return {(r["method"], r["signal"]): r["final_psnr"] for r in res.rows}


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    return run_suite("quick", out=tmp_path_factory.mktemp("local"), **TINY)


def test_batched_executor_matches_local(local, tmp_path):
    res = run_suite("quick", out=tmp_path, executor="batched", **TINY)
    assert res.ran == 4
    for key, value in _psnr(local).items():
        assert _psnr(res)[key] == pytest.approx(value, abs=PSNR_TOL), key
    assert sorted(p.name for p in (tmp_path / "runs").glob("*.json")) == \
        sorted(p.name for p in (local.out / "runs").glob("*.json"))


def test_ray_executor_matches_local(local, tmp_path):
    import ray  # in the test extra
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        res = run_suite("quick", out=tmp_path, executor="ray", **TINY)
    finally:
        ray.shutdown()
    assert res.ran == 4
    for key, value in _psnr(local).items():
        assert _psnr(res)[key] == pytest.approx(value, abs=PSNR_TOL), key
    again = run_suite("quick", out=tmp_path, executor="ray", **TINY)  # resumable: nothing to do
    assert again.ran == 0 and again.skipped == 4


def test_missing_ray_gives_install_hint(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'inrank\[ray\]'"):
        run_suite("quick", out=tmp_path, executor="ray", **TINY)


def test_batched_executor_runs_task_suites_like_local(tmp_path, data_dir):
    """Task protocols (here audio: SNR) go through the batched fit with their own options."""
    kw = dict(methods=["relu+rei"], images=["bach", "counting"], steps=3, progress=False,
              plots=False)
    local = run_suite("audio", out=tmp_path / "l", **kw)
    batched = run_suite("audio", out=tmp_path / "b", executor="batched", **kw)
    for a, b in zip(local.rows, batched.rows):
        assert a["signal"] == b["signal"] and "snr" in b
        assert b["snr"] == pytest.approx(a["snr"], abs=PSNR_TOL)
        assert b["final_psnr"] == pytest.approx(a["final_psnr"], abs=PSNR_TOL)


def test_worker_processes_apply_the_tuned_values_handed_to_them(tmp_path):
    """The processes executor hands each worker the tuned values in effect in the caller
    (here set by ``tuned_values``), explicitly: the worker builds the run with them, not with
    the file its own registry would read."""
    import json

    from inrank.nn.tuned_state import tuned_values

    tuned = {"methods": {"relu+rei": {"lr": 2e-3, "config": {"rei_options.gain": 7.0}}}}
    with tuned_values(tuned):
        res = run_suite("quick", methods=["relu+rei"], images=["camera"], steps=2, size=8,
                        widths=[8], out=tmp_path, executor="processes", jobs=1,
                        progress=False, plots=False)
    assert res.ran == 1
    record = json.loads(next((tmp_path / "runs").glob("*.json")).read_text())
    assert record["run"]["lr"] == 2e-3 and record["config"]["rei_options"]["gain"] == 7.0
