"""The committed tuned values (``src/inrank/nn/tuned.json``), when present, are well formed:
every method is registered, every value sits in its grid, the calibration images are not test
images of the suite they were tuned for, and the registry applies them."""
from __future__ import annotations

import json

import inrank
from inrank.bench import suite
from inrank.nn import tuned_state


def _committed() -> dict:
    path = tuned_state.TUNED_PATH  # the autouse fixture hides it from other tests
    return json.loads(path.read_text()) if path.is_file() else {}


def test_committed_tuned_values_are_well_formed(monkeypatch):
    from pathlib import Path

    real = Path(inrank.nn.registry.__file__).with_name("tuned.json")
    monkeypatch.setattr(tuned_state, "TUNED_PATH", real)
    data = _committed()
    if not data:  # no tuning committed: the registry runs at the paper defaults
        assert all(not inrank.preset(m).tuned for m in inrank.presets())
        return
    s = suite(data["protocol"]["suite"]["name"])
    assert set(data["protocol"]["calibration"]).isdisjoint(s.images)
    for method, t in data["methods"].items():
        assert method in inrank.presets()
        grid = {float(k): v for k, v in t["grid"]["lr"].items()}
        assert t["lr"] in grid and grid[t["lr"]] == max(v for v in grid.values() if v is not None)
        p = inrank.preset(method)
        assert p.lr == t["lr"] and p.tuned["calibration"] == data["protocol"]["calibration"]
        for knob, value in t["config"].items():
            assert knob == p.knob and f"{value:g}" in t["grid"]["knob"]
