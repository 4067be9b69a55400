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
weights), so a few wrong keypoints do not drag the root.

The path over time (``fit_root_path``) must move like a person even where single frames cannot be trusted
(missing frames, a truncated body, a detector that jumps to someone else):

- each frame gets a **confidence** in [0, 1]: the share of the body's extent in the image that was seen (joints
  weighted by their confidence, model-filled joints not counted), 0 for a frame that could not be solved;
- **depth** is the ill-conditioned part (it comes from the body's size in the image): its logarithm is smoothed
  by a robust, confidence-weighted Whittaker smoother (penalised second differences, cut-off
  ``DEPTH_SMOOTH_HZ`` for a fully seen body; iteratively re-weighted so outlier frames are ignored), so
  frames with little seen follow their neighbours and a long stretch of them keeps a nearly constant depth;
- with the depth fixed, x and y are re-solved per frame (linear, robust) and smoothed the same way at the
  lateral cut-off (default ``DEFAULT_TRAJECTORY_SMOOTH_HZ``, which keeps the step rhythm);
- frames where the smoothed path still accelerates beyond ``MAX_ROOT_ACCEL_M_S2`` lose weight and the path is
  smoothed again, and finally the speed is bounded by ``MAX_ROOT_SPEED_M_S`` (a forward and a backward rate
  limit, averaged: zero-phase).

Intrinsics: given, or estimated from the image size and ``DEFAULT_FOV_DEG``. A wrong focal length scales the
recovered depth (and the whole trajectory) by the same factor but keeps the reprojection exact, so the
shape of the motion survives; give the true intrinsics when absolute distances matter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import solveh_banded

from mpm_core.errors import PoseDataError, check_fps

#: Default horizontal field of view (degrees) when the camera is unknown. 55 deg sits between the Human3.6M
#: cameras (~47 deg: fx ~1145 px for 1000 px wide images), which the model was trained on, and the main camera of
#: phones and webcams filming in landscape (~60-70 deg). Overridable everywhere (``fov_deg``, or intrinsics).
DEFAULT_FOV_DEG = 55.0
#: A frame needs at least this many visible joints (2 already determine the 3 unknowns; more makes it robust).
MIN_VISIBLE_JOINTS = 4
#: A frame's normal matrix is singular below this determinant, relative to its mean eigenvalue cubed.
MIN_RELATIVE_DET = 1e-12
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
#: Default cut-off of the lateral (x, y) root path (Hz): keeps the step rhythm (~2 Hz) and removes the
#: frame-to-frame jitter of single-view fits.
DEFAULT_TRAJECTORY_SMOOTH_HZ = 4.0
#: Cut-off of the depth path for a fully seen body (Hz): depth comes from the body's image size, which jitters
#: frame to frame; a person's distance to the camera changes smoothly.
DEPTH_SMOOTH_HZ = 1.0
#: First-difference penalty of the smoothers, as a cut-off (Hz) for a fully seen body: negligible where frames
#: are seen, it keeps the path flat (not extrapolated) where none are, e.g. at the ends.
FLAT_SMOOTH_HZ = 10.0
#: Shorter paths (frames) are not smoothed: too few to tell motion from noise.
MIN_SMOOTH_FRAMES = 4
#: Robust smoothing: re-weighting iterations, Cauchy constant, and the smallest robust scale of the residuals
#: (log depth: 2%; lateral: 1 cm).
SMOOTH_ITERATIONS = 5
SMOOTH_CAUCHY_C = 2.385
MIN_LOG_DEPTH_SCALE = 0.02
MIN_LATERAL_SCALE_M = 0.01
#: What a person's root can do: speed (a fast sprint) and acceleration (about 2 g: take-offs, landings).
MAX_ROOT_SPEED_M_S = 8.0
MAX_ROOT_ACCEL_M_S2 = 20.0
#: Rounds of down-weighting frames where the smoothed path accelerates too much.
ACCEL_ROUNDS = 5
#: Confidence below which a frame's own solve is not trusted at all.
MIN_CONFIDENCE = 1e-3


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


def masked_median(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``(T,)`` median of each row of ``values`` ``(T, J)`` over its ``mask`` entries; NaN for an empty row."""
    n = mask.sum(axis=1)
    ordered = np.sort(np.where(mask, values, np.inf), axis=1)
    lo = np.take_along_axis(ordered, np.maximum((n - 1) // 2, 0)[:, None], axis=1)[:, 0]
    hi = np.take_along_axis(ordered, np.maximum(n // 2, 0)[:, None], axis=1)[:, 0]
    return np.where(n > 0, 0.5 * (lo + np.where(n > 1, hi, lo)), np.nan)


def _solve(p3: np.ndarray, k2: np.ndarray, w: np.ndarray, k: CameraIntrinsics) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares per frame: ``(T, 3)`` translations and ``(T,)`` solvable flags."""
    du = k2[..., 0] - k.cx
    dv = k2[..., 1] - k.cy
    x, y, z = p3[..., 0], p3[..., 1], p3[..., 2]
    t_ = len(w)
    # Each joint gives the rows [fx, 0, -du] . t = b1 and [0, fy, -dv] . t = b2; the normal equations in closed
    # form (sums over joints, weighted).
    b1 = du * z - k.fx * x
    b2 = dv * z - k.fy * y
    sw = w.sum(axis=1)
    swu = (w * du).sum(axis=1)
    swv = (w * dv).sum(axis=1)
    ata = np.zeros((t_, 3, 3))
    ata[:, 0, 0] = k.fx**2 * sw
    ata[:, 1, 1] = k.fy**2 * sw
    ata[:, 0, 2] = ata[:, 2, 0] = -k.fx * swu
    ata[:, 1, 2] = ata[:, 2, 1] = -k.fy * swv
    ata[:, 2, 2] = (w * (du * du + dv * dv)).sum(axis=1)
    atb = np.stack(
        [k.fx * (w * b1).sum(axis=1), k.fy * (w * b2).sum(axis=1), -(w * (du * b1 + dv * b2)).sum(axis=1)], axis=1
    )
    # A frame is solvable when its normal matrix is well conditioned (enough spread of joints in the image): its
    # determinant against the cube of its mean eigenvalue.
    with np.errstate(all="ignore"):
        det = np.linalg.det(ata) if t_ else np.zeros(0)
        scale = np.trace(ata, axis1=1, axis2=2) / 3.0 if t_ else np.zeros(0)
    ok = np.isfinite(det) & (det > MIN_RELATIVE_DET * scale**3)
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
        med = masked_median(resid, vis & np.isfinite(resid))  # NaN for a frame with no visible joint
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


@dataclass
class RootFit:
    """A fitted root path and what it was made from.

    Fields:
        path: ``(T, 3)`` metres, camera frame: the smoothed, speed-bounded root translation.
        raw: ``(T, 3)`` metres: the per-frame solves (0 where a frame could not be solved).
        valid: ``(T,)`` bool: frames whose own solve succeeded.
        confidence: ``(T,)`` in [0, 1]: how much each frame's own solve was trusted (see the module docstring).
    """

    path: np.ndarray
    raw: np.ndarray
    valid: np.ndarray
    confidence: np.ndarray


def frame_confidence(poses_3d: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``(T,)`` in [0, 1]: the share of each frame's body extent (in the image plane, from the root-relative 3D
    ``(T, J, 3)``) carried by seen joints; ``weights`` ``(T, J)``: each joint's weight, 0 for unseen ones
    (clipped to [0, 1])."""
    p = np.asarray(poses_3d, np.float64)[..., :2]
    w = np.clip(np.asarray(weights, np.float64), 0.0, 1.0)
    centred = p - p.mean(axis=1, keepdims=True)
    spread = np.sum(centred**2, axis=-1)  # (T, J)
    total = spread.sum(axis=1)
    return np.where(total > 1e-12, (w * spread).sum(axis=1) / np.maximum(total, 1e-12), 0.0)


def whittaker_penalty(cutoff_hz: float, fps: float, order: int) -> float:
    """Whittaker penalty whose response ``1 / (1 + lam (2 sin(pi f / fps))^(2 order))`` halves at ``cutoff_hz``."""
    s = 2.0 * math.sin(math.pi * min(cutoff_hz / fps, 0.49))
    return 1.0 / s ** (2 * order)


def whittaker(values: np.ndarray, weights: np.ndarray, lam2: float, lam1: float) -> np.ndarray:
    """Minimiser of ``sum w (x - v)^2 + lam2 sum (second difference of x)^2 + lam1 sum (first difference)^2``.

    ``values`` ``(T, C)``, ``weights`` ``(T,)`` >= 0 (not all 0). A banded solve: O(T).
    """
    v = np.asarray(values, np.float64)
    w = np.asarray(weights, np.float64)
    t = len(v)
    if t == 1:
        return v.copy()
    # Upper banded form of W + lam2 D2'D2 + lam1 D1'D1 (bandwidth 2).
    diag = w.copy()
    off1 = np.zeros(t)
    off2 = np.zeros(t)
    d1 = np.ones(t)
    d1[[0, -1]] = 0.5  # D1'D1 diagonal: 1 at the ends, 2 inside (scaled below)
    diag += lam1 * 2.0 * d1
    off1[1:] -= lam1
    if t >= 3:
        d2 = np.full(t, 6.0)
        d2[[0, -1]] = 1.0
        d2[[1, -2]] = 5.0 if t > 3 else 2.0
        if t == 3:
            d2[1] = 4.0
        diag += lam2 * d2
        o1 = np.full(t - 1, -4.0)
        o1[[0, -1]] = -2.0
        off1[1:] += lam2 * o1
        off2[2:] += lam2
    ab = np.stack([off2, off1, diag])
    return solveh_banded(ab, w[:, None] * v, lower=False)


def robust_smooth(
    values: np.ndarray,
    confidence: np.ndarray,
    fps: float,
    cutoff_hz: float,
    min_scale: float,
    iterations: int = SMOOTH_ITERATIONS,
) -> tuple[np.ndarray, np.ndarray]:
    """Confidence-weighted, iteratively re-weighted (Cauchy) Whittaker smoothing of ``(T, C)`` values.

    Returns ``(smoothed (T, C), final weights (T,))``. The cut-off applies to frames of confidence 1; frames of
    lower confidence follow their neighbours more, frames of confidence 0 only follow them.
    """
    conf = np.asarray(confidence, np.float64)
    if not (conf > 0).any():
        raise PoseDataError("no frame to fit the path to")
    lam2 = whittaker_penalty(cutoff_hz, fps, 2)
    lam1 = whittaker_penalty(FLAT_SMOOTH_HZ, fps, 1)
    weights = conf.copy()
    smooth = whittaker(values, weights, lam2, lam1)
    for _ in range(iterations):
        resid = np.linalg.norm(values - smooth, axis=-1)
        good = conf > MIN_CONFIDENCE
        scale = max(1.4826 * float(np.median(resid[good])), min_scale)
        weights = conf / (1.0 + (resid / (SMOOTH_CAUCHY_C * scale)) ** 2)
        smooth = whittaker(values, weights, lam2, lam1)
    return smooth, weights


def limit_speed(path: np.ndarray, fps: float, max_speed: float = MAX_ROOT_SPEED_M_S) -> np.ndarray:
    """``(T, 3)`` path whose frame-to-frame speed is at most ``max_speed`` (m/s): the mean of a forward and a
    backward rate limit (each never steps further than ``max_speed / fps``), so no lag either way."""
    path = np.asarray(path, np.float64)
    step = max_speed / fps

    def one_way(p: np.ndarray) -> np.ndarray:
        out = p.copy()
        for t in range(1, len(p)):
            d = p[t] - out[t - 1]
            n = float(np.linalg.norm(d))
            out[t] = p[t] if n <= step else out[t - 1] + d * (step / n)
        return out

    speeds = np.linalg.norm(np.diff(path, axis=0), axis=1) * fps
    if len(path) < 2 or speeds.max() <= max_speed:
        return path.copy()
    return 0.5 * (one_way(path) + one_way(path[::-1])[::-1])


def _lateral_given_depth(p3, k2, w, depth, k: CameraIntrinsics) -> tuple[np.ndarray, np.ndarray]:
    """Per frame ``(tx, ty)`` ``(T, 2)`` for a fixed root depth ``(T,)`` (robust weighted means), and ``(T,)``
    whether the frame had any weight."""
    z = p3[..., 2] + depth[:, None]
    z = np.maximum(z, MIN_DEPTH_M * 0.5)
    cand = np.stack([(k2[..., 0] - k.cx) * z / k.fx - p3[..., 0], (k2[..., 1] - k.cy) * z / k.fy - p3[..., 1]], -1)
    weights = w / z**2  # pixel-space weights
    ok = weights.sum(axis=1) > 0
    sol = np.zeros((len(p3), 2))
    for _ in range(ROBUST_ITERATIONS):
        tot = np.maximum(weights.sum(axis=1, keepdims=True), 1e-30)
        sol = (weights[..., None] * cand).sum(axis=1) / tot
        resid = np.linalg.norm((cand - sol[:, None, :]) * np.array([k.fx, k.fy]) / z[..., None], axis=-1)
        med = masked_median(resid, w > 0)
        scale = np.maximum(np.nan_to_num(med, nan=MIN_ROBUST_SCALE_PX) * 1.4826, MIN_ROBUST_SCALE_PX)
        weights = w / z**2 / (1.0 + (resid / (CAUCHY_C * scale[:, None])) ** 2)
    return sol, ok


def fit_root_path(
    poses_3d: np.ndarray,
    keypoints_2d: np.ndarray,
    visible: np.ndarray | None,
    intrinsics: CameraIntrinsics,
    fps: float = 30.0,
    scores: np.ndarray | None = None,
    seen: np.ndarray | None = None,
    smooth_hz: float | None = DEFAULT_TRAJECTORY_SMOOTH_HZ,
    depth_smooth_hz: float = DEPTH_SMOOTH_HZ,
    max_speed: float = MAX_ROOT_SPEED_M_S,
    max_accel: float = MAX_ROOT_ACCEL_M_S2,
    known: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> RootFit:
    """The root path over time (see the module docstring), with the per-frame solves it came from.

    Args as ``estimate_root_translation``; ``seen``: ``(T, J)`` bool, joints observed in the input (the
    model's filled-in joints are not), for the frame confidence (None: every usable joint). ``smooth_hz`` None:
    no smoothing and no bounds (invalid frames interpolated). ``known``: ``(raw (T, 3), valid (T,), fresh (T,)
    bool)`` per-frame solves from an earlier fit of the same rows; only the ``fresh`` rows are solved again.
    """
    fps = check_fps(fps, where="trajectory")
    p3, k2, vis, w = _check_inputs(poses_3d, keypoints_2d, visible, scores)
    if known is None:
        sol, valid = solve_root_translation(p3, k2, vis, intrinsics, w)
    else:
        sol, valid, fresh = (np.array(a) for a in known)
        fresh = np.asarray(fresh, bool)
        if fresh.any():
            sol[fresh], valid[fresh] = solve_root_translation(p3[fresh], k2[fresh], vis[fresh], intrinsics, w[fresh])
    if not valid.any():
        raise PoseDataError(
            f"cannot place the person in the camera: no frame has {MIN_VISIBLE_JOINTS} or more usable visible joints"
        )
    seen_w = w if seen is None else np.where(np.asarray(seen, bool), w, 0.0)
    confidence = np.where(valid, frame_confidence(p3, seen_w), 0.0)
    if not (confidence > MIN_CONFIDENCE).any():  # nothing seen at all: trust the solves equally
        confidence = valid.astype(np.float64)
    if smooth_hz is None or len(sol) < MIN_SMOOTH_FRAMES:
        return RootFit(interpolate_invalid(sol, valid), sol, valid, confidence)
    filled = interpolate_invalid(sol, valid)
    log_depth = np.log(np.maximum(filled[:, 2:3], MIN_DEPTH_M))
    depth_conf = confidence.copy()
    path = np.zeros_like(filled)
    for _ in range(ACCEL_ROUNDS + 1):
        smooth_depth, _ = robust_smooth(log_depth, depth_conf, fps, depth_smooth_hz, MIN_LOG_DEPTH_SCALE)
        depth = np.exp(smooth_depth[:, 0])
        lateral, ok = _lateral_given_depth(p3, k2, w, depth, intrinsics)
        lat_conf = np.where(ok, depth_conf, 0.0)
        if not (lat_conf > 0).any():
            lat_conf = ok.astype(np.float64)
        lateral = interpolate_invalid(lateral, ok)
        smooth_lat, _ = robust_smooth(lateral, lat_conf, fps, smooth_hz, MIN_LATERAL_SCALE_M)
        path = np.concatenate([smooth_lat, depth[:, None]], axis=1)
        if len(path) < 3:
            break
        accel = np.linalg.norm(path[2:] - 2 * path[1:-1] + path[:-2], axis=1) * fps**2
        over = np.zeros(len(path), bool)
        over[1:-1] = accel > max_accel
        if not over.any():
            break
        # Frames around an impossible acceleration lose weight; the smoother then bends less there.
        near = np.convolve(over.astype(float), np.ones(3), mode="same") > 0
        depth_conf = np.where(near, depth_conf * 0.1, depth_conf)
    path = limit_speed(path, fps, max_speed)
    path[:, 2] = np.maximum(path[:, 2], MIN_DEPTH_M)
    return RootFit(path, sol, valid, confidence)


def estimate_root_translation(
    poses_3d: np.ndarray,
    keypoints_2d: np.ndarray,
    visible: np.ndarray | None,
    intrinsics: CameraIntrinsics,
    smooth_hz: float | None = DEFAULT_TRAJECTORY_SMOOTH_HZ,
    fps: float = 30.0,
    scores: np.ndarray | None = None,
    seen: np.ndarray | None = None,
) -> np.ndarray:
    """The root's camera-space translation ``(T, 3)`` metres (x right, y down, z forward) per frame.

    Args:
        poses_3d: ``(T, J, 3)`` root-relative metres, camera frame.
        keypoints_2d: ``(T, J, 2)`` pixels of the same joints.
        visible: ``(T, J)`` bool, joints whose 2D may be used (None: all).
        intrinsics: the camera (see ``CameraIntrinsics.from_image_size`` for a default).
        smooth_hz: cut-off of the lateral path in Hz (depth: ``DEPTH_SMOOTH_HZ``), None for no smoothing.
        fps: frame rate of the sequence (for the cut-off).
        scores: optional ``(T, J)`` confidences used as weights.
        seen: optional ``(T, J)`` bool, joints observed in the input (for the frame confidence).

    Frames with fewer than ``MIN_VISIBLE_JOINTS`` visible joints (or a degenerate solve) are interpolated; see
    ``fit_root_path`` for the smoothing and the bounds. Raises ``PoseDataError`` when no frame can be solved.
    """
    return fit_root_path(poses_3d, keypoints_2d, visible, intrinsics, fps, scores, seen, smooth_hz).path
