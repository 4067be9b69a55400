"""Stature (standing height, sole to head top) of an H36M-17 skeleton, and scaling a pose to a given stature.

H36M-17 has no sole and no head top: ``head`` is the point between the eyes (see ``skeleton``). Stature is
therefore built from the bones that stand on top of each other when a person stands, and two named ratios of
stature (adult anthropometry, Drillis & Contini 1966; Winter, *Biomechanics and Motor Control of Human
Movement*):

    standing chain = leg (thigh + shin, mean of left and right) + pelvis-spine + spine-thorax + |thorax - head|
    stature        = standing chain / (EYE_HEIGHT_RATIO - ANKLE_HEIGHT_RATIO)

The chain runs from the ankle joint to the eyes; the ankle joint stands ``ANKLE_HEIGHT_RATIO`` x stature above
the sole and the eyes ``EYE_HEIGHT_RATIO`` x stature above it. Lengths are medians over the sequence, so the
figure does not depend on the pose (a seated or crouching person gets the stature they would have standing).
On the validation mocap the chain is within 2% of the standing ankle-to-eye height.

The world frame's floor is the sole plane: the ankles of a planted foot stand ``ANKLE_HEIGHT_RATIO`` x stature
above it (``ankle_height``).
"""

from __future__ import annotations

import math

import numpy as np

from mpm_core.errors import PoseDataError
from mpm_core.skeleton import H36M_JOINTS

_J = {name: i for i, name in enumerate(H36M_JOINTS)}
#: Height of the ankle joint (lateral malleolus) above the sole, as a share of stature.
ANKLE_HEIGHT_RATIO = 0.039
#: Height of the eyes above the sole, as a share of stature (the head top is the remaining 6.4%).
EYE_HEIGHT_RATIO = 0.936
#: Accepted range for a performer's stature (metres): a toddler to the tallest people.
STATURE_RANGE_M = (0.5, 2.6)
#: Bones of the standing chain: (parent, child) pairs; the legs are averaged over both sides.
LEG_BONES = (("right_hip", "right_knee"), ("right_knee", "right_ankle"))
LEG_BONES_LEFT = (("left_hip", "left_knee"), ("left_knee", "left_ankle"))
TRUNK_BONES = (("pelvis", "spine"), ("spine", "thorax"), ("thorax", "head"))


def _median_length(poses: np.ndarray, a: str, b: str, seen: np.ndarray | None) -> float:
    """Median distance between joints ``a`` and ``b`` over the frames where both are seen (all when none is)."""
    d = np.linalg.norm(poses[:, _J[a]] - poses[:, _J[b]], axis=-1)
    if seen is not None:
        both = seen[:, _J[a]] & seen[:, _J[b]]
        if both.any():
            d = d[both]
    return float(np.median(d))


def standing_chain(poses: np.ndarray, seen: np.ndarray | None = None) -> float:
    """Ankle-to-eye length (metres if ``poses`` are) of ``(T, 17, 3)`` H36M-17 poses; see the module docstring.

    ``seen``: optional ``(T, 17)`` bool; each length's median then uses the frames where both of its joints were
    observed (not filled in by the model), when there are any.
    """
    poses = np.asarray(poses, np.float64)
    if poses.ndim != 3 or poses.shape[1:] != (len(H36M_JOINTS), 3) or len(poses) == 0:
        raise PoseDataError(f"poses must have shape (T, 17, 3), got {poses.shape}")
    right = sum(_median_length(poses, a, b, seen) for a, b in LEG_BONES)
    left = sum(_median_length(poses, a, b, seen) for a, b in LEG_BONES_LEFT)
    trunk = sum(_median_length(poses, a, b, seen) for a, b in TRUNK_BONES)
    return 0.5 * (left + right) + trunk


def stature(poses: np.ndarray, seen: np.ndarray | None = None) -> float:
    """Standing height, sole to head top, of ``(T, 17, 3)`` H36M-17 poses (their units)."""
    return standing_chain(poses, seen) / (EYE_HEIGHT_RATIO - ANKLE_HEIGHT_RATIO)


def ankle_height(stature_m: float) -> float:
    """Height of a planted foot's ankle joint above the sole plane for a person of ``stature_m``."""
    return ANKLE_HEIGHT_RATIO * float(stature_m)


def check_height(height_m: float, where: str = "height") -> float:
    """``height_m`` as a float, or ``PoseDataError`` when it is not a plausible human stature in metres."""
    try:
        value = float(height_m)
    except (TypeError, ValueError):
        raise PoseDataError(f"height {height_m!r} is not a number", where=where) from None
    lo, hi = STATURE_RANGE_M
    if not (math.isfinite(value) and lo <= value <= hi):
        raise PoseDataError(f"height {height_m!r} m is not a human stature ({lo:g}-{hi:g} m)", where=where)
    return value


def height_scale(poses: np.ndarray, height_m: float, seen: np.ndarray | None = None) -> float:
    """The factor that gives ``poses`` (metres) the stature ``height_m``."""
    current = stature(poses, seen)
    if not current > 0:
        raise PoseDataError("the skeleton has no length: cannot scale it to a height")
    return check_height(height_m) / current


__all__ = [
    "ANKLE_HEIGHT_RATIO",
    "EYE_HEIGHT_RATIO",
    "ankle_height",
    "check_height",
    "height_scale",
    "standing_chain",
    "stature",
]
