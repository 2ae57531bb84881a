"""Atomic file writes: a temporary file in the same folder, then ``os.replace``."""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

__all__: list[str] = []  # helpers the rooms share; inrank.report.figures re-exports new_figure


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` then rename the temporary file onto ``path``.

    A crash at any moment leaves either the old file or the complete new one, never a part.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"cannot write {str(path)!r}: it is a folder; give a file path")
    make_folder(path.parent, writing=path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def make_folder(folder: str | os.PathLike, *, writing: str | os.PathLike | None = None) -> Path:
    """Create ``folder`` (and its parents); a file in the way raises ``NotADirectoryError``
    naming it (``writing``: the file about to be written there, for the message)."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        file = next(p for p in (folder, *folder.parents) if p.exists() and not p.is_dir())
        raise NotADirectoryError(f"cannot write {str(writing or folder)!r}: {str(file)!r} is a "
                                 "file, not a folder; choose another output folder") from None
    return folder


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) atomically."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON atomically (:func:`json_text`: valid JSON, no NaN)."""
    return write_text(path, json_text(obj))


def json_text(obj: Any) -> str:
    """``obj`` as indented, valid JSON: a number that is NaN or infinite (which JSON cannot
    hold) is written as ``null``, and an object at the top level lists where under
    ``"undefined"`` (``{"history[].test_psnr": "nan"}``: a list's items share one entry).

    Examples:
        >>> print(json_text({"psnr": float("inf"), "ok": 1.5}), end="")
        {
          "psnr": null,
          "ok": 1.5,
          "undefined": {
            "psnr": "inf"
          }
        }
    """
    undefined: dict[str, str] = {}
    clean = _finite(obj, "", undefined)
    if undefined and isinstance(clean, dict):
        clean["undefined"] = {**(clean.get("undefined") or {}), **undefined}
    return json.dumps(clean, indent=2, default=_json_default, allow_nan=False) + "\n"


def _finite(obj: Any, where: str, undefined: dict[str, str]) -> Any:
    """``obj`` with every non-finite number replaced by None, noted in ``undefined``."""
    if hasattr(obj, "item") and getattr(obj, "ndim", getattr(obj, "dim", lambda: 1)) in (0, ()):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        undefined.setdefault(where or "value", "nan" if obj != obj else
                             ("inf" if obj > 0 else "-inf"))
        return None
    if isinstance(obj, dict):
        return {k: _finite(v, f"{where}.{k}" if where else str(k), undefined)
                for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v, f"{where}[]", undefined) for v in obj]
    return obj


def new_figure(figsize: tuple[float, float]):
    """A ``matplotlib.figure.Figure`` (to save with :func:`save_figure`) with constrained layout, outside pyplot: drawing it
    switches no backend and leaves no global figure state (safe in notebooks)."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def save_figure(fig: Any, path: str | os.PathLike, **kwargs: Any) -> Path:
    """Save a matplotlib figure atomically (format from the suffix of ``path``)."""
    fmt = Path(path).suffix.lstrip(".") or "png"
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt, **kwargs))


def save_png(path: str | os.PathLike, image: Any) -> Path:
    """Save an ``(H, W)`` or ``(H, W, c)`` float image in ``[0, 1]`` (values outside are
    clipped) as an 8-bit PNG atomically: :func:`skimage.util.img_as_ubyte` (``round(255 x)``)
    then imageio's PNG writer."""
    import imageio.v3 as iio
    from skimage.util import img_as_ubyte

    arr = np.clip(np.asarray(image, dtype=np.float64), 0.0, 1.0)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    pixels = img_as_ubyte(arr)
    # the temporary file's suffix is .tmp: name the format
    return atomic_write(path, lambda tmp: iio.imwrite(tmp, pixels, extension=".png"))


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
