"""``python -m inrank`` runs the ``inrank`` command."""
from __future__ import annotations

import subprocess
import sys


def test_python_m_inrank_runs_the_cli():
    proc = subprocess.run([sys.executable, "-m", "inrank", "--help"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "usage:" in proc.stdout and "diagnose" in proc.stdout  # the inrank parser's help


def test_python_m_inrank_user_error_is_one_line_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "inrank", "fit", str(tmp_path / "nope.png")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "nope.png" in proc.stderr
