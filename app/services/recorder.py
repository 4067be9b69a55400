"""An MP4 of the 3D view for sharing: every frame (or the selected range) rendered offscreen at a fixed size.

The frames are rendered on the UI thread (the GL context lives there) under a modal progress dialog that keeps
the window responsive and can cancel. The video goes to a hidden temp file beside the target and is renamed over
it only when complete: a cancel or an error leaves no file behind. Errors are dialogs naming the file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

log = logging.getLogger(__name__)

#: Output size (width, height) in pixels: 720p, what sharing sites and players expect.
VIDEO_SIZE = (1280, 720)
#: FourCC codes tried in order; OpenCV's bundled FFmpeg writes ``mp4v`` (MPEG-4 part 2) everywhere.
FOURCCS = ("mp4v", "avc1")
ERROR_TITLE = "Could not export the MP4"


class RecordingError(Exception):
    """The video could not be written (no codec, a write failure)."""


def _temp_path(path: Path) -> Path:
    # Hidden, beside the target (so the rename is atomic), still ending in .mp4 (OpenCV picks the container by it).
    return path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.part.mp4")


def open_writer(path: Path, fps: float, size: tuple[int, int], fourccs=FOURCCS) -> cv2.VideoWriter:
    """A ``cv2.VideoWriter`` on ``path`` with the first FourCC that opens; ``RecordingError`` if none does."""
    for code in fourccs:
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*code), float(fps), tuple(size))
        if writer.isOpened():
            return writer
        writer.release()
    raise RecordingError(
        f"no MP4 codec works in this OpenCV build (tried {', '.join(fourccs)}); "
        "install opencv-python-headless with FFmpeg support"
    )


def frame_range(doc) -> tuple[int, int]:
    """Frames ``(lo, hi)`` to record: the selected range, else the whole sequence."""
    if doc.selected_frames is not None:
        return doc.selected_frames
    return 0, doc.num_frames


def record_mp4(
    parent: QWidget | None, viewport, doc, path: str | os.PathLike, size: tuple[int, int] = VIDEO_SIZE
) -> None:
    """Render the 3D view of every frame (or the selected range) into an MP4 at the sequence's frame rate.

    ``viewport``: the ``Viewport3D`` (its camera, follow mode and toggles are what the video shows). A progress
    dialog can cancel: nothing is left on disk then. Errors are shown as dialogs naming ``path``.
    """
    path = Path(path)
    if doc.scene is None or doc.input is None:
        QMessageBox.critical(parent, ERROR_TITLE, f"{path}: nothing to record yet (open a file and wait for the 3D)")
        return
    lo, hi = frame_range(doc)
    total = hi - lo
    tmp = _temp_path(path)
    dialog = QProgressDialog(f"Recording the 3D view to {path.name}…", "Cancel", 0, total, parent)
    dialog.setWindowTitle("Export 3D view as MP4")
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(0)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    dialog.setValue(0)
    writer = None
    done = False
    try:
        if not path.parent.is_dir():
            raise RecordingError(f"the folder {path.parent} does not exist")
        writer = open_writer(tmp, doc.input.fps, size, FOURCCS)
        bgr = np.empty((size[1], size[0], 3), np.uint8)
        for k, frame in enumerate(range(lo, hi)):
            if dialog.wasCanceled():
                break
            rgba = viewport.render_frame(frame, size)
            cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGR, dst=bgr)
            writer.write(bgr)
            dialog.setValue(k + 1)  # modal: processes events, so Cancel and the window respond
        else:
            done = True
        writer.release()
        writer = None
        if done:
            if not tmp.exists() or tmp.stat().st_size == 0:
                raise RecordingError("the video writer produced no data")
            os.replace(tmp, path)
            if hasattr(parent, "statusBar"):
                parent.statusBar().showMessage(f"Recorded {total} frames to {path}", 8000)
    except Exception as exc:  # a codec, disk or GL failure: a dialog naming the file, the app keeps running
        done = False
        if not isinstance(exc, RecordingError | OSError | cv2.error):
            log.exception("recording %s failed", path)
        QMessageBox.critical(parent, ERROR_TITLE, f"{path}: {exc}")
    finally:
        if writer is not None:
            writer.release()
        if not done:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        dialog.close()
        dialog.deleteLater()
        viewport.refresh()
