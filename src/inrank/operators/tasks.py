"""Inverse problems as data: :class:`InverseTask` bundles the ground truth (what the metrics
see), the forward operator, the measurements (what the loss sees) and a classical baseline.

:func:`make_task` builds one by name (:data:`TASKS`): CT from parallel-beam projections,
4x super-resolution, Gaussian denoising and inpainting from a random pixel subset. A fit
trains on the measurements only: ``inrank.fit(model, task)``, i.e. ``inrank.fit(model, task.signal, operator=task.operator,
measurements=task.measurements)``, or :meth:`InverseTask.solve`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from .. import validation
from ..errors import InputError
from ..signals.signal import Signal, center_crop
from .base import Identity, Operator
from .projector import ParallelBeamProjector
from .sampling import AreaDownsample, PixelMask, random_pixel_mask

__all__ = ["InverseTask", "TASKS", "NOISE_MODELS", "make_task", "crop_task", "ct_task", "superres_task", "denoise_task",
           "inpaint_task", "inscribed_disk"]


@dataclass(frozen=True)
class InverseTask:
    """An inverse problem on an image.

    Attributes:
        name: one of :data:`TASKS`.
        signal: the ground truth on the query grid: ``coords (N, 2)`` in ``[-1, 1]``,
            ``values (N, c)`` in ``[0, 1]``; only the metrics read its values.
        operator: the forward operator ``A``, ``(N, c) -> (M, c)``.
        measurements: ``(M, c)`` float32, what a fit trains on.
        settings: the task's parameters (angles, factor, noise, keep, seed), JSON-ready.
        baseline_name: the classical reconstruction :meth:`baseline` computes.
    """

    name: str
    signal: Signal
    operator: Operator
    measurements: torch.Tensor = field(repr=False)
    settings: dict = field(default_factory=dict)
    baseline_name: str = ""

    def baseline(self) -> torch.Tensor:
        """The classical reconstruction from the measurements, clipped to ``[0, 1]``:
        ``(N, c)`` float32 (FBP, bicubic, TV or biharmonic inpainting)."""
        return torch.from_numpy(np.clip(_BASELINES[self.name](self), 0, 1).astype(np.float32)
                                .reshape(len(self.signal), -1))

    def describe(self) -> dict:
        """Name, settings, operator and baseline (JSON-ready)."""
        return {"task": self.name, **self.settings, "operator": self.operator.describe(),
                "baseline": self.baseline_name}


def _image(signal: Signal, values: torch.Tensor | np.ndarray) -> np.ndarray:
    """``(N, c)`` values as an ``(H, W, c)`` float64 array."""
    arr = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
    return arr.astype(np.float64).reshape(*signal.shape, -1)


def _gray_or_color(signal: Signal, image: np.ndarray) -> np.ndarray:
    """An ``(H, W, c)`` array as skimage wants it: ``(H, W)`` for one channel."""
    return image[..., 0] if signal.out_dim == 1 else image


def inscribed_disk(shape: tuple[int, int]) -> torch.Tensor:
    """``(N,)`` bool: the pixels of the disk a parallel-beam scan sees
    (:func:`skimage.transform.radon`'s ``circle=True``: distance to ``(n // 2, n // 2)`` at
    most ``n // 2``)."""
    n = min(shape)
    yy, xx = np.ogrid[:shape[0], :shape[1]]
    inside = (yy - shape[0] // 2) ** 2 + (xx - shape[1] // 2) ** 2 <= (n // 2) ** 2
    return torch.from_numpy(inside.reshape(-1))


def _checked(signal: Signal) -> Signal:
    if not isinstance(signal, Signal) or signal.kind != "image" or len(signal.shape) != 2:
        raise InputError(f"an inverse task needs an image signal, got "
                         f"{getattr(signal, 'kind', type(signal).__name__)!r}")
    return signal


def ct_task(signal: Signal, *, angles: int = 100) -> InverseTask:
    """CT: the sinogram at ``angles`` parallel-beam angles over ``[0, 180)``; baseline:
    filtered back-projection (``skimage.transform.iradon``, ramp filter).

    The ground truth is the image inside its inscribed disk (zero outside): what the scan
    sees (:func:`inscribed_disk`).
    """
    signal = _checked(signal)
    op = ParallelBeamProjector(signal.shape, angles=angles)
    inside = inscribed_disk(signal.shape)[:, None]
    truth = replace(signal, values=signal.values * inside,
                    meta={**signal.meta, "disk": True})                      # (N, c)
    with torch.no_grad():
        y = op(truth.values)
    return InverseTask("ct", truth, op, y, {"angles": op.angles}, "fbp")


def superres_task(signal: Signal, *, factor: int = 4) -> InverseTask:
    """Super-resolution: the area-downsampled image (``factor`` x); the network is queried
    on the high-resolution grid. Baseline: bicubic upsampling (``torch`` ``bicubic``,
    ``align_corners=False``)."""
    signal = _checked(signal)
    op = AreaDownsample(signal.shape, factor=factor)
    with torch.no_grad():
        y = op(signal.values)
    return InverseTask("superres", signal, op, y, {"factor": op.factor}, "bicubic")


#: ``"gaussian"``: additive, standard deviation ``noise``; ``"poisson"``: photon counts with
#: ``1 / noise^2`` photons at value 1 (standard deviation ``noise * sqrt(value)``).
NOISE_MODELS = ("gaussian", "poisson")


def denoise_task(signal: Signal, *, noise: float = 0.1, seed: int = 0,
                 noise_model: str = "gaussian") -> InverseTask:
    """Denoising: the image with noise of level ``noise`` (values not clipped), drawn from
    ``seed``: Gaussian of standard deviation ``noise``, or Poisson-like, ``Poisson(k x) / k``
    with ``k = 1 / noise^2`` photons at value 1 (:data:`NOISE_MODELS`). Baseline: total
    variation (``skimage.restoration.denoise_tv_chambolle``, weight ``noise``)."""
    signal = _checked(signal)
    sigma = validation.positive_float("noise", noise)
    model = validation.one_of("noise_model", noise_model, NOISE_MODELS)
    g = torch.Generator().manual_seed(int(seed))
    settings = {"noise": sigma, "noise_model": model, "seed": int(seed)}
    if model == "poisson":
        k = float(f"{1.0 / sigma ** 2:.6g}")  # photons at value 1, as the settings say
        y = torch.poisson(signal.values.double().clamp(min=0) * k, generator=g) / k
        settings["photons"] = k
    else:
        y = signal.values + sigma * torch.randn(signal.values.shape, generator=g)
    return InverseTask("denoise", signal, Identity(signal.shape), y.float(), settings, "tv")


def inpaint_task(signal: Signal, *, keep: float = 0.25, seed: int = 0) -> InverseTask:
    """Inpainting: a random fraction ``keep`` of the pixels (drawn from ``seed``) is observed;
    a fit's ``test_psnr`` is on the others. Baseline: biharmonic inpainting
    (``skimage.restoration.inpaint_biharmonic``)."""
    signal = _checked(signal)
    op = PixelMask(signal.shape, random_pixel_mask(len(signal), keep, seed=seed))
    with torch.no_grad():
        y = op(signal.values)
    return InverseTask("inpaint", signal, op, y, {"keep": float(keep), "seed": int(seed)},
                       "biharmonic")


def crop_task(task: str, image: Signal, size: int, *, seed: int = 0, **settings) -> InverseTask:
    """The inverse task ``task`` (:func:`make_task`) on the ``size x size`` centre crop of the
    image ``image`` (channels averaged to gray for CT): the protocol of the inverse-problem
    suites (``inrank bench ct`` ...) and ``benchmarks/inverse/inverse.py``; the truth keeps
    the image's name."""
    crop = center_crop(_checked(image), size)
    if task == "ct":
        crop = Signal.from_image(crop.to_image(crop.values).mean(axis=-1, keepdims=True),
                                 name=image.name)
    return make_task(task, crop, seed=seed, **settings)


def _fbp(task: InverseTask) -> np.ndarray:
    from skimage.transform import iradon

    op: ParallelBeamProjector = task.operator  # type: ignore[assignment]
    sino = op.sinogram(task.measurements)                                    # (n, A, c)
    return np.stack([iradon(sino[..., k], op.theta, circle=True, filter_name="ramp")
                     for k in range(sino.shape[-1])], axis=-1)


def _bicubic(task: InverseTask) -> np.ndarray:
    op: AreaDownsample = task.operator  # type: ignore[assignment]
    low = task.measurements.reshape(*op.low_shape, -1).permute(2, 0, 1)[None]   # (1, c, h, w)
    up = torch.nn.functional.interpolate(low, size=op.shape, mode="bicubic", align_corners=False)
    return up[0].permute(1, 2, 0).numpy()                                    # (H, W, c)


def _tv(task: InverseTask) -> np.ndarray:
    from skimage.restoration import denoise_tv_chambolle

    noisy = _gray_or_color(task.signal, _image(task.signal, task.measurements))
    return denoise_tv_chambolle(noisy, weight=task.settings["noise"],
                                channel_axis=None if task.signal.out_dim == 1 else -1)


def _biharmonic(task: InverseTask) -> np.ndarray:
    from skimage.restoration import inpaint_biharmonic

    op: PixelMask = task.operator  # type: ignore[assignment]
    image = np.zeros((len(task.signal), task.signal.out_dim))
    image[op.mask.numpy()] = task.measurements.numpy()
    image = _gray_or_color(task.signal, image.reshape(*task.signal.shape, -1))
    unknown = (~op.mask).numpy().reshape(task.signal.shape)
    return inpaint_biharmonic(image, unknown,
                              channel_axis=None if task.signal.out_dim == 1 else -1)


_BASELINES: dict[str, Callable[[InverseTask], np.ndarray]] = {
    "ct": _fbp, "superres": _bicubic, "denoise": _tv, "inpaint": _biharmonic}

#: The inverse tasks by name, each a function ``(signal, **settings) -> InverseTask``.
TASKS: dict[str, Callable[..., InverseTask]] = {
    "ct": ct_task, "superres": superres_task, "denoise": denoise_task, "inpaint": inpaint_task}


def make_task(task: str, signal: Signal, *, angles: int = 100, factor: int = 4,
              noise: float = 0.1, noise_model: str = "gaussian", keep: float = 0.25,
              seed: int = 0) -> InverseTask:
    """The inverse task ``task`` on the ground-truth image ``signal``.

    Args:
        task: one of :data:`TASKS`: ``ct``, ``superres``, ``denoise`` or ``inpaint``.
        signal: the ground truth, an image signal (values ``(N, c)`` in ``[0, 1]``).
        angles: ct: projection angles over ``[0, 180)`` degrees.
        factor: superres: the downsampling factor.
        noise: denoise: the noise level (the Gaussian's standard deviation; Poisson-like:
            ``1 / noise^2`` photons at value 1).
        noise_model: denoise: ``gaussian`` or ``poisson`` (:data:`NOISE_MODELS`).
        keep: inpaint: the fraction of pixels observed.
        seed: denoise / inpaint: seeds the noise or the mask.

    Returns:
        An :class:`InverseTask` (only its task's settings are used).

    Raises:
        InputError: an unknown task, a non-image signal or a bad setting (``angles=0``,
            a ``factor`` that does not divide the image, ``keep`` observing no pixel, ...).

    Examples:
        >>> import inrank
        >>> t = make_task("superres", inrank.load_image("camera", size=8), factor=4)
        >>> tuple(t.measurements.shape), t.baseline().shape
        ((4, 1), torch.Size([64, 1]))
    """
    name = validation.one_of("task", task, tuple(TASKS))
    settings = {"ct": {"angles": angles}, "superres": {"factor": factor},
                "denoise": {"noise": noise, "seed": seed, "noise_model": noise_model},
                "inpaint": {"keep": keep, "seed": seed}}[name]
    return TASKS[name](signal, **settings)
