"""Run benchmark runs as Ray tasks: ``inrank bench SUITE --executor ray [--address ...]``.

Each run becomes one task calling the same :func:`inrank.bench.execute_run` as the local
executor, with its resource request (1 GPU when ``device`` is CUDA, else ``num_cpus`` CPUs) and
``max_retries`` retries, so the records, and the files the runner writes from them, are exactly
the local executor's. Each task carries the tuned values in effect on the driver
(:func:`inrank.nn.tuned_state.tuned_payload`), so a node applies them without the driver's file.
Ray is the optional extra ``inrank[ray]``.

To use an existing cluster, start Ray on the nodes (``ray start --head`` on one, ``ray start
--address HEAD:6379`` on the others, each with inrank installed and the data folder at the same
path), then pass ``--address HEAD:6379`` (or ``auto`` on a node of the cluster).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch

from ..errors import MissingDependencyError
from ..nn.tuned_state import tuned_payload, tuned_values
from .run import ExecOptions, Run, execute_run

__all__ = ["ray_executor", "import_ray"]


def import_ray():
    """Import ray, or raise a one-line install hint."""
    try:
        import ray
    except ImportError:
        raise MissingDependencyError(
            "the Ray executor needs Ray: pip install 'inrank[ray]'") from None
    return ray


def ray_executor(runs: Sequence[Run], options: ExecOptions, *, address: str | None = None,
                 num_cpus: float = 1, max_retries: int = 2) -> Iterator[dict]:
    """Submit every run as a Ray task; yield each record as its task finishes.

    Args:
        runs: the pending runs.
        options: data folder, device and progress (progress bars are off on workers).
        address: ``None`` starts (or reuses) a local Ray instance; ``"auto"`` or ``HOST:PORT``
            joins an existing cluster.
        num_cpus: CPUs requested per task (when not on CUDA).
        max_retries: how often Ray retries a task whose worker died or that raised.
    """
    ray = import_ray()
    if not ray.is_initialized():
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False,
                 include_dashboard=False)
    gpu = options.device.startswith("cuda")
    remote = ray.remote(num_cpus=0 if gpu else num_cpus, num_gpus=1 if gpu else 0,
                        max_retries=max_retries, retry_exceptions=True)(_task)
    worker_options = ExecOptions(data=options.data, device=options.device, progress=False,
                                 address=options.address)
    tuned = tuned_payload()
    pending = [remote.remote(run, worker_options, tuned) for run in runs]
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        yield ray.get(done[0])


def _task(run: Run, options: ExecOptions, tuned: dict) -> dict:
    torch.set_num_threads(1)
    with tuned_values(tuned):
        return execute_run(run, options)
