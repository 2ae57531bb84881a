"""The Markdown of ``benchmarks.gpu.fit_speed``'s result, and the projection of
``inrank.fit``'s costs outside the training step onto a fit of a given length."""
from __future__ import annotations

import statistics

from inrank.report.machine import machine_line
from inrank.report.tables import markdown_table

HAND, FIT, COMPILED, GRAPH, BF16 = ("hand loop", "inrank.fit", "inrank.fit compile=True",
                                    "CUDA graph (hand step)", "inrank.fit bf16")


def _med(row: dict, name: str) -> float | None:
    v = row["ms"].get(name)
    return statistics.median(v) if v else None


def _ratio(row: dict, a: str, b: str) -> float | None:
    """The median over rounds of ``a / b`` measured in the same round."""
    pairs = list(zip(row["ms"].get(a, []), row["ms"].get(b, [])))
    return statistics.median(x / y for x, y in pairs) if pairs else None


def rest_ms(row: dict) -> float:
    """ms of an ``inrank.fit`` call outside its training clock, its evaluations and its SSIM
    (setup, moving the data, the mean predictor, the result): the median over its calls."""
    p = row["parts"]
    return statistics.median(
        c["wall_s"] * 1e3 - c["train_s"] * 1e3 - c["evals"] * (p["eval_ms"] + p["copy_ms"])
        - p["ssim_ms"] for c in row["fit_calls"])


def projection(row: dict, steps: int) -> dict:
    """``inrank.fit``'s costs beyond the hand loop on a fit of ``steps`` steps at the default
    evaluation cadence (every ``max(1, steps // 100)`` steps, and the last; a best-state copy
    at each, the upper bound), as fractions of the hand loop's training time."""
    every = max(1, steps // 100)
    evals = steps // every + (1 if steps % every else 0)
    p, hand, fit = row["parts"], _med(row, HAND), _med(row, FIT)
    train = steps * hand
    parts = {"evaluations": evals * p["eval_ms"], "state copies": evals * p["copy_ms"],
             "SSIM": p["ssim_ms"], "rest of the call": rest_ms(row),
             "step overhead": steps * (fit - hand)}
    return {k: v / train for k, v in parts.items()} | {"total": sum(parts.values()) / train}


def _f(x: float | None, fmt: str = "{:.2f}") -> str:
    return "-" if x is None else fmt.format(x)


def render(p: dict) -> str:
    """The Markdown of a fit_speed result ``p``."""
    o, gemm = p["options"], p["gemm_flops"]
    h, w = p["shape"][:2]
    lines = [f"### inrank.fit at the user's scale ({p['device']})", ""]
    if p["dry_run"]:
        lines += ["**Dry run**: every stage at tiny size; the numbers measure nothing.", ""]
    lines += [
        f"kodim01 at {w} x {h} ({p['points']:,} points), {o['depth']} x {o['width']}, "
        f"full-batch Adam at each method's tuned Adam lr; {o['rounds']} interleaved rounds of "
        f"{o['steps']} timed steps after {o['warm']} untimed ones, medians (ratios: medians of "
        f"per-round ratios). `inrank.fit` ms/step: its own training clock between its first "
        f"evaluation and its last. GEMM rate ({p['gemm_size']}^3 product, here): "
        + ", ".join(f"{k} {v / 1e12:.3g} TFLOP/s" for k, v in gemm.items())
        + f"; float32 matmul precision `{p['float32_matmul_precision']}`. "
        f"Command: `{p['command']}`.", "", machine_line(p["machine"]), ""]
    rows = []
    for m, r in p["methods"].items():
        hand = _med(r, HAND)
        rows.append([m, _f(hand), _f(_med(r, FIT)), _f(_ratio(r, FIT, HAND), "{:.3f}"),
                     _f(_med(r, COMPILED)), _f(_ratio(r, FIT, COMPILED), "{:.2f}x"),
                     _f(r.get("compile_first_call_s"), "{:.0f}"), _f(_med(r, GRAPH)),
                     _f(_med(r, BF16)),
                     " / ".join(_f(v, "{:.3g}") for v in r["floor_ms"].values()),
                     _f(r["floor_ms"]["float32"] / hand * 100 if hand else None, "{:.0f}%")])
    lines += ["ms per step (floors: the step's FLOPs over the GEMM rate, "
              + " / ".join(gemm) + "):", "",
              markdown_table(["method", HAND, FIT, "fit / hand", COMPILED, "speed-up (compiled)",
                              "first compiled call (s)", GRAPH, BF16, "floor (ms)",
                              "hand loop at % of float32 rate"], rows, align="lrrrrrrrrrr"), ""]
    project = [int(s) for s in str(o["project"]).split(",") if s]
    rows = []
    for m, r in p["methods"].items():
        if "parts" not in r or _med(r, HAND) is None or _med(r, FIT) is None:
            continue
        pr = {s: projection(r, s) for s in project}
        rows.append([m, _f(_med(r, FIT) - _med(r, HAND), "{:+.2f}"), _f(r["parts"]["eval_ms"]),
                     _f(r["parts"]["copy_ms"]), _f(r["parts"]["ssim_ms"]), _f(rest_ms(r), "{:.0f}")]
                    + [" / ".join(f"{100 * pr[s][k]:.1f}" for k in ("evaluations", "state copies",
                                                                    "SSIM", "rest of the call",
                                                                    "step overhead"))
                       + f" = **{100 * pr[s]['total']:.1f}%**" for s in project])
    lines += ["`inrank.fit` beyond the hand loop: its step overhead, each cost outside the step "
              "timed alone, and their share of the hand loop's training time in a fit of S "
              "steps at the default cadence (an evaluation and a best-state copy every S // 100 "
              "steps; rank tracking off, the default):", "",
              markdown_table(["method", "step overhead (ms/step)", "evaluation pass (ms)",
                              "best-state copy (ms)", "SSIM (ms)", "rest of the call (ms)"]
                             + [f"S = {s}: evals / copies / SSIM / rest / step, %" for s in project],
                             rows, align="l" + "r" * (5 + len(project))), ""]
    rows = []
    for m, r in p["methods"].items():
        t = r.get("time_to")
        for target, hit in (t or {}).get("reached", {}).items():
            rows.append([m, target, _f(hit and hit["step"], "{}"), _f(hit and hit["seconds"]),
                         _f(hit and hit["step"] * _med(r, HAND) / 1e3),
                         f"{t['best_psnr']:.2f} ({t['steps_run']} of {t['max_steps']} steps)"])
    if rows:
        lines += ["Time to a PSNR (`inrank.fit` eager, its training clock; at the hand loop's "
                  "ms/step beside it):", "",
                  markdown_table(["method", "target (dB)", "steps", "seconds (inrank.fit)",
                                  "seconds at the hand loop's speed", "best PSNR (steps run)"],
                                 rows, align="lrrrrr"), ""]
    if p.get("many"):
        q = p["many"]
        lines += [f"`inrank.fit_many` against separate `inrank.fit` calls ({q['method']}, "
                  f"{len(q['images'])} images at {q['shape'][1]} x {q['shape'][0]}: "
                  f"{', '.join(q['images'])}; {q['steps']} steps, {q['rounds']} rounds, whole "
                  "calls):", "",
                  markdown_table(["models per pass", "fit_many ms / signal-step",
                                  "separate ms / signal-step", "speed-up"],
                                 [[str(q["chunk"]), f"{q['batched_ms']:.2f}",
                                   f"{q['separate_ms']:.2f}", f"{q['speedup']:.2f}x"]],
                                 align="rrrr"), ""]
    for title, items in (("Skipped", p["skipped"]), ("Errors", p["errors"])):
        if items:
            lines += [f"{title}:", ""] + [f"- {x}" for x in items] + [""]
    return "\n".join(lines)
