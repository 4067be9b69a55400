"""Kinetics-skeleton JSON (st-gcn) and GAST-Net's variant of it.

``{"label", "label_index", "data": [{"frame_index": 1, "skeleton": [{"pose", "score", "bbox"?}, ...]}, ...]}``.
Two forms of ``pose``/``score`` are read:

- st-gcn (flat): ``pose`` = [x0, y0, x1, y1, ...], ``score`` = [s0, s1, ...]; OpenPose COCO-18 joints; the
  coordinates are usually normalised to 0..1 by the video size (st-gcn's Kinetics files: 340x256). Normalised
  files need the image size (``image_size=``) to be turned into pixels.
- GAST-Net (nested): ``pose`` = [[x, y], ...] and ``score`` = [[s], ...] in pixels (COCO-17 or COCO-WholeBody 133).

A joint with x = y = 0 and score 0 is missing. ``frame_index`` may start at 1. Skeletons carry no identity.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mpm_core.errors import PoseDataError
from mpm_core.io.common import Detection, RawPoses, check_frames_unique, load_json, numbers, resolve_layout
from mpm_core.io.limits import MAX_PEOPLE, check_count, check_frame_number

#: Largest absolute coordinate still taken for a 0..1 normalised file (allows detector overshoot).
NORMALISED_LIMIT = 1.5


def _pose_and_score(skel: dict, path: Path, where: str) -> tuple[np.ndarray, np.ndarray]:
    for key in ("pose", "score"):
        if key not in skel:
            raise PoseDataError(f"key {key!r} is missing", path, where)
    pose, score = skel["pose"], skel["score"]
    if isinstance(pose, list) and pose and isinstance(pose[0], list):  # nested GAST-Net form
        rows = [numbers(p, path, f"{where}.pose[{j}]", 2) for j, p in enumerate(pose)]
        xy = np.stack(rows)
        if not isinstance(score, list) or len(score) != len(rows):
            n = len(score) if isinstance(score, list) else type(score).__name__
            raise PoseDataError(f"{n} scores for {len(rows)} joints", path, f"{where}.score")
        # GAST-Net writes [[s], ...]; accept a flat [s, ...] beside nested poses as well
        flat_scores = [v[0] if isinstance(v, list) and len(v) == 1 else v for v in score]
        sc = numbers(flat_scores, path, f"{where}.score")
        return xy, sc
    flat = numbers(pose, path, f"{where}.pose")
    if len(flat) % 2:
        raise PoseDataError(f"{len(flat)} values is not a multiple of 2 (x, y per joint)", path, f"{where}.pose")
    sc = numbers(score, path, f"{where}.score")
    if len(sc) * 2 != len(flat):
        raise PoseDataError(f"{len(sc)} scores for {len(flat) // 2} joints", path, f"{where}.score")
    return flat.reshape(-1, 2), sc


def read_kinetics(
    path: str | os.PathLike, layout: str | None = None, image_size: tuple[int, int] | None = None
) -> RawPoses:
    """Read a Kinetics-skeleton JSON into per-frame detections (pixels)."""
    path = Path(path)
    data = load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise PoseDataError("not a Kinetics-skeleton file: no 'data' list", path)
    if not data["data"]:
        raise PoseDataError("zero frames ('data' is empty)", path, "key 'data'")
    detections: dict[int, list[Detection]] = {}
    frames = []
    count = None
    for i, entry in enumerate(data["data"]):
        where = f"data[{i}]"
        if not isinstance(entry, dict) or "frame_index" not in entry or "skeleton" not in entry:
            raise PoseDataError("expected {'frame_index', 'skeleton'}", path, where)
        frame = entry["frame_index"]
        if not isinstance(frame, int) or isinstance(frame, bool):
            raise PoseDataError(f"frame_index {frame!r} is not a whole number", path, where)
        check_frame_number(frame, path, f"{where}.frame_index")
        frames.append(frame)
        dets = detections.setdefault(frame, [])
        skeletons = entry["skeleton"] or []
        if not isinstance(skeletons, list):
            raise PoseDataError(f"'skeleton' is a {type(skeletons).__name__}, expected a list", path, where)
        check_count(len(skeletons), MAX_PEOPLE, "people in one frame", path, where)
        for k, skel in enumerate(skeletons):
            w = f"{where}.skeleton[{k}] (frame {frame})"
            if not isinstance(skel, dict):
                raise PoseDataError(f"skeleton is a {type(skel).__name__}, expected an object", path, w)
            xy, sc = _pose_and_score(skel, path, w)
            if count is None:
                count = len(xy)
                resolve_layout(count, layout, path, w)
            elif len(xy) != count:
                raise PoseDataError(f"mixed layouts: {len(xy)} joints here, {count} in earlier skeletons", path, w)
            finite = np.isfinite(xy).all(axis=1) & np.isfinite(sc)
            visible = finite & ~((xy[:, 0] == 0) & (xy[:, 1] == 0) & (sc <= 0))
            dets.append(Detection(np.where(visible[:, None], xy, 0.0), np.where(visible, sc, 0.0), visible))
    check_frames_unique(frames, path, "frame_index")
    if count is None:
        raise PoseDataError("no skeleton in any frame", path)
    notes = []
    all_pts = [d.keypoints[d.visible] for ds in detections.values() for d in ds]
    pts = np.concatenate(all_pts) if all_pts else np.zeros((0, 2))
    if len(pts) and np.abs(pts).max() <= NORMALISED_LIMIT:
        if image_size is None:
            raise PoseDataError(
                "coordinates are normalised to 0..1; give the video size (image_size=(w, h), --image-size W H;"
                " st-gcn's Kinetics clips are 340x256)",
                path,
            )
        scale = np.array(image_size, float)
        for ds in detections.values():
            for d in ds:
                d.keypoints = d.keypoints * scale
        notes.append(f"normalised coordinates scaled by {image_size[0]}x{image_size[1]}")
    return RawPoses(
        layout=resolve_layout(count, layout, path),
        frames=sorted(frames),
        detections=detections,
        format="kinetics",
        notes=notes,
    )
