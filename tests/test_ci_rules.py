"""The suite's own rules: a skipped test fails the run (conftest.pytest_sessionfinish)."""
import shutil
import subprocess
import sys
from pathlib import Path


def _pytest(folder: Path, env_extra: dict) -> int:
    import os

    env = {k: v for k, v in os.environ.items() if k != "INRANK_ALLOW_SKIPS"} | env_extra
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(folder)], cwd=folder, env=env, capture_output=True).returncode


def test_a_skipped_test_fails_the_run(tmp_path):
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "test_one.py").write_text(
        "import pytest\n\ndef test_skips():\n    pytest.skip('no data')\n\n"
        "def test_passes():\n    pass\n")
    assert _pytest(tmp_path, {}) == 1
    assert _pytest(tmp_path, {"INRANK_ALLOW_SKIPS": "1"}) == 0
    (tmp_path / "test_one.py").write_text("def test_passes():\n    pass\n")
    assert _pytest(tmp_path, {}) == 0
