"""Exports on a worker thread: a result through the library's pipeline and writers, with progress and errors.

A 2D lift goes through ``build_output`` (clean-up, height, trajectory, world frame, foot locking, contacts) and
``write_output``; a 3D completion is written as it is (its frames are already in the input's frame). The file is
written atomically by the writers: a failed export leaves nothing behind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.state import CompletionResult
from mpm_core.errors import PoseDataError

log = logging.getLogger(__name__)


@dataclass
class ExportRequest:
    """What to write: ``result`` (Reconstruction or CompletionResult), ``path`` (its extension picks the format),
    ``options`` (``ExportOptions``), and the frame range ``lo:hi`` (rows, hi exclusive)."""

    result: object
    path: Path
    options: object
    lo: int
    hi: int


def run_export(request: ExportRequest, progress=None) -> Path:
    """Build and write the file; returns its path. Raises ``PoseDataError`` for bad options or a failed write."""
    from mpm_core.export.pipeline import build_output, write_output

    def step(done: int, total: int) -> None:
        if progress is not None:
            progress(done, total)

    result, options = request.result, request.options
    step(0, 3)
    contacts, notes = None, {}
    frames_in = result.num_frames
    if isinstance(result, CompletionResult):
        seq, hidden = result.sequence.in_metres(), np.asarray(result.filled, bool)
    else:
        out = build_output(result, options)
        seq, hidden, contacts, notes = out.sequence, out.hidden, out.contacts, out.notes
    step(1, 3)
    lo, hi = int(request.lo), int(request.hi)
    if not 0 <= lo < hi <= frames_in:
        raise PoseDataError(f"frame range {lo}-{hi - 1} is outside 0-{frames_in - 1}", request.path, "range")
    if seq.num_frames != frames_in:  # resampled to another frame rate: the same times
        ratio = seq.num_frames / frames_in
        lo, hi = round(lo * ratio), max(round(lo * ratio) + 1, min(seq.num_frames, round(hi * ratio)))
    if (lo, hi) != (0, seq.num_frames):
        seq, hidden = seq.slice(lo, hi), hidden[lo:hi]
        contacts = None if contacts is None else contacts[lo:hi]
    step(2, 3)
    path = write_output(request.path, seq, hidden, options, contacts=contacts, notes=notes)
    step(3, 3)
    return path


class _Signals(QObject):
    progress = Signal(int, int)
    finished = Signal(str)
    failed = Signal(str)


class ExportTask(QRunnable):
    """``run_export`` on the thread pool; ``signals.finished(path)`` or ``signals.failed(message)``."""

    def __init__(self, request: ExportRequest):
        super().__init__()
        self.request = request
        self.signals = _Signals()

    def run(self) -> None:
        try:
            path = run_export(self.request, self.signals.progress.emit)
        except PoseDataError as exc:
            self.signals.failed.emit(str(exc))
        except OSError as exc:
            self.signals.failed.emit(f"{self.request.path}: {exc.strerror or exc}")
        except Exception as exc:  # a bug must not take the app down
            log.exception("export failed")
            self.signals.failed.emit(f"{self.request.path}: unexpected error: {exc!r}")
        else:
            self.signals.finished.emit(str(path))

    def start(self) -> None:
        QThreadPool.globalInstance().start(self)
