"""The examples of README.md and the documentation pages run as pasted.

Every ```python block of a page runs, in page order and in one namespace (as a reader pastes
them into one session), in a temporary folder that holds the user files the pages name
(``photo.png``, ``clip.wav``, ``bunny.obj``). A block preceded by ``<!-- example: not run
(REASON) -->`` is not run: a registry entry to paste into the source, a cluster's address. The
examples are sized to run in seconds; an example too slow for this test is made smaller.

The shell examples: every ``python -m benchmarks.FOLDER.SCRIPT`` / ``python benchmarks/...`` /
``python docs/...`` / ``bash benchmarks/...`` command of README.md, BENCHMARKS.md,
CONTRIBUTING.md, benchmarks/README.md, benchmarks/ARCHIVE.md and docs/ names a script that
exists, and each ``--option`` it passes is one the script's ``--help`` lists (a benchmark runs
as the module it is, as ``python -m`` runs it). (``inrank ...`` command lines are parsed by
``tests/test_cli_config.py``.)
"""
from __future__ import annotations

import contextlib
import io
import re
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
#: where shell commands are documented (README and the pages, plus these).
COMMAND_DOCS = [*PAGES, ROOT / "BENCHMARKS.md", ROOT / "CONTRIBUTING.md",
                ROOT / "benchmarks" / "README.md", ROOT / "benchmarks" / "ARCHIVE.md"]
_FENCE = re.compile(r"(?:^<!-- example: not run \((?P<why>[^)]+)\) -->\n)?^```python\n(?P<code>.*?)^```",
                    re.S | re.M)
_SCRIPT = re.compile(r"(?:python3?|bash) ((?:benchmarks|docs)/[\w/.-]+\.(?:py|sh))([^`\n]*)")
#: ``python -m benchmarks.FOLDER.SCRIPT``: a benchmark run as a module (its path: the script;
#: an upper-case name is a placeholder).
_MODULE = re.compile(r"python3? -m (benchmarks(?:\.[a-z0-9_]+)+)\b(?!\.)([^`\n]*)")


def python_blocks(page: Path) -> list[tuple[int, str, str | None]]:
    """``(line, code, reason not run or None)`` of each ```python block of ``page``."""
    text = page.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start("code")) + 1, m.group("code"), m.group("why"))
            for m in _FENCE.finditer(text)]


def _user_files(folder: Path) -> None:
    """The files the pages call the reader's own: an image, a sound clip, a closed mesh."""
    import imageio.v3 as iio
    import soundfile
    import trimesh
    from skimage import data
    from skimage.transform import resize

    iio.imwrite(folder / "photo.png",
                (resize(data.astronaut(), (96, 96)) * 255).round().astype(np.uint8))
    rate = 8000
    t = np.arange(rate) / rate  # 1 s: a chord with a decaying envelope
    clip = 0.3 * (np.sin(2 * np.pi * 220 * t) + 0.5 * np.sin(2 * np.pi * 330 * t)) * np.exp(-2 * t)
    soundfile.write(folder / "clip.wav", clip.astype(np.float32), rate)
    trimesh.creation.icosphere(subdivisions=3, radius=0.8).export(folder / "bunny.obj")


PAGES_WITH_EXAMPLES = [p for p in PAGES if python_blocks(p)]


def test_the_pages_have_examples():
    """The collection finds the examples (a changed fence would silently find none)."""
    names = {p.relative_to(ROOT).as_posix() for p in PAGES_WITH_EXAMPLES}
    assert {"README.md", "docs/index.md", "docs/getting-started.md",
            "docs/how-to/fit-your-own-signal.md", "docs/how-to/diagnose.md"} <= names
    skipped = [(p.name, line) for p in PAGES for line, _, why in python_blocks(p) if why]
    assert len(skipped) <= 2, f"examples marked not run: {skipped}"


@pytest.mark.parametrize("page", PAGES_WITH_EXAMPLES,
                         ids=[p.relative_to(ROOT).as_posix() for p in PAGES_WITH_EXAMPLES])
def test_examples_run_as_pasted(page, tmp_path, monkeypatch, one_thread):
    from inrank.nn import registry

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # add-a-method registers
    monkeypatch.chdir(tmp_path)
    _user_files(tmp_path)
    import inrank

    fits = []
    real_fit = inrank.fit

    def recorded(model, signal, *args, **kwargs):  # every fit an example runs, kept
        result = real_fit(model, signal, *args, **kwargs)
        fits.append((model, result))
        return result

    monkeypatch.setattr(inrank, "fit", recorded)
    namespace: dict = {"__name__": "__main__"}
    for line, code, why in python_blocks(page):
        if why:
            compile(code, f"{page.name}:{line}", "exec")  # still valid Python
            continue
        try:
            exec(compile(code, f"{page.relative_to(ROOT)}:{line}", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"the example at {page.relative_to(ROOT)}:{line} fails as "
                                 f"pasted: {type(exc).__name__}: {exc}") from exc
    checked = 0
    for model, result in fits:  # a preset model the example gave no lr trains at the tuned ones
        name, cfg = getattr(model, "preset", None), getattr(model, "config", None)
        if name not in inrank.presets() or result.settings.sources.get("lr") == "given":
            continue
        checked += 1
        width = cfg.width if cfg.depth else None
        tuned = inrank.preset(name).lr_for(result.optimizer, width=width)
        assert (result.lr, result.muon_lr) == (tuned["lr"], tuned["muon_lr"]), (
            f"{page.relative_to(ROOT)}: {name} trained at lr {result.lr}, muon_lr "
            f"{result.muon_lr}; its tuned values at width {width} are {tuned}")
    if page.name in ("README.md", "getting-started.md", "index.md"):  # they fit a preset
        assert checked >= 1, f"{page.name}: no fit of a preset model was checked"


def documented_scripts() -> dict[str, set[str]]:
    """Script path -> the ``--options`` the docs pass to it."""
    found: dict[str, set[str]] = {}
    for doc in COMMAND_DOCS:
        text = doc.read_text(encoding="utf-8").replace("\\\n", " ")
        spans = re.findall(r"```bash\n(.*?)```", text, re.S) + [
            s.replace("\n", " ") for s in re.findall(r"`([^`]+)`", text)]
        for span in spans:
            for line in span.splitlines() or [span]:
                line = line.split(" # ")[0]
                commands = _SCRIPT.findall(line) + [(module.replace(".", "/") + ".py", rest)
                                                    for module, rest in _MODULE.findall(line)]
                for script, rest in commands:
                    rest = re.split(r"[|;&>]", rest)[0]
                    found.setdefault(script, set()).update(re.findall(r"(?<!\S)(--[\w-]+)", rest))
    return found


def test_documented_scripts_exist_and_take_their_options(monkeypatch):
    scripts = documented_scripts()
    assert len(scripts) > 15 and "benchmarks/fidelity/table1.py" in scripts
    missing = [s for s in scripts if not (ROOT / s).is_file()]
    assert missing == [], f"the docs name scripts that do not exist: {missing}"
    monkeypatch.chdir(ROOT)
    for script, options in sorted(scripts.items()):
        if not script.endswith(".py") or not options:
            continue
        monkeypatch.setattr(sys, "argv", [script, "--help"])
        monkeypatch.setattr(sys, "path", [str(ROOT), *sys.path])  # as python -m from the root
        out = io.StringIO()
        with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as stop:
            if script.startswith("benchmarks/"):  # a package module, as python -m runs it
                runpy.run_module(script[:-3].replace("/", "."), run_name="__main__",
                                 alter_sys=True)
            else:
                runpy.run_path(str(ROOT / script), run_name="__main__")
        assert stop.value.code in (0, None), f"{script} --help exited {stop.value.code}"
        unknown = sorted(o for o in options if o not in out.getvalue())
        assert unknown == [], f"the docs pass {unknown} to {script}, whose --help lacks them"


def test_benchmarks_are_documented_as_the_modules_they_run_as():
    """A benchmark stands on ``benchmarks.frame``, so it runs as ``python -m benchmarks.X.Y``
    from the repository root; the docs show that form (``render_docs.py``, which imports only
    inrank, also runs as a file)."""
    as_files = {script for doc in COMMAND_DOCS
                for script, _ in _SCRIPT.findall(doc.read_text(encoding="utf-8"))
                if script.startswith("benchmarks/") and script.endswith(".py")}
    assert as_files <= {"benchmarks/render_docs.py"}, \
        f"documented as files, not as python -m benchmarks...: {sorted(as_files)}"
