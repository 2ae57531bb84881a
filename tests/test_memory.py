"""The up-front memory estimate (inrank.memory): every request that allocates by its size is
refused at once, before allocating, with the bytes it needs and a setting that fits; the
estimates match what the code really allocates; normal requests pass."""
from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import inrank
from inrank import memory
from inrank.errors import InputError, ResourceError
from inrank.signals.mesh import grid_occupancy
from inrank.train.evaluate import occupancy_logits

GB = 10 ** 9
TETRA_V = np.array([[1., 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]])
TETRA_F = np.array([[0, 1, 2], [0, 3, 1], [1, 3, 2], [2, 3, 0]])


@pytest.fixture
def budget(monkeypatch):
    """This machine has 2 GB available, whatever it really has."""
    monkeypatch.setattr(memory, "available_bytes", lambda device=None: 2 * GB)
    return 2 * GB


def _refused(call, *, request: str) -> tuple[str, int]:
    """Call ``call``; it must raise ResourceError within half a second, naming ``request``, the
    memory it needs and a fitting setting; return the message and that setting."""
    t0 = time.perf_counter()
    with pytest.raises(ResourceError) as err:
        call()
    assert time.perf_counter() - t0 < 0.5, "refused only after allocating"
    msg = str(err.value)
    assert msg.startswith(f"{request} needs about ") and "\n" not in msg, msg
    assert "this machine has 2.0 GB available" in msg, msg
    fix = re.search(r"use (\w+)=(\d+) or less$", msg)
    assert fix, msg
    return msg, int(fix.group(2))


def test_available_bytes_is_the_systems_available_memory():
    have = memory.available_bytes()
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():  # Linux: at most MemAvailable (a cgroup limit may lower it)
        line = next(x for x in meminfo.read_text().splitlines() if x.startswith("MemAvailable"))
        assert 0 < have <= int(line.split()[1]) * 1024 * 1.05
    assert have > 100 * 10 ** 6


def test_format_bytes():
    assert [memory.format_bytes(x) for x in (0, 999, 1000, 12_345, 1.2e12, 760e9, 3e18)] == \
        ["0 B", "999 B", "1.0 kB", "12 kB", "1.2 TB", "760 GB", "3.0 EB"]


def test_image_size(budget):
    assert inrank.load_image("astronaut", size=64).shape == (64, 64)  # normal use passes
    msg, fits = _refused(lambda: inrank.load_image("astronaut", size=100_000), request="size=100000")
    assert "100000 x 100000 x 3 image" in msg and "needs about 820 GB" in msg
    memory.check_image((512, 512), 3, fits)  # the advice fits ...
    assert 0.9 * budget < memory._image_bytes(fits, fits, 3) <= budget  # ... and is not timid
    with pytest.raises(ResourceError, match="size=7000 needs"):  # the long side counts
        inrank.load_image(np.zeros((10, 40, 3)), size=7000)  # 7000 x 28000


def test_video_frames(budget):
    assert inrank.load_video("bikes", frames=2, size=16).shape == (2, 16, 38)  # normal use passes
    msg, fits = _refused(lambda: inrank.load_video("bikes", size=1000), request="frames=250, size=1000")
    assert "250 x 1000 x 2353 x 3 clip" in msg and "needs about 37 GB" in msg
    memory.check_video(fits, (272, 640), 3, 1000)  # the advice fits ...
    assert 0.9 * budget < memory._video_bytes(fits, 1000, 2353, 3, (272, 640)) <= budget  # ... and is not timid


def test_one_d_signal_size(budget):
    _, fits = _refused(lambda: inrank.load_signal("chirp", size=10 ** 11), request="size=100000000000")
    memory.check_points(fits, "1d", name="size")
    _refused(lambda: inrank.signal_1d("step", n_points=10 ** 11), request="n_points=100000000000")
    with pytest.raises(InputError, match="size must be a positive integer, got 0"):
        inrank.load_signal("chirp", size=0)  # was read as "no size": 512 samples


def test_model_width_counts_its_real_parameters(budget):
    msg, fits = _refused(lambda: inrank.build("pe", 2, 3, width=1_000_000, depth=3),
                         request="width=1000000")
    small = inrank.build("pe", 2, 3, width=20, depth=3)
    enc = small.linears[0].in_features
    params = sum(p.numel() for p in small.parameters())
    assert memory._mlp_parameters([enc, 20, 20, 20, 3]) == params  # the estimate's count
    assert f"{memory._mlp_parameters([enc] + [10 ** 6] * 3 + [3]):,} parameters" in msg
    memory.check_model(enc, fits, 3, 3)
    assert inrank.build("pe", 2, 3, width=256, depth=3)  # normal use passes


def test_occupancy_grid_resolution(budget):
    sig = inrank.mesh_occupancy(TETRA_V, TETRA_F, n_points=64)
    _, fits = _refused(lambda: grid_occupancy(sig, 5000), request="resolution=5000")
    memory.check_grid(fits)
    model = inrank.build("relu", 3, 1, width=8, depth=2)
    _refused(lambda: occupancy_logits(model, 5000), request="resolution=5000")
    _refused(lambda: inrank.occupancy_iou(model, sig, resolution=5000), request="resolution=5000")
    _, fits2 = _refused(lambda: memory.check_grid(5000, scale=2), request="resolution=5000")
    assert fits2 <= fits // 2 + 1  # both the R^3 and the (2R)^3 grids must fit
    _refused(lambda: inrank.mesh_occupancy(TETRA_V, TETRA_F, n_points=10 ** 11),
             request="n_points=100000000000")
    assert 0 <= inrank.occupancy_iou(model, sig, resolution=8) <= 1  # normal use passes


def test_dense_ntk_refused_before_any_factor(budget):
    model = inrank.build("relu", 2, 3, width=64, depth=2)
    coords = torch.rand(60_000, 2)
    t0 = time.perf_counter()
    with pytest.raises(ResourceError) as err:
        inrank.diagnose(model, coords, solver="dense")
    assert time.perf_counter() - t0 < 0.5
    msg = str(err.value)
    assert msg.startswith("solver=dense at N = 60000 points needs about 145 GB"), msg
    fits = int(re.search(r"use solver=matrix-free or at most (\d+) points$", msg).group(1))
    shapes = [(lin.in_features, lin.out_features) for lin in model.linears]
    memory.check_dense_ntk(fits, kernels=5, layers=shapes)  # the advice fits
    with pytest.raises(ResourceError, match=r"^layerwise_ntk at N = 60000 points needs about "
                                            r"116 GB \(4 60000 x 60000 matrices"):
        inrank.layerwise_ntk(model, coords)  # three blocks and their sum
    with pytest.raises(ResourceError, match=r"needs about 1.0 TB \(4 180000 x 180000 matrices"):
        inrank.layerwise_ntk(model, coords, outputs="full")  # (N c, N c) blocks
    # the matrix-free solver is not refused; a dense one without any (N, N) matrix neither
    narrow = inrank.build("relu", 2, 1, width=4, depth=1)
    d = inrank.diagnose(narrow, torch.rand(3000, 2), solver="dense", total=False)
    assert all(layer.ntk_solver == "dual" for layer in d.layers)


#: A request sized for about 200-400 MB, the same request tiny (run first, so every lazy
#: initialisation is done before the baseline) and its estimate; each in a fresh process.
_MEASURED = {
    "image": ("inrank.load_image('astronaut', size={n})", 1500,
              "memory._image_bytes(1500, 1500, 3)"),
    "model": ("inrank.fit(inrank.build('relu', 2, 1, width={n}, depth=3), "
              "inrank.load_image('camera', size=4), steps=2, lr=1e-3, progress=False, accept_worse=True)", 2000,
              "28 * memory._mlp_parameters([2, 2000, 2000, 2000, 1])"),
    "video": ("inrank.load_video('bikes', frames={n})", 30,
              "memory._video_bytes(30, 272, 640, 3, (272, 640))"),
    "grid": ("occupancy_logits(inrank.build('relu', 3, 1, width=8, depth=2), {n})", 160,
             "memory._grid_bytes(160)"),
    "ntk": ("inrank.diagnose(inrank.build('relu', 2, 3, width=64, depth=2), torch.rand({n}, 2),"
            " solver='dense')", 3000,
            "memory._ntk_bytes(3000, 5, (3 * 64 + 3) + (3 * 64 + 65) + (3 * 3 + 65))"),
}


@pytest.mark.parametrize("kind", list(_MEASURED))
def test_estimates_match_the_measured_peak(kind):
    """An estimate below the real peak lets a request run out of memory; one far above it
    refuses what would fit. Measured as the process's peak resident memory (VmHWM, reset
    before the request) above its resident memory before it."""
    run, n, estimate = _MEASURED[kind]
    code = f"""
import re, torch, inrank
from inrank import memory
from inrank.train.evaluate import occupancy_logits
torch.set_num_threads(1)
status = lambda key: int(re.search(key + r":\\s+(\\d+) kB", open("/proc/self/status").read())[1]) * 1024
{run.format(n=8)}
open("/proc/self/clear_refs", "w").write("5")  # the peak starts again from here
base = status("VmRSS")
{run.format(n=n)}
print((status("VmHWM") - base) / ({estimate}))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    ratio = float(proc.stdout.strip().splitlines()[-1])
    assert 0.7 < ratio < 1.25, f"{kind}: measured peak / estimate = {ratio:.2f}"


def test_the_cli_refuses_in_one_line_before_allocating(budget, tmp_path, capsys):
    from inrank.cli import main

    mesh = Path(__file__).resolve().parents[2] / "shared" / "data" / "meshes" / "bunny.obj"
    cases = [
        (["fit", "astronaut", "--size", "100000", "--accept-worse"], "--size 100000 needs about 820 GB", "use --size 4900 or less"),
        (["fit", "astronaut", "--size", "8", "--width", "1000000", "--accept-worse"],
         "--width 1000000 needs about 56 TB", "use --width "),
        (["fit", str(mesh), "--resolution", "5000", "--accept-worse"], "--resolution 5000 needs about 60 TB",
         "use --resolution 160 or less"),
        (["diagnose", "--solver", "dense", "--size", "300", "--width", "16", "--depth", "2"],
         "--solver dense at N = 90000 points needs about", "use --solver matrix-free"),
    ]
    for argv, needs, fix in cases:
        t0 = time.perf_counter()
        assert main(argv + ["--out", str(tmp_path / "o")]) == 2
        assert time.perf_counter() - t0 < 3  # parsing included; no fit, no image, no grid
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith(f"inrank: error: {needs}") and fix in err[-1], err
        assert "Traceback" not in "\n".join(err)
    assert not (tmp_path / "o" / "model.pt").exists()
