"""Video frames for the 2D view, decoded on a worker thread (the UI thread never decodes).

``VideoFrames.request(frame, width)`` asks for one frame scaled to about ``width`` pixels (at least that, down by a
whole factor); the newest request wins
(scrubbing skips the frames it passed). ``frameReady(frame, rgb, (W, H))`` brings it back: ``rgb`` is ``(h, w, 3)``
uint8, ``(W, H)`` the video's full size, so the view stretches the small image over the full image extent. The
decoding is the library's ``mpm_core.video.playback.FrameServer`` (a ``VideoReader``: exact seeking, rotation
honoured), which decodes ahead of the last frame asked for, so playback forward finds each frame ready.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal

from mpm_core.errors import PoseDataError

log = logging.getLogger(__name__)

#: Frames kept decoded around the playhead (scrubbing back is served from memory; 1080p: ~6 MB each).
CACHE_FRAMES = 32
#: Frames decoded ahead of the last request (playback forward finds them ready).
READ_AHEAD = 8
#: A frame not decoded after this long is reported (a damaged or stalled file).
DECODE_TIMEOUT_S = 10.0


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
        from mpm_core.video.playback import FrameServer

        server = None
        server_path = None
        while True:
            with self._cond:
                while not self._stopping and self._request is None and self._path == server_path:
                    self._cond.wait()
                if self._stopping:
                    break
                path, generation, request = self._path, self._generation, self._request
                self._request = None
            if path != server_path:
                if server is not None:
                    server.close()
                server, server_path = None, path
                if path is not None:
                    try:
                        # The library's decoder for display: it decodes ahead of the last frame asked for.
                        server = FrameServer(path, ahead=READ_AHEAD, keep=CACHE_FRAMES)
                        info = server.info
                        self.opened.emit(str(path), tuple(info.image_size), float(info.fps), int(info.num_frames))
                    except PoseDataError as exc:
                        self.failed.emit(str(exc))
                    except Exception as exc:  # a bug must not end the thread silently
                        log.exception("opening %s", path)
                        self.failed.emit(f"{path}: could not open the video ({exc})")
            if server is None or request is None:
                continue
            frame, width = request
            if not 0 <= frame < server.info.num_frames:
                continue
            image = self._decode(server, frame)
            if image is None:
                continue
            rgb = _scaled_rgb(image, width)
            with self._cond:
                current = generation == self._generation
            if current:
                self.decoded += 1
                self.frameReady.emit(frame, rgb, tuple(server.info.image_size))
        if server is not None:
            server.close()

    def _decode(self, server, frame: int) -> np.ndarray | None:
        try:
            return server.frame(frame, timeout=DECODE_TIMEOUT_S)
        except PoseDataError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:
            log.exception("decoding frame %d", frame)
            self.failed.emit(f"{self.path}: frame {frame} could not be decoded ({exc})")
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
