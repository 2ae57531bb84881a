"""The demo: fit a few methods to one image, compare PSNR, SSIM, speed and inlet rank, and write
an HTML page with reconstructions and curves."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import files
from ..diagnosis.inlet import inlet_rank
from ..nn.mlp import DEFAULT_WIDTH
from ..nn.registry import build, preset, presets
from ..report.comparison import lead_sentence
from ..report.figures import (error_scale, save_comparison, save_error_maps, save_psnr_curves,
                              save_rank_dynamics)
from ..report.html import write_page
from ..report.tables import Table, to_markdown
from ..signals.signal import Signal
from ..train.fit import fit

__all__ = ["DemoRow", "compare_methods", "demo_table", "demo_sentence", "demo_markdown",
           "write_demo_html"]


@dataclass
class DemoRow:
    """One method's line in the demo table."""

    method: str
    psnr: float
    ssim: float
    seconds_per_step: float
    rank_exact: int
    rank_numerical: int
    width: int
    history: list
    image: object  # (H, W, c) numpy reconstruction
    track: list = field(default_factory=list)  # rank dynamics (FitResult.track)
    optimizer: str = "adam"
    status: str = "ok"  # FitResult.status: a method that did not beat the mean says so


def compare_methods(signal: Signal, methods: Sequence[str] | None = None, *, steps: int,
                    width: int = DEFAULT_WIDTH, depth: int = 3, seed: int = 0,
                    progress: bool = True, track_every: int | None = None,
                    optimizer: str | None = None, auto: bool = False) -> list[DemoRow]:
    """Fit every method (default: the registry's ``demo`` group) to ``signal`` with
    ``optimizer`` (None: each method's :attr:`~inrank.Preset.default_optimizer`, Adam at
    depth 1, :meth:`~inrank.Preset.optimizer_at`) at its
    registry learning rate for it (:meth:`inrank.Preset.lr_for`); the inlet rank is measured
    at init, and with ``track_every`` the rank dynamics during training (:func:`inrank.fit`'s
    ``track_every``). With ``auto`` each method's knob and lrs are chosen for ``signal``
    (:func:`inrank.fit`'s ``auto``) instead."""
    rows = []
    for name in methods if methods is not None else presets("demo"):
        opt = optimizer or preset(name).optimizer_at(depth)
        model = build(name, signal.in_dim, signal.out_dim, width=width, depth=depth, seed=seed,
                      optimizer=opt)
        model.eval()
        r_exact, r_num = inlet_rank(model, signal.coords)
        model.train()
        res = fit(model, signal, steps=steps, seed=seed, progress=progress,
                  track_every=track_every, accept_worse=True,  # its tuned lrs at this width
                  auto=auto)                                   # or auto's, for this signal
        rows.append(DemoRow(name, res.final_psnr, res.ssim or float("nan"), res.seconds_per_step,
                            r_exact, r_num, width, res.history, signal.to_image(res.prediction),
                            res.track, opt, res.status))
    return rows


def demo_table(rows: list[DemoRow]) -> Table:
    """The comparison as a :data:`~inrank.report.tables.Table` (best PSNR in bold)."""
    best = max(r.psnr for r in rows)
    return (["method", "optimizer", "PSNR (dB)", "SSIM", "ms/step", "rank [H1,1] exact",
             "rank [H1,1] numerical (1e-3)"],
            [[r.method, r.optimizer, (f"{r.psnr:.2f}" + ("" if r.status == "ok" else
                                                          f" ({r.status.replace('_', ' ')})"),
                                       r.psnr == best), f"{r.ssim:.4f}",
              f"{r.seconds_per_step * 1e3:.1f}", f"{r.rank_exact} / {r.width + 1}",
              f"{r.rank_numerical} / {r.width + 1}"] for r in rows])


def demo_sentence(rows: list[DemoRow]) -> str:
    """Who has the best PSNR and by how much it leads the runner-up (one run each, so no
    interval; :func:`~inrank.report.comparison.lead_sentence`).

    Examples:
        >>> rows = [DemoRow(m, p, 0.9, 0.01, 3, 3, 8, [], None)
        ...         for m, p in (("relu", 21.5), ("siren", 30.0))]
        >>> print(demo_sentence(rows))  # doctest: +NORMALIZE_WHITESPACE
        siren has the best fit PSNR, 30.00 dB, ahead of relu (the runner-up) by 8.50 dB
        (one run each).
    """
    return lead_sentence([{"method": r.method, "signal": "", "seed": 0, "final_psnr": r.psnr}
                          for r in rows])


def demo_markdown(rows: list[DemoRow]) -> str:
    """The comparison as Markdown: the table, then who leads by how much
    (:func:`demo_sentence`)."""
    sentence = demo_sentence(rows)
    return to_markdown(demo_table(rows)) + (f"\n\n{sentence}" if sentence else "")


def write_demo_html(rows: list[DemoRow], signal: Signal, out: str | Path, *,
                    note: str = "") -> Path:
    """Write ``out/index.html`` with the table, reconstructions, error maps and PSNR curves.
    Every method's |error| map is drawn on one colour scale
    (:func:`~inrank.report.figures.error_scale`): side by side with one colour bar in
    ``errors.png``, and in each method's ``<method>_comparison.png``."""
    out = Path(out)
    target = signal.to_image(signal.values)  # (H, W, c)
    files.save_png(out / "target.png", target)
    recons = {r.method: r.image for r in rows}
    scale = error_scale(target, recons)
    errors = save_error_maps(target, recons, out / "errors.png", vmax=scale,
                             titles={r.method: f"{r.method}\n{r.psnr:.1f} dB" for r in rows})
    figs = []
    for r in rows:
        stem = r.method.replace("+", "_")
        files.save_png(out / f"{stem}.png", r.image)
        figs.append((r.method, save_comparison(target, r.image, out / f"{stem}_comparison.png",
                                               title=f"{r.method}: {r.psnr:.2f} dB",
                                               error_max=scale)))
    curves = save_psnr_curves({r.method: r.history for r in rows}, out / "psnr_curves.png")
    sections = [("Every method's |error| on one colour scale",
                 [(f"target, reconstructions and |error| (mean over channels); one scale, 0 to "
                   f"{scale:.3g}: brighter is worse", errors)], False),
                ("PSNR during training", [("PSNR curves", curves)], False)]
    if all(r.track for r in rows):
        ranks = save_rank_dynamics({r.method: r.track for r in rows}, out / "rank_dynamics.png")
        sections.append(("Rank dynamics: the features each layer reads, and its NTK block's "
                         "share", [("rank dynamics", ranks)], False))
    sections.append(("Reconstructions (target | reconstruction | error, on the scale above)",
                     figs, True))
    return write_page(out / "index.html",
                      title=f"inrank demo: {signal.name} {signal.shape[1]}x{signal.shape[0]}",
                      paragraphs=[note] if note else [], sections=sections,
                      tables=[("Comparison", demo_table(rows), demo_sentence(rows))])
