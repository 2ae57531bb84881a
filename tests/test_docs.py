"""The generated parts of README.md and BENCHMARKS.md are current, and the preset registry is
the one source every list of methods reads."""
from __future__ import annotations

import importlib.util
import re
from dataclasses import replace
from pathlib import Path

import pytest

from inrank.nn import tuned_state
import inrank
from inrank.bench import expand, suite
from inrank.cli import build_parser
from inrank.nn import registry

ROOT = Path(__file__).resolve().parents[1]


def _render_docs():
    spec = importlib.util.spec_from_file_location("render_docs", ROOT / "benchmarks" / "render_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_tables_are_current(monkeypatch):
    """Every table between generated markers equals what the committed results give
    (fix: ``python benchmarks/render_docs.py``), with the committed tuned values as the
    registry reads them outside the tests."""
    monkeypatch.setattr(tuned_state, "TUNED_PATH", ROOT / "src" / "inrank" / "nn" / "tuned.json")
    docs = _render_docs()
    for path in docs.DOCS:
        _, stale = docs.render(path.read_text(encoding="utf-8"))
        assert stale == [], f"{path.name}: stale blocks {stale}; run python benchmarks/render_docs.py"


def _headings(text: str) -> list[str]:
    """The Markdown headings of ``text`` (outside code blocks), as written."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.findall(r"^#{1,6} .+$", text, flags=re.M)


def test_the_headline_comes_first_and_no_heading_is_there_twice():
    """README opens (after the quick start's two commands) with the generated headline table,
    within its first screen; BENCHMARKS.md leads with the same block; neither BENCHMARKS.md nor
    its archive page holds a heading twice (included result files' headings are nested and
    told apart by their file)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    marker = "<!-- generated: headline -->"
    assert marker in readme[:40], "README's headline block is not on its first screen"
    quick = readme.index("## Quick start")
    assert readme.index(marker) < min(i for i, line in enumerate(readme)
                                      if line.startswith("## ") and i > quick)
    bench = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    assert marker in bench.splitlines()[:5], "BENCHMARKS.md does not lead with the headline"
    block = bench.split(marker)[1].split("<!-- end generated -->")[0]
    assert "| method | optimiser | fit PSNR | off-grid PSNR |" in block
    assert "relu+rei" in block and "What it means" in block
    for path in (ROOT / "BENCHMARKS.md", ROOT / "benchmarks" / "ARCHIVE.md"):
        heads = _headings(path.read_text(encoding="utf-8"))
        twice = sorted({h for h in heads if heads.count(h) > 1})
        assert twice == [], f"{path.name} has duplicate headings: {twice}"


def test_a_stale_table_is_caught():
    docs = _render_docs()
    text = "x\n<!-- generated: presets -->\n| old |\n<!-- end generated -->\ny\n"
    new, stale = docs.render(text)
    assert stale == ["presets"] and docs.presets_markdown() in new
    assert docs.render(new)[1] == []
    with pytest.raises(KeyError, match="unknown generated block"):
        docs.render("<!-- generated: nope -->\n<!-- end generated -->")


def _choices(command: str, flag: str) -> list[str]:
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices[command]
    return list(next(a for a in sub._actions if flag in a.option_strings).choices or [])


def test_adding_a_preset_is_one_registry_entry(monkeypatch, tmp_path):
    """A new method shows up in the CLI, the bench suites, the demo's choices and the README
    table without any other edit."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # undone afterwards
    new = replace(registry.preset("relu"), name="relu-tanh", summary="tanh MLP (a test method)",
                  config=replace(registry.preset("relu").config, activation="tanh"),
                  groups=("demo",))
    registry.register_preset(new)
    assert "relu-tanh" in inrank.presets() and "relu-tanh" in inrank.presets("demo")
    assert "relu-tanh" in _choices("fit", "--method")                         # CLI
    assert "relu-tanh" in {r.method for r in expand(suite("kodak"))}          # every-method suites
    assert "relu-tanh" in {r.method for r in expand(suite("width"))}          # group suites
    assert "relu-tanh" in build_parser().parse_args(["demo"]).methods         # the demo's default
    assert "| `relu-tanh` | tanh MLP (a test method) |" in \
        _render_docs().presets_markdown()  # README
    model = inrank.build("relu-tanh", 2, 1, width=8, depth=1)
    assert type(model.acts[0]).__name__ == "Tanh"
    with pytest.raises(ValueError, match="exists already"):
        registry.register_preset(new)
