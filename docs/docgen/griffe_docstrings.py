"""A griffe extension for the site's API reference: two habits of the project's docstrings
that Google style (as griffe reads it) has no form for.

- Related arguments documented together (``steps, lr: as in fit``): griffe would read
  ``steps, lr`` as one unknown parameter. Such an entry becomes one entry per name, each with
  the shared description, so the reference lists every parameter and the strict build still
  warns about a parameter that is genuinely not in the signature.
- Sphinx roles (``:func:`inrank.fit```, ``:class:`~inrank.nn.mlp.MLPConfig```), which
  Markdown would show verbatim: each becomes inline code of the name (the last dotted part
  after ``~``, as Sphinx shows it).

Both rewrite the docstring before anything parses it. Used from ``mkdocs.yml``
(``extensions: [docs/docgen/griffe_docstrings.py:ProjectDocstrings]``).
"""
from __future__ import annotations

import re
from typing import Any

import griffe

__all__ = ["ProjectDocstrings", "split_names", "plain_roles"]

_ARGS = re.compile(r"(Args|Arguments|Parameters|Keyword Args|Keyword Arguments|"
                   r"Other Parameters):")
_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|exc|obj):`(?P<tilde>~?)(?P<name>[^`]+)`")
_MULTI = re.compile(r"(?P<names>[\w*]+(?:\s*,\s*[\w*]+)+)\s*(?P<type>\([^)]*\))?\s*:\s*"
                    r"(?P<desc>.*)", re.S)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _entry(lines: list[str], indent: int) -> list[str]:
    """One argument entry (its first line and continuation lines), split if it names several
    parameters."""
    m = _MULTI.fullmatch(" ".join(line.strip() for line in lines))
    if m is None:
        return lines
    kind = f" {m['type']}" if m["type"] else ""
    return [f"{' ' * indent}{name.strip()}{kind}: {m['desc']}"
            for name in m["names"].split(",")]


def split_names(text: str) -> str:
    """``text`` (a docstring) with every ``a, b: description`` entry of its argument sections
    written as ``a: description`` and ``b: description``.

    Examples:
        >>> print(split_names("Sum.\\n\\nArgs:\\n    a, b: the terms.\\n    c: other."))
        Sum.
        <BLANKLINE>
        Args:
            a: the terms.
            b: the terms.
            c: other.
    """
    lines, out, i = text.splitlines(), [], 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        i += 1
        if not _ARGS.fullmatch(line.strip()):
            continue
        section = _indent(line)
        arg_indent = None
        while i < len(lines) and lines[i].strip() and _indent(lines[i]) > section:
            arg_indent = arg_indent if arg_indent is not None else _indent(lines[i])
            entry = [lines[i]]
            i += 1
            while i < len(lines) and lines[i].strip() and _indent(lines[i]) > arg_indent:
                entry.append(lines[i])
                i += 1
            out += _entry(entry, arg_indent)
    return "\n".join(out)


def plain_roles(text: str) -> str:
    """``text`` with every Sphinx role written as inline code of its target.

    Examples:
        >>> plain_roles("See :func:`inrank.fit` and :class:`~inrank.nn.mlp.MLPConfig`.")
        'See `inrank.fit` and `MLPConfig`.'
    """
    return _ROLE.sub(lambda m: "`" + (m["name"].rsplit(".", 1)[-1] if m["tilde"] else m["name"])
                     + "`", text)


class ProjectDocstrings(griffe.Extension):
    """Rewrite every docstring of the package as the module says, before it is parsed."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite ``obj``'s docstring (modules, classes, functions and attributes alike)."""
        if obj.docstring is not None:
            obj.docstring.value = split_names(plain_roles(obj.docstring.value))
