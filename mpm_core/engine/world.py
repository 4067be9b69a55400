"""World frame: Y up, floor at y = 0, from the ground under the feet over the whole sequence.

Input: absolute camera-frame positions ``(T, 17, 3)`` metres (x right, y down, z forward), H36M-17 order (the
root-relative pose plus the root translation from ``trajectory``). Each frame contributes its lowest ankle
(H36M-17 has no toes or heels, so the "feet" are the ankles and the floor is the plane of the ankle joints).
A plane is fitted to these points by RANSAC, refined by least squares on its inliers, and the points are
re-selected along the fitted up direction once (a tilted camera can pick the wrong foot at first).

The up direction is the plane normal pointing from the feet toward the head. World axes: y = up, x = the
camera's x (right) projected on the floor, z = x cross y (toward the camera), origin on the floor under the
first frame's pelvis.

Reliability: the fit is used only with enough frames and inliers, with the floor points spread in both
directions on the floor, and with the plane tilted no more than ``MAX_TILT_DEG`` from the camera's level.
When the points spread along one direction only (walking straight toward the camera), the camera is assumed
to have no roll and only its pitch is fitted. Otherwise the camera is taken as level: up = -y (camera) and the
floor at a low percentile of the lowest ankle's height.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mpm_core.errors import PoseDataError
from mpm_core.skeleton import H36M_JOINTS

ANKLES = (H36M_JOINTS.index("right_ankle"), H36M_JOINTS.index("left_ankle"))
HEAD = H36M_JOINTS.index("head")
PELVIS = H36M_JOINTS.index("pelvis")

#: Fewer frames than this: too short to find the floor, the level camera is used.
MIN_GROUND_FRAMES = 15
#: RANSAC: hypotheses, inlier distance (m; ankles on the floor vary by a few cm), least inlier share.
RANSAC_ITERATIONS = 300
INLIER_DISTANCE_M = 0.04
MIN_INLIER_SHARE = 0.5
#: Floor points must spread at least this much (standard deviation, metres) along a floor direction to
#: determine the tilt about the other one: with ~2 cm noise, 0.1 m spread gives ~10 deg at worst.
MIN_PLANE_SPREAD_M = 0.1
#: A floor tilted more than this from the camera's level is not believed (a wall, a slope, a bad fit).
MAX_TILT_DEG = 30.0
#: Level-camera fallback: the floor at this percentile of the per-frame lowest ankle height (robust to a few
#: low outliers, and to jumps: the feet are on the floor most of the time).
FALLBACK_FLOOR_PERCENTILE = 10.0
#: Camera frame to level world frame: x stays, y and z flip (a 180 deg turn about x).
LEVEL_CAMERA = np.diag([1.0, -1.0, -1.0])


@dataclass
class WorldTransform:
    """``world = camera @ rotation.T + translation`` (metres).

    Fields:
        rotation: ``(3, 3)`` rows are the world x, y (up), z axes in camera coordinates.
        translation: ``(3,)`` metres.
        method: ``"ground_plane"`` (full fit), ``"ground_plane_pitch"`` (pitch only, no roll) or
            ``"level_camera"`` (fallback).
        reason: why the fallback was taken ("" for a fit).
        tilt_deg: angle between the up direction and the camera's level up (-y), degrees.
        inliers: floor points that agreed with the plane (0 for the fallback).
    """

    rotation: np.ndarray
    translation: np.ndarray
    method: str
    reason: str = ""
    tilt_deg: float = 0.0
    inliers: int = 0

    def apply(self, points_cam: np.ndarray) -> np.ndarray:
        """World coordinates ``(..., 3)`` of camera-frame points ``(..., 3)``."""
        return np.asarray(points_cam, np.float64) @ self.rotation.T + self.translation

    @property
    def camera_position(self) -> np.ndarray:
        """``(3,)`` the camera centre in world coordinates (metres)."""
        return self.translation.copy()


def _lowest_ankles(poses: np.ndarray, up: np.ndarray) -> np.ndarray:
    """``(T, 3)`` the ankle lowest along ``up`` in each frame."""
    ankles = poses[:, ANKLES]  # (T, 2, 3)
    heights = ankles @ up
    return ankles[np.arange(len(poses)), np.argmin(heights, axis=1)]


def _ransac_plane(points: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Best plane normal ``(3,)`` (unit, sign arbitrary) and the inlier mask ``(N,)``."""
    n = len(points)
    samples = np.array([rng.choice(n, 3, replace=False) for _ in range(RANSAC_ITERATIONS)])
    p0, p1, p2 = points[samples[:, 0]], points[samples[:, 1]], points[samples[:, 2]]
    normals = np.cross(p1 - p0, p2 - p0)
    norms = np.linalg.norm(normals, axis=1)
    good = norms > 1e-6
    if not good.any():
        return np.array([0.0, -1.0, 0.0]), np.zeros(n, bool)
    normals = normals[good] / norms[good, None]
    offsets = np.einsum("kc,kc->k", normals, p0[good])
    dist = np.abs(points @ normals.T - offsets)  # (N, K)
    counts = (dist < INLIER_DISTANCE_M).sum(axis=0)
    best = int(np.argmax(counts))
    return normals[best], dist[:, best] < INLIER_DISTANCE_M


def _fallback(poses: np.ndarray, reason: str) -> WorldTransform:
    world = poses @ LEVEL_CAMERA.T
    lowest = world[:, ANKLES, 1].min(axis=1)
    floor = float(np.percentile(lowest, FALLBACK_FLOOR_PERCENTILE))
    translation = np.array([-world[0, PELVIS, 0], -floor, -world[0, PELVIS, 2]])
    return WorldTransform(LEVEL_CAMERA.copy(), translation, "level_camera", reason, 0.0, 0)


def _frame_from_up(up: np.ndarray) -> np.ndarray:
    """Rotation whose rows are world x (camera x on the floor), y = ``up``, z = x cross y."""
    x = np.array([1.0, 0.0, 0.0]) - up * up[0]
    x /= np.linalg.norm(x)
    z = np.cross(x, up)
    return np.stack([x, up, z])


def camera_to_world(
    poses_cam_abs: np.ndarray, seed: int = 0, max_tilt_deg: float = MAX_TILT_DEG
) -> tuple[np.ndarray, WorldTransform]:
    """World positions ``(T, 17, 3)`` metres (Y up, floor y = 0) and the transform used.

    ``poses_cam_abs``: ``(T, 17, 3)`` metres, camera frame, absolute (root translation included), H36M-17.
    ``seed`` fixes the RANSAC sampling. See the module docstring for the fit and its fallback.
    """
    poses = np.asarray(poses_cam_abs, np.float64)
    if poses.ndim != 3 or poses.shape[1:] != (len(H36M_JOINTS), 3) or poses.shape[0] == 0:
        raise PoseDataError(f"camera-frame poses must have shape (T, 17, 3), got {poses.shape}")
    if not np.isfinite(poses).all():
        raise PoseDataError("camera-frame poses contain non-finite values")
    transform = _fit_ground(poses, np.random.default_rng(seed), max_tilt_deg)
    return transform.apply(poses), transform


def _fit_ground(poses: np.ndarray, rng: np.random.Generator, max_tilt_deg: float) -> WorldTransform:
    t = len(poses)
    if t < MIN_GROUND_FRAMES:
        return _fallback(poses, f"sequence too short ({t} frames < {MIN_GROUND_FRAMES})")
    level_up = np.array([0.0, -1.0, 0.0])
    head_dir = (poses[:, HEAD] - poses[:, ANKLES].mean(axis=1)).mean(axis=0)
    up = level_up
    method = "ground_plane"
    inliers = np.zeros(t, bool)
    points = _lowest_ankles(poses, up)
    for _ in range(2):  # fit, re-select the lowest ankle along the fitted up, fit again
        points = _lowest_ankles(poses, up)
        normal, inliers = _ransac_plane(points, rng)
        if inliers.sum() < max(MIN_GROUND_FRAMES, MIN_INLIER_SHARE * t):
            return _fallback(poses, f"floor fit found only {int(inliers.sum())} of {t} frames on one plane")
        centred = points[inliers] - points[inliers].mean(axis=0)
        _, sv, vt = np.linalg.svd(centred, full_matrices=False)
        spread = sv / math.sqrt(len(centred))
        if spread[1] >= MIN_PLANE_SPREAD_M:
            normal, method = vt[2], "ground_plane"
        else:
            # One floor direction only: assume no roll (normal in the camera's y-z plane), fit the pitch.
            yz = centred[:, 1:]
            _, sv2, vt2 = np.linalg.svd(yz, full_matrices=False)
            if sv2[0] / math.sqrt(len(yz)) < MIN_PLANE_SPREAD_M:
                return _fallback(poses, "floor points do not spread enough to find the floor's tilt")
            normal, method = np.array([0.0, vt2[1, 0], vt2[1, 1]]), "ground_plane_pitch"
        normal = normal / np.linalg.norm(normal)
        if normal @ head_dir < 0:
            normal = -normal
        up = normal
    tilt = math.degrees(math.acos(float(np.clip(up @ level_up, -1.0, 1.0))))
    if tilt > max_tilt_deg:
        return _fallback(poses, f"floor tilted {tilt:.0f} deg from the camera's level (> {max_tilt_deg:g})")
    rot = _frame_from_up(up)
    floor = float((points[inliers] @ up).mean())
    pelvis0 = rot @ poses[0, PELVIS]
    translation = np.array([-pelvis0[0], -floor, -pelvis0[2]])
    return WorldTransform(rot, translation, method, "", tilt, int(inliers.sum()))
