"""3D input to the model's space and back, for 3D completion.

The model's 3D modality is root-relative (pelvis at the origin) in metres in a camera-like frame: x right, y down,
z forward. World data (y up) is turned half a turn about x, ``(x, y, z) -> (x, -y, -z)``: a proper rotation, so
handedness is kept and the same map takes the result back.
"""

from __future__ import annotations

import numpy as np

from mpm_core.errors import PoseDataError
from mpm_core.sequence import PoseSequence3D
from mpm_core.skeleton import H36M_JOINTS

_PELVIS = H36M_JOINTS.index("pelvis")
_HIPS = (H36M_JOINTS.index("left_hip"), H36M_JOINTS.index("right_hip"))
#: World (y up) <-> camera-like (y down, z forward): half a turn about x.
_WORLD_TO_CAMERA = np.array([1.0, -1.0, -1.0], np.float32)


def estimate_root(joints: np.ndarray, known: np.ndarray, source: str | None = None) -> np.ndarray:
    """``(T, 3)`` root per frame from ``joints (T, 17, 3)`` and ``known (T, 17)`` bool.

    The pelvis where known, else the midpoint of the hips where both are known, else linearly interpolated in
    time from the nearest frames with a root (held constant beyond the first/last). Raises ``PoseDataError``
    when no frame has a pelvis or both hips.
    """
    root = joints[:, _PELVIS].astype(np.float32).copy()
    have = known[:, _PELVIS].copy()
    hips = known[:, list(_HIPS)].all(axis=1) & ~have
    root[hips] = joints[hips][:, list(_HIPS)].mean(axis=1)
    have |= hips
    if not have.any():
        raise PoseDataError("no frame has the pelvis or both hips, so the root cannot be placed", source)
    if not have.all():
        t = np.arange(len(root))
        for axis in range(3):
            root[~have, axis] = np.interp(t[~have], t[have], root[have, axis])
    return root


def to_model_space(seq: PoseSequence3D, hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An H36M-17 sequence in metres to the model's space.

    Returns ``(relative (T, 17, 3)`` float32 root-relative camera-like metres, ``root (T, 3)`` camera-like metres);
    the root is found from the joints not in ``hidden (T, 17)``.
    """
    if seq.layout != "h36m17" or seq.units != "m":
        raise PoseDataError(f"3D completion needs h36m17 in metres, got {seq.layout} in {seq.units}")
    joints = seq.keypoints.astype(np.float32)
    if seq.coords == "world":
        joints = joints * _WORLD_TO_CAMERA
    root = estimate_root(joints, seq.visible & ~hidden, seq.source or None)
    return (joints - root[:, None, :]).astype(np.float32), root


def from_model_space(relative: np.ndarray, root: np.ndarray, coords: str) -> np.ndarray:
    """Inverse of ``to_model_space``: ``(T, 17, 3)`` root-relative + ``(T, 3)`` root to ``coords`` ("camera" or
    "world") in metres."""
    joints = relative + root[:, None, :]
    if coords == "world":
        joints = joints * _WORLD_TO_CAMERA
    return joints.astype(np.float32)
