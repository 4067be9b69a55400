"""Frames for display during playback and scrubbing, decoded ahead of the playhead on a worker thread.

The UI asks ``frame_if_ready(n)`` every tick (never blocks: the frame, or None while it is being decoded) or
``frame(n)`` (blocks until decoded). Behind it one worker thread owns a ``VideoReader`` and decodes the requested
frame and then the ``ahead`` frames after it (sequential decoding: one frame's work each), so that playback at
the video's rate finds each frame ready. A jump (scrub) moves the worker to the new place at once; frames around
the playhead stay in a bounded cache for scrubbing back. Qt-free: the app converts the BGR arrays to images.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

import numpy as np

from mpm_core.errors import PoseDataError
from mpm_core.video.reader import VideoInfo, VideoReader

#: Frames decoded ahead of the playhead (1 s at 30 fps), and frames kept in all (1080p: ~6 MB each).
DEFAULT_AHEAD, DEFAULT_KEEP = 30, 90


class FrameServer:
    """Decodes ahead of the playhead; see the module docstring. ``close()`` stops the worker."""

    def __init__(self, path: str | os.PathLike, ahead: int = DEFAULT_AHEAD, keep: int = DEFAULT_KEEP):
        self._reader = VideoReader(path, cache_frames=4)
        self.info: VideoInfo = self._reader.info
        self._ahead = max(1, int(ahead))
        self._keep = max(self._ahead + 2, int(keep))
        self._frames: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cond = threading.Condition()
        self._wanted = 0
        self._closed = False
        self._error: PoseDataError | None = None
        self._worker = threading.Thread(target=self._work, name="video-frames", daemon=True)
        self._worker.start()

    # -- UI side -----------------------------------------------------------------------------------------------
    def frame_if_ready(self, index: int) -> np.ndarray | None:
        """Frame ``index`` (BGR, upright) if decoded, else None; either way the worker now decodes from there."""
        index = self._check(index)
        with self._cond:
            image = self._frames.get(index)
            if image is not None:
                self._frames.move_to_end(index)
            if self._wanted != index:
                self._wanted = index
                self._cond.notify_all()
            return image

    def frame(self, index: int, timeout: float | None = 10.0) -> np.ndarray:
        """Frame ``index``, waiting for the worker to decode it."""
        image = self.frame_if_ready(index)
        if image is not None:
            return image
        with self._cond:
            ok = self._cond.wait_for(lambda: index in self._frames or self._error or self._closed, timeout)
            if self._error is not None:
                raise self._error
            if not ok or index not in self._frames:
                raise PoseDataError(f"frame {index} was not decoded in time", self.info.path)
            return self._frames[index]

    def ready(self, index: int) -> bool:
        with self._cond:
            return index in self._frames

    def wait_ready(self, index: int, timeout: float | None = 10.0) -> bool:
        """Wait until frame ``index`` is decoded, without moving the playhead (it must lie ahead of it)."""
        with self._cond:
            return bool(self._cond.wait_for(lambda: index in self._frames or self._closed, timeout)) and (
                index in self._frames
            )

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._worker.join(5.0)
        self._reader.close()

    def __enter__(self) -> FrameServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def frames_decoded(self) -> int:
        return self._reader.frames_decoded

    # -- worker ------------------------------------------------------------------------------------------------
    def _check(self, index: int) -> int:
        index = int(index)
        if not 0 <= index < self.info.num_frames:
            raise PoseDataError(f"frame {index} is outside 0-{self.info.num_frames - 1}", self.info.path)
        return index

    def _next_missing(self) -> int | None:
        """The first frame from the playhead to ``ahead`` frames after it that is not decoded yet."""
        last = min(self._wanted + self._ahead, self.info.num_frames - 1)
        for i in range(self._wanted, last + 1):
            if i not in self._frames:
                return i
        return None

    def _work(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._closed or self._next_missing() is not None)
                if self._closed:
                    return
                index = self._next_missing()
            try:
                image = self._reader.frame(index)
            except PoseDataError as exc:
                with self._cond:
                    self._error = exc
                    self._closed = True
                    self._cond.notify_all()
                return
            with self._cond:
                self._frames[index] = image
                self._frames.move_to_end(index)
                while len(self._frames) > self._keep:
                    self._evict()
                self._cond.notify_all()

    def _evict(self) -> None:
        """Drop the cached frame farthest from the playhead (behind it first)."""
        far = max(self._frames, key=lambda i: abs(i - self._wanted) + (self._ahead if i < self._wanted else 0))
        del self._frames[far]
