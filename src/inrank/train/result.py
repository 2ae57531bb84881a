"""What a fit returns: :class:`FitResult`."""
from __future__ import annotations

from dataclasses import dataclass, field, fields

import torch

from ..markup import html_table
from .settings import FitSettings

__all__ = ["FitResult", "STATUSES"]

#: ``"ok"``; ``"below_mean"``: the final PSNR is below the signal's mean predictor's;
#: ``"worse_than_start"``: below the fit's first evaluation; ``"collapsed"``: more than
#: :data:`inrank.train.loop.COLLAPSE_DB` below its best evaluation (it learned, then lost it:
#: an lr too high for the later steps); ``"diverged"``: a NaN or inf loss.
STATUSES = ("ok", "below_mean", "worse_than_start", "collapsed", "diverged")


@dataclass
class FitResult:
    """What a fit returns.

    Attributes:
        history: one dict per evaluation: ``step``, ``loss`` (training loss at that step),
            ``lr`` (Adam's learning rate that step used, after the schedule; with Muon also
            ``muon_lr``), ``psnr`` (dB, whole signal, eval mode) and ``train_seconds``
            (training time so far, evaluations excluded); with a ``train_mask`` also
            ``train_psnr`` and ``test_psnr``.
        final_psnr: PSNR after the last step (dB), over all points. With ``loss="bce"`` the
            PSNR of the probabilities ``sigmoid(logit)`` against the 0/1 labels (peak 1).
        best_psnr: best PSNR over the evaluations (dB).
        ssim: SSIM of the final reconstruction (images; videos: the mean over frames), else
            None.
        params: trainable parameter count.
        seconds_per_step: training wall time per step, evaluations excluded (a batched fit:
            the batched step's time divided by the models trained together).
        settings: the :class:`~inrank.train.settings.FitSettings` the fit ran with (its
            ``steps``, ``lr``, ``muon_lr``, ``optimizer``, ``seed``, ``precision``... are
            also attributes of the result).
        prediction: final prediction ``(N, c)`` float32 on the CPU (logits for ``"bce"``).
        batch_size: points per step as run (None: full batch).
        train_psnr: PSNR on the training points (dB); None without a ``train_mask``.
        test_psnr: PSNR on the held-out points (dB); None without a ``train_mask`` (NaN when
            the mask holds every point out of none).
        metrics: final task metrics by name, always ``psnr``; ``train_psnr``/``test_psnr``
            with a mask; ``snr`` (dB) for audio and 1-D signals; ``accuracy`` and ``iou``
            (on the sample points, logit > 0) for ``"bce"``.
        precision_check: low precision only: the same model continued a few steps in its
            precision and in float32 (:func:`inrank.train.precision.check_precision`): the
            PSNR float32 gains beyond it (``gain_db``) and the speed-up of the low precision.
        track: with ``track_every``, one record per tracked step
            (:func:`inrank.train.tracking.rank_snapshot`): per dense layer the effective and
            numerical rank of the features it reads, its NTK block's trace share and top
            eigenvalues, on a fixed subsample of the points.
        track_seconds: wall time the tracking took (not in ``seconds_per_step``).
        resumed_from: the checkpoint step the fit resumed from, None for a fresh fit.
        operator: an inverse problem's operator (name and settings,
            :meth:`inrank.operators.Operator.describe`); None for fitting.
        mean_psnr: the PSNR (dB) of predicting the signal's mean everywhere, the floor a fit
            must beat (None where it does not apply: SDF fits).
        status: one of :data:`STATUSES`.
        retries: the attempts that failed before this one (``lr``, ``muon_lr``, ``status``,
            ``final_psnr``): a fit that ends below its mean predictor, below its first
            evaluation or diverges is retried at a lower lr (:func:`inrank.fit`).
    """

    history: list[dict]
    final_psnr: float
    best_psnr: float
    ssim: float | None
    params: int
    seconds_per_step: float
    settings: FitSettings = field(repr=False)
    prediction: torch.Tensor = field(repr=False)
    batch_size: int | None = None
    train_psnr: float | None = None
    test_psnr: float | None = None
    metrics: dict = field(default_factory=dict)
    precision_check: dict | None = None
    track: list[dict] = field(default_factory=list)
    track_seconds: float = 0.0
    resumed_from: int | None = None
    operator: dict | None = None
    mean_psnr: float | None = None
    status: str = "ok"
    retries: list[dict] = field(default_factory=list)

    # the settings a reader of a result asks for most, by their names
    steps = property(lambda self: self.settings.steps, doc="Optimisation steps.")
    lr = property(lambda self: self.settings.lr, doc="Adam's learning rate.")
    muon_lr = property(lambda self: self.settings.muon_lr, doc="Muon's lr (Muon only).")
    optimizer = property(lambda self: self.settings.optimizer_name, doc="The optimiser's name.")
    seed = property(lambda self: self.settings.seed, doc="The batch order's seed.")
    device = property(lambda self: self.settings.device, doc="Where it trained.")
    precision = property(lambda self: self.settings.precision, doc="The autocast precision.")
    loss_name = property(lambda self: self.settings.loss, doc="The loss.")

    def to_dict(self) -> dict:
        """JSON-ready metrics (no prediction): the result's fields, the settings most read
        (``steps``, ``lr``, ``muon_lr``, ``optimizer``, ``seed``, ``device``, ``precision``,
        ``loss_name``) and ``settings``, the whole resolved record."""
        d = {f.name: getattr(self, f.name) for f in fields(self)
             if f.name not in ("prediction", "settings")}
        for name in ("steps", "lr", "muon_lr", "optimizer", "seed", "device", "precision",
                     "loss_name"):
            d[name] = getattr(self, name)
        d["settings"] = self.settings.record()
        return d

    def _summary(self) -> list[tuple[str, str]]:
        """``(name, value)`` pairs that :meth:`__repr__` and :meth:`_repr_html_` show."""
        ssim = "None" if self.ssim is None else f"{self.ssim:.4f}"
        items = [("final_psnr", f"{self.final_psnr:.2f}"), ("best_psnr", f"{self.best_psnr:.2f}")]
        if self.test_psnr is not None:
            items.append(("test_psnr", f"{self.test_psnr:.2f}"))
        if self.status != "ok":
            items.append(("status", self.status))
        return items + [("ssim", ssim), ("steps", str(self.steps)), ("lr", f"{self.lr:g}"),
                        ("params", str(self.params)),
                        ("seconds_per_step", f"{self.seconds_per_step:.3g}"),
                        ("device", str(self.device)),
                        ("history", f"[{len(self.history)} evaluations]")]

    def __repr__(self) -> str:
        """One line: final and best PSNR (dB), SSIM, the protocol and the history's length
        (the history and the prediction themselves are attributes)."""
        return "FitResult(" + ", ".join(f"{k}={v}" for k, v in self._summary()) + ")"

    def _repr_html_(self) -> str:
        """The notebook display: the same summary as a two-column table."""
        return html_table((["FitResult", ""], [[k, v] for k, v in self._summary()]))
