"""Keypoint arrays in ``.npy``: ``(T, J, 3)`` x, y, confidence or ``(T, J, 2)`` x, y, in pixels.

Typical source: OpenPose BODY_25 keypoints stacked per frame (``(T, 25, 3)``). The layout comes from the joint
count (25: BODY_25, 17: COCO-17, ...) unless given. A joint is missing when its confidence is 0 or a coordinate
is NaN. Object arrays are refused (never unpickled).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mpm_core.errors import PoseDataError
from mpm_core.io.common import Detection, RawPoses, resolve_layout
from mpm_core.io.limits import MAX_FRAMES, check_count, check_not_infinite, load_npy_file


def read_npy(path: str | os.PathLike, layout: str | None = None) -> RawPoses:
    """Read a ``(T, J, 2|3)`` keypoint ``.npy`` as one tracked person."""
    path = Path(path)
    arr = load_npy_file(path)
    if arr.ndim != 3 or arr.shape[2] not in (2, 3):
        raise PoseDataError(f"expected shape (T, J, 2) or (T, J, 3), got {getattr(arr, 'shape', '?')}", path)
    if arr.dtype.kind not in "fiu":
        raise PoseDataError(f"expected numbers, got dtype {arr.dtype}", path)
    if len(arr) == 0:
        raise PoseDataError("zero frames", path)
    check_count(len(arr), MAX_FRAMES, "frames", path)
    name = resolve_layout(arr.shape[1], layout, path)
    with np.errstate(all="ignore"):  # a value too large for float64 is refused just below
        arr = arr.astype(np.float64)
    check_not_infinite(arr, path, "array")
    xy = arr[..., :2]
    score = arr[..., 2] if arr.shape[2] == 3 else np.ones(arr.shape[:2])
    visible = np.isfinite(xy).all(axis=2) & np.isfinite(score) & (score > 0)
    detections = {
        t: [
            Detection(
                np.where(visible[t][:, None], xy[t], 0.0), np.where(visible[t], score[t], 0.0), visible[t], None, 0
            )
        ]
        for t in range(len(arr))
    }
    return RawPoses(layout=name, frames=list(range(len(arr))), detections=detections, tracked=True, format="npy")
