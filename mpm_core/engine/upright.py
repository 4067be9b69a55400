"""Keep a guessed lower body upright: where the hips were not seen, the model's guess must not lay the person down.

When a person's hips are out of view or covered (a seated musician behind an instrument, a bust shot), the model
fills in the pelvis, hips and legs. Such a guess can put the pelvis beside or in front of the chest, which lays
the whole body down in the world. The seen upper body is kept as it is; only the *hidden* lower-body joints of a
frame whose pelvis and hips were all hidden are turned about the thorax, by the least rotation that brings the
trunk (thorax to pelvis) within ``MAX_HIDDEN_TRUNK_TILT_DEG`` of hanging straight down along ``up``. A seen joint
never moves.
The rotation grows continuously with the tilt (nothing jumps when the guess crosses the limit).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial.transform import Rotation

from mpm_core.errors import PoseDataError
from mpm_core.skeleton import H36M_JOINTS

_J = {name: i for i, name in enumerate(H36M_JOINTS)}
PELVIS, THORAX = _J["pelvis"], _J["thorax"]
#: The joints below the thorax that turn with a guessed trunk.
LOWER_BODY = tuple(
    _J[n] for n in ("pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle", "spine")
)
#: A guessed trunk may lean at most this far from upright (degrees; people sit and stand within it).
MAX_HIDDEN_TRUNK_TILT_DEG = 25.0


def upright_hidden_lower_body(
    relative: np.ndarray, hidden: np.ndarray, up: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(poses (T, 17, 3) root-relative, moved (T, 17) bool)``: ``relative`` (camera frame, metres, pelvis at
    the origin) with each hidden-pelvis frame's hidden lower body turned upright about the thorax (see the module
    docstring), re-rooted at the new pelvis; ``moved`` flags the joints that were turned. ``up``: ``(3,)`` the
    up direction in the camera frame."""
    poses = np.asarray(relative, np.float64)
    hidden = np.asarray(hidden, bool)
    if poses.shape[1:] != (len(H36M_JOINTS), 3) or hidden.shape != poses.shape[:2]:
        raise PoseDataError(f"poses {poses.shape} and hidden flags {hidden.shape} must be (T, 17, 3) and (T, 17)")
    up = np.asarray(up, np.float64) / np.linalg.norm(up)
    down_trunk = poses[:, PELVIS] - poses[:, THORAX]
    length = np.linalg.norm(down_trunk, axis=-1)
    cos_tilt = np.clip((down_trunk @ -up) / np.maximum(length, 1e-12), -1.0, 1.0)
    tilt = np.arccos(cos_tilt)
    excess = tilt - math.radians(MAX_HIDDEN_TRUNK_TILT_DEG)
    pelvis_guessed = hidden[:, [PELVIS, _J["right_hip"], _J["left_hip"]]].all(axis=1)
    frames = pelvis_guessed & (excess > 0) & (length > 1e-6)
    moved = np.zeros(hidden.shape, bool)
    if not frames.any():
        return poses.copy(), moved
    axis = np.cross(down_trunk[frames], -up)
    axis_norm = np.linalg.norm(axis, axis=-1, keepdims=True)
    # A trunk pointing straight up (tilt 180 deg) has no unique axis: turn about the camera's x.
    axis = np.where(axis_norm > 1e-9, axis / np.maximum(axis_norm, 1e-12), [1.0, 0.0, 0.0])
    turn = Rotation.from_rotvec(axis * excess[frames, None]).as_matrix()  # (F, 3, 3)
    out = poses.copy()
    lower = np.zeros(17, bool)
    lower[list(LOWER_BODY)] = True
    rows = np.flatnonzero(frames)
    thorax = poses[rows, THORAX][:, None, :]
    turned = np.einsum("fab,fjb->fja", turn, poses[rows] - thorax) + thorax
    which = hidden[rows] & lower[None, :]
    out[rows] = np.where(which[..., None], turned, poses[rows])
    moved[rows] = which
    return out - out[:, PELVIS : PELVIS + 1], moved


__all__ = ["MAX_HIDDEN_TRUNK_TILT_DEG", "upright_hidden_lower_body"]
