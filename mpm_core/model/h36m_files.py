"""Readers for the standard VideoPose3D Human3.6M files (``data_3d_h36m.npz``, ``data_2d_h36m_<detector>.npz``).

- ``data_3d_h36m.npz``: ``positions_3d`` = {subject: {action: (T, 32, 3) metres, H36M world frame (Z up)}}.
  Returned as H36M-17 ``PoseSequence3D`` in this project's world frame (Y up): ``(x, y, z) -> (x, z, -y)``, a proper
  rotation (no mirroring). 32 -> 17 joints by ``H36M32_TO_17``.
- ``data_2d_h36m_<det>.npz``: ``positions_2d`` = {subject: {action: [per camera (T, J, 2) pixels]}} and
  ``metadata`` = {layout_name, num_joints, keypoints_symmetry}. Returned as ``PoseSequence2D`` per camera with
  the camera's image size; a 32-joint ground-truth file is reduced to 17 joints, a COCO layout converted.

Both store dicts with pickle: they are read with the restricted unpickler of ``mpm_core.io.videopose3d`` (plain
containers and numpy arrays only; nothing executes). Human3.6M is captured at 50 fps.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mpm_core.errors import PoseDataError
from mpm_core.io.videopose3d import load_npz_restricted
from mpm_core.sequence import PoseSequence2D, PoseSequence3D

#: H36M 32-joint skeleton -> the 17 joints of ``H36M_JOINTS`` (as in VideoPose3D's ``remove_joints``).
H36M32_TO_17 = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)
#: Capture rate of Human3.6M.
H36M_FPS = 50.0
#: Image size (width, height) of the four Human3.6M cameras, in the files' camera order.
H36M_CAMERA_SIZES = ((1000, 1002), (1000, 1000), (1000, 1000), (1000, 1002))
H36M_CAMERA_IDS = ("54138969", "55011271", "58860488", "60457274")
#: VideoPose3D layout names -> this project's.
_LAYOUTS = {"h36m": "h36m17", "coco": "coco17", "detectron2": "coco17"}
#: H36M world (Z up) -> project world (Y up): x' = x, y' = z, z' = -y.
Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]], np.float32)


def _unwrap(value, path: Path, key: str):
    if isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
        return value.reshape(()).item()
    if isinstance(value, dict):
        return value
    raise PoseDataError("expected a pickled dict (np.savez of a dict)", path, f"key {key!r}")


def _load_key(path: str | os.PathLike, key: str) -> tuple[dict, Path, dict]:
    """``(the dict under key, path, every array of the file)``: the file is read once."""
    p = Path(path)
    if not p.is_file():
        raise PoseDataError("file not found", p)
    data = load_npz_restricted(p)
    if key not in data:
        raise PoseDataError(f"no {key!r} array (keys: {', '.join(sorted(data)) or 'none'})", p)
    value = _unwrap(data[key], p, key)
    if not isinstance(value, dict):
        raise PoseDataError(f"{key!r} must be a dict of subjects, got {type(value).__name__}", p)
    return value, p, data


def _array(value, shape_tail: tuple[int, ...], path: Path, where: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        raise PoseDataError(f"not a numeric array ({type(value).__name__})", path, where) from None
    if arr.ndim != 3 or arr.shape[2:] != shape_tail[1:] or arr.shape[1] not in shape_tail[0]:
        raise PoseDataError(
            f"array of shape {arr.shape}; expected (T, {' or '.join(map(str, shape_tail[0]))}, {shape_tail[1]})",
            path,
            where,
        )
    if arr.shape[0] == 0:
        raise PoseDataError("zero frames", path, where)
    return arr


def read_h36m_3d(path: str | os.PathLike, fps: float = H36M_FPS) -> dict[str, dict[str, PoseSequence3D]]:
    """``{subject: {action: PoseSequence3D}}``: H36M-17, metres, world frame Y up (converted from Z up)."""
    positions, p, _ = _load_key(path, "positions_3d")
    out: dict[str, dict[str, PoseSequence3D]] = {}
    for subject, actions in positions.items():
        if not isinstance(actions, dict):
            raise PoseDataError(f"expected a dict of actions, got {type(actions).__name__}", p, f"subject {subject}")
        out[str(subject)] = {}
        for action, value in actions.items():
            where = f"positions_3d[{subject}][{action}]"
            arr = _array(value, ((32, 17), 3), p, where)
            if arr.shape[1] == 32:
                arr = arr[:, list(H36M32_TO_17)]
            bad = ~np.isfinite(arr).all(axis=2)
            if bad.any():
                t, j = np.argwhere(bad)[0]
                raise PoseDataError(f"non-finite coordinate at frame {t}, joint {j}", p, where)
            joints = arr @ Z_UP_TO_Y_UP.T
            out[str(subject)][str(action)] = PoseSequence3D(
                joints, fps=fps, layout="h36m17", source=f"{p}:{subject}/{action}", units="m", coords="world"
            )
    return out


@dataclass
class H36M2D:
    """``sequences``: {subject: {action: [PoseSequence2D per camera]}} in H36M-17; ``metadata``: the file's."""

    sequences: dict[str, dict[str, list[PoseSequence2D]]]
    metadata: dict = field(default_factory=dict)


def read_h36m_2d(path: str | os.PathLike, fps: float = H36M_FPS) -> H36M2D:
    """Read a ``data_2d_h36m_<det>.npz``: per camera ``PoseSequence2D`` in pixels, converted to H36M-17.

    The layout comes from ``metadata['layout_name']`` (h36m, coco, detectron2) or, without metadata, from the
    joint count (17 -> h36m17, 32 -> H36M ground truth reduced to 17). Cameras beyond the four of Human3.6M get no
    image size.
    """
    positions, p, data = _load_key(path, "positions_2d")
    metadata = _unwrap(data["metadata"], p, "metadata") if "metadata" in data else {}
    if not isinstance(metadata, dict):
        raise PoseDataError("'metadata' must be a dict", p)
    layout_name = metadata.get("layout_name")
    if layout_name is not None and layout_name not in _LAYOUTS:
        raise PoseDataError(f"unknown layout_name {layout_name!r}; known: {', '.join(_LAYOUTS)}", p, "metadata")
    layout = _LAYOUTS.get(layout_name, "h36m17")
    expected_joints = 17 if layout != "h36m17" else None
    out: dict[str, dict[str, list[PoseSequence2D]]] = {}
    for subject, actions in positions.items():
        if not isinstance(actions, dict):
            raise PoseDataError(f"expected a dict of actions, got {type(actions).__name__}", p, f"subject {subject}")
        out[str(subject)] = {}
        for action, cams in actions.items():
            if not isinstance(cams, (list, tuple)) or not cams:
                raise PoseDataError(
                    "expected a non-empty list of camera arrays", p, f"positions_2d[{subject}][{action}]"
                )
            seqs = []
            for c, value in enumerate(cams):
                where = f"positions_2d[{subject}][{action}][camera {c}]"
                allowed = (expected_joints,) if expected_joints else (17, 32)
                arr = _array(value, (allowed, 2), p, where)
                if arr.shape[1] == 32:
                    arr = arr[:, list(H36M32_TO_17)]
                if "num_joints" in metadata and arr.shape[1] != int(metadata["num_joints"]) and layout != "h36m17":
                    raise PoseDataError(f"{arr.shape[1]} joints but metadata says {metadata['num_joints']}", p, where)
                size = H36M_CAMERA_SIZES[c] if c < len(H36M_CAMERA_SIZES) else None
                seq = PoseSequence2D(arr, fps=fps, layout=layout, source=f"{p}:{subject}/{action}/{c}", image_size=size)
                seqs.append(seq.to_h36m())
            out[str(subject)][str(action)] = seqs
    return H36M2D(out, dict(metadata))
