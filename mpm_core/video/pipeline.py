"""Video -> 2D keypoint tracks: decode, detect, link into tracks; progress, partial results, cancellation, cache.

``detect_video`` runs a ``FrameDetector`` over a frame range. Decoding runs one frame ahead on a helper thread
(FFmpeg and ONNX Runtime both release the GIL), detection on the caller's thread. ``progress(done, total)`` is
called after each frame; ``partial(tracks)`` about every ``partial_every_s`` seconds with the tracks so far;
setting ``cancel`` (a ``threading.Event``) stops between frames with ``DetectionCancelled``.

``detect_video_cached`` first looks for the result in the detection cache (``mpm_core.video.cache``): a hit makes
no detector call. Frames with nobody in them give missing joints (rows with ``visible`` all False), never guesses.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mpm_core.errors import PoseDataError
from mpm_core.io.common import Detection
from mpm_core.sequence import PoseSequence2D
from mpm_core.tracking import DEFAULT_MAX_GAP, track_detections
from mpm_core.video.detectors import LAYOUT, FrameDetector
from mpm_core.video.reader import VideoInfo, VideoReader

#: Seconds between partial results.
PARTIAL_EVERY_S = 2.0
#: Partial results wait at least this many times as long as building the last one took.
PARTIAL_COST_FACTOR = 10.0
#: Decoded frames waiting for the detector (each 1080p frame is ~6 MB).
PREFETCH_FRAMES = 3
#: A person hidden (behind another, by the frame edge) this long keeps their track when seen again.
MAX_OCCLUSION_S = 1.0
#: A track seen in fewer frames than this (a false box, a passer-by for an instant) is dropped.
MIN_TRACK_FRAMES = 3

ProgressFn = Callable[[int, int], None]
PartialFn = Callable[[list[PoseSequence2D]], None]


class DetectionCancelled(Exception):
    """Detection stopped because its cancel event was set."""


@dataclass
class DetectionResult:
    """Detected people of one video.

    Fields:
        tracks: one ``PoseSequence2D`` per person (COCO-17 pixels of the upright frame, ``person_id`` set,
            ``start_frame`` = video frame number), longest first.
        info: the video.
        detector_key: detector name and settings (the cache key part).
        frame_range: ``(start, stop)`` video frames covered.
        from_cache: True when read from the detection cache.
        detector_calls: network runs made for this result (0 from the cache).
        seconds: wall time.
        cache_path: where the result was cached ("" when not).
    """

    tracks: list[PoseSequence2D]
    info: VideoInfo
    detector_key: str
    frame_range: tuple[int, int]
    from_cache: bool = False
    detector_calls: int = 0
    seconds: float = 0.0
    cache_path: str = ""
    notes: list[str] = field(default_factory=list)

    def person(self, person: str | int = "longest") -> PoseSequence2D:
        """One track: ``"longest"`` (most frames seen) or a track id."""
        from mpm_core.tracking import select_track

        if not self.tracks:
            raise PoseDataError("nobody was detected in the video", self.info.path)
        try:
            return select_track(self.tracks, person)
        except PoseDataError as exc:
            raise PoseDataError(exc.problem, self.info.path, "person") from None


def parse_range(text: str | None, num_frames: int, path: str | os.PathLike | None = None) -> tuple[int, int]:
    """``"A-B"`` (0-based, B inclusive; ``A-`` to the end) as ``(start, stop)`` within the video."""
    if not text:
        return 0, num_frames
    try:
        a, _, b = text.partition("-")
        start = int(a) if a.strip() else 0
        stop = int(b) + 1 if b.strip() else num_frames
    except ValueError:
        raise PoseDataError(f"frame range {text!r} is not A-B", path, "--range") from None
    if not 0 <= start < stop <= num_frames:
        raise PoseDataError(f"frame range {text!r} is outside the video's 0-{num_frames - 1}", path, "--range")
    return start, stop


def tracks_from_detections(
    detections: dict[int, list[Detection]], info: VideoInfo, source: str, max_people: int | None = None
) -> list[PoseSequence2D]:
    """Link per-frame detections into tracks (``mpm_core.tracking``), ids 0, 1, ... in order of appearance.

    With ``max_people == 1`` (the single-person detector) every detection belongs to the one person: one
    sequence over all the frames given, missing where nobody was found.
    """
    if max_people == 1:
        return _single_track(detections, info, source)
    max_gap = max(DEFAULT_MAX_GAP, int(round(info.fps * MAX_OCCLUSION_S)))
    tracks = [t for t in track_detections(detections, max_gap) if t.num_detections >= MIN_TRACK_FRAMES]
    tracks.sort(key=lambda t: (-t.num_detections, t.first_frame))
    if max_people is not None:
        tracks = tracks[:max_people]
    tracks.sort(key=lambda t: t.first_frame)
    out = []
    for new_id, track in enumerate(tracks):
        kp, sc, vis = track.dense()
        out.append(
            PoseSequence2D(
                keypoints=kp,
                scores=sc,
                visible=vis,
                fps=info.fps,
                layout=LAYOUT,
                person_id=new_id,
                source=source,
                start_frame=track.first_frame,
                image_size=info.image_size,
            )
        )
    return out


def _single_track(detections: dict[int, list[Detection]], info: VideoInfo, source: str) -> list[PoseSequence2D]:
    if not detections:
        return []
    first, last = min(detections), max(detections)
    n = last - first + 1
    kp = np.zeros((n, 17, 2), np.float32)
    sc = np.zeros((n, 17), np.float32)
    vis = np.zeros((n, 17), bool)
    for frame, dets in detections.items():
        if dets:
            kp[frame - first], sc[frame - first], vis[frame - first] = (
                dets[0].keypoints,
                dets[0].scores,
                dets[0].visible,
            )
    if not vis.any():
        return []
    seq = PoseSequence2D(
        keypoints=kp,
        scores=sc,
        visible=vis,
        fps=info.fps,
        layout=LAYOUT,
        person_id=0,
        source=source,
        start_frame=first,
        image_size=info.image_size,
    )
    return [seq]


def _prefetch(reader: VideoReader, start: int, stop: int, cancel: threading.Event):
    """Frames from a helper thread, one or more ahead of the consumer; errors are passed on."""
    q: queue.Queue = queue.Queue(maxsize=PREFETCH_FRAMES)
    done = object()
    stop_event = threading.Event()

    def produce() -> None:
        try:
            for item in reader.frames(start, stop):
                while not (cancel.is_set() or stop_event.is_set()):
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if cancel.is_set() or stop_event.is_set():
                    return
            q.put(done)
        except BaseException as exc:  # passed to the consumer, raised there
            q.put(exc)

    worker = threading.Thread(target=produce, name="video-decode", daemon=True)
    worker.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop_event.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                worker.join(0.05)


def detect_video(
    video: str | os.PathLike | VideoReader,
    detector: FrameDetector,
    frame_range: tuple[int, int] | None = None,
    progress: ProgressFn | None = None,
    partial: PartialFn | None = None,
    cancel: threading.Event | None = None,
    partial_every_s: float = PARTIAL_EVERY_S,
) -> DetectionResult:
    """Run ``detector`` over the video's frames ``frame_range`` (default all) and link the people into tracks."""
    t0 = time.perf_counter()
    own = not isinstance(video, VideoReader)
    reader = VideoReader(video) if own else video
    cancel = cancel or threading.Event()
    try:
        info = reader.info
        start, stop = frame_range or (0, info.num_frames)
        if not 0 <= start < stop <= info.num_frames:
            raise PoseDataError(f"frame range {start}-{stop - 1} outside 0-{info.num_frames - 1}", info.path)
        total = stop - start
        calls_before = detector.calls
        detector.reset()
        detections: dict[int, list[Detection]] = {}
        people = getattr(detector, "max_people", None)
        last_partial = time.perf_counter()
        wait_s = partial_every_s
        done = 0
        expected = start
        for index, image in _prefetch(reader, start, stop, cancel):
            if cancel.is_set():
                raise DetectionCancelled()
            if index != expected:  # frames the decoder could not give: the crop must search again
                detector.reset()
            detections[index] = detector.detect(image, index)
            expected = index + 1
            done += 1
            if progress is not None:
                progress(done, total)
            if cancel.is_set():
                raise DetectionCancelled()
            if partial is not None and time.perf_counter() - last_partial >= wait_s:
                built = time.perf_counter()
                partial(tracks_from_detections(detections, info, info.path, people))
                last_partial = time.perf_counter()
                # linking grows with the frames done: keep it under ~10% of the time on long videos
                wait_s = max(partial_every_s, PARTIAL_COST_FACTOR * (last_partial - built))
        notes = []
        if done < total:
            notes.append(f"{total - done} of {total} frames could not be decoded; their joints are missing")
        tracks = tracks_from_detections(detections, info, info.path, people)
        return DetectionResult(
            tracks=tracks,
            info=info,
            detector_key=detector.key,
            frame_range=(start, stop),
            detector_calls=detector.calls - calls_before,
            seconds=time.perf_counter() - t0,
            notes=notes,
        )
    finally:
        if own:
            reader.close()


def detect_video_cached(
    path: str | os.PathLike,
    detector: FrameDetector,
    frame_range: tuple[int, int] | None = None,
    progress: ProgressFn | None = None,
    partial: PartialFn | None = None,
    cancel: threading.Event | None = None,
    use_cache: bool = True,
    partial_every_s: float = PARTIAL_EVERY_S,
) -> DetectionResult:
    """``detect_video`` with the detection cache: a cached result is returned with no detector call; a new one
    is stored (beside the video, or in the user cache folder when the video's folder is read-only)."""
    from mpm_core.video import cache

    t0 = time.perf_counter()
    path = Path(path)
    with VideoReader(path, cache_frames=1) as reader:
        info = reader.info
        rng = frame_range or (0, info.num_frames)
        if use_cache:
            hit = cache.load(path, detector.key, rng, info)
            if hit is not None:
                hit.seconds = time.perf_counter() - t0
                if progress is not None:
                    progress(rng[1] - rng[0], rng[1] - rng[0])
                return hit
        result = detect_video(reader, detector, rng, progress, partial, cancel, partial_every_s)
    if use_cache:
        result.cache_path = cache.store(path, result)
    result.seconds = time.perf_counter() - t0
    return result
