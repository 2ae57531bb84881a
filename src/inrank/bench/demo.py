"""The demo: fit a few methods to one image, compare PSNR, SSIM, speed and inlet rank, and write
an HTML page with reconstructions and curves."""
from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import torch

from .. import files as _io
from ..train.loop import fit
from ..report.figures import save_comparison, save_psnr_curves
from ..nn.presets import build, preset
from ..diagnosis.rank import exact_rank, numerical_rank
from ..signals.signal import Signal

__all__ = ["DemoRow", "inlet_rank", "compare_methods", "demo_markdown", "write_demo_html",
           "DEMO_METHODS"]

DEMO_METHODS = ("relu", "relu+rei", "pe", "siren")


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


def inlet_rank(model: torch.nn.Module, coords: torch.Tensor, *, rtol: float = 1e-3) -> tuple[int, int]:
    """Exact and numerical (``rtol``) rank of ``[H_1, 1]``, the first hidden layer's features
    with a ones column, ``(N, D + 1)``. At most ``min(N, D + 1)``."""
    h1 = model.hidden_features(coords)[1]
    feats = torch.cat([h1, torch.ones(h1.shape[0], 1, dtype=h1.dtype)], dim=1)
    return exact_rank(feats), numerical_rank(feats, rtol=rtol)


def compare_methods(signal: Signal, methods: tuple[str, ...] = DEMO_METHODS, *, steps: int,
                    width: int = 256, depth: int = 3, seed: int = 0,
                    progress: bool = True) -> list[DemoRow]:
    """Fit every method to ``signal`` at its preset learning rate; rank measured at init."""
    rows = []
    for name in methods:
        model = build(name, signal.in_dim, signal.out_dim, width=width, depth=depth, seed=seed)
        model.eval()
        r_exact, r_num = inlet_rank(model, signal.coords)
        model.train()
        res = fit(model, signal, steps=steps, lr=preset(name).lr, seed=seed, progress=progress)
        rows.append(DemoRow(name, res.final_psnr, res.ssim or float("nan"), res.seconds_per_step,
                            r_exact, r_num, width, res.history, signal.to_image(res.prediction)))
    return rows


def demo_markdown(rows: list[DemoRow]) -> str:
    """The comparison as a Markdown table."""
    lines = ["| method | PSNR (dB) | SSIM | ms/step | rank [H1,1] exact | rank [H1,1] numerical (1e-3) |",
             "|---|---:|---:|---:|---:|---:|"]
    best = max(r.psnr for r in rows)
    for r in rows:
        p = f"**{r.psnr:.2f}**" if r.psnr == best else f"{r.psnr:.2f}"
        lines.append(f"| {r.method} | {p} | {r.ssim:.4f} | {r.seconds_per_step * 1e3:.1f} | "
                     f"{r.rank_exact} / {r.width + 1} | {r.rank_numerical} / {r.width + 1} |")
    return "\n".join(lines)


def write_demo_html(rows: list[DemoRow], signal: Signal, out: str | Path, *, note: str = "") -> Path:
    """Write ``out/index.html`` with the table, reconstructions, error maps and PSNR curves."""
    out = Path(out)
    target = signal.to_image(signal.values)
    _io.save_png(out / "target.png", target)
    figs = []
    for r in rows:
        stem = r.method.replace("+", "_")
        _io.save_png(out / f"{stem}.png", r.image)
        save_comparison(target, r.image, out / f"{stem}_comparison.png",
                        title=f"{r.method}: {r.psnr:.2f} dB")
        figs.append((r, f"{stem}_comparison.png"))
    save_psnr_curves({r.method: r.history for r in rows}, out / "psnr_curves.png")
    body = [f"<h1>inrank demo: {html.escape(signal.name)} {signal.shape[1]}&times;{signal.shape[0]}</h1>",
            f"<p>{html.escape(note)}</p>" if note else "", "<table>",
            "<tr><th>method</th><th>PSNR (dB)</th><th>SSIM</th><th>ms/step</th>"
            "<th>rank [H1,1] exact</th><th>rank [H1,1] numerical</th></tr>"]
    for r in rows:
        body.append(f"<tr><td>{html.escape(r.method)}</td><td>{r.psnr:.2f}</td><td>{r.ssim:.4f}</td>"
                    f"<td>{r.seconds_per_step * 1e3:.1f}</td><td>{r.rank_exact} / {r.width + 1}</td>"
                    f"<td>{r.rank_numerical} / {r.width + 1}</td></tr>")
    body.append("</table><h2>PSNR during training</h2><img src='psnr_curves.png' alt='PSNR curves'>")
    body.append("<h2>Reconstructions (target | reconstruction | error)</h2>")
    for r, fig in figs:
        body.append(f"<figure><img src='{fig}' alt='{html.escape(r.method)}'>"
                    f"<figcaption>{html.escape(r.method)}</figcaption></figure>")
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>inrank demo</title><style>"
            "body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}"
            "img{max-width:100%}</style></head><body>" + "\n".join(body) + "</body></html>\n")
    return _io.write_text(out / "index.html", page)
