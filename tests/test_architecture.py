"""The package's shape: rooms import each other's public names only.

A name starting with ``_`` is private to its module: no other module imports it. A private
*module* (``inrank.nn._triangle``) is private to its subpackage: only its siblings import it.
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import inrank


def _modules() -> list[str]:
    return ["inrank"] + [m.name for m in pkgutil.walk_packages(inrank.__path__, "inrank.")]


def _absolute(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


def _private_imports() -> list[str]:
    bad = []
    for module in _modules():
        path = Path(importlib.util.find_spec(module).origin)  # no import: __main__ would run
        is_package = path.name == "__init__.py"
        package = module if is_package else module.rsplit(".", 1)[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = _absolute(module, node, is_package)
                if not source.startswith("inrank"):
                    continue
                pairs = [(source, a.name) for a in node.names]
            elif isinstance(node, ast.Import):
                pairs = [(a.name.rsplit(".", 1)[0], a.name.rsplit(".", 1)[-1])
                         for a in node.names if a.name.startswith("inrank.")]
            else:
                continue
            for source, name in pairs:
                parts = (source + "." + name).split(".")
                private = [i for i, p in enumerate(parts) if p.startswith("_")
                           and not (p.startswith("__") and p.endswith("__"))]
                if not private:
                    continue
                first = private[0]
                owner = ".".join(parts[:first])  # the package that holds the private part
                if (len(private) == 1 and owner == package
                        and _is_module(".".join(parts[:first + 1]))):
                    continue  # a sibling's private module, or a public name in it
                target = ".".join(parts)
                bad.append(f"{module} imports {target}")
    return bad


def test_no_module_imports_a_private_name_of_another():
    assert _private_imports() == []


def test_every_subpackage_is_a_room_with_a_public_surface():
    for room in ("signals", "nn", "train", "diagnosis", "bench", "report", "cli"):
        mod = importlib.import_module(f"inrank.{room}")
        assert mod.__doc__ and mod.__all__, room
        for name in mod.__all__:
            assert not name.startswith("_") and hasattr(mod, name), (room, name)
    for name in inrank.__all__:
        assert hasattr(inrank, name), name


#: The floors the rooms stand on; an import goes down or stays on its floor, never up. The
#: diagnosis stands below training: a fit's rank tracking and its ``auto`` settings read it,
#: and it needs no training (a forward, the NTK factors, linear algebra).
FLOORS = {
    "version": 0, "errors": 0, "files": 0, "validation": 0, "memory": 0, "readback": 0,
    "metrics": 0, "markup": 0, "tuned": 0,
    "signals": 1, "nn": 1, "operators": 1,
    "diagnosis": 2,
    "train": 3,
    "runs": 4, "run_folder": 4, "report": 4,
    "bench": 5,
    "cli": 6,
    "inrank": 7, "__main__": 7,
}
#: What a module may import inside a function: an optional extra (Ray, trimesh, libigl, pydicom,
#: TensorBoard, PyAV, scikit-video, mkdocs), or a heavy library that only some paths need
#: (matplotlib, SciPy, scikit-image, imageio / Pillow, soundfile, tifffile, jsonargparse, tqdm),
#: so that ``import inrank`` stays light. Everything else, and every inrank module, is
#: imported at the top.
LAZY = {"ray", "trimesh", "igl", "pydicom", "tensorboard", "av", "skvideo", "mkdocs",
        "matplotlib", "scipy", "skimage", "imageio", "PIL", "soundfile", "tifffile",
        "jsonargparse", "tqdm"}


def _edges() -> dict[str, set[str]]:
    """Module -> the inrank modules it imports (anywhere in its text)."""
    mods = set(_modules())
    edges: dict[str, set[str]] = {}
    for module in mods:
        path = Path(importlib.util.find_spec(module).origin)
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                source = _absolute(module, node, is_package)
                if source.startswith("inrank"):
                    for a in node.names:
                        sub = f"{source}.{a.name}"
                        edges.setdefault(module, set()).add(sub if sub in mods else source)
            elif isinstance(node, ast.Import):
                edges.setdefault(module, set()).update(
                    a.name for a in node.names if a.name.startswith("inrank"))
    return edges


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "inrank"


def test_no_import_goes_up_a_floor():
    up = sorted(f"{a} -> {b}" for a, bs in _edges().items() for b in bs
                if FLOORS[_room(b)] > FLOORS[_room(a)])
    assert up == []


def test_the_import_graph_has_no_circle():
    edges = _edges()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                circles.append(sorted(part))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    assert circles == []
def test_imports_sit_at_the_top_unless_an_extra_needs_them_inside():
    inside = []
    for module in _modules():
        path = Path(importlib.util.find_spec(module).origin)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in top:
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    name = node.module
                else:
                    name = node.names[0].name if isinstance(node, ast.Import) else "inrank"
                # torch submodules that cost seconds to import, which `import torch` leaves
                # out: tensorboard (an extra), _dynamo (a first optimizer imports it; auto
                # imports it before its clock starts)
                lazy = name.split(".")[0] in LAZY or name in ("torch.utils.tensorboard",
                                                              "torch._dynamo")
                if name.split(".")[0] == "inrank" or not lazy:
                    inside.append(f"{module}:{node.lineno} {name}")
    assert inside == []
