"""The synthetic test patterns (:func:`inrank.pattern`) for ``docs/how-to/synthetic-patterns.md``:
a figure of each at 128 px, seed 0 (``figures/patterns.png``), and the table of their mean
predictor's PSNR, computed on the spot (milliseconds, no fitting) by the ``docs:patterns``
block, so the page follows the code."""
from __future__ import annotations

from pathlib import Path

import inrank
from inrank.files import save_figure
from inrank.report.figures import new_figure
from inrank.report.tables import markdown_table
from inrank.signals.patterns import PATTERNS

from . import FIGURES

__all__ = ["SHOWN", "make_pattern_figure", "pattern_table"]

#: the patterns the figure and the table show (``bandlimited`` is ``bandlimited-mid``'s
#: bandwidth), at this side and seed.
SHOWN = ("bandlimited-low", "bandlimited-mid", "bandlimited-high", "discs", "sierpinski", "star")
SIZE, SEED = 128, 0


def make_pattern_figure(out: Path = FIGURES / "patterns.png") -> list[Path]:
    """One panel per pattern of :data:`SHOWN`, each from its minimum (black) to its maximum
    (white): the band-limited noise spans only 0.45-0.55."""
    fig = new_figure((2.0 * len(SHOWN), 2.6))
    for k, name in enumerate(SHOWN):
        sig = inrank.pattern(name, size=SIZE, seed=SEED)
        img = sig.to_image(sig.values)[:, :, 0]
        ax = fig.add_subplot(1, len(SHOWN), k + 1)
        ax.imshow(img, cmap="gray", interpolation="nearest", vmin=img.min(), vmax=img.max())
        ax.set_title(f"{name}\nmean predictor {inrank.mean_psnr(sig):.2f} dB", fontsize=8)
        ax.set_axis_off()
    return [save_figure(fig, out, dpi=100)]


def pattern_table() -> str:
    """Each pattern's options and its mean predictor's PSNR at :data:`SIZE` px, seed
    :data:`SEED` (and over the reported seeds, for the random ones)."""
    import inspect

    import torch
    from inrank.signals import REPORTED_SEEDS

    rows = []
    for name, builder in PATTERNS.items():
        params = inspect.signature(builder).parameters
        options = ", ".join(f"{p}={v.default!r}" for p, v in params.items()
                            if p not in ("size", "seed") and v.default is not inspect.Parameter.empty)
        signals = [inrank.pattern(name, size=SIZE, seed=s) for s in (SEED, *REPORTED_SEEDS)]
        seeded = not torch.equal(signals[1].values, signals[2].values)
        scores = [inrank.mean_psnr(s) for s in signals[1:]]
        spread = f"{min(scores):.2f} to {max(scores):.2f}" if seeded else "(one signal)"
        rows.append([f"`{name}`", options, "yes" if seeded else "no",
                     f"{inrank.mean_psnr(signals[0]):.2f}", spread])
    head = ["name", "options (defaults)", "seeded", f"mean predictor, seed {SEED} (dB)",
            f"seeds {', '.join(map(str, REPORTED_SEEDS))} (dB)"]
    note = (f"{SIZE} x {SIZE} px, PSNR with peak 1 (`inrank.mean_psnr`); computed from the "
            "library when the page is rendered (`python docs/make_figures.py --only blocks`).")
    return markdown_table(head, rows, align="lllrr") + "\n\n" + note
