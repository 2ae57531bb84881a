"""The generalize and audio suites run through the bench runner and report task metrics."""
import json
import math

import pytest

from inrank.bench import run_suite, suite, suites


def test_task_suites_are_registered():
    for name in ("generalize", "audio", "occupancy"):
        assert name in suites() and suite(name).task == name


def test_generalize_suite_reports_held_out_psnr(tmp_path, data_dir):
    res = run_suite("generalize", methods=["relu"], images=["kodim23"], steps=3, size=12,
                    out=tmp_path, progress=False, plots=False)
    row = res.rows[0]
    # 12 x 18 image, even sub-grid: 6 x 9 = 54 of 216 points train; the whole-image PSNR is
    # the MSE-weighted mix of the training and held-out PSNRs
    w = 54 / 216
    mse = w * 10 ** (-row["train_psnr"] / 10) + (1 - w) * 10 ** (-row["test_psnr"] / 10)
    assert row["final_psnr"] == pytest.approx(-10 * math.log10(mse), abs=1e-6)
    assert "Held-out PSNR" in (tmp_path / "results.md").read_text()
    assert "test_psnr" in (tmp_path / "results.csv").read_text().splitlines()[0]


def test_audio_suite_reports_snr(tmp_path, data_dir):
    res = run_suite("audio", methods=["siren"], images=["bach"], steps=3, out=tmp_path,
                    progress=False, plots=False)
    row = res.rows[0]
    assert "snr" in row
    record = json.loads(next((tmp_path / "runs").glob("*.json")).read_text())
    assert record["run"]["task"] == "audio" and "snr" in record["metrics"]
