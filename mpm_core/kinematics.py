"""Rotation helpers and forward kinematics shared by the BVH and ASF/AMC readers.

Conventions (column vectors, right-handed frames):

* ``axis_rotation("X", a)`` is the usual right-hand rotation by ``a`` radians about +X.
* An Euler sequence lists axes in the order they appear in the file, e.g. ``"ZXY"`` for BVH channels
  ``Zrotation Xrotation Yrotation``. The matrix is ``R = R_Z(a0) @ R_X(a1) @ R_Y(a2)`` (intrinsic rotations
  applied in the listed order), which is the BVH convention and equals scipy's ``Rotation.from_euler("ZXY", ...)``
  with upper-case (intrinsic) axes.
* A joint's global transform is its parent's global transform composed with its local one:
  ``R_g[j] = R_g[p] @ R_l[j]`` and ``x_g[j] = x_g[p] + R_g[p] @ t_l[j]``.

Everything is vectorised over frames; the only Python loop is over joints (tens of them).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

AXES = "XYZ"


def axis_rotation(axis: str, angles: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(..., 3, 3)`` about one axis ("X", "Y" or "Z") by ``angles`` ``(...)`` radians."""
    angles = np.asarray(angles, dtype=np.float64)
    c, s = np.cos(angles), np.sin(angles)
    out = np.zeros(angles.shape + (3, 3), np.float64)
    i = AXES.index(axis.upper())
    j, k = (i + 1) % 3, (i + 2) % 3
    out[..., i, i] = 1.0
    out[..., j, j] = c
    out[..., k, k] = c
    out[..., j, k] = -s
    out[..., k, j] = s
    return out


def euler_to_matrix(angles: np.ndarray, order: str) -> np.ndarray:
    """Matrices ``(..., 3, 3)`` for intrinsic Euler ``angles`` ``(..., len(order))`` radians in axis ``order``.

    ``order`` may have 0 to 3 axes (e.g. "ZXY", "XYZ", "Z", ""); ``R = R_order[0] @ R_order[1] @ ...``.
    """
    angles = np.asarray(angles, dtype=np.float64)
    if angles.shape[-1] != len(order):
        raise ValueError(f"{angles.shape[-1]} angles for Euler order {order!r}")
    out = np.broadcast_to(np.eye(3), angles.shape[:-1] + (3, 3)).copy()
    for n, axis in enumerate(order):
        out = out @ axis_rotation(axis, angles[..., n])
    return out


def forward_kinematics(
    parents: Sequence[int],
    translations: np.ndarray,
    rotations: np.ndarray,
    root_rotation: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Global positions and rotations of a joint tree.

    Args:
        parents: parent index per joint, -1 for a root; every parent must come before its children.
        translations: ``(T, N, 3)`` or ``(N, 3)`` local translation of each joint in its parent's frame
            (for a root: its position in the world).
        rotations: ``(T, N, 3, 3)`` local rotation of each joint.
        root_rotation: optional ``(3, 3)`` world rotation applied above every root.

    Returns:
        ``(positions (T, N, 3), global_rotations (T, N, 3, 3))``, float64, in the units of ``translations``.
    """
    rotations = np.asarray(rotations, dtype=np.float64)
    t, n = rotations.shape[:2]
    trans = np.asarray(translations, dtype=np.float64)
    if trans.ndim == 2:
        trans = np.broadcast_to(trans, (t, n, 3))
    pos = np.empty((t, n, 3), np.float64)
    glob = np.empty((t, n, 3, 3), np.float64)
    for j, p in enumerate(parents):
        if p < 0:
            if root_rotation is None:
                glob[:, j] = rotations[:, j]
                pos[:, j] = trans[:, j]
            else:
                glob[:, j] = root_rotation @ rotations[:, j]
                pos[:, j] = trans[:, j] @ root_rotation.T
        else:
            if p >= j:
                raise ValueError(f"joint {j} comes before its parent {p}")
            glob[:, j] = glob[:, p] @ rotations[:, j]
            pos[:, j] = pos[:, p] + np.einsum("tab,tb->ta", glob[:, p], trans[:, j])
    return pos, glob


def end_positions(positions: np.ndarray, global_rotations: np.ndarray, parent: int, offset: np.ndarray) -> np.ndarray:
    """``(T, 3)`` position of a point at ``offset`` (parent's local frame) below joint ``parent``."""
    return positions[:, parent] + global_rotations[:, parent] @ np.asarray(offset, np.float64)
