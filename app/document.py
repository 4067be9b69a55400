"""The state of one open session, as a QObject with signals. Views read it and send edits back through it.

This early version holds the loaded sequence and the current frame; masks, results and undo arrive with the
desktop-app issue. File reading runs on a worker thread; the UI thread only draws.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from mpm_core.errors import PoseDataError
from mpm_core.sequence import PoseSequence


class _LoadSignals(QObject):
    loaded = Signal(object, str)  # sequence, path
    failed = Signal(str, str)  # message, path


class _LoadTask(QRunnable):
    """Reads a pose file off the UI thread."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path
        self.signals = _LoadSignals()

    def run(self) -> None:
        from mpm_core.io import read_any  # imported here: keeps start-up light

        try:
            seq = read_any(self.path)
        except PoseDataError as exc:
            self.signals.failed.emit(str(exc), self.path)
        except Exception as exc:  # an unexpected reader bug must not take the app down
            self.signals.failed.emit(f"{self.path}: unexpected error: {exc!r}", self.path)
        else:
            self.signals.loaded.emit(seq, self.path)


class Document(QObject):
    """One session: the input sequence (as read and as H36M-17) and the current frame."""

    sequenceChanged = Signal()
    frameChanged = Signal(int)
    loadingChanged = Signal(bool)
    errorRaised = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.path: Path | None = None
        self.sequence: PoseSequence | None = None
        self.h36m: PoseSequence | None = None
        self.frame = 0
        self._pending: _LoadTask | None = None

    @property
    def num_frames(self) -> int:
        return 0 if self.sequence is None else self.sequence.num_frames

    def open(self, path: str | Path) -> None:
        """Start reading ``path`` on the thread pool; ``sequenceChanged`` or ``errorRaised`` follows."""
        task = _LoadTask(str(path))
        task.signals.loaded.connect(self._on_loaded)
        task.signals.failed.connect(self._on_failed)
        self._pending = task
        self.loadingChanged.emit(True)
        QThreadPool.globalInstance().start(task)

    def set_sequence(self, seq: PoseSequence, path: str | Path | None = None) -> None:
        self.sequence = seq
        self.h36m = seq.to_h36m() if seq.layout_info.to_h36m is not None else seq
        self.path = None if path is None else Path(path)
        self.frame = 0
        self.sequenceChanged.emit()
        self.frameChanged.emit(0)

    def set_frame(self, frame: int) -> None:
        if self.sequence is None:
            return
        frame = max(0, min(int(frame), self.num_frames - 1))
        if frame != self.frame:
            self.frame = frame
            self.frameChanged.emit(frame)

    def _on_loaded(self, seq: PoseSequence, path: str) -> None:
        self._pending = None
        self.loadingChanged.emit(False)
        self.set_sequence(seq, path)

    def _on_failed(self, message: str, path: str) -> None:
        self._pending = None
        self.loadingChanged.emit(False)
        self.errorRaised.emit(message)
