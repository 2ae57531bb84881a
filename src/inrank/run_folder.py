"""The folder a command writes a run into, owned while it runs: :class:`RunFolder`.

A run claims its folder with a lock file created exclusively (a second run into the same
folder is refused while the first lives; a lock whose process is gone is taken over), clears
the files an earlier run left there (:data:`RUN_FILES`, so outputs of two runs never mix),
writes each file atomically (:mod:`inrank.files`) and releases the lock at the end. Commands
validate everything before they claim the folder, so a refused run writes nothing.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import time
from pathlib import Path

from .errors import InputError
from .files import make_folder

__all__ = ["RunFolder", "RUN_FILES", "LOCK"]

#: The lock file a running command holds in its folder.
LOCK = ".inrank.lock"

#: Every file (and folder) ``inrank fit`` may write: a new run removes these before it writes
#: (the checkpoint, which a resume needs, is kept).
RUN_FILES = ("config.json", "model.json", "model.pt", "metrics.json", "reconstruction.png",
             "comparison.png", "psnr_curve.png", "rank_dynamics.png", "log.csv", "baseline.png",
             "reconstruction.wav", "waveform.png", "reconstruction.obj", "preview.png",
             "preview.gif", "frames.png", "tensorboard")


def _alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this machine."""
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM  # it exists, owned by someone else
    return True


class RunFolder:
    """Own ``path`` for one run (a context manager).

    Args:
        path: the output folder (created).
        keep: file names of an earlier run to keep (e.g. the checkpoint a resume reads).

    Raises (on entry):
        InputError: another live run holds the folder. NotADirectoryError: ``path`` or a
        parent is a file.

    Examples:
        >>> import tempfile
        >>> with RunFolder(tempfile.mkdtemp()) as run:
        ...     (run.path / "metrics.json").write_text("{}") > 0
        True
    """

    def __init__(self, path: str | os.PathLike, *, keep: tuple[str, ...] = ()) -> None:
        self.path = Path(path)
        self.keep = set(keep)
        self.cleared: list[str] = []
        self._lock: Path | None = None

    def __enter__(self) -> "RunFolder":
        make_folder(self.path)
        self._claim()
        self._clear()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def release(self) -> None:
        """Remove the lock (idempotent)."""
        if self._lock is not None:
            try:
                self._lock.unlink()
            except FileNotFoundError:
                pass
            self._lock = None

    def _claim(self) -> None:
        lock = self.path / LOCK
        record = json.dumps({"pid": os.getpid(), "started": time.time()})
        for _ in range(2):  # a stale lock is removed once, then claimed
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._holder(lock)
                if holder is not None and _alive(holder["pid"]) and holder["pid"] != os.getpid():
                    since = time.strftime("%H:%M:%S", time.localtime(holder.get("started", 0)))
                    raise InputError(f"{str(self.path)!r} is in use by another inrank run "
                                     f"(pid {holder['pid']}, since {since}); wait for it to "
                                     "finish or choose another output folder") from None
                lock.unlink(missing_ok=True)  # its run is gone
                continue
            with os.fdopen(fd, "w") as f:
                f.write(record)
            self._lock = lock
            return
        raise InputError(f"cannot claim {str(self.path)!r}: another run claims it at the same "
                         "time; choose another output folder")

    @staticmethod
    def _holder(lock: Path) -> dict | None:
        try:
            holder = json.loads(lock.read_text())
            return holder if isinstance(holder, dict) and isinstance(holder.get("pid"), int) \
                else None
        except (OSError, ValueError):
            return None

    def _clear(self) -> None:
        """Remove an earlier run's files (:data:`RUN_FILES`, but :attr:`keep`)."""
        for name in RUN_FILES:
            target = self.path / name
            if name in self.keep or not (target.exists() or target.is_symlink()):
                continue
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            else:
                target.unlink()
            self.cleared.append(name)
