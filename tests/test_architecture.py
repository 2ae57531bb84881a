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
