"""What :func:`inrank.diagnose` returns: :class:`Diagnosis`, one :class:`LayerDiagnosis` per
dense layer, and their displays (a Markdown table, a short ``repr``, an HTML table for
notebooks, a figure)."""
from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..markup import html_table
from ..markup import markdown_table
from . import rank as _rank
from .figures import plot_diagnosis

__all__ = ["LayerDiagnosis", "Diagnosis", "module_label"]


@dataclass
class LayerDiagnosis:
    """One dense layer's line of a :class:`Diagnosis`.

    Attributes:
        index: 1-based position in forward order.
        name: the ``nn.Linear`` module name.
        fan_in, fan_out: the layer's input and output widths.
        features: :class:`~inrank.diagnosis.rank.RankMeasures` of the features the layer hands
            on, ``[H_l, 1]`` ``(N, D_l + 1)``; None for the last layer.
        gradients: rank measures of the per-sample output gradients w.r.t. the layer's
            pre-activation, ``G_l`` flattened to ``(N, c D_l)`` (singular values).
        ntk_share: ``tr(Theta_l) / tr(Theta)`` (trace over all dense layers).
        ntk: the same rank measures of the block ``Theta_l`` ``(N, N)``, from its eigenvalues.
        ntk_top: the block's largest eigenvalues, descending.
        ntk_solver: ``"dual"`` (exact small Gram), ``"primal"`` (``(N, N)`` eigenvalues) or
            ``"matrix-free"`` (Lanczos and SLQ estimates; ``ntk.estimated`` is then True).
        spectrum: the block's eigenvalues, descending (for plots).
        ntk_bound: matrix-free only: the compressed block's eigenvalue error bound over its
            top eigenvalue (every eigenvalue is within ``ntk_bound * ntk_top[0]`` of the exact
            block's, from below), at most ``Diagnosis.tol``.
    """

    index: int
    name: str
    fan_in: int
    fan_out: int
    features: _rank.RankMeasures | None
    gradients: _rank.RankMeasures | None = None
    ntk_share: float | None = None
    ntk: _rank.RankMeasures | None = None
    ntk_top: list[float] | None = None
    ntk_solver: str | None = None
    spectrum: torch.Tensor | None = field(default=None, repr=False)
    ntk_bound: float | None = None


@dataclass
class Diagnosis:
    """What :func:`diagnose` returns.

    Attributes:
        label: a name for tables and plots (the preset name when known).
        n_points: N.
        rtols: the relative tolerances of the numerical ranks.
        batchnorm: how BatchNorm statistics were treated (see :mod:`inrank.diagnosis.ntk`).
        input_features: rank measures of the first layer's input ``[H_0, 1]`` (encoded coords).
        layers: one :class:`LayerDiagnosis` per dense layer, in forward order.
        total: rank measures of the whole (dense-parameter) NTK, or None.
        total_top: its largest eigenvalues.
        wall_seconds: wall time of the diagnosis.
        solver: ``"dense"`` or ``"matrix-free"``, as ``diagnose(solver=...)`` resolved it.
        tol: the matrix-free path's compression tolerance (None for dense).
        encoding_table: a learned table's line (a feature grid's or hash grid's, index 0, name
            ``"encoding.table"``, ``fan_in`` its rows, ``fan_out`` its features per row): the
            rank measures, top eigenvalues and trace share of its NTK block; None for models
            without one (or a matrix-free diagnosis).
    """

    label: str
    n_points: int
    rtols: tuple[float, ...]
    batchnorm: str
    input_features: _rank.RankMeasures
    layers: list[LayerDiagnosis]
    total: _rank.RankMeasures | None = None
    total_top: list[float] | None = None
    wall_seconds: float = 0.0
    solver: str = "dense"
    tol: float | None = None
    encoding_table: LayerDiagnosis | None = None

    def to_dict(self) -> dict:
        """JSON-ready (spectra left out)."""
        d = asdict(self)
        for layer in d["layers"] + ([d["encoding_table"]] if d["encoding_table"] else []):
            layer.pop("spectrum")
        return d

    def table(self) -> tuple[list[str], list[list[str]]]:
        """The per-layer table: ``(headers, rows)``, one row for the input features, one for a
        learned table (``encoding.table``) and one per dense layer (a
        :data:`~inrank.report.tables.Table`)."""
        has_ntk = any(layer.ntk is not None for layer in self.layers)
        head = ["layer", "name", "in -> out", "rank [H,1] exact"] + [
            f"rank [H,1] @{r:g}" for r in self.rtols] + ["eff rank [H,1]"]
        if has_ntk:
            head += [f"rank G @{self.rtols[0]:g}", "NTK share", "NTK rank exact"] + [
                f"NTK rank @{r:g}" for r in self.rtols] + ["NTK eff rank", "NTK top eigenvalues"]
        rows = [_row(0, "input", "", self.input_features, None, self.rtols, has_ntk)]
        tab = self.encoding_table
        if tab is not None:
            rows.append(_row(0, tab.name, f"{tab.fan_in} x {tab.fan_out}", None, tab,
                             self.rtols, has_ntk))
        rows += [_row(layer.index, module_label(layer.name), f"{layer.fan_in} -> {layer.fan_out}",
                      layer.features, layer, self.rtols, has_ntk) for layer in self.layers]
        return head, rows

    def to_markdown(self) -> str:
        """The per-layer table in Markdown, with a line stating N and the tolerances."""
        tol = ", ".join(f"{r:g}" for r in self.rtols)
        head, rows = self.table()
        text = (f"**{self.label}**: N = {self.n_points}, BatchNorm statistics: {self.batchnorm}, "
                f"NTK spectra {self.solver}"
                + (" (~: estimates; exact ranks not measured)" if self.solver == "matrix-free" else "")
                + "; "
                f"numerical ranks at rtol {tol} (singular values of [H, 1], eigenvalues of the "
                "output-trace NTK blocks); exact = float64 machine precision; G = per-sample "
                "output gradients w.r.t. the layer's pre-activation.\n\n"
                + markdown_table(head, rows, align="lll" + "r" * (len(head) - 3)))
        if self.total is not None:
            text += (f"\n\nWhole NTK: exact rank {self.total.text()}, "
                     + ", ".join(f"@{r:g}: {n}" for r, n in self.total.numerical)
                     + f", effective {self.total.effective:.1f}, top eigenvalues "
                     + ", ".join(f"{v:.3g}" for v in self.total_top or []) + ".")
        return text

    def __repr__(self) -> str:
        """One line: label, N, solver and the numerical ranks per dense layer at the first
        ``rtol`` (features ``[H_l, 1]`` and NTK blocks); the full table is :meth:`table`."""
        r = self.rtols[0]
        feats = [self.input_features.text(r)] + [
            lay.features.text(r) for lay in self.layers if lay.features is not None]
        text = (f"Diagnosis(label={self.label!r}, n_points={self.n_points}, "
                f"layers={len(self.layers)}, solver={self.solver!r}, "
                f"rank@{r:g}: features=[{', '.join(feats)}]")
        ntk = [lay.ntk.text(r) for lay in self.layers if lay.ntk is not None]
        tab = self.encoding_table
        tab = "" if tab is None or tab.ntk is None else f", table_ntk={tab.ntk.text(r)}"
        return text + (f", ntk=[{', '.join(ntk)}]" if ntk else "") + tab + ")"

    def _repr_html_(self) -> str:
        """The notebook display: a line naming the model and N above the per-layer table."""
        return (f"<p><b>Diagnosis</b> of {html.escape(self.label)}: N = {self.n_points}, "
                f"NTK spectra {self.solver}, BatchNorm statistics {self.batchnorm}</p>"
                + html_table(self.table()))

    def plot(self, path: str | Path | None = None, *, ax: Any = None) -> Any:
        """Plot the per-layer ranks (and the NTK block spectra).

        Args:
            path: also save the figure there (format from the suffix), atomically; None
                saves nothing.
            ax: a matplotlib ``Axes`` to draw into: the numerical ranks per dense layer of the
                features ``[H_l, 1]`` and of the NTK blocks, as grouped bars. None: a new
                figure of three panels (feature ranks; NTK block ranks with their trace
                shares; the block spectra), built outside pyplot.

        Returns:
            The ``matplotlib.figure.Figure`` drawn on (the one holding ``ax`` when given).
        """
        return plot_diagnosis(self, path, ax=ax)


def module_label(name: str) -> str:
    """A module path as a table shows it: list indices in brackets (``linears.0`` ->
    ``linears[0]``, an ``nn.Sequential``'s ``2`` -> ``[2]``), so they are not read as layer
    numbers.

    Examples:
        >>> module_label("linears.0"), module_label("2"), module_label("net.1.fc")
        ('linears[0]', '[2]', 'net[1].fc')
    """
    parts = name.split(".")
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out


def _row(index, name, shape, feats, layer, rtols, has_ntk) -> list[str]:
    if feats is None:
        cells = ["-"] * (len(rtols) + 2)
    else:
        cells = [feats.text()] + [feats.text(r) for r in rtols] + [f"{feats.effective:.1f}"]
    row = [str(index), name, shape] + cells
    if has_ntk:
        grad = "-" if layer is None or layer.gradients is None else layer.gradients.text(rtols[0])
        share = "-" if layer is None or layer.ntk_share is None else f"{layer.ntk_share:.3f}"
        if layer is None or layer.ntk is None:
            row += [grad, share] + ["-"] * (len(rtols) + 3)
        else:
            n = layer.ntk
            row += [grad, share, n.text()] + [n.text(r) for r in rtols] + [
                f"{n.effective:.1f}", ", ".join(f"{v:.3g}" for v in layer.ntk_top)]
    return row
