"""Tables as text: the one Markdown writer (:func:`markdown_table`) and the one HTML writer
(:func:`html_table`) every report, page and notebook display goes through."""
from __future__ import annotations

import html
from collections.abc import Sequence

from .errors import InputError

__all__ = ["Cell", "Table", "markdown_table", "html_table"]

#: A cell: its text, or ``(text, bold)``.
Cell = str | tuple[str, bool]
#: A table: ``(headers, rows)``.
Table = tuple[list[str], list[list[Cell]]]


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Cell]], *,
                   align: str | None = None) -> str:
    """Render a GitHub Markdown table; every table inrank writes goes through here.

    Args:
        headers: column titles.
        rows: one list of cells per row; a cell is its text or ``(text, bold)``. A ``|`` in a
            cell is escaped.
        align: one letter per column, ``l`` (left) or ``r`` (right); default: the first
            column left, the others right (numbers).

    Examples:
        >>> print(markdown_table(["method", "PSNR"], [["relu", ("21.3", True)]]))
        | method | PSNR |
        |---|---:|
        | relu | **21.3** |
    """
    align = align or "l" + "r" * (len(headers) - 1)
    if len(align) != len(headers):
        raise InputError(f"align has {len(align)} letters for {len(headers)} columns")

    def cell(c: Cell) -> str:
        text, bold = (c, False) if isinstance(c, str) else c
        text = str(text).replace("|", "\\|")
        return f"**{text}**" if bold and text else text

    lines = ["| " + " | ".join(headers) + " |",
             "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    for row in rows:
        if len(row) != len(headers):
            raise InputError(f"a row has {len(row)} cells for {len(headers)} columns")
        lines.append("| " + " | ".join(cell(c) for c in row) + " |")
    return "\n".join(lines)


def html_table(table: Table) -> str:
    """A :data:`Table` as an HTML ``<table>`` (bold cells in ``<b>``)."""
    headers, body = table
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)

    def cell(c) -> str:
        text, bold = (c, False) if isinstance(c, str) else c
        text = html.escape(str(text))
        return f"<td><b>{text}</b></td>" if bold else f"<td>{text}</td>"

    rows = "".join("<tr>" + "".join(cell(c) for c in row) + "</tr>" for row in body)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
