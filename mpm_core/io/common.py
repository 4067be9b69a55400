"""Shared pieces of the 2D readers: per-frame detections, strict JSON and number parsing, and where fps and
image size come from (explicit argument > file > video beside the keypoints > default).

Every reader of a 2D format returns a :class:`RawPoses`: the detections of each frame in the file's own
layout, plus what the file says about fps and image size. ``mpm_core.io`` resolves fps / image size, links the
detections into person tracks (``mpm_core.tracking``) and builds ``PoseSequence2D`` objects.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mpm_core.errors import PoseDataError, check_fps
from mpm_core.io.limits import (
    MAX_ABS_PIXELS,
    MAX_FRAMES,
    MAX_TEXT_BYTES,
    check_frame_number,
    decode_text,
    load_json_file,
    read_bytes_bounded,
)
from mpm_core.skeleton import get_layout

#: Frame rate used when neither the caller, the file nor a video beside it gives one.
DEFAULT_FPS = 30.0
#: Video file extensions looked for beside keypoint files (for fps and image size).
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
#: Layout assumed for a detector output with this many joints, when the file does not name one.
DETECTOR_LAYOUT_BY_COUNT = {
    17: "coco17",
    18: "coco18",
    25: "body25",
    26: "halpe26",
    33: "mediapipe33",
    133: "coco_wholebody133",
}
#: Largest image side accepted from a file or argument (16K video); larger means a corrupt header.
MAX_IMAGE_SIDE = 16384
#: Longest image id / file name read for a frame number.
MAX_NAME_CHARS = 4096
_FPS_IN_NAME = re.compile(r"(?<![\d.])(\d{1,4}(?:\.\d+)?)[ _-]?fps(?![a-z])", re.IGNORECASE)
_DIGITS = re.compile(r"\d+")


@dataclass
class Detection:
    """One person in one frame.

    Fields:
        keypoints: ``(J, 2)`` float64 pixels (origin top-left); 0 where not visible.
        scores: ``(J,)`` detector confidence (OpenPose / AlphaPose values, may exceed 1 slightly).
        visible: ``(J,)`` bool.
        box: ``(4,)`` x1, y1, x2, y2 pixels, or None (then the tracker uses the visible keypoints' extent).
        track_id: the file's own person id when it has real track ids, else None.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    visible: np.ndarray
    box: np.ndarray | None = None
    track_id: int | None = None

    def extent(self) -> np.ndarray | None:
        """``(4,)`` x1, y1, x2, y2: the given box, else the visible keypoints' bounding box; None if empty."""
        if self.box is not None:
            return self.box
        pts = self.keypoints[self.visible]
        if len(pts) == 0:
            return None
        return np.concatenate([pts.min(axis=0), pts.max(axis=0)])


@dataclass
class RawPoses:
    """Detections of a whole file, per frame number, in the file's layout.

    ``frames`` lists every frame number the file covers (a frame with nobody in it is still listed);
    ``detections`` maps frame number -> detections in that frame. ``tracked`` is True when every detection
    carries a real ``track_id`` from the file (single-person formats use id 0).
    """

    layout: str
    frames: list[int]
    detections: dict[int, list[Detection]]
    tracked: bool = False
    fps: float | None = None
    fps_source: str = ""
    image_size: tuple[int, int] | None = None
    image_size_source: str = ""
    format: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def num_detections(self) -> int:
        return sum(len(d) for d in self.detections.values())


# -- JSON ---------------------------------------------------------------------------------------------------------
def read_text_file(path: str | os.PathLike) -> str:
    """A UTF-8 text file's contents (a BOM is dropped); a non-regular, oversized, unreadable, non-UTF-8 or empty
    file raises ``PoseDataError``."""
    return decode_text(read_bytes_bounded(path, MAX_TEXT_BYTES), path)


def load_json(path: str | os.PathLike) -> Any:
    """Parse a JSON file within limits (size, nesting); empty, truncated or invalid JSON raises ``PoseDataError``
    with line and column."""
    return load_json_file(path, MAX_TEXT_BYTES)


def numbers(values: Any, path: str | os.PathLike, where: str, length: int | None = None) -> np.ndarray:
    """A JSON list of numbers as float64; ``null`` becomes NaN (missing). Anything else raises, naming the index."""
    if not isinstance(values, (list, tuple)):
        raise PoseDataError(f"expected a list of numbers, got {type(values).__name__}", path, where)
    if length is not None and len(values) != length:
        raise PoseDataError(f"expected {length} values, got {len(values)}", path, where)
    for i, v in enumerate(values):
        if v is None:
            continue
        if type(v) is float:
            if math.isnan(v) or abs(v) <= MAX_ABS_PIXELS:
                continue
        elif type(v) is int:
            if abs(v) <= MAX_ABS_PIXELS:
                continue
        else:
            raise PoseDataError(f"value {i} is {_short(v)}, not a number", path, where)
        raise PoseDataError(f"value {i} is {_short(v)}: not finite or beyond ±{MAX_ABS_PIXELS:g}", path, where)
    return np.array([math.nan if v is None else v for v in values], dtype=np.float64)


def _short(value: Any, limit: int = 40) -> str:
    """``repr`` cut to ``limit`` characters (a 400-digit integer or a huge list stays readable)."""
    if type(value) is int and abs(value) >= 10**limit:
        return f"an integer of {len(str(abs(value)))} digits"
    text = repr(value) if not isinstance(value, (list, dict)) else f"a {type(value).__name__}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def keypoint_triples(values: Any, path: str | os.PathLike, where: str, score: str = "confidence") -> np.ndarray:
    """A flat JSON list ``[x0, y0, s0, x1, y1, s1, ...]`` (OpenPose, COCO results) as ``(J, 3)`` float64."""
    flat = numbers(values, path, where)
    if len(flat) % 3:
        raise PoseDataError(f"{len(flat)} values is not a multiple of 3 (x, y, {score} per joint)", path, where)
    return flat.reshape(-1, 3)


def frame_number_from_name(name: str | int, path: str | os.PathLike, where: str) -> int:
    """Frame number from an image id: an int, or the last run of digits in a file name ('frame_00012.png' -> 12)."""
    if isinstance(name, bool):
        raise PoseDataError(f"image id {name!r} is not a frame number or file name", path, where)
    if isinstance(name, int):
        return check_frame_number(name, path, where)
    if isinstance(name, float) and name.is_integer():
        return check_frame_number(int(name), path, where)
    if isinstance(name, str) and len(name) <= MAX_NAME_CHARS:
        stem = os.path.basename(name)
        stem = stem.split(".")[0] if "." in stem else stem
        runs = _DIGITS.findall(stem)
        if runs:
            if len(runs[-1].lstrip("0")) > len(str(MAX_FRAMES)):  # int() of 5,000 digits would raise
                raise PoseDataError(f"frame number {runs[-1][:12]}... in {_short(name)} is too large", path, where)
            return check_frame_number(int(runs[-1]), path, where)
    raise PoseDataError(f"cannot read a frame number from image id {_short(name)}", path, where)


# -- layouts ------------------------------------------------------------------------------------------------------
def resolve_layout(
    count: int, explicit: str | None, path: str | os.PathLike, where: str | None = None, default: str | None = None
) -> str:
    """Layout name for ``count`` joints: the explicit one (checked against the count) or the detector default."""
    if explicit is not None:
        layout = get_layout(explicit)
        if layout.num_joints != count:
            raise PoseDataError(
                f"layout {layout.name} has {layout.num_joints} joints but the file has {count}", path, where
            )
        return layout.name
    if default is not None:
        return resolve_layout(count, default, path, where)
    if count not in DETECTOR_LAYOUT_BY_COUNT:
        known = ", ".join(f"{n} ({name})" for n, name in DETECTOR_LAYOUT_BY_COUNT.items())
        raise PoseDataError(f"{count} joints per person matches no known layout; known counts: {known}", path, where)
    return DETECTOR_LAYOUT_BY_COUNT[count]


def check_image_size(size: Any, path: str | os.PathLike | None, where: str | None) -> tuple[int, int]:
    """``(width, height)`` as positive ints no larger than ``MAX_IMAGE_SIDE``."""
    try:
        w, h = (float(v) for v in size)
    except (TypeError, ValueError, OverflowError):
        raise PoseDataError(f"image size {_short(size)} is not (width, height)", path, where) from None
    if not (w.is_integer() and h.is_integer() and 0 < w <= MAX_IMAGE_SIDE and 0 < h <= MAX_IMAGE_SIDE):
        raise PoseDataError(f"image size {_short(size)} is not two whole numbers in 1..{MAX_IMAGE_SIDE}", path, where)
    return int(w), int(h)


# -- fps and image size --------------------------------------------------------------------------------------------
def fps_from_name(name: str) -> float | None:
    """A frame rate written in a file name ('clip_30fps.mp4' -> 30.0), or None."""
    match = _FPS_IN_NAME.search(os.path.basename(name))
    if not match:
        return None
    value = float(match.group(1))
    return value if 0 < value <= 1000 else None


def find_video_beside(path: str | os.PathLike) -> Path | None:
    """The video the keypoints were probably computed from, or None when it is not clear.

    A video with the same stem wins (``clip.mp4`` for ``clip.json`` or ``clip.mp4.npz``). Otherwise the one
    video in the same folder -- for a folder of per-frame files (OpenPose ``output_json/``) the folder itself,
    then its parent. Two or more candidate videos give None (ambiguous).
    """
    path = Path(path)
    folders = [path, path.parent] if path.is_dir() else [path.parent]
    if not path.is_dir():
        stem = path.name
        while True:
            for ext in VIDEO_EXTENSIONS:
                candidate = path.parent / (stem + ext)
                if candidate.is_file():
                    return candidate
            if "." not in stem:
                break
            stem = stem.rsplit(".", 1)[0]
            if stem.lower().endswith(VIDEO_EXTENSIONS) and (path.parent / stem).is_file():
                return path.parent / stem
    for folder in folders:
        try:
            videos = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS]
        except OSError:
            continue
        if len(videos) == 1:
            return videos[0]
        if len(videos) > 1:
            return None
    return None


def probe_video(path: str | os.PathLike) -> tuple[float | None, tuple[int, int] | None]:
    """``(fps, (width, height))`` of a video via OpenCV; None for what cannot be read."""
    import cv2  # lazy: only needed when a video is found beside the keypoints

    cap = cv2.VideoCapture(os.fspath(path))
    try:
        if not cap.isOpened():
            return None, None
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
        h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
    finally:
        cap.release()
    fps_ok = fps if math.isfinite(fps) and 0 < fps <= 1000 else None
    return fps_ok, ((w, h) if w > 0 and h > 0 else None)


def resolve_fps_and_size(
    raw: RawPoses,
    path: str | os.PathLike,
    fps: float | None,
    image_size: tuple[int, int] | None,
) -> None:
    """Fill ``raw.fps`` / ``raw.image_size`` and their ``*_source`` notes by priority:

    fps: explicit argument > value in the file > fps in the file name > video beside > ``DEFAULT_FPS``.
    image size: explicit argument > file > video beside > None.
    """
    if fps is not None:
        raw.fps, raw.fps_source = check_fps(fps, path, "fps argument"), "argument"
    elif raw.fps is not None:
        raw.fps = check_fps(raw.fps, path, raw.fps_source or "fps in file")
        raw.fps_source = raw.fps_source or "file"
    elif (named := fps_from_name(os.fspath(path))) is not None:
        raw.fps, raw.fps_source = named, "file name"
    if image_size is not None:
        raw.image_size, raw.image_size_source = check_image_size(image_size, path, "image size argument"), "argument"
    if raw.fps is None or raw.image_size is None:
        video = find_video_beside(path)
        if video is not None:
            v_fps, v_size = probe_video(video)
            if raw.fps is None and v_fps is not None:
                raw.fps, raw.fps_source = v_fps, f"video {video.name}"
            if raw.image_size is None and v_size is not None:
                raw.image_size, raw.image_size_source = v_size, f"video {video.name}"
    if raw.fps is None:
        raw.fps, raw.fps_source = DEFAULT_FPS, "default"
    if raw.image_size is None:
        raw.image_size_source = "unknown"


def check_frames_unique(frames: list[int], path: str | os.PathLike, what: str = "frame number") -> None:
    """Raise on a repeated frame number, naming it."""
    seen: set[int] = set()
    for f in frames:
        if f in seen:
            raise PoseDataError(f"duplicate {what} {f}", path)
        seen.add(f)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))
