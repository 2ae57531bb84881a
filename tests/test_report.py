import csv
import json
from html.parser import HTMLParser

import numpy as np
import pytest

from inrank.bench import runner as bench
from inrank.report import results as report
from inrank.report import tables
from inrank.report.html import write_html


def _row(method, signal, psnr, *, seed=0, width=256, lr=1e-3, status="ok", **extra):
    return {"method": method, "signal": signal, "seed": seed, "width": width, "depth": 3,
            "steps": 10, "lr": lr, "final_psnr": psnr, "best_psnr": None if psnr is None else psnr + 1,
            "ssim": 0.5, "params": 100, "seconds_per_step": 0.002, "device": "cpu", "size": 32,
            "status": status, **extra}


ROWS = [_row("relu", "a", 20.0), _row("relu", "b", 22.0), _row("siren", "a", 30.0),
        _row("siren", "b", 26.0), _row("pe", "a", 25.0), _row("pe", "b", None, status="diverged")]


def test_summary_table_mean_std_and_bold_best():
    md = tables.to_markdown(tables.summary_table(ROWS)).splitlines()
    assert md[0] == "| method | final PSNR (dB) | best PSNR (dB) | SSIM | params | runs |"
    assert md[1] == "|---|---:|---:|---:|---:|---:|"
    # relu: mean 21, sample std sqrt(2) = 1.41; siren: 28 +- 2.83, the best (bold)
    assert md[2] == "| relu | 21.00 ± 1.41 | 22.00 ± 1.41 | **0.5000 ± 0.0000** | 100 | 2 |"
    assert md[3].startswith("| siren | **28.00 ± 2.83** | **29.00 ± 2.83** |")
    # a diverged run is left out of the mean and counted
    assert md[4].startswith("| pe | 25.00 | 26.00 |") and md[4].endswith("| 2 (1 diverged) |")


def test_per_image_table_bolds_the_best_per_image():
    md = tables.to_markdown(tables.per_image_table(ROWS)).splitlines()
    assert md[0] == "| method | a | b |"
    assert md[2:] == ["| relu | 20.00 | 22.00 |", "| siren | **30.00** | **26.00** |",
                      "| pe | 25.00 | n/a |"]


def test_seeds_give_mean_and_std_per_image():
    rows = [_row("relu", "a", 20.0, seed=0), _row("relu", "a", 24.0, seed=1)]
    assert tables.to_markdown(tables.per_image_table(rows)).splitlines()[2] == \
        "| relu | **22.00 ± 2.83** |"


def test_width_table_shows_rank_against_its_maximum():
    ranks = lambda w, r: dict(rank_init_exact=r, rank_init_numerical=r - 1, rank_final_exact=w + 1,  # noqa: E731
                              rank_final_numerical=r, rank_max=w + 1)
    rows = [_row("relu", "a", 20.0, width=64, **ranks(64, 30)),
            _row("relu+rei", "a", 23.0, width=64, **ranks(64, 65))]
    md = tables.to_markdown(tables.width_table(rows)).splitlines()
    assert md[2] == "| relu | 64 | 20.00 | 30 / 65 | 29 / 65 | 65 | 30 |"
    assert md[3] == "| relu+rei | 64 | **23.00** | 65 / 65 | 64 / 65 | 65 | 65 |"


def test_lr_table_bolds_each_methods_best_lr():
    rows = [_row("relu", "a", 20.0, lr=1e-3), _row("relu", "a", 21.0, lr=3e-3),
            _row("siren", "a", 30.0, lr=1e-4), _row("siren", "a", None, lr=3e-3, status="diverged")]
    md = tables.to_markdown(tables.lr_table(rows)).splitlines()
    assert md[0] == "| method | PSNR @ lr, grid point 1 | PSNR @ lr, grid point 2 |"
    assert md[2] == "| relu | 20.00 @ 0.001 | **21.00 @ 0.003** |"
    assert md[3] == "| siren | **30.00 @ 0.0001** | n/a @ 0.003 |"


def test_best_lrs_picks_the_best_mean_and_flags_the_grid_edge():
    def rec(method, lr, psnr, status="ok"):
        return {"run": {"method": method, "lr": lr}, "status": status,
                "metrics": {"final_psnr": psnr}}

    recs = [rec("relu", 1e-3, 20), rec("relu", 3e-3, 22), rec("relu", 1e-2, 21),
            rec("siren", 1e-4, 30), rec("siren", 3e-4, None, "diverged")]
    best = bench.best_lrs(recs, protocol={"steps": 10})
    assert best["lr"] == {"relu": 3e-3, "siren": 1e-4} and best["edge"] == ["siren"]
    assert best["grid"]["siren"] == {"0.0001": 30, "0.0003": None}
    json.dumps(best, allow_nan=False)  # strict JSON: no -inf or NaN


def test_results_markdown_names_protocol_and_places_reference_points():
    md = report.results_markdown(ROWS, bench.suite("kodak"), machine="Machine: test box.")
    assert "5000 full-batch Adam steps; seeds 0, 1, 2" in md and "Machine: test box." in md
    # other papers' numbers stand after our tables, only where the protocol is comparable
    assert md.index(report.REFERENCE_POINTS) > md.index("## Summary")
    assert "## Subset kodim01-08" not in md  # no rows of that subset here
    assert report.REFERENCE_POINTS not in report.results_markdown(ROWS, bench.suite("quick"))


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.imgs, self.bold = [], [], 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.imgs.append(dict(attrs)["src"])
        self.bold += tag == "b"


def test_report_html_is_well_formed_and_every_image_exists(tmp_path):
    res = bench.run_suite("quick", methods=["relu", "pe"], images=["camera"], steps=3, size=8,
                          widths=[8], out=tmp_path, progress=False)
    page = (tmp_path / "report.html").read_text()
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    parser = _Collector()
    parser.feed(page)
    # summary; per image: fit PSNR, off-grid PSNR, off-grid SSIM (quick evaluates off the grid)
    assert parser.tags.count("table") == 4 and parser.tags.count("h2") >= 5
    assert parser.bold >= 3, "the best cells are bold"
    assert sorted(parser.imgs) == ["figures/recon_pe.png", "figures/recon_relu.png",
                                   "psnr_vs_steps.png"]
    assert all((tmp_path / src).is_file() for src in parser.imgs)
    assert res.files["html"] == tmp_path / "report.html"
    # under the summary: who leads by how much (one image, one seed: plainly)
    assert "<p class='lead'>" in page and " (the runner-up) by " in page
    assert " (the runner-up) by " in (tmp_path / "results.md").read_text()


def test_csv_and_json_rows_match(tmp_path):
    recs = [{"run": {"method": "relu", "signal": "a", "seed": 0, "width": 8, "depth": 3,
                     "steps": 2, "lr": 1e-3, "size": 8}, "status": "ok", "history": [],
             "metrics": {"final_psnr": 12.5, "best_psnr": 13.0, "ssim": 0.25, "params": 10,
                         "seconds_per_step": 0.01, "device": "cpu"}, "rank": None}]
    files = report.write_report(recs, tmp_path, suite=bench.suite("quick"), plots=False,
                                machine="Machine: x.")
    with open(files["csv"], newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(report.ROW_FIELDS)
    assert json.loads(files["json"].read_text()) == [report.flat_row(recs[0])]
    assert rows[0]["final_psnr"] == "12.5" and "<table>" in files["html"].read_text()


def test_write_html_escapes_text(tmp_path):
    table = (["method"], [[("<b>x</b>", False)]])
    page = write_html(tmp_path, title="a & b", markdown_parts=[("t", table)], intro="x < y",
                      figures={}).read_text()
    assert "a &amp; b" in page and "&lt;b&gt;x&lt;/b&gt;" in page and "x &lt; y" in page


def test_table_of_no_rows_is_rejected_clearly():
    with pytest.raises(ValueError, match="no rows"):
        tables.summary_table([])


def _demo_images():
    """A target and three reconstructions whose errors differ tenfold: on scales of their own
    the maps would all look alike."""
    import numpy as np

    rng = np.random.default_rng(0)
    target = rng.uniform(0.2, 0.8, (6, 8, 3))
    return target, {m: np.clip(target + rng.normal(0, s, target.shape), 0, 1)
                    for m, s in (("relu", 0.2), ("pe", 0.05), ("siren", 0.01))}


def test_error_maps_share_one_colour_scale_and_one_bar():
    from inrank.report.figures import abs_error, error_maps_figure, error_scale

    target, recons = _demo_images()
    fig = error_maps_figure(target, recons)
    maps = [im for ax in fig.axes for im in ax.get_images() if im.get_cmap().name == "inferno"]
    assert len(maps) == 3
    scale = error_scale(target, recons)
    assert {(im.norm.vmin, im.norm.vmax) for im in maps} == {(0.0, scale)}
    assert scale == max(float(np.percentile(abs_error(target, r), 99)) for r in recons.values())
    assert [ax.get_label() for ax in fig.axes].count("<colorbar>") == 1
    assert np.allclose(maps[1].get_array(), abs_error(target, recons["pe"]))


def test_demo_page_draws_every_error_map_on_one_scale(tmp_path, monkeypatch):
    """``errors.png`` (every method side by side, one colour bar) is on the page, and each
    method's own target | reconstruction | error figure uses the same scale."""
    import inrank
    from inrank.bench import demo
    from inrank.report.figures import error_scale

    target, recons = _demo_images()
    signal = inrank.load_image(target.astype(np.float32))
    history = [{"step": 0, "psnr": 10.0}, {"step": 1, "psnr": 12.0}]
    rows = [demo.DemoRow(m, 20.0 + k, 0.5, 0.01, 3, 3, 8, history, r)
            for k, (m, r) in enumerate(recons.items())]
    scales = []
    real = demo.save_comparison
    monkeypatch.setattr(demo, "save_comparison", lambda *a, error_max=None, **k: (
        scales.append(error_max), real(*a, error_max=error_max, **k))[1])
    page = demo.write_demo_html(rows, signal, tmp_path).read_text()
    shared = error_scale(signal.to_image(signal.values), recons)
    assert scales == [shared] * 3 and shared > 0
    assert "errors.png" in page and (tmp_path / "errors.png").is_file()
    assert page.index("errors.png") < page.index("relu_comparison.png")
