"""World frame: Y up, floor at y = 0 (the sole plane), from gravity as the camera sees it and the ground contacts.

Input: absolute camera-frame positions ``(T, 17, 3)`` metres (x right, y down, z forward), H36M-17 order (the
root-relative pose plus the root translation from ``trajectory``).

Up, in three steps:

1. **Camera prior**: most footage comes from a roughly level camera, so up is near the camera's -y, turned by the
   camera's pitch (and a little roll). The model was trained on pitched cameras and gives the body as the camera
   sees it, so the tilt is read from the body: the mean trunk direction (pelvis to thorax) over the frames where
   both ends were seen and the trunk is within ``UPRIGHT_TRUNK_DEG`` of the camera's level up (people stand, walk
   and sit upright; a person lying down or a wrong guess does not count). The prior is used when at least
   ``MIN_BODY_FRAMES`` frames (and ``MIN_BODY_SHARE`` of them) qualify and it is within ``MAX_TILT_DEG`` of the
   level; otherwise up is the level camera's -y.
2. **Ground refinement**, only when feet are seen and planted: the soles of seen, still ankles that are the lower
   one of their frame (``MIN_GROUND_FRAMES`` or more) are fitted with a plane by RANSAC and least squares. The
   plane's normal replaces the prior when it is within ``MAX_REFINE_DEG`` of it; with the contacts spread along
   one direction only (walking straight at the camera) only the tilt along that direction is taken from them.
3. The head must be above the pelvis on average along the chosen up (else the sign is turned).

Floor (along up): each frame's lowest support point: a sole (the ankle lowered by ``ANKLE_HEIGHT_RATIO`` x
stature, see ``stature``), or any other joint when it is lower (hips and knees of a seated person, hands and knees
when crawling). The floor is the median of these over the frames where that point is still (in contact), lowered
where needed so that no more than ``SINK_SHARE`` of the frames would go more than ``SINK_TOLERANCE_M`` below it.

World axes: y = up, x = the camera's x (right) on the floor, z = x cross y (toward the camera); origin on the floor
under the first frame's pelvis. ``WorldTransform.description`` says in words how up and floor were found (it goes
into file headers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mpm_core.engine.stature import ANKLE_HEIGHT_RATIO, stature
from mpm_core.errors import PoseDataError
from mpm_core.skeleton import H36M_JOINTS

_J = {name: i for i, name in enumerate(H36M_JOINTS)}
ANKLES = (_J["right_ankle"], _J["left_ankle"])
HEAD = _J["head"]
PELVIS = _J["pelvis"]
THORAX = _J["thorax"]
#: Joints whose being seen makes the pelvis and the thorax seen (they are derived from them).
HIPS = (_J["right_hip"], _J["left_hip"])
SHOULDERS = (_J["right_shoulder"], _J["left_shoulder"])

#: Camera prior from the body: a trunk counts when within this angle of the camera's level up (degrees) ...
UPRIGHT_TRUNK_DEG = 55.0
#: ... and the prior is used with at least this many such frames, and this share of all frames.
MIN_BODY_FRAMES = 5
MIN_BODY_SHARE = 0.2
#: Fewer frames than this with planted, seen feet: no ground refinement.
MIN_GROUND_FRAMES = 15
#: RANSAC: hypotheses, inlier distance (m; soles on the floor vary by a few cm), least inlier share.
RANSAC_ITERATIONS = 300
INLIER_DISTANCE_M = 0.04
MIN_INLIER_SHARE = 0.5
#: Contact points must spread at least this much (standard deviation, metres) along a floor direction to
#: determine the tilt about the other one: with ~2 cm noise, 0.1 m spread gives ~10 deg at worst.
MIN_PLANE_SPREAD_M = 0.1
#: An up direction tilted more than this from the camera's level is not believed (a wall, a slope, a bad fit).
MAX_TILT_DEG = 45.0
#: The ground plane may correct the camera prior by at most this much (degrees).
MAX_REFINE_DEG = 10.0
#: A joint is still (in contact) below this speed (m/s), measured over ``SPEED_SPAN_S`` to average out jitter.
STILL_SPEED_M_S = 0.35
SPEED_SPAN_S = 0.1
#: Floor: at most this share of frames may have a support point more than this far below the floor.
SINK_SHARE = 0.04
SINK_TOLERANCE_M = 0.03
#: Camera frame to level world frame: x stays, y and z flip (a 180 deg turn about x).
LEVEL_CAMERA = np.diag([1.0, -1.0, -1.0])
LEVEL_UP = np.array([0.0, -1.0, 0.0])


@dataclass
class WorldTransform:
    """``world = camera @ rotation.T + translation`` (metres).

    Fields:
        rotation: ``(3, 3)`` rows are the world x, y (up), z axes in camera coordinates.
        translation: ``(3,)`` metres.
        method: how up was found: ``"ground_plane"`` (planted feet), ``"ground_plane_pitch"`` (planted feet along
            one direction: tilt along it), ``"body_up"`` (the camera prior read from the trunk) or
            ``"level_camera"`` (no cue: the camera's -y).
        reason: why the ground refinement was not used ("" when it was).
        tilt_deg: angle between the up direction and the camera's level up (-y), degrees.
        inliers: contact points that agreed with the ground plane (0 without the refinement).
        floor: how the floor height was found, in words.
        ankle_height: ``ANKLE_HEIGHT_RATIO`` x stature: a planted ankle's height above the floor (metres).
    """

    rotation: np.ndarray
    translation: np.ndarray
    method: str
    reason: str = ""
    tilt_deg: float = 0.0
    inliers: int = 0
    floor: str = ""
    ankle_height: float = 0.0

    def apply(self, points_cam: np.ndarray) -> np.ndarray:
        """World coordinates ``(..., 3)`` of camera-frame points ``(..., 3)``."""
        return np.asarray(points_cam, np.float64) @ self.rotation.T + self.translation

    def to_camera(self, points_world: np.ndarray) -> np.ndarray:
        """Camera-frame coordinates ``(..., 3)`` of world points ``(..., 3)`` (the inverse of ``apply``)."""
        return (np.asarray(points_world, np.float64) - self.translation) @ self.rotation

    @property
    def camera_position(self) -> np.ndarray:
        """``(3,)`` the camera centre in world coordinates (metres)."""
        return self.translation.copy()

    @property
    def up_camera(self) -> np.ndarray:
        """``(3,)`` the world's up direction in camera coordinates."""
        return self.rotation[1].copy()

    @property
    def description(self) -> str:
        """How up and the floor were found, in one line (for file headers)."""
        up = {
            "ground_plane": f"ground plane of {self.inliers} planted-foot frames",
            "ground_plane_pitch": f"camera prior tilted by {self.inliers} planted-foot frames along their direction",
            "body_up": "camera prior from the trunk direction",
            "level_camera": "level camera (camera -y)",
        }.get(self.method, self.method)
        text = f"up: {up}, {self.tilt_deg:.1f} deg from the camera's level"
        if self.reason:
            text += f" ({self.reason})"
        return text + (f"; floor: {self.floor}" if self.floor else "")

    def turned(self, yaw_rad: float, origin_xz: np.ndarray | None = None) -> WorldTransform:
        """The same transform with the world turned by ``yaw_rad`` about up (and moved so ``origin_xz`` (2,),
        world x/z before the turn, becomes the origin); the floor stays at y = 0."""
        c, s = math.cos(yaw_rad), math.sin(yaw_rad)
        turn = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
        translation = turn @ self.translation
        if origin_xz is not None:
            moved = turn @ np.array([origin_xz[0], 0.0, origin_xz[1]])
            translation = translation - np.array([moved[0], 0.0, moved[2]])
        return WorldTransform(
            turn @ self.rotation,
            translation,
            self.method,
            self.reason,
            self.tilt_deg,
            self.inliers,
            self.floor,
            self.ankle_height,
        )


# -- up ----------------------------------------------------------------------------------------------------------
def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-12)


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    return math.degrees(math.acos(float(np.clip(_unit(a) @ _unit(b), -1.0, 1.0))))


def body_up(poses: np.ndarray, seen: np.ndarray | None = None) -> tuple[np.ndarray | None, int]:
    """The camera prior read from the trunk: ``(up (3,) camera frame, frames used)``; up is None when too few
    frames qualify (see the module docstring). ``poses``: ``(T, 17, 3)`` camera frame (root-relative is fine)."""
    poses = np.asarray(poses, np.float64)
    t = len(poses)
    trunk = _unit(poses[:, THORAX] - poses[:, PELVIS])
    ok = np.linalg.norm(poses[:, THORAX] - poses[:, PELVIS], axis=-1) > 1e-6
    if seen is not None:
        seen = np.asarray(seen, bool)
        ok &= seen[:, HIPS].all(axis=1) & seen[:, SHOULDERS].all(axis=1)
    ok &= trunk @ LEVEL_UP > math.cos(math.radians(UPRIGHT_TRUNK_DEG))
    n = int(ok.sum())
    if n < max(MIN_BODY_FRAMES, MIN_BODY_SHARE * t):
        return None, n
    up = _unit(trunk[ok].mean(axis=0))
    if _angle_deg(up, LEVEL_UP) > MAX_TILT_DEG:
        return None, n
    return up, n


def _ransac_plane(points: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Best plane normal ``(3,)`` (unit, sign arbitrary) and the inlier mask ``(N,)``."""
    n = len(points)
    samples = np.array([rng.choice(n, 3, replace=False) for _ in range(RANSAC_ITERATIONS)])
    p0, p1, p2 = points[samples[:, 0]], points[samples[:, 1]], points[samples[:, 2]]
    normals = np.cross(p1 - p0, p2 - p0)
    norms = np.linalg.norm(normals, axis=1)
    good = norms > 1e-6
    if not good.any():
        return LEVEL_UP.copy(), np.zeros(n, bool)
    normals = normals[good] / norms[good, None]
    offsets = np.einsum("kc,kc->k", normals, p0[good])
    dist = np.abs(points @ normals.T - offsets)  # (N, K)
    counts = (dist < INLIER_DISTANCE_M).sum(axis=0)
    best = int(np.argmax(counts))
    return normals[best], dist[:, best] < INLIER_DISTANCE_M


def joint_speeds(points: np.ndarray, fps: float) -> np.ndarray:
    """``(T, ...)`` speed (m/s) of ``(T, ..., 3)`` points, as the distance over ``SPEED_SPAN_S`` around each frame."""
    t = len(points)
    half = max(1, int(round(SPEED_SPAN_S * fps / 2)))
    idx = np.arange(t)
    a, b = np.maximum(idx - half, 0), np.minimum(idx + half, t - 1)
    span = np.maximum(b - a, 1)
    return np.linalg.norm(points[b] - points[a], axis=-1) * fps / span.reshape((-1,) + (1,) * (points.ndim - 2))


def _contact_soles(
    poses: np.ndarray, seen: np.ndarray, up: np.ndarray, fps: float, ankle_h: float
) -> tuple[np.ndarray, np.ndarray]:
    """Sole points ``(N, 3)`` (camera frame) of seen, still ankles that are the lower of their frame, and their
    frame indices ``(N,)``."""
    ankles = poses[:, ANKLES]  # (T, 2, 3)
    heights = ankles @ up
    lower = np.argmin(heights, axis=1)
    rows = np.arange(len(poses))
    still = joint_speeds(ankles, fps) < STILL_SPEED_M_S
    use = seen[:, ANKLES][rows, lower] & still[rows, lower]
    soles = ankles[rows, lower] - ankle_h * up
    return soles[use], rows[use]


def _ground_refine(
    soles: np.ndarray, prior: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray | None, str, str, int]:
    """``(up or None, method, reason, inliers)`` from the contact soles, within ``MAX_REFINE_DEG`` of ``prior``."""
    n = len(soles)
    if n < MIN_GROUND_FRAMES:
        return None, "", f"{n} planted-foot frames < {MIN_GROUND_FRAMES}", 0
    normal, inliers = _ransac_plane(soles, rng)
    k = int(inliers.sum())
    if k < max(MIN_GROUND_FRAMES, MIN_INLIER_SHARE * n):
        return None, "", f"only {k} of {n} planted-foot frames lie on one plane", 0
    centred = soles[inliers] - soles[inliers].mean(axis=0)
    _, sv, vt = np.linalg.svd(centred, full_matrices=False)
    spread = sv / math.sqrt(len(centred))
    if spread[1] >= MIN_PLANE_SPREAD_M:
        normal, method = vt[2], "ground_plane"
    elif spread[0] >= MIN_PLANE_SPREAD_M:
        # One floor direction only: keep the prior's tilt across it, take the tilt along it from the contacts.
        d = vt[0]
        normal, method = _unit(prior - (prior @ d) * d), "ground_plane_pitch"
    else:
        return None, "", "planted feet do not spread enough to show the floor's tilt", 0
    if normal @ prior < 0:
        normal = -normal
    off = _angle_deg(normal, prior)
    if off > MAX_REFINE_DEG:
        return None, "", f"ground plane {off:.0f} deg from the camera prior (> {MAX_REFINE_DEG:g})", 0
    return _unit(normal), method, "", k


# -- floor ---------------------------------------------------------------------------------------------------------
def support_heights(heights: np.ndarray, ankle_h: float) -> tuple[np.ndarray, np.ndarray]:
    """Per frame the lowest support point's height ``(T,)`` and its joint ``(T,)``, from joint heights
    ``(T, 17)``: the ankles count as their soles (``ankle_h`` lower), every other joint as itself."""
    support = heights.copy()
    support[:, list(ANKLES)] -= ankle_h
    joint = np.argmin(support, axis=1)
    return support[np.arange(len(support)), joint], joint


def floor_height(
    poses: np.ndarray, up: np.ndarray, fps: float, ankle_h: float, sink_guard: bool = True
) -> tuple[float, str]:
    """``(floor height along up, how it was found)`` for camera-frame poses ``(T, 17, 3)``; see the docstring.

    ``sink_guard`` False: the median only (the caller grounds each frame itself, ``engine.grounding``)."""
    heights = poses @ up  # (T, 17)
    lowest, joint = support_heights(heights, ankle_h)
    rows = np.arange(len(poses))
    still = joint_speeds(poses, fps)[rows, joint] < STILL_SPEED_M_S
    if still.any():
        floor = float(np.median(lowest[still]))
        text = f"median lowest support point of {int(still.sum())} still frames"
    else:
        floor = float(np.median(lowest))
        text = f"median lowest support point of all {len(poses)} frames (none still)"
    guard = float(np.quantile(lowest, SINK_SHARE)) + SINK_TOLERANCE_M
    if sink_guard and guard < floor:
        floor = guard
        text += f", lowered so that {1 - SINK_SHARE:.0%} of frames stay above it"
    kinds = {"sole": np.isin(joint, ANKLES)}
    share = float(kinds["sole"][still].mean()) if still.any() else float(kinds["sole"].mean())
    return floor, f"{text} ({share:.0%} soles, the rest other joints)"


# -- the transform ---------------------------------------------------------------------------------------------------
def _frame_from_up(up: np.ndarray) -> np.ndarray:
    """Rotation whose rows are world x (camera x on the floor), y = ``up``, z = x cross y."""
    x = np.array([1.0, 0.0, 0.0]) - up * up[0]
    x /= np.linalg.norm(x)
    z = np.cross(x, up)
    return np.stack([x, up, z])


def camera_to_world(
    poses_cam_abs: np.ndarray,
    seed: int = 0,
    max_tilt_deg: float = MAX_TILT_DEG,
    *,
    seen: np.ndarray | None = None,
    fps: float = 30.0,
    ankle_height: float | None = None,
    up_prior: np.ndarray | None = None,
    sink_guard: bool = True,
) -> tuple[np.ndarray, WorldTransform]:
    """World positions ``(T, 17, 3)`` metres (Y up, floor y = 0 at the soles) and the transform used.

    ``poses_cam_abs``: ``(T, 17, 3)`` metres, camera frame, absolute (root translation included), H36M-17.
    ``seed`` fixes the RANSAC sampling. ``seen``: ``(T, 17)`` bool, joints observed in the 2D (None: all); only
    seen joints give the body's tilt and the planted feet. ``fps``: frame rate (for speeds). ``ankle_height``:
    a planted ankle's height above the sole (None: ``ANKLE_HEIGHT_RATIO`` x the skeleton's stature).
    ``up_prior``: the camera prior (None: ``body_up``). ``sink_guard`` False: the floor is the median support
    point without the lowering (for callers that ground each frame, ``engine.grounding``). See the module
    docstring.
    """
    poses = np.asarray(poses_cam_abs, np.float64)
    if poses.ndim != 3 or poses.shape[1:] != (len(H36M_JOINTS), 3) or poses.shape[0] == 0:
        raise PoseDataError(f"camera-frame poses must have shape (T, 17, 3), got {poses.shape}")
    if not np.isfinite(poses).all():
        raise PoseDataError("camera-frame poses contain non-finite values")
    seen = np.ones(poses.shape[:2], bool) if seen is None else np.asarray(seen, bool)
    if seen.shape != poses.shape[:2]:
        raise PoseDataError(f"seen flags {seen.shape} do not match poses {poses.shape[:2]}")
    ankle_h = ANKLE_HEIGHT_RATIO * stature(poses, seen) if ankle_height is None else float(ankle_height)
    rng = np.random.default_rng(seed)

    prior, method = up_prior, "body_up"
    if prior is None:
        prior, _ = body_up(poses, seen)
    if prior is None or _angle_deg(prior, LEVEL_UP) > max_tilt_deg:
        prior, method = LEVEL_UP.copy(), "level_camera"
    prior = _unit(np.asarray(prior, np.float64))
    soles, _ = _contact_soles(poses, seen, prior, fps, ankle_h)
    up, ground_method, reason, inliers = _ground_refine(soles, prior, rng)
    if up is not None and _angle_deg(up, LEVEL_UP) > max_tilt_deg:
        up, reason = None, f"ground plane tilted {_angle_deg(up, LEVEL_UP):.0f} deg (> {max_tilt_deg:g})"
    if up is None:
        up = prior
    else:
        method = ground_method
        # Refit the soles along the refined up (a tilted camera can pick the wrong foot at first).
        soles2, _ = _contact_soles(poses, seen, up, fps, ankle_h)
        up2, method2, _, inliers2 = _ground_refine(soles2, prior, rng)
        if up2 is not None and _angle_deg(up2, LEVEL_UP) <= max_tilt_deg:
            up, method, inliers = up2, method2, inliers2
    head_up = ((poses[:, HEAD] - poses[:, PELVIS]) @ up).mean()
    if head_up < 0 and method in ("ground_plane", "ground_plane_pitch"):
        up = -up  # a plane's normal has no sign of its own
    floor, floor_text = floor_height(poses, up, fps, ankle_h, sink_guard)
    rot = _frame_from_up(up)
    pelvis0 = rot @ poses[0, PELVIS]
    translation = np.array([-pelvis0[0], -floor, -pelvis0[2]])
    tilt = _angle_deg(up, LEVEL_UP)
    transform = WorldTransform(rot, translation, method, reason, tilt, inliers, floor_text, ankle_h)
    return transform.apply(poses), transform


__all__ = [
    "ANKLE_HEIGHT_RATIO",
    "joint_speeds",
    "LEVEL_CAMERA",
    "WorldTransform",
    "body_up",
    "camera_to_world",
    "floor_height",
    "support_heights",
]
