"""What ``inrank fit`` writes for each signal kind besides images: audio (WAV, waveform and
spectrogram), occupancy (marching-cubes OBJ, preview, dense-grid IoU), video (an animated
preview, a frame strip, per-frame PSNR and SSIM) and 1-D signals (a plot).

Each writer takes ``(signal, result, model, out, method)``, writes into the folder ``out`` and
returns a one-line summary for the terminal and extra metrics for ``metrics.json``.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..files import save_figure
from ..metrics import frame_psnr, frame_ssim
from ..signals.audio import save_audio
from ..signals.sdf import sdf_metrics
from ..train.evaluate import occupancy_iou, occupancy_logits
from .figures import new_figure
from .mesh import extract_mesh, save_mesh_preview, save_obj
from .video import save_frame_strip, save_video_preview

__all__ = ["write_outputs", "save_waveforms", "WRITERS"]


def save_waveforms(target: np.ndarray, recon: np.ndarray, path: str | Path, *, sample_rate: int,
                   title: str = "") -> Path:
    """Waveforms (target, reconstruction, error) and spectrograms of target and reconstruction.

    Args:
        target, recon: ``(N,)`` or ``(N, c)`` amplitudes (the first channel is shown).
    """
    y, p = (np.asarray(a, dtype=np.float64).reshape(len(a), -1)[:, 0] for a in (target, recon))
    t = np.arange(y.size) / sample_rate
    fig = new_figure((11, 5.5))
    axes = fig.subplots(2, 2)
    axes[0, 0].plot(t, y, lw=0.6, label="target")
    axes[0, 0].plot(t, p, lw=0.6, alpha=0.8, label="reconstruction")
    axes[0, 0].legend(loc="upper right")
    axes[0, 0].set(xlabel="time (s)", title="waveform")
    axes[0, 1].plot(t, p - y, lw=0.6, color="tab:red")
    axes[0, 1].set(xlabel="time (s)", title="error")
    nfft = int(min(512, 2 ** np.floor(np.log2(max(y.size // 4, 16)))))
    clim = None
    for ax, sig, name in ((axes[1, 0], y, "target"), (axes[1, 1], p, "reconstruction")):
        with np.errstate(divide="ignore"):  # log of silent frames
            _, _, _, im = ax.specgram(sig, Fs=sample_rate, NFFT=nfft, noverlap=nfft * 3 // 4,
                                      cmap="magma")
        clim = clim or im.get_clim()  # the target's dB range for both panels
        im.set_clim(*clim)
        ax.set(xlabel="time (s)", ylabel="Hz", title=f"spectrogram: {name}")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path, dpi=110)


def _audio(signal, result, model, out: Path, method: str, **_) -> tuple[str, dict]:
    rate = int(signal.meta["sample_rate"])
    save_audio(out / "reconstruction.wav", result.prediction, sample_rate=rate)
    snr = result.metrics["snr"]
    save_waveforms(signal.values.numpy(), result.prediction.numpy(), out / "waveform.png",
                   sample_rate=rate, title=f"{method}: SNR {snr:.2f} dB, PSNR {result.final_psnr:.2f} dB")
    return (f"{method} on {signal.name} ({len(signal)} samples, {signal.meta['duration']:.2f} s): "
            f"SNR {snr:.2f} dB, PSNR {result.final_psnr:.2f} dB"), {}


def _occupancy(signal, result, model, out: Path, method: str, *, resolution: int = 64,
               **_) -> tuple[str, dict]:
    iou = occupancy_iou(model, signal, resolution=resolution)
    verts, faces = extract_mesh(occupancy_logits(model, 2 * resolution))
    save_obj(out / "reconstruction.obj", verts, faces)
    save_mesh_preview(out / "preview.png", verts, faces,
                      title=f"{method} on {signal.name}: IoU {iou:.3f} ({resolution}^3 grid)")
    return (f"{method} on {signal.name} ({len(signal)} points): grid IoU {iou:.4f}, sample "
            f"accuracy {result.metrics['accuracy']:.4f}, {faces.shape[0]} faces"), {
                "grid_iou": iou, "grid_resolution": resolution}


def _sdf(signal, result, model, out: Path, method: str, *, resolution: int = 64,
         **_) -> tuple[str, dict]:
    metrics = sdf_metrics(model, signal, resolution=resolution)
    verts, faces = metrics.pop("mesh")
    save_obj(out / "reconstruction.obj", verts, faces)
    save_mesh_preview(out / "preview.png", verts, faces,
                      title=f"{method} on {signal.name}: Chamfer {metrics['chamfer']:.4f}, "
                            f"IoU {metrics['iou']:.3f} ({resolution}^3 grid)")
    return (f"{method} on {signal.name} SDF ({len(signal)} surface points): Chamfer "
            f"{metrics['chamfer']:.4f} (cube [-1, 1]^3), grid IoU {metrics['iou']:.4f}, "
            f"{faces.shape[0]} faces"), {
                "chamfer": metrics["chamfer"], "grid_iou": metrics["iou"],
                "grid_resolution": resolution}


def _video(signal, result, model, out: Path, method: str, **_) -> tuple[str, dict]:
    target, recon = signal.to_image(signal.values), signal.to_image(result.prediction)
    psnrs = frame_psnr(result.prediction, signal.values, shape=signal.shape)
    ssims = frame_ssim(recon, target, shape=signal.shape)
    save_video_preview(target, recon, out / "preview.gif", fps=signal.meta.get("fps"))
    save_frame_strip(target, recon, out / "frames.png", labels=signal.meta.get("frames"),
                     psnrs=psnrs, title=f"{method} on {signal.name}: {result.final_psnr:.2f} dB, "
                                        f"SSIM {result.ssim:.3f}")
    shape = "x".join(map(str, signal.shape))
    return (f"{method} on {signal.name} {shape} (T x H x W): PSNR {result.final_psnr:.2f} dB "
            f"(best {result.best_psnr:.2f}; frames {min(psnrs):.2f} to {max(psnrs):.2f}), "
            f"SSIM {result.ssim:.4f} (mean over frames)"), {
                "frame_psnr": psnrs, "frame_ssim": ssims, "fps": signal.meta.get("fps")}


def _one_d(signal, result, model, out: Path, method: str, **_) -> tuple[str, dict]:
    x = signal.coords[:, 0].numpy()
    fig = new_figure((8, 3.2))
    ax = fig.subplots()
    ax.plot(x, signal.values[:, 0].numpy(), lw=1.2, label="target")
    ax.plot(x, result.prediction[:, 0].numpy(), lw=1.0, label=method)
    ax.set(xlabel="x", title=f"{signal.name}: SNR {result.metrics['snr']:.2f} dB")
    ax.legend()
    save_figure(fig, out / "reconstruction.png", dpi=110)
    return (f"{method} on {signal.name} ({len(signal)} samples): SNR "
            f"{result.metrics['snr']:.2f} dB, PSNR {result.final_psnr:.2f} dB"), {}


#: signal kind -> writer; images are written by :mod:`inrank.cli.fit` itself.
WRITERS: dict[str, Callable[..., tuple[str, dict]]] = {
    "audio": _audio, "occupancy": _occupancy, "sdf": _sdf, "video": _video, "1d": _one_d}


def write_outputs(signal, result, model, out: str | Path, *, method: str,
                  resolution: int = 64) -> tuple[str, dict]:
    """Write the kind-specific outputs of a fit into ``out``; return (summary, extra metrics).

    ``resolution``: occupancy and SDF, the IoU grid ``R^3``; the mesh is extracted on ``(2R)^3``.
    """
    if signal.kind not in WRITERS:
        raise InputError(f"no writer for signal kind {signal.kind!r}; known: {', '.join(WRITERS)}")
    return WRITERS[signal.kind](signal, result, model, Path(out), method, resolution=resolution)
