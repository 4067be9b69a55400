"""Video frames for the 2D view, decoded on a worker thread (the UI thread never decodes).

``VideoFrames.request(frame, width)`` asks for one frame scaled to about ``width`` pixels (at least that, down by a
whole factor); the newest request wins
(scrubbing skips the frames it passed). ``frameReady(frame, rgb, (W, H))`` brings it back: ``rgb`` is ``(h, w, 3)``
uint8, ``(W, H)`` the video's full size, so the view stretches the small image over the full image extent. After
serving a frame the worker decodes the next one ahead into the reader's cache, so playback forward finds it ready.
The decoding itself is the library's ``mpm_core.video.VideoReader`` (exact seeking, rotation honoured).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal

from mpm_core.errors import PoseDataError

log = logging.getLogger(__name__)

#: Frames kept decoded around the playhead (scrubbing back and forth is served from memory).
CACHE_FRAMES = 48
#: Frames decoded ahead of the last request while the worker is idle.
READ_AHEAD = 2


class _Worker(QThread):
    def __init__(self, owner: VideoFrames):
        super().__init__()
        self.owner = owner

    def run(self) -> None:
        self.owner._loop()


class VideoFrames(QObject):
    """One video, one worker thread. ``open(path)``, ``request(frame, width)``, ``close()``."""

    frameReady = Signal(int, object, tuple)  # video frame, (h, w, 3) uint8 RGB, (W, H) full size
    opened = Signal(str, tuple, float, int)  # path, (W, H), fps, frame count
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._cond = threading.Condition()
        self._path: Path | None = None
        self._request: tuple[int, int] | None = None
        self._stopping = False
        self._generation = 0
        self._worker: _Worker | None = None
        self.path: Path | None = None
        self.decoded = 0  # frames served (for tests)

    def open(self, path: str | Path | None) -> None:
        """Show ``path`` (None: no video). The reader opens on the worker; ``opened`` or ``failed`` follows."""
        path = None if path is None else Path(path)
        if path == self.path:
            return
        self.path = path
        with self._cond:
            self._generation += 1
            self._path = path
            self._request = None
            self._cond.notify_all()
        if path is not None and self._worker is None:
            self._worker = _Worker(self)
            self._worker.start()

    def request(self, frame: int, width: int) -> None:
        if self.path is None:
            return
        with self._cond:
            self._request = (int(frame), max(16, int(width)))
            self._cond.notify_all()

    def close(self) -> None:
        """Stop and join the worker (the window calls this when it closes)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._worker is not None:
            self._worker.wait(5000)
            self._worker = None

    # -- worker thread ---------------------------------------------------------------------------------------
    def _loop(self) -> None:
        from mpm_core.video import VideoReader

        reader = None
        reader_path = None
        ahead: list[int] = []
        while True:
            with self._cond:
                while not self._stopping and self._request is None and not ahead and self._path == reader_path:
                    self._cond.wait()
                if self._stopping:
                    break
                path, generation, request = self._path, self._generation, self._request
                self._request = None
            if path != reader_path:
                if reader is not None:
                    reader.close()
                reader, reader_path, ahead = None, path, []
                if path is not None:
                    try:
                        reader = VideoReader(path, cache_frames=CACHE_FRAMES)
                        info = reader.info
                        self.opened.emit(str(path), tuple(info.image_size), float(info.fps), int(info.num_frames))
                    except PoseDataError as exc:
                        self.failed.emit(str(exc))
                    except Exception as exc:  # a bug must not end the thread silently
                        log.exception("opening %s", path)
                        self.failed.emit(f"{path}: could not open the video ({exc})")
            if reader is None:
                ahead = []
                continue
            if request is None:
                if not ahead:  # woken by a new video with no frame asked for yet
                    continue
                frame = ahead.pop(0)  # idle: decode ahead into the reader's cache
                if 0 <= frame < reader.num_frames:
                    self._decode(reader, frame)
                continue
            frame, width = request
            if not 0 <= frame < reader.num_frames:
                continue
            image = self._decode(reader, frame)
            if image is None:
                continue
            rgb = _scaled_rgb(image, width)
            with self._cond:
                current = generation == self._generation
            if current:
                self.decoded += 1
                self.frameReady.emit(frame, rgb, tuple(reader.info.image_size))
            ahead = [frame + i for i in range(1, READ_AHEAD + 1)]
        if reader is not None:
            reader.close()

    def _decode(self, reader, frame: int) -> np.ndarray | None:
        try:
            return reader.frame(frame)
        except PoseDataError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:
            log.exception("decoding frame %d", frame)
            self.failed.emit(f"{reader.path}: frame {frame} could not be decoded ({exc})")
        return None


def _scaled_rgb(bgr: np.ndarray, width: int) -> np.ndarray:
    """``(h, w, 3)`` RGB reduced by a whole factor to at least ``width`` wide (area-averaged: no aliasing shimmer
    while playing). A whole factor because area averaging by one is ~10x cheaper than to an arbitrary width (1080p:
    0.5 vs 6 ms of CPU per frame, measured); the view scales the rest as it paints anyway."""
    import cv2

    h, w = bgr.shape[:2]
    factor = w // max(1, width)
    if factor > 1:
        bgr = cv2.resize(bgr, (w // factor, max(1, round(h / factor))), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
