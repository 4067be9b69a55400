"""Global trajectory: where the root (pelvis) is in the camera frame, from the 3D pose and its 2D keypoints.

The model gives root-relative 3D in the camera frame (x right, y down, z forward, metres). With a pinhole
camera, a joint at ``P + t`` (``P`` root-relative, ``t`` the root's camera-space translation) projects to

    u = fx (X + tx) / (Z + tz) + cx,     v = fy (Y + ty) / (Z + tz) + cy

which is linear in ``t`` once multiplied out (the classic closed form):

    fx tx - (u - cx) tz = (u - cx) Z - fx X,     fy ty - (v - cy) tz = (v - cy) Z - fy Y

Each frame is solved by weighted linear least squares over its visible joints (weights: confidence), re-solved
on its best-fitting 70% of joints (a trimmed start, so gross outliers cannot drag the first estimate), then
re-solved a few times (iteratively re-weighted): rows are divided by the joint's depth so residuals are in
pixels, and joints whose reprojection error is far above the frame's median are down-weighted (Cauchy
weights), so a few wrong keypoints do not drag the root. Frames with too few visible joints or a degenerate
solve are interpolated from their neighbours, and the path is smoothed with a zero-phase low-pass.

Intrinsics: given, or estimated from the image size and ``DEFAULT_FOV_DEG``. A wrong focal length scales the
recovered depth (and the whole trajectory) by the same factor but keeps the reprojection exact, so the
shape of the motion survives; give the true intrinsics when absolute distances matter.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from mpm_core.engine.cleanup import lowpass_filter
from mpm_core.errors import PoseDataError, check_fps

#: Default horizontal field of view (degrees) when the camera is unknown. 55 deg sits between the Human3.6M
#: cameras (~47 deg: fx ~1145 px for 1000 px wide images), which the model was trained on, and the main camera of
#: phones and webcams filming in landscape (~60-70 deg). Overridable everywhere (``fov_deg``, or intrinsics).
DEFAULT_FOV_DEG = 55.0
#: A frame needs at least this many visible joints (2 already determine the 3 unknowns; more makes it robust).
MIN_VISIBLE_JOINTS = 4
#: Root depth must be at least this far in front of the camera (metres) for a frame's solve to count.
MIN_DEPTH_M = 0.1
#: Trimmed start: keep this share of each frame's joints (the best fitting) for this many re-solves.
TRIM_KEEP_SHARE = 0.7
TRIM_STEPS = 3
#: Iterations of re-weighting, and the Cauchy constant (95% efficiency on Gaussian noise).
ROBUST_ITERATIONS = 5
CAUCHY_C = 2.385
#: Floor of the robust scale (pixels), so perfect data does not make every residual look like an outlier.
MIN_ROBUST_SCALE_PX = 1.0
#: Default zero-phase low-pass cut-off for the root path (Hz): keeps the step rhythm (~2 Hz) and removes the
#: frame-to-frame depth jitter of single-view fits.
DEFAULT_TRAJECTORY_SMOOTH_HZ = 4.0


@dataclass
class CameraIntrinsics:
    """Pinhole intrinsics in pixels: focal lengths ``fx``, ``fy`` and principal point ``cx``, ``cy``.

    Pixel coordinates have their origin at the top-left, x right, y down (as every 2D sequence).
    """

    fx: float
    fy: float
    cx: float
    cy: float

    def __post_init__(self) -> None:
        for name in ("fx", "fy", "cx", "cy"):
            value = float(getattr(self, name))
            if not math.isfinite(value):
                raise PoseDataError(f"camera intrinsic {name} = {value!r} is not finite")
            setattr(self, name, value)
        if self.fx <= 0 or self.fy <= 0:
            raise PoseDataError(f"camera focal lengths must be > 0 pixels, got fx={self.fx}, fy={self.fy}")

    @classmethod
    def from_image_size(cls, width: int, height: int, fov_deg: float = DEFAULT_FOV_DEG) -> CameraIntrinsics:
        """Square pixels, principal point at the image centre, ``fov_deg`` horizontal field of view."""
        if not (width > 0 and height > 0):
            raise PoseDataError(f"image size {width}x{height} must be positive")
        if not (0.0 < fov_deg < 180.0):
            raise PoseDataError(f"field of view {fov_deg!r} degrees must be in (0, 180)")
        f = (width / 2.0) / math.tan(math.radians(fov_deg) / 2.0)
        return cls(f, f, width / 2.0, height / 2.0)

    @property
    def matrix(self) -> np.ndarray:
        """``(3, 3)`` camera matrix K."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    def project(self, points: np.ndarray) -> np.ndarray:
        """Pixels ``(..., 2)`` of camera-frame points ``(..., 3)`` (metres; z must be > 0)."""
        points = np.asarray(points, np.float64)
        z = points[..., 2]
        return np.stack([self.fx * points[..., 0] / z + self.cx, self.fy * points[..., 1] / z + self.cy], axis=-1)


def _check_inputs(poses_3d, keypoints_2d, visible, scores):
    p3 = np.asarray(poses_3d, np.float64)
    k2 = np.asarray(keypoints_2d, np.float64)
    if p3.ndim != 3 or p3.shape[2] != 3 or p3.shape[0] == 0:
        raise PoseDataError(f"3D poses must have shape (T, J, 3), got {p3.shape}")
    if k2.shape != p3.shape[:2] + (2,):
        raise PoseDataError(f"2D keypoints {k2.shape} do not match 3D poses {p3.shape}")
    vis = np.ones(p3.shape[:2], bool) if visible is None else np.asarray(visible, bool)
    w = np.ones(p3.shape[:2]) if scores is None else np.asarray(scores, np.float64)
    if vis.shape != p3.shape[:2] or w.shape != p3.shape[:2]:
        raise PoseDataError(f"visible {vis.shape} / scores {w.shape} do not match 3D poses {p3.shape[:2]}")
    if not np.isfinite(p3).all():
        raise PoseDataError("3D poses contain non-finite values")
    vis = vis & np.isfinite(k2).all(axis=-1) & np.isfinite(w) & (w > 0)
    k2 = np.where(vis[..., None], k2, 0.0)
    w = np.where(vis, w, 0.0)
    return p3, k2, vis, w


def _solve(p3: np.ndarray, k2: np.ndarray, w: np.ndarray, k: CameraIntrinsics) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares per frame: ``(T, 3)`` translations and ``(T,)`` solvable flags."""
    du = k2[..., 0] - k.cx
    dv = k2[..., 1] - k.cy
    x, y, z = p3[..., 0], p3[..., 1], p3[..., 2]
    t_, j_ = w.shape
    a = np.zeros((t_, j_, 2, 3))
    a[..., 0, 0] = k.fx
    a[..., 0, 2] = -du
    a[..., 1, 1] = k.fy
    a[..., 1, 2] = -dv
    b = np.stack([du * z - k.fx * x, dv * z - k.fy * y], axis=-1)
    a = a.reshape(t_, 2 * j_, 3)
    b = b.reshape(t_, 2 * j_)
    wr = np.repeat(w, 2, axis=1)
    ata = np.einsum("tra,tr,trb->tab", a, wr, a)
    atb = np.einsum("tra,tr,tr->ta", a, wr, b)
    # A frame is solvable when its normal matrix is well conditioned (enough spread of joints in the image).
    with np.errstate(all="ignore"):
        cond = np.linalg.cond(ata) if t_ else np.zeros(0)
    ok = np.isfinite(cond) & (cond < 1e12)
    sol = np.zeros((t_, 3))
    if ok.any():
        sol[ok] = np.linalg.solve(ata[ok], atb[ok][..., None])[..., 0]
    return sol, ok


def _inverse_depth(p3: np.ndarray, sol: np.ndarray) -> np.ndarray:
    """``(T, J)`` 1 / depth of each joint under translation ``sol`` (0 behind the camera)."""
    depth = p3[..., 2] + sol[:, None, 2]
    return np.where(depth > MIN_DEPTH_M * 0.5, 1.0 / np.maximum(depth, MIN_DEPTH_M * 0.5), 0.0)


def _pixel_residuals(p3, k2, vis, sol, k: CameraIntrinsics) -> np.ndarray:
    """``(T, J)`` reprojection error in pixels; inf for invisible joints and joints behind the camera."""
    pts = p3 + sol[:, None, :]
    front = pts[..., 2] > MIN_DEPTH_M * 0.5
    proj = k.project(np.where(front[..., None], pts, [0.0, 0.0, 1.0]))
    return np.where(vis & front, np.linalg.norm(proj - k2, axis=-1), np.inf)


def solve_root_translation(
    poses_3d: np.ndarray,
    keypoints_2d: np.ndarray,
    visible: np.ndarray | None,
    intrinsics: CameraIntrinsics,
    scores: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame robust solve, no interpolation or smoothing.

    Returns ``(translations (T, 3) metres camera frame, valid (T,) bool)``; rows of invalid frames are 0.
    """
    p3, k2, vis, w0 = _check_inputs(poses_3d, keypoints_2d, visible, scores)
    enough = vis.sum(axis=1) >= MIN_VISIBLE_JOINTS
    sol, ok = _solve(p3, k2, w0, intrinsics)
    # Trimmed start (C-steps of least trimmed squares): re-solve on the best-fitting share of each frame's
    # joints, so gross outliers cannot pull the first estimate far enough to hide among the inliers.
    keep_count = np.ceil(TRIM_KEEP_SHARE * vis.sum(axis=1))
    for _ in range(TRIM_STEPS):
        resid = _pixel_residuals(p3, k2, vis, sol, intrinsics)
        rank = np.argsort(np.argsort(resid, axis=1), axis=1)
        sol, ok = _solve(p3, k2, w0 * (rank < keep_count[:, None]) * _inverse_depth(p3, sol) ** 2, intrinsics)
    for _ in range(ROBUST_ITERATIONS):
        resid = _pixel_residuals(p3, k2, vis, sol, intrinsics)
        # Robust scale per frame from the median residual of its visible joints.
        with warnings.catch_warnings():  # frames with no visible joint: all-NaN, handled below
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(np.where(vis & np.isfinite(resid), resid, np.nan), axis=1)
        scale = np.maximum(np.nan_to_num(med, nan=MIN_ROBUST_SCALE_PX) * 1.4826, MIN_ROBUST_SCALE_PX)
        robust = 1.0 / (1.0 + (np.nan_to_num(resid, posinf=1e9) / (CAUCHY_C * scale[:, None])) ** 2)
        # Divide each row by the joint's depth (squared in the normal equations) so residuals count in pixels.
        sol, ok = _solve(p3, k2, w0 * robust * _inverse_depth(p3, sol) ** 2, intrinsics)
    valid = enough & ok & (sol[:, 2] > MIN_DEPTH_M)
    sol[~valid] = 0.0
    return sol, valid


def interpolate_invalid(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``(T, C)`` values with invalid rows filled by linear interpolation in time (ends: nearest valid row)."""
    values = np.asarray(values, np.float64)
    valid = np.asarray(valid, bool)
    if valid.all():
        return values.copy()
    if not valid.any():
        raise PoseDataError("no valid frame to interpolate from")
    frames = np.arange(len(values))
    return np.stack([np.interp(frames, frames[valid], values[valid, c]) for c in range(values.shape[1])], axis=1)


def estimate_root_translation(
    poses_3d: np.ndarray,
    keypoints_2d: np.ndarray,
    visible: np.ndarray | None,
    intrinsics: CameraIntrinsics,
    smooth_hz: float | None = DEFAULT_TRAJECTORY_SMOOTH_HZ,
    fps: float = 30.0,
    scores: np.ndarray | None = None,
) -> np.ndarray:
    """The root's camera-space translation ``(T, 3)`` metres (x right, y down, z forward) per frame.

    Args:
        poses_3d: ``(T, J, 3)`` root-relative metres, camera frame.
        keypoints_2d: ``(T, J, 2)`` pixels of the same joints.
        visible: ``(T, J)`` bool, joints whose 2D may be used (None: all).
        intrinsics: the camera (see ``CameraIntrinsics.from_image_size`` for a default).
        smooth_hz: zero-phase low-pass cut-off for the path in Hz, None for no smoothing.
        fps: frame rate of the sequence (for the cut-off).
        scores: optional ``(T, J)`` confidences used as weights.

    Frames with fewer than ``MIN_VISIBLE_JOINTS`` visible joints (or a degenerate solve) are interpolated.
    Raises ``PoseDataError`` when no frame can be solved.
    """
    fps = check_fps(fps, where="trajectory")
    sol, valid = solve_root_translation(poses_3d, keypoints_2d, visible, intrinsics, scores)
    if not valid.any():
        raise PoseDataError(
            f"cannot place the person in the camera: no frame has {MIN_VISIBLE_JOINTS} or more usable visible joints"
        )
    path = interpolate_invalid(sol, valid)
    if smooth_hz is not None:
        path = lowpass_filter(path[:, None, :], fps, smooth_hz)[:, 0, :]
        path[:, 2] = np.maximum(path[:, 2], MIN_DEPTH_M)
    return path
