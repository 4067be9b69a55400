"""3D pose error metrics (numpy).

Inputs are ``(..., J, 3)`` arrays in metres — one pose per leading index, e.g. ``(N, J, 3)`` poses or ``(T, J, 3)``
frames of a sequence (the velocity/acceleration metrics need the time axis at position -3). Distances are returned
in millimetres. Each function takes an optional ``mask`` of shape ``(..., J)`` (bool, True = the joint counts);
a mask selecting nothing raises ``ValueError``. Position metrics compare the poses as given: root-align them first
(subtract the pelvis) for the usual root-relative protocol.
"""

from __future__ import annotations

import numpy as np

from mpm_core.skeleton import Layout, get_layout

#: Metres to millimetres.
MM_PER_M = 1000.0
#: PCK threshold (Mehta et al., MPI-INF-3DHP protocol).
PCK_THRESHOLD_MM = 150.0
#: AUC: PCK averaged over thresholds 0, 5, ..., 150 mm.
AUC_MAX_MM = 150.0
AUC_STEP_MM = 5.0


def _pair(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred, np.float64)
    g = np.asarray(gt, np.float64)
    if p.shape != g.shape:
        raise ValueError(f"pred shape {p.shape} differs from gt shape {g.shape}")
    if p.ndim < 2 or p.shape[-1] != 3:
        raise ValueError(f"poses must be (..., J, 3), got {p.shape}")
    return p, g


def _weights(mask: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    """(…, J) float weights: the mask broadcast to the pose shape, or all ones."""
    if mask is None:
        return np.ones(shape, np.float64)
    m = np.asarray(mask)
    if m.dtype != bool:
        raise ValueError(f"mask must be bool, got {m.dtype}")
    try:
        return np.broadcast_to(m, shape).astype(np.float64)
    except ValueError:
        raise ValueError(f"mask shape {m.shape} does not fit poses {shape + (3,)}") from None


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    total = weights.sum()
    if total == 0:
        raise ValueError("mask selects no joints")
    return float((values * weights).sum() / total)


def joint_errors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-joint Euclidean distance ``(..., J)`` in mm."""
    p, g = _pair(pred, gt)
    return np.linalg.norm(p - g, axis=-1) * MM_PER_M


def mpjpe(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean per-joint position error, mm: mean Euclidean distance over the selected joints."""
    err = joint_errors(pred, gt)
    return _weighted_mean(err, _weights(mask, err.shape))


def procrustes_align(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """``pred`` aligned to ``gt`` per pose by the similarity transform (scale s > 0, rotation R with det +1,
    translation t) minimising the squared error over the selected joints (Umeyama 1991). Reflections are excluded.

    Returns the aligned ``(..., J, 3)`` poses (all joints transformed). A pose with no selected joint, or whose
    selected predicted joints coincide, is only translated (s = 1, R = I).
    """
    p, g = _pair(pred, gt)
    w = _weights(mask, p.shape[:-1])[..., None]  # (..., J, 1)
    n = w.sum(axis=-2, keepdims=True)  # (..., 1, 1)
    safe_n = np.where(n > 0, n, 1.0)
    mu_p = (w * p).sum(axis=-2, keepdims=True) / safe_n
    mu_g = (w * g).sum(axis=-2, keepdims=True) / safe_n
    p0, g0 = p - mu_p, g - mu_g
    cov = np.swapaxes(w * g0, -1, -2) @ p0 / safe_n  # (..., 3, 3): sum_j w g0 p0^T
    var_p = (w * p0 * p0).sum(axis=(-2, -1)) / safe_n[..., 0, 0]
    u, d, vt = np.linalg.svd(cov)
    # Flip the smallest singular direction when needed so R is a proper rotation (no mirror image).
    sign = np.sign(np.linalg.det(u) * np.linalg.det(vt))
    sign = np.where(sign == 0, 1.0, sign)
    fix = np.ones(d.shape)
    fix[..., -1] = sign
    rot = (u * fix[..., None, :]) @ vt
    degenerate = var_p <= 1e-24
    scale = np.where(degenerate, 1.0, (d * fix).sum(axis=-1) / np.where(degenerate, 1.0, var_p))
    rot = np.where(degenerate[..., None, None], np.eye(3), rot)
    aligned = scale[..., None, None] * (p0 @ np.swapaxes(rot, -1, -2)) + mu_g
    return aligned


def p_mpjpe(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Procrustes-aligned MPJPE, mm: ``pred`` aligned per pose to ``gt`` (rotation, translation, scale; no
    reflection) on the selected joints, then MPJPE over those joints."""
    aligned = procrustes_align(pred, gt, mask)
    return mpjpe(aligned, gt, mask)


def n_mpjpe(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Scale-normalised MPJPE, mm (Rhodin et al. 2018): ``pred`` scaled per pose by the least-squares factor
    ``<pred, gt> / <pred, pred>`` over the selected joints (no translation or rotation), then MPJPE."""
    p, g = _pair(pred, gt)
    w = _weights(mask, p.shape[:-1])[..., None]
    num = (w * p * g).sum(axis=(-2, -1))
    den = (w * p * p).sum(axis=(-2, -1))
    scale = np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0)
    return mpjpe(scale[..., None, None] * p, g, mask)


def _time_weights(mask: np.ndarray | None, shape: tuple[int, ...], order: int) -> np.ndarray:
    """Weights of the ``order``-th differences: a joint counts only if selected in every frame involved."""
    w = _weights(mask, shape)
    out = w[..., order:, :].copy()
    for k in range(order):
        out *= w[..., k : w.shape[-2] - order + k, :]
    return out


def _check_time(p: np.ndarray, order: int) -> None:
    if p.ndim < 3 or p.shape[-3] <= order:
        raise ValueError(f"need (…, T, J, 3) with T > {order} frames, got {p.shape}")


def mpjve(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None, fps: float | None = None) -> float:
    """Mean per-joint velocity error over time (axis -3): mean ``|Δpred - Δgt|`` of frame-to-frame differences.

    mm per frame, or mm/s when ``fps`` is given. A joint counts at a step when selected in both frames.
    """
    p, g = _pair(pred, gt)
    _check_time(p, 1)
    err = np.linalg.norm(np.diff(p, axis=-3) - np.diff(g, axis=-3), axis=-1) * MM_PER_M
    if fps is not None:
        err = err * fps
    return _weighted_mean(err, _time_weights(mask, p.shape[:-1], 1))


def accel_error(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None, fps: float | None = None) -> float:
    """Mean per-joint acceleration error: mean ``|Δ²pred - Δ²gt|`` of second differences over time (axis -3).

    mm per frame², or mm/s² when ``fps`` is given. A joint counts when selected in all three frames.
    """
    p, g = _pair(pred, gt)
    _check_time(p, 2)
    err = np.linalg.norm(np.diff(p, n=2, axis=-3) - np.diff(g, n=2, axis=-3), axis=-1) * MM_PER_M
    if fps is not None:
        err = err * fps * fps
    return _weighted_mean(err, _time_weights(mask, p.shape[:-1], 2))


def pck(
    pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None, threshold_mm: float = PCK_THRESHOLD_MM
) -> float:
    """Percentage of correct keypoints: fraction (0–1) of selected joints within ``threshold_mm`` of the truth."""
    err = joint_errors(pred, gt)
    return _weighted_mean((err <= threshold_mm).astype(np.float64), _weights(mask, err.shape))


def auc(
    pred: np.ndarray,
    gt: np.ndarray,
    mask: np.ndarray | None = None,
    max_mm: float = AUC_MAX_MM,
    step_mm: float = AUC_STEP_MM,
) -> float:
    """Area under the PCK curve: mean PCK (fraction 0–1) over thresholds 0, step, …, max_mm (31 by default)."""
    err = joint_errors(pred, gt)
    w = _weights(mask, err.shape)
    thresholds = np.arange(0.0, max_mm + step_mm / 2, step_mm)
    return float(np.mean([_weighted_mean((err <= t).astype(np.float64), w) for t in thresholds]))


def bone_lengths(joints: np.ndarray, layout: Layout | str = "h36m17") -> np.ndarray:
    """``(..., B)`` bone lengths in mm for the layout's bones (parent, child) in order."""
    lay = get_layout(layout)
    j = np.asarray(joints, np.float64)
    if j.ndim < 2 or j.shape[-2:] != (lay.num_joints, 3):
        raise ValueError(f"joints must be (..., {lay.num_joints}, 3) for layout {lay.name}, got {j.shape}")
    parents = [b[0] for b in lay.bones]
    children = [b[1] for b in lay.bones]
    return np.linalg.norm(j[..., children, :] - j[..., parents, :], axis=-1) * MM_PER_M


def bone_length_std(joints: np.ndarray, layout: Layout | str = "h36m17", mask: np.ndarray | None = None) -> np.ndarray:
    """Per-bone standard deviation of length over all leading indices (frames), mm: ``(B,)`` in ``layout.bones``
    order. A bone counts in a frame only when both its joints are selected; a bone seen in no frame gives NaN.
    A rigid skeleton has 0."""
    lay = get_layout(layout)
    lengths = bone_lengths(joints, lay).reshape(-1, len(lay.bones))
    if mask is None:
        w = np.ones_like(lengths)
    else:
        m = _weights(mask, np.asarray(joints).shape[:-1]).reshape(-1, lay.num_joints)
        w = m[:, [b[0] for b in lay.bones]] * m[:, [b[1] for b in lay.bones]]
    n = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (w * lengths).sum(axis=0) / n
        var = (w * (lengths - mean) ** 2).sum(axis=0) / n
    return np.sqrt(np.where(n > 0, var, np.nan))
