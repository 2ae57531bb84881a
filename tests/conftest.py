"""Shared fixtures: tiny signals, the shared data folder, thread counts for equivalence tests,
an independent NTK reference, and the rule that nothing in the suite may be skipped."""
from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
import torch

import inrank

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def camera16() -> inrank.Signal:
    """The scikit-image camera, 16 x 16 gray."""
    return inrank.load_image("camera", size=16)


@pytest.fixture(scope="session")
def astronaut32() -> inrank.Signal:
    """The scikit-image astronaut, 32 x 32 RGB."""
    return inrank.load_image("astronaut", size=32)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """``../shared/data`` beside the repository; a missing folder is an error, not a skip."""
    if not (DATA / "kodak").is_dir():
        raise FileNotFoundError(f"the shared data folder {DATA} is missing; the tests read real "
                                "signals from it (see README)")
    return DATA


@pytest.fixture
def one_thread():
    """One torch thread for small fits (the docs' examples, the inverse problems' fits): two
    threads spinning on a shared 2-core machine cost several times the compute."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(params=[1, 2], ids=["threads1", "threads2"])
def threads(request) -> int:
    """Run an equivalence test under 1 and 2 torch threads: CPU kernels block (and so round)
    differently with the thread count, which is what differs between machines too."""
    torch.set_num_threads(request.param)
    return request.param


@pytest.fixture(autouse=True, scope="session")
def _paper_defaults():
    """Tests check the library's mechanics at the paper defaults: the registry ignores the
    committed tuned values (``src/inrank/nn/tuned.json``; ``tests/test_tuned.py`` checks that
    file), in this process (``tuned_state.TUNED_PATH``), in every worker process an executor
    starts (the executors hand their workers the values in effect here, explicitly) and,
    through ``INRANK_TUNED_PATH``, in the command-line subprocesses some tests start.
    Session-scoped, so module fixtures see it too. A test that wants tuned values points
    ``TUNED_PATH`` at its own file."""
    from inrank.nn import tuned_state

    mp = pytest.MonkeyPatch()
    path = ROOT / "tests" / "no-such-tuned.json"
    mp.setenv("INRANK_TUNED_PATH", str(path))
    mp.setattr(tuned_state, "TUNED_PATH", path)
    yield
    mp.undo()


@pytest.fixture(autouse=True)
def _restore_threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def whole_jacobian_ntk(model: torch.nn.Module, coords: torch.Tensor, *,
                       outputs: str = "trace") -> torch.Tensor:
    """The NTK of every ``nn.Linear`` parameter at once, ``J J^T`` from one Jacobian (float64,
    eval mode): a reference for a kernel's *total* that never splits it into blocks.

    Returns ``(N, N)`` (``"trace"``: summed over outputs) or ``(N c, N c)`` (``"full"``).
    """
    from torch.func import functional_call, jacrev, vmap

    m = copy.deepcopy(model).double().eval()
    params = {f"{name}.{pn}": p.detach() for name, mod in m.named_modules()
              if isinstance(mod, torch.nn.Linear) for pn, p in mod.named_parameters()}
    single = lambda p, xi: functional_call(m, p, (xi[None],))[0]  # noqa: E731
    jac = vmap(jacrev(single), in_dims=(None, 0))(params, coords.double())
    J = torch.cat([v.flatten(2) for v in jac.values()], dim=2)  # (N, c, P)
    if outputs == "trace":
        return torch.einsum("iap,jap->ij", J, J)
    n, c, _ = J.shape
    return torch.einsum("iap,jbp->iajb", J, J).reshape(n * c, n * c)


@pytest.fixture(scope="session")
def whole_ntk():
    """:func:`whole_jacobian_ntk`, for tests."""
    return whole_jacobian_ntk


def pytest_sessionfinish(session, exitstatus):
    """Fail the run when any test was skipped: in CI a missing test dependency or data folder
    must be an error, never a silent skip (set ``INRANK_ALLOW_SKIPS=1`` to allow skips)."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and not os.environ.get("INRANK_ALLOW_SKIPS") and exitstatus == 0:
        names = ", ".join(r.nodeid for r in skipped[:5])
        reporter.write_line(f"FAILED: {len(skipped)} test(s) skipped ({names}); nothing may be "
                            "skipped (INRANK_ALLOW_SKIPS=1 to allow)", red=True)
        session.exitstatus = 1
