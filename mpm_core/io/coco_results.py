"""COCO keypoint results JSON, as written by AlphaPose (``alphapose-results.json``), Detectron2 and others.

A list of ``{"image_id", "category_id", "keypoints": [x0, y0, s0, ...], "score", "box"|"bbox", "idx"}``; several
entries per image are several people. ``image_id`` is a frame number or an image file name
("0.jpg", "frame_00012.png": the last run of digits). ``box``/``bbox`` is [x, y, w, h]. ``idx`` is a track id only
when AlphaPose ran with ``--pose_track``: then it is a plain integer, unique within each frame. Without tracking
it is a list such as [0.0] or a nested list, and the detections are treated as untracked.
A dict ``{"images": [...], "annotations": [...]}`` (COCO ground-truth style) is accepted too: frames then come
from the images' ``file_name``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mpm_core.errors import PoseDataError
from mpm_core.io.common import (
    Detection,
    RawPoses,
    frame_number_from_name,
    keypoint_triples,
    load_json,
    numbers,
    resolve_layout,
)
from mpm_core.io.limits import check_dense

#: Bytes per (frame, joint) cell of the dense track built from the detections.
_CELL_BYTES_2D = 13


def _entries(data, path: Path) -> tuple[list, dict]:
    if isinstance(data, list):
        return data, {}
    if isinstance(data, dict) and isinstance(data.get("annotations"), list):
        names = {}
        for i, image in enumerate(data.get("images") or []):
            if isinstance(image, dict) and isinstance(image.get("id"), (int, str)) and "file_name" in image:
                names[image["id"]] = frame_number_from_name(image["file_name"], path, f"images[{i}].file_name")
        return data["annotations"], names
    raise PoseDataError("not a COCO/AlphaPose results file: expected a list of detections", path)


def _box(entry: dict, path: Path, where: str) -> np.ndarray | None:
    for key in ("box", "bbox"):
        if key in entry and entry[key] is not None:
            b = numbers(entry[key], path, f"{where}.{key}")
            if len(b) != 4:
                raise PoseDataError(f"{len(b)} values, expected [x, y, w, h]", path, f"{where}.{key}")
            if not np.isfinite(b).all():
                return None
            return np.array([b[0], b[1], b[0] + b[2], b[1] + b[3]])
    return None


def _idx(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def read_coco_results(path: str | os.PathLike, layout: str | None = None) -> RawPoses:
    """Read COCO/AlphaPose keypoint results into per-frame detections (file's layout)."""
    path = Path(path)
    entries, image_frames = _entries(load_json(path), path)
    if not entries:
        raise PoseDataError("no detections (empty list)", path)
    detections: dict[int, list[Detection]] = {}
    count = None
    ids_ok = True
    for i, entry in enumerate(entries):
        where = f"entry {i}"
        if not isinstance(entry, dict):
            raise PoseDataError(f"entry is a {type(entry).__name__}, expected an object", path, where)
        for key in ("image_id", "keypoints"):
            if key not in entry:
                raise PoseDataError(f"key {key!r} is missing", path, where)
        image_id = entry["image_id"]
        frame = image_frames.get(image_id) if image_frames and isinstance(image_id, (int, str)) else None
        if frame is None:
            frame = frame_number_from_name(image_id, path, f"{where}.image_id")
        where = f"entry {i} (image {image_id!r})"
        arr = keypoint_triples(entry["keypoints"], path, f"{where}.keypoints", score="score")
        joints = len(arr)
        if count is None:
            count = joints
            resolve_layout(joints, layout, path, where)  # fail early on an unknown count
        elif joints != count:
            raise PoseDataError(
                f"mixed layouts: {joints} joints here, {count} in earlier entries", path, f"{where}.keypoints"
            )
        finite = np.isfinite(arr).all(axis=1)
        # COCO marks an unlabelled joint as 0, 0, 0; results files give every joint a score.
        visible = finite & ~((arr[:, 0] == 0) & (arr[:, 1] == 0) & (arr[:, 2] <= 0))
        kp = np.where(visible[:, None], arr[:, :2], 0.0)
        track = _idx(entry.get("idx"))
        ids_ok &= track is not None
        det = Detection(
            kp, np.where(visible, np.clip(arr[:, 2], 0, None), 0.0), visible, _box(entry, path, where), track
        )
        detections.setdefault(frame, []).append(det)
    if ids_ok:
        ids_ok = all(len({d.track_id for d in dets}) == len(dets) for dets in detections.values())
    if not ids_ok:
        for dets in detections.values():
            for d in dets:
                d.track_id = None
    frames = sorted(detections)
    span = f"frames {frames[0]} to {frames[-1]}"
    check_dense((frames[-1] - frames[0] + 1) * count, _CELL_BYTES_2D, span, path, len(frames) * count)
    return RawPoses(
        layout=resolve_layout(count, layout, path),
        frames=list(range(frames[0], frames[-1] + 1)),
        detections=detections,
        tracked=ids_ok,
        format="coco-results",
    )
