"""The ``batched`` bench executor: runs that differ only in their image (same method, size,
width, depth, seed, steps and lr) and whose images share a shape are trained together with
:func:`inrank.train.fit_models`, one batched pass per group; records are those of
:func:`inrank.bench.execute_run`, so results and files match the ``local`` executor's."""
from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator, Sequence

from ..errors import DivergedError
from ..train.batched import fit_models
from .run import ExecOptions, Run, execute_run, prepare_run, run_record
from .tasks import task_fit_kwargs

__all__ = ["batched_executor"]


def batched_executor(runs: Sequence[Run], options: ExecOptions) -> Iterator[dict]:
    """Group compatible runs and fit each group in one batched pass; yield every record.

    Runs are compatible when they differ only in their signal and the signals share a shape;
    task runs pass their protocol (held-out mask, loss, batch size) to the batched fit as
    they pass it to :func:`inrank.fit`. A group of one, or a group whose batched fit diverges,
    falls back to :func:`execute_run` per run (so a divergence is recorded exactly as the
    local executor records it).
    """
    groups: dict[tuple, list[Run]] = defaultdict(list)
    for run in runs:
        groups[(run.task, run.preset, run.overrides, run.size, run.seed, run.width, run.depth,
                run.steps, run.lr, run.evals, run.offgrid, run.precision, run.optimizer,
                run.muon_lr, run.batch_size, run.auto)].append(run)
    for group in groups.values():
        if len(group) == 1 or group[0].auto:  # auto chooses per signal: one fit each
            yield execute_run(group[0], options)
            continue
        t0 = time.perf_counter()
        prepared = [prepare_run(r, options) for r in group]
        by_shape: dict[tuple, list[int]] = defaultdict(list)
        for i, (sig, _, _) in enumerate(prepared):
            by_shape[(sig.shape, sig.out_dim)].append(i)
        for idx in by_shape.values():
            if len(idx) == 1:
                yield execute_run(group[idx[0]], options)
                continue
            run0, sigs = group[idx[0]], [prepared[i][0] for i in idx]
            extra = [task_fit_kwargs(run0.task, s, run0.batch_size) for s in sigs]
            masks = [e.pop("train_mask", None) for e in extra]
            try:
                results = fit_models([prepared[i][1] for i in idx], sigs, steps=run0.steps,
                                     lr=run0.lr, seed=run0.seed, device=options.device,
                                     eval_every=max(1, run0.steps // run0.evals),
                                     progress=options.progress, train_mask=masks,
                                     precision=run0.precision, optimizer=run0.optimizer,
                                     muon_lr=run0.muon_lr, compile=False,
                                     accept_worse=True, **extra[0])
            except DivergedError:
                for i in idx:
                    yield execute_run(group[i], options)
                continue
            seconds = (time.perf_counter() - t0) / len(idx)
            for i, res in zip(idx, results):
                sig, model, r0 = prepared[i]
                yield run_record(group[i], sig, model, res, "ok", r0, seconds, options)
