"""MMPose predictions JSON (``demo/topdown_demo_with_mmdet.py --save-predictions``, ``MMPoseInferencer``).

Video form::

    {"meta_info": {"dataset_name": "coco", "num_keypoints": 17, ...},
     "instance_info": [{"frame_id": 1, "instances": [{"keypoints": [[x, y], ...], "keypoint_scores": [s, ...],
                                                      "bbox": [[x1, y1, x2, y2]], "bbox_score": 0.98}, ...]}, ...]}

Image form: ``instance_info`` (or the whole file) is a plain list of instances: frame 0. An integer
``track_id`` on every instance is used as the person's id. The layout comes from ``meta_info.dataset_name``
(``h36m`` -> H36M-17; otherwise by joint count) unless given. ``fps`` is read from the top level or
``meta_info`` when present (MMPose itself does not write it).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mpm_core.errors import PoseDataError
from mpm_core.io.common import Detection, RawPoses, check_frames_unique, load_json, numbers, resolve_layout
from mpm_core.io.limits import check_frame_number


def _instance(inst, path: Path, where: str) -> tuple[Detection, int]:
    if not isinstance(inst, dict) or "keypoints" not in inst:
        raise PoseDataError("expected an instance with 'keypoints'", path, where)
    kps = inst["keypoints"]
    if not isinstance(kps, list):
        raise PoseDataError(f"'keypoints' is a {type(kps).__name__}, expected a list", path, where)
    xy = np.stack([numbers(p, path, f"{where}.keypoints[{j}]", 2) for j, p in enumerate(kps)]) if kps else None
    if xy is None:
        raise PoseDataError("'keypoints' is empty", path, where)
    if "keypoint_scores" in inst:
        sc = numbers(inst["keypoint_scores"], path, f"{where}.keypoint_scores", len(xy))
    else:
        sc = np.ones(len(xy))
    visible = np.isfinite(xy).all(axis=1) & np.isfinite(sc)
    box = None
    if inst.get("bbox"):
        b = inst["bbox"]
        b = b[0] if isinstance(b, list) and b and isinstance(b[0], list) else b
        box = numbers(b, path, f"{where}.bbox", 4)
    tid = inst.get("track_id")
    tid = tid if isinstance(tid, int) and not isinstance(tid, bool) else None
    det = Detection(np.where(visible[:, None], xy, 0.0), np.where(visible, sc, 0.0), visible, box, tid)
    return det, len(xy)


def read_mmpose(path: str | os.PathLike, layout: str | None = None) -> RawPoses:
    """Read MMPose predictions into per-frame detections (file's layout)."""
    path = Path(path)
    data = load_json(path)
    meta = {}
    if isinstance(data, dict):
        if "instance_info" not in data:
            raise PoseDataError("not an MMPose predictions file: no 'instance_info'", path)
        meta = data.get("meta_info") or {}
        info = data["instance_info"]
    else:
        info = data
    if not isinstance(info, list) or not info:
        raise PoseDataError("'instance_info' is empty or not a list: zero frames", path, "key 'instance_info'")
    if all(isinstance(e, dict) and "instances" in e for e in info):
        frames_in = [(e.get("frame_id"), e["instances"]) for e in info]
    else:
        frames_in = [(0, info)]  # one image: a list of instances
    detections: dict[int, list[Detection]] = {}
    frames = []
    count = None
    for i, (frame, instances) in enumerate(frames_in):
        if not isinstance(frame, int) or isinstance(frame, bool):
            raise PoseDataError(f"frame_id {frame!r} is not a whole number", path, f"instance_info[{i}]")
        check_frame_number(frame, path, f"instance_info[{i}].frame_id")
        if instances is not None and not isinstance(instances, list):
            raise PoseDataError(
                f"'instances' is a {type(instances).__name__}, expected a list", path, f"instance_info[{i}]"
            )
        frames.append(frame)
        dets = detections.setdefault(frame, [])
        for k, inst in enumerate(instances or []):
            det, joints = _instance(inst, path, f"instance_info[{i}].instances[{k}] (frame {frame})")
            if count is None:
                count = joints
            elif joints != count:
                raise PoseDataError(
                    f"mixed layouts: {joints} joints here, {count} before", path, f"instance_info[{i}].instances[{k}]"
                )
            dets.append(det)
    check_frames_unique(frames, path, "frame_id")
    if count is None:
        raise PoseDataError("no person in any frame", path)
    dataset = str(meta.get("dataset_name", "")).lower() if isinstance(meta, dict) else ""
    default = "h36m17" if "h36m" in dataset and count == 17 else None
    name = resolve_layout(count, layout, path, "meta_info", default=None if layout else default)
    tracked = all(d.track_id is not None for ds in detections.values() for d in ds) and all(
        len({d.track_id for d in ds}) == len(ds) for ds in detections.values()
    )
    if not tracked:
        for ds in detections.values():
            for d in ds:
                d.track_id = None
    raw = RawPoses(layout=name, frames=sorted(frames), detections=detections, tracked=tracked, format="mmpose")
    for source in (data if isinstance(data, dict) else {}, meta if isinstance(meta, dict) else {}):
        if "fps" in source:
            raw.fps, raw.fps_source = source["fps"], "file"
            break
    return raw
