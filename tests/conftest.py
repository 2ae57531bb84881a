"""Shared fixtures: tiny signals, and single-threaded torch for stable timings."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

import inrank

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def camera16() -> inrank.Signal:
    """The scikit-image camera, 16 x 16 gray."""
    return inrank.load_image("camera", size=16)


@pytest.fixture(scope="session")
def astronaut32() -> inrank.Signal:
    """The scikit-image astronaut, 32 x 32 RGB."""
    return inrank.load_image("astronaut", size=32)


@pytest.fixture(autouse=True)
def _deterministic_threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)
