"""Which format a file or folder is in, from its extension and a look inside (keys, header)."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from mpm_core.errors import PoseDataError
from mpm_core.io.common import load_json
from mpm_core.io.limits import check_regular_file, npz_keys

#: Format names returned by :func:`detect_format`, with a one-line description each (for messages and ``info``).
FORMATS: dict[str, str] = {
    "openpose": "OpenPose JSON (folder of per-frame files or one file)",
    "coco-results": "COCO / AlphaPose keypoint results JSON",
    "mmpose": "MMPose --save-predictions JSON",
    "kinetics": "Kinetics-skeleton JSON (st-gcn / GAST-Net)",
    "mediapipe-json": "MediaPipe Pose landmarks JSON",
    "mediapipe-csv": "MediaPipe Pose landmarks CSV",
    "videopose3d-custom": "VideoPose3D custom 2D dataset .npz",
    "detectron2-npz": "VideoPose3D infer_video_d2.py output .npz",
    "npy": "keypoint array .npy (T, J, 2|3)",
    "csv-2d": "MPM Studio 2D CSV",
    "npz-2d": "MPM Studio 2D NPZ",
    "csv-3d": "MPM Studio 3D CSV",
    "npz-3d": "MPM Studio 3D NPZ",
    "bvh": "BVH motion capture",
    "amc": "ASF/AMC motion capture",
}
FORMATS_3D = ("csv-3d", "npz-3d", "bvh", "amc")


def is_3d_format(fmt: str) -> bool:
    return fmt in FORMATS_3D


def detect_format(path: str | os.PathLike) -> str:
    """The format name (a key of ``FORMATS``) of ``path``; unknown or unreadable input raises ``PoseDataError``."""
    path = Path(path)
    if not path.exists():
        raise PoseDataError("no such file or folder", path)
    if path.is_dir():
        if any(p.suffix.lower() == ".json" for p in path.iterdir()):
            return "openpose"
        raise PoseDataError("folder has no .json files (expected OpenPose per-frame JSON)", path)
    check_regular_file(path)  # a FIFO or device is refused before anything opens it
    name = path.name.lower()
    if name.endswith((".bvh", ".bvh.gz")):
        return "bvh"
    if name.endswith(".amc"):
        return "amc"
    if name.endswith(".npy"):
        return "npy"
    if name.endswith(".npz"):
        return _npz_format(path)
    if name.endswith(".csv"):
        return _csv_format(path)
    if name.endswith(".json"):
        return json_format(load_json(path), path)
    raise PoseDataError(
        "unknown file type (expected .json, .csv, .npz, .npy, .bvh, .bvh.gz, .amc or an OpenPose folder)", path
    )


def json_format(data, path: str | os.PathLike) -> str:
    """Format of already-parsed JSON data."""
    if isinstance(data, dict):
        if "people" in data:
            return "openpose"
        if "instance_info" in data:
            return "mmpose"
        if isinstance(data.get("data"), list) and (
            not data["data"] or isinstance(data["data"][0], dict) and "skeleton" in data["data"][0]
        ):
            return "kinetics"
        if isinstance(data.get("annotations"), list):
            return "coco-results"
        if "frames" in data or "landmarks" in data:
            return "mediapipe-json"
    if isinstance(data, list):
        first = data[0] if data else None
        if isinstance(first, dict):
            if "image_id" in first:
                return "coco-results"
            if "keypoint_scores" in first or "instances" in first:
                return "mmpose"
            if any(k in first for k in ("landmarks", "pose_landmarks")) or {"x", "y"} <= set(first):
                return "mediapipe-json"
        if isinstance(first, list):
            return "mediapipe-json"
        if first is None:
            raise PoseDataError("empty JSON list: no detections", path)
    keys = ", ".join(list(data)[:8]) if isinstance(data, dict) else type(data).__name__
    raise PoseDataError(f"JSON of an unknown pose format (top level: {keys})", path)


def _npz_format(path: Path) -> str:
    keys = npz_keys(path)
    if "positions_2d" in keys:
        return "videopose3d-custom"
    if "boxes" in keys and "keypoints" in keys:
        return "detectron2-npz"
    if "joints" in keys:
        return "npz-3d"
    if "keypoints" in keys:
        return "npz-2d"
    raise PoseDataError(f".npz with unknown keys: {', '.join(sorted(keys)) or 'none'}", path)


def _csv_format(path: Path) -> str:
    try:
        with open(path, encoding="utf-8-sig") as f:
            head = f.read(65536)
    except (OSError, UnicodeDecodeError) as exc:
        raise PoseDataError(f"cannot read: {exc.strerror if isinstance(exc, OSError) else exc}", path) from None
    if not head.strip():
        raise PoseDataError("file is empty", path)
    header = None
    meta = {}
    for line in head.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            key, _, value = stripped.lstrip("#").partition("=")
            meta[key.strip().lower()] = value.strip().lower()
            continue
        header = next(csv.reader(io.StringIO(stripped)))
        break
    if header is None:
        raise PoseDataError("no header row", path)
    cols = [c.strip().lower() for c in header]
    if meta.get("format", "").startswith("mediapipe") or any(c.endswith("visibility") for c in cols):
        return "mediapipe-csv"
    if "landmark" in cols or "landmark_index" in cols:
        return "mediapipe-csv"
    if "time_s" in cols or any(c.endswith("_z") for c in cols) or "coords" in meta:
        return "csv-3d"
    if cols and cols[0] == "frame":
        return "csv-2d"
    raise PoseDataError(f"CSV header {header[:4]} is neither MPM Studio 2D/3D nor MediaPipe", path, "header")
