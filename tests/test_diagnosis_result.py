"""Diagnosis displays: a short repr, the notebook HTML table, and plot(ax=) returning the figure."""
from __future__ import annotations

import pytest
from matplotlib.figure import Figure

import inrank


@pytest.fixture(scope="module")
def diag():
    model = inrank.build("relu", 2, 3, width=8, depth=2, seed=0)
    return inrank.diagnose(model, inrank.grid_coords((6, 6)), label="relu")


def test_repr_is_one_short_line_with_the_ranks(diag):
    text = repr(diag)
    assert "\n" not in text and len(text) < 300, text
    feats = [diag.input_features.at(1e-3)] + [lay.features.at(1e-3) for lay in diag.layers[:-1]]
    ntk = [lay.ntk.at(1e-3) for lay in diag.layers]
    assert text == (f"Diagnosis(label='relu', n_points=36, layers=3, solver='dense', "
                     f"rank@0.001: features=[{', '.join(map(str, feats))}], "
                     f"ntk=[{', '.join(map(str, ntk))}])")


def test_repr_html_is_the_per_layer_table(diag):
    page = diag._repr_html_()
    head, rows = diag.table()
    assert page.startswith("<p><b>Diagnosis</b> of relu: N = 36") and "<table>" in page
    assert page.count("<tr>") == 1 + len(rows) == 1 + 1 + len(diag.layers)
    assert f"<th>{head[4]}</th>" in page and "<td>linears[1]</td>" in page


def test_plot_without_path_returns_the_figure_and_writes_nothing(diag, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fig = diag.plot()
    assert isinstance(fig, Figure) and len(fig.axes) == 4  # three panels and the share axis
    assert list(tmp_path.iterdir()) == []


def test_plot_into_a_given_axes(diag, tmp_path):
    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert diag.plot(ax=right) is fig
    bars = [p.get_height() for p in right.patches]
    expected = [lay.features.at(1e-3) for lay in diag.layers[:-1]] + [
        lay.ntk.at(1e-3) for lay in diag.layers]
    assert bars == expected and not left.patches
    assert diag.plot(tmp_path / "d.png", ax=left) is fig and (tmp_path / "d.png").stat().st_size > 1000


def test_plot_into_a_subfigure_returns_the_top_figure(diag):
    fig = Figure()
    ax = fig.subfigures(1, 2)[1].subplots()
    assert diag.plot(ax=ax) is fig


def test_plot_refuses_what_is_not_an_axes(diag):
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes.*got Figure"):
        diag.plot(ax=Figure())
