"""The detection service: 2D detection of a video on a worker thread, the UI thread never waits.

Usage (the window wires it)::

    service = DetectionService()
    service.progress.connect(bar.set)            # (done, total) frames
    service.partial.connect(doc.show_partial)    # PoseSequence2D so far, about every 2 s
    service.finished.connect(doc.open_detected)  # PoseSequence2D of the chosen person
    service.result.connect(...)                  # the whole DetectionResult (every track, for a person picker)
    service.failed.connect(show_error)           # one line naming the file and the problem
    service.cancelled.connect(...)
    service.start("clip.mp4")                    # cached results come back at once, with no detection
    service.cancel()                             # stops between two frames

All signals are emitted from the worker thread and reach receivers in the UI thread queued. Starting a new
detection cancels the running one; signals of a superseded run are never emitted after ``start`` returns.
The detection itself is ``mpm_core.video.pipeline.detect_video_cached`` (the library; no pose math here).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal

from mpm_core.errors import PoseDataError

log = logging.getLogger(__name__)

#: Seconds between ``partial`` signals.
PARTIAL_EVERY_S = 2.0
#: Seconds between ``progress`` signals (the first and the last frame are always reported).
PROGRESS_EVERY_S = 0.1


class _Worker(QThread):
    def __init__(self, service: DetectionService, job: dict, cancel: threading.Event):
        super().__init__()
        self.service, self.job, self.cancel = service, job, cancel

    def run(self) -> None:
        self.service._run(self.job, self.cancel)


class DetectionService(QObject):
    """Runs ``detect_video_cached`` on a ``QThread`` with progress, partial results and cancellation.

    Signals:
        progress(done, total): frames detected so far, of the range.
        partial(PoseSequence2D): the chosen person's keypoints so far (COCO-17 pixels), about every ``partial_every_s``.
        finished(PoseSequence2D): the chosen person over the whole range (``person``: "longest" or a track id).
        result(DetectionResult): every track (emitted just before ``finished``).
        failed(str): a bad video, no person found, or an unexpected error.
        cancelled(): ``cancel()`` stopped the run.
    """

    progress = Signal(int, int)
    partial = Signal(object)
    finished = Signal(object)
    result = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(
        self,
        parent: QObject | None = None,
        detector_factory: Callable[[int | None], object] | None = None,
        partial_every_s: float = PARTIAL_EVERY_S,
    ):
        """``detector_factory(people)`` makes the ``FrameDetector`` (default: ``make_detector``; tests pass one
        that reuses their sessions)."""
        super().__init__(parent)
        self._factory = detector_factory
        self._partial_every_s = partial_every_s
        self._worker: _Worker | None = None
        self._cancel: threading.Event | None = None
        self._generation = 0
        self._lock = threading.Lock()

    # -- public ------------------------------------------------------------------------------------------------
    def start(
        self,
        video: str | Path,
        people: int | None = 1,
        person: str | int = "longest",
        frame_range: tuple[int, int] | None = None,
        use_cache: bool = True,
    ) -> None:
        """Detect ``video`` (``people``: 1 for one person, N, or None for everyone) in the background."""
        self.stop()
        with self._lock:
            self._generation += 1
            job = {
                "video": Path(video),
                "people": people,
                "person": person,
                "range": frame_range,
                "use_cache": use_cache,
                "generation": self._generation,
            }
            self._cancel = threading.Event()
            self._worker = _Worker(self, job, self._cancel)
        self._worker.start()

    def cancel(self) -> None:
        """Ask the running detection to stop (between two frames); ``cancelled`` follows. Returns at once."""
        if self._cancel is not None:
            self._cancel.set()

    def is_running(self) -> bool:
        return self._worker is not None and self._worker.isRunning()

    def stop(self, timeout_ms: int = 10000) -> None:
        """Cancel and wait for the worker (for closing the window or starting another video)."""
        worker = self._worker
        if worker is None:
            return
        with self._lock:
            self._generation += 1  # whatever the old run still emits is dropped
        self.cancel()
        worker.wait(timeout_ms)
        self._worker = None

    # -- worker thread -----------------------------------------------------------------------------------------
    def _current(self, generation: int) -> bool:
        with self._lock:
            return generation == self._generation

    def _run(self, job: dict, cancel: threading.Event) -> None:
        from mpm_core.tracking import select_track
        from mpm_core.video.detectors import make_detector
        from mpm_core.video.pipeline import DetectionCancelled, detect_video_cached

        gen = job["generation"]
        last_progress = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.perf_counter()
            if done in (1, total) or now - last_progress[0] >= PROGRESS_EVERY_S:
                last_progress[0] = now
                if self._current(gen):
                    self.progress.emit(done, total)

        def partial(tracks) -> None:
            if tracks and self._current(gen):
                try:
                    self.partial.emit(select_track(tracks, job["person"]))
                except PoseDataError:
                    pass  # the asked-for person has not appeared yet

        try:
            factory = self._factory or make_detector
            detector = factory(job["people"])
            result = detect_video_cached(
                job["video"],
                detector,
                job["range"],
                progress=progress,
                partial=partial,
                cancel=cancel,
                use_cache=job["use_cache"],
                partial_every_s=self._partial_every_s,
            )
            chosen = result.person(job["person"])
        except DetectionCancelled:
            if self._current(gen):
                self.cancelled.emit()
            return
        except PoseDataError as exc:
            if self._current(gen):
                self.failed.emit(str(exc))
            return
        except Exception as exc:  # a bug must not kill the thread silently
            log.exception("detection of %s failed", job["video"])
            if self._current(gen):
                self.failed.emit(f"{job['video']}: unexpected error: {exc}")
            return
        if self._current(gen):
            self.result.emit(result)
            self.finished.emit(chosen)
