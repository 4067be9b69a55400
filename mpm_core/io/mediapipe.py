"""MediaPipe Pose (33 landmarks) saved as CSV or JSON. MediaPipe has no file format of its own; these are read:

CSV, wide (one row per frame)::

    # width=1920            (optional comment lines: width, height, fps)
    # height=1080
    frame,nose_x,nose_y,nose_z,nose_visibility,left_eye_inner_x,...

  Landmark names are ``mpm_core.skeleton.MEDIAPIPE33`` names, case-insensitive (MediaPipe's ``PoseLandmark``
  enum names such as ``LEFT_EYE_INNER`` are the same), or indices 0..32 (``0_x``, ``x0``). ``_z``,
  ``_visibility`` and ``_presence`` columns are optional; ``frame`` may be left out (row number). All 33
  landmarks need x and y. Empty cells: no pose in that frame.

CSV, long (one row per landmark): ``frame,landmark,x,y[,z][,visibility][,presence]``, landmark a name or index.

JSON: ``{"width": W, "height": H, "fps": F, "frames": [{"frame": 0, "landmarks": [{"x": .., "y": .., "z": ..,
"visibility": ..}, ... 33]}, ...]}``; ``frames`` may also be the whole file, a frame may be just the landmark list,
and ``pose_landmarks`` is accepted for ``landmarks``. An empty or null landmark list: no pose in that frame.

x and y are normalised to 0..1 by the image width and height (MediaPipe's ``NormalizedLandmark``), so the image
size is needed: ``image_size=`` argument > file (width/height) > video beside the file; otherwise an error.
The score of a landmark is its ``visibility`` (1 when absent).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from mpm_core.errors import PoseDataError
from mpm_core.io.canonical import read_csv_table
from mpm_core.io.common import (
    Detection,
    RawPoses,
    check_frames_unique,
    check_image_size,
    find_video_beside,
    load_json,
    numbers,
    probe_video,
    resolve_layout,
)
from mpm_core.io.limits import MAX_ABS_PIXELS, check_frame_number
from mpm_core.skeleton import MEDIAPIPE33

NUM_LANDMARKS = 33
_FIELDS = ("x", "y", "z", "visibility", "presence")
_INDEX_FIRST = re.compile(r"^(x|y|z|visibility|presence)(\d+)$")


def _landmark_index(name: str, path: Path, where: str) -> int:
    key = name.strip().lower()
    if key.isdigit() and int(key) < NUM_LANDMARKS:
        return int(key)
    if key in MEDIAPIPE33.joint_names:
        return MEDIAPIPE33.joint_names.index(key)
    raise PoseDataError(f"unknown MediaPipe landmark {name!r}", path, where)


def _split_column(col: str, path: Path, line: int) -> tuple[int, str]:
    low = col.strip().lower()
    m = _INDEX_FIRST.match(low)
    if m:
        return _landmark_index(m.group(2), path, f"line {line} column {col!r}"), m.group(1)
    base, _, fld = low.rpartition("_")
    if fld not in _FIELDS or not base:
        raise PoseDataError(f"column {col!r} is not <landmark>_<x|y|z|visibility|presence>", path, f"line {line}")
    return _landmark_index(base, path, f"line {line} column {col!r}"), fld


def _to_float(text: str, path: Path, line: int, col: str) -> float:
    text = text.strip()
    if not text:
        return np.nan
    try:
        value = float(text)
    except ValueError:
        raise PoseDataError(f"{text[:40]!r} is not a number", path, f"line {line} column {col!r}") from None
    if abs(value) > MAX_ABS_PIXELS:  # NaN passes: a missing value
        raise PoseDataError(
            f"{text[:40]!r} is not finite or beyond ±{MAX_ABS_PIXELS:g}", path, f"line {line} column {col!r}"
        )
    return value


def _read_csv(path: Path) -> tuple[dict[int, np.ndarray], dict[str, str]]:
    """frame -> (33, 3) x, y, visibility (normalised), and the comment metadata."""
    table = read_csv_table(path)
    cols = [c.strip().lower() for c in table.columns]
    if not table.rows:
        raise PoseDataError("zero frames (header but no data rows)", path)
    frames: dict[int, np.ndarray] = {}
    order: list[int] = []
    if "landmark" in cols:  # long form
        need = ("frame", "landmark", "x", "y")
        for n in need:
            if n not in cols:
                raise PoseDataError(f"column {n!r} is missing", path, f"line {table.header_line}")
        ci = {c: cols.index(c) for c in cols}
        for line, cells in table.rows:
            if len(cells) != len(cols):
                raise PoseDataError(f"{len(cells)} cells but the header has {len(cols)}", path, f"line {line}")
            frame = _frame(cells[ci["frame"]], path, line)
            if frame not in frames:
                frames[frame] = np.full((NUM_LANDMARKS, 3), np.nan)
                order.append(frame)
            j = _landmark_index(cells[ci["landmark"]], path, f"line {line} column 'landmark'")
            if not np.isnan(frames[frame][j, 0]):
                raise PoseDataError(f"landmark {j} given twice for frame {frame}", path, f"line {line}")
            vis = _to_float(cells[ci["visibility"]], path, line, "visibility") if "visibility" in ci else 1.0
            frames[frame][j] = [
                _to_float(cells[ci["x"]], path, line, "x"),
                _to_float(cells[ci["y"]], path, line, "y"),
                vis,
            ]
        return frames, table.meta
    has_frame = cols[0] == "frame"
    fields = {}
    for c, col in enumerate(table.columns[1:] if has_frame else table.columns):
        fields[_split_column(col, path, table.header_line)] = c + (1 if has_frame else 0)
    for j in range(NUM_LANDMARKS):
        for fld in ("x", "y"):
            if (j, fld) not in fields:
                raise PoseDataError(
                    f"no {fld} column for landmark {j} ({MEDIAPIPE33.joint_names[j]})",
                    path,
                    f"line {table.header_line}",
                )
    for r, (line, cells) in enumerate(table.rows):
        if len(cells) != len(cols):
            raise PoseDataError(f"{len(cells)} cells but the header has {len(cols)}", path, f"line {line}")
        frame = _frame(cells[0], path, line) if has_frame else r
        arr = np.full((NUM_LANDMARKS, 3), np.nan)
        for j in range(NUM_LANDMARKS):
            arr[j, 0] = _to_float(cells[fields[(j, "x")]], path, line, table.columns[fields[(j, "x")]])
            arr[j, 1] = _to_float(cells[fields[(j, "y")]], path, line, table.columns[fields[(j, "y")]])
            c = fields.get((j, "visibility"))
            arr[j, 2] = _to_float(cells[c], path, line, table.columns[c]) if c is not None else 1.0
        order.append(frame)
        frames[frame] = arr
    check_frames_unique(order, path)
    return frames, table.meta


def _frame(text: str, path: Path, line: int) -> int:
    try:
        frame = int(text.strip())
    except ValueError:
        raise PoseDataError(f"frame {text[:40]!r} is not a whole number", path, f"line {line} column 'frame'") from None
    return check_frame_number(frame, path, f"line {line} column 'frame'")


def _read_json(path: Path) -> tuple[dict[int, np.ndarray], dict[str, str]]:
    data = load_json(path)
    meta = {}
    frames_in = data
    if isinstance(data, dict):
        meta = {k: data[k] for k in ("width", "height", "fps") if k in data}
        frames_in = data.get("frames", data.get("landmarks"))
    if not isinstance(frames_in, list) or not frames_in:
        raise PoseDataError("no frames (expected a 'frames' list)", path)
    if frames_in and isinstance(frames_in[0], dict) and "x" in frames_in[0]:
        frames_in = [frames_in]  # one frame given as its landmark list
    frames: dict[int, np.ndarray] = {}
    order = []
    for i, fr in enumerate(frames_in):
        where = f"frames[{i}]"
        frame = i
        lms = fr
        if isinstance(fr, dict):
            frame = fr.get("frame", fr.get("frame_index", i))
            if not isinstance(frame, int) or isinstance(frame, bool):
                raise PoseDataError(f"frame {frame!r} is not a whole number", path, where)
            check_frame_number(frame, path, where)
            lms = fr.get("landmarks", fr.get("pose_landmarks"))
        order.append(frame)
        arr = np.full((NUM_LANDMARKS, 3), np.nan)
        if lms:
            if not isinstance(lms, list) or len(lms) != NUM_LANDMARKS:
                n = len(lms) if isinstance(lms, list) else type(lms).__name__
                raise PoseDataError(f"{n} landmarks, expected {NUM_LANDMARKS}", path, where)
            for j, lm in enumerate(lms):
                w = f"{where}.landmarks[{j}]"
                if not isinstance(lm, dict) or "x" not in lm or "y" not in lm:
                    raise PoseDataError("expected a landmark {x, y, ...}", path, w)
                arr[j] = numbers([lm["x"], lm["y"], lm.get("visibility", 1.0)], path, w)
        frames[frame] = arr
    check_frames_unique(order, path)
    return frames, meta


def read_mediapipe(
    path: str | os.PathLike, layout: str | None = None, image_size: tuple[int, int] | None = None
) -> RawPoses:
    """Read MediaPipe Pose landmarks (CSV or JSON, see module docstring) into pixels."""
    path = Path(path)
    resolve_layout(NUM_LANDMARKS, layout, path)  # only mediapipe33 fits
    frames, meta = _read_csv(path) if path.suffix.lower() == ".csv" else _read_json(path)
    size_source = "argument"
    if image_size is None and ("width" in meta or "height" in meta):
        image_size, size_source = (
            check_image_size((meta.get("width"), meta.get("height")), path, "width/height"),
            "file",
        )
    if image_size is None:
        video = find_video_beside(path)
        if video is not None:
            image_size, size_source = probe_video(video)[1], f"video {video.name}"
    if image_size is None:
        raise PoseDataError(
            "MediaPipe coordinates are normalised to 0..1: give the image size (image_size=(w, h) / --image-size W H)"
            " or width/height in the file",
            path,
        )
    scale = np.array(image_size, float)
    detections = {}
    for frame, arr in frames.items():
        xy, vis = arr[:, :2], arr[:, 2]
        visible = np.isfinite(xy).all(axis=1) & np.isfinite(vis)
        if not visible.any():
            detections[frame] = []
            continue
        detections[frame] = [
            Detection(np.where(visible[:, None], xy * scale, 0.0), np.where(visible, vis, 0.0), visible, None, 0)
        ]
    raw = RawPoses(
        layout="mediapipe33",
        frames=sorted(frames),
        detections=detections,
        tracked=True,
        image_size=tuple(image_size),
        image_size_source=size_source,
        format="mediapipe",
    )
    if "fps" in meta:
        raw.fps, raw.fps_source = meta["fps"], "file"
    return raw
