"""Autosave and crash recovery.

Every ``interval_s`` seconds, when the session changed since the last save, the document is written as a project
file (absolute paths) to the per-user data folder as ``autosave-<pid>.mpmproj``. A clean exit deletes it; a file
whose process is gone is what a crash left behind, and the next start offers to recover it.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from app.services import paths
from app.services.project import SUFFIX, save_project
from mpm_core.atomic import pid_alive
from mpm_core.errors import PoseDataError

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 30.0
_NAME = re.compile(r"^autosave-(\d+)" + re.escape(SUFFIX) + "$")


def leftover_autosaves(folder: Path | None = None) -> list[Path]:
    """Autosaves of processes that are gone (newest first)."""
    folder = paths.autosave_dir() if folder is None else folder
    found = []
    for path in folder.glob(f"autosave-*{SUFFIX}"):
        m = _NAME.match(path.name)
        if m and path.is_file() and not pid_alive(int(m.group(1))):  # a FIFO or folder is never opened
            found.append(path)
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


class Autosaver(QObject):
    """Saves the document periodically while it has unsaved changes."""

    saved = Signal(str)  # path
    failed = Signal(str)

    def __init__(self, document, interval_s: float = DEFAULT_INTERVAL_S, parent: QObject | None = None):
        super().__init__(parent)
        self.document = document
        self.path = paths.autosave_dir() / f"autosave-{os.getpid()}{SUFFIX}"
        self._saved_state: tuple | None = None
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.save_now)
        self.set_interval(interval_s)

    def set_interval(self, interval_s: float) -> None:
        """Seconds between autosaves (0 turns autosave off)."""
        self.timer.stop()
        if interval_s > 0:
            self.timer.start(max(1, round(interval_s * 1000)))

    def _state(self) -> tuple:
        doc = self.document
        return (id(doc.input), doc.undo_stack.index(), doc.undo_stack.count(), doc.frame)

    def save_now(self) -> bool:
        """Write the autosave if there is something to save and it changed; True when written."""
        doc = self.document
        if doc.input is None or doc.input.path is None or doc.mask is None:
            return False
        state = self._state()
        if state == self._saved_state:
            return False
        try:
            save_project(doc, self.path, absolute_paths=True)
        except (PoseDataError, OSError) as exc:
            self.failed.emit(f"autosave failed: {exc}")
            return False
        self._saved_state = state
        self.saved.emit(str(self.path))
        return True

    def discard(self) -> None:
        """Delete this session's autosave (a clean exit)."""
        self.timer.stop()
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not delete %s: %s", self.path, exc)
