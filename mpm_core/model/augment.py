"""Augmentation of training windows: mirroring and bone-length scaling in 3D, detector-like noise in 2D.

All functions work on one window and take a numpy ``Generator``; the H36M-17 layout is assumed (parents in
topological order: every parent index is smaller than its child's).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mpm_core.model.config import AugmentConfig
from mpm_core.model.seated import seat_window
from mpm_core.skeleton import H36M_JOINTS, get_layout

_LAYOUT = get_layout("h36m17")
PARENTS = np.array(_LAYOUT.parents)
FLIP_PERMUTATION = _LAYOUT.flip_permutation()

#: Bone groups that share one random length factor on both body sides (people are nearly symmetric); each
#: joint names the bone that ends at it.
BONE_GROUPS: dict[str, tuple[str, ...]] = {
    "hip_width": ("left_hip", "right_hip"),
    "thigh": ("left_knee", "right_knee"),
    "shin": ("left_ankle", "right_ankle"),
    "lower_spine": ("spine",),
    "upper_spine": ("thorax",),
    "neck": ("neck",),
    "head": ("head",),
    "shoulder_width": ("left_shoulder", "right_shoulder"),
    "upper_arm": ("left_elbow", "right_elbow"),
    "forearm": ("left_wrist", "right_wrist"),
}
#: Left/right asymmetry on top of the shared factor (relative std).
ASYMMETRY_STD = 0.01
#: Per-joint 2D noise multipliers: detectors are less precise at the extremities and the derived torso joints.
JOINT_NOISE_SCALE = np.array(
    [1.0, 1.0, 1.2, 1.5, 1.0, 1.2, 1.5, 1.0, 0.8, 1.0, 1.2, 0.8, 1.2, 1.6, 0.8, 1.2, 1.6], np.float32
)
#: Limbs whose left/right twins a detector may swap: joint indices (left side; the flip permutation gives right).
SWAP_LIMBS = (
    (H36M_JOINTS.index("left_hip"), H36M_JOINTS.index("left_knee"), H36M_JOINTS.index("left_ankle")),
    (H36M_JOINTS.index("left_shoulder"), H36M_JOINTS.index("left_elbow"), H36M_JOINTS.index("left_wrist")),
    (H36M_JOINTS.index("left_knee"), H36M_JOINTS.index("left_ankle")),
    (H36M_JOINTS.index("left_elbow"), H36M_JOINTS.index("left_wrist")),
)


def mirror(joints: np.ndarray) -> np.ndarray:
    """Mirror ``(..., 17, C)`` joints left-right: negate x and swap every left joint with its right twin.

    World joints (Y up), camera-frame 3D and normalised screen 2D (centred on the image) all mirror this way."""
    out = joints[..., FLIP_PERMUTATION, :].copy()
    out[..., 0] *= -1
    return out


def with_mirror_images(
    x: np.ndarray, joint_mask: np.ndarray, frame_mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Test-time flip: a batch of windows ``x (B, T, 17, C)`` (model space), ``joint_mask (B, T, 17)`` and
    ``frame_mask (B, T)`` followed by their mirror images (2B rows): run them through the network in one go and
    give the output to ``mean_with_mirror_images``."""
    return (
        np.concatenate([x, mirror(x)]),
        np.concatenate([joint_mask, joint_mask[..., FLIP_PERMUTATION]]),
        np.concatenate([frame_mask, frame_mask]),
    )


def mean_with_mirror_images(out: np.ndarray, batch: int) -> np.ndarray:
    """``(B, ...)``: each of the first ``batch`` outputs averaged with its mirror image's output, mirrored back."""
    return 0.5 * (out[:batch] + mirror(out[batch:]))


def scale_bones(joints: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Rebuild ``(T, 17, 3)`` joints with each bone (parent -> joint j) scaled by ``factors[j]``; the pelvis stays.

    Connectivity is kept: each joint is its parent's new position plus the scaled original offset.
    """
    out = np.empty_like(joints)
    out[:, 0] = joints[:, 0]
    for j in range(1, len(PARENTS)):
        p = PARENTS[j]
        out[:, j] = out[:, p] + (joints[:, j] - joints[:, p]) * factors[j]
    return out


def random_bone_factors(rng: np.random.Generator, std: float, body_scale: tuple[float, float]) -> np.ndarray:
    """(17,) factors: one overall body scale times a per-group factor (shared left/right, plus a small asymmetry)."""
    factors = np.ones(len(H36M_JOINTS), np.float64) * rng.uniform(*body_scale)
    for names in BONE_GROUPS.values():
        shared = 1.0 + rng.normal(0, std)
        for name in names:
            factors[H36M_JOINTS.index(name)] *= shared * (1.0 + rng.normal(0, ASYMMETRY_STD))
    return np.clip(factors, 0.5, 1.6)


def augment_3d(rng: np.random.Generator, joints: np.ndarray, config: AugmentConfig) -> np.ndarray:
    """Random seated legs, mirroring and bone-length scaling of one ``(T, 17, 3)`` world window; the floor stays
    at its height."""
    out = joints
    if config.seated_prob > 0 and rng.random() < config.seated_prob:
        out = seat_window(rng, out)
    if rng.random() < config.mirror_prob:
        out = mirror(out)
    if config.bone_scale_std > 0 or tuple(config.body_scale) != (1.0, 1.0):
        floor = out[..., 1].min()
        out = scale_bones(out, random_bone_factors(rng, config.bone_scale_std, tuple(config.body_scale)))
        out[..., 1] += floor - out[..., 1].min()  # feet back on the floor after scaling
    return out.astype(np.float32)


@dataclass
class Noisy2D:
    """Detector-like 2D: ``keypoints`` (T, J, 2) pixels, ``scores`` (T, J) in [0, 1], ``hidden`` (T, J) bool
    (dropped joints, coordinates 0)."""

    keypoints: np.ndarray
    scores: np.ndarray
    hidden: np.ndarray


def person_height_px(keypoints: np.ndarray) -> float:
    """Median over frames of the vertical extent of the body in pixels (>= 1)."""
    extent = keypoints[..., 1].max(axis=-1) - keypoints[..., 1].min(axis=-1)
    return max(float(np.median(extent)), 1.0)


def _smooth(noise: np.ndarray, width: int) -> np.ndarray:
    """Moving average over time (axis 0) with edge padding: temporally correlated noise."""
    if width <= 1 or noise.shape[0] < 2:
        return noise
    kernel = np.ones(width) / width
    padded = np.concatenate([np.repeat(noise[:1], width // 2, 0), noise, np.repeat(noise[-1:], width // 2, 0)])
    return np.apply_along_axis(lambda s: np.convolve(s, kernel, mode="valid"), 0, padded)[: noise.shape[0]]


def detector_noise(rng: np.random.Generator, keypoints: np.ndarray, config: AugmentConfig) -> Noisy2D:
    """Make clean ``(T, 17, 2)`` pixel keypoints look like a detector's output.

    Gaussian jitter (white plus a slowly drifting part) scaled by person height and per joint; rare outliers;
    occasionally a left/right swap of one limb over a stretch of frames; random dropouts (hidden). Scores fall
    with the error. With probability ``1 - noise_prob`` the window stays clean (scores 1, nothing hidden).
    """
    T, J, _ = keypoints.shape
    kp = keypoints.astype(np.float32).copy()
    scores = np.ones((T, J), np.float32)
    hidden = np.zeros((T, J), bool)
    if rng.random() >= config.noise_prob:
        return Noisy2D(kp, scores, hidden)
    height = person_height_px(kp)
    sigma = rng.uniform(*config.jitter_rel) * height
    white = rng.normal(0, 1, (T, J, 2)) * 0.7
    drift = _smooth(rng.normal(0, 1, (T, J, 2)), 7) * np.sqrt(7) * 0.7
    offset = (white + drift) * sigma * JOINT_NOISE_SCALE[None, :, None]
    outliers = rng.random((T, J)) < config.outlier_prob
    if outliers.any():
        offset[outliers] += rng.normal(0, 0.15 * height, (int(outliers.sum()), 2))
    kp += offset.astype(np.float32)
    if rng.random() < config.swap_prob and T > 1:
        left = np.array(SWAP_LIMBS[int(rng.integers(len(SWAP_LIMBS)))])
        right = FLIP_PERMUTATION[left]
        length = int(rng.integers(1, min(T, 15) + 1))
        start = int(rng.integers(0, T - length + 1))
        rows = slice(start, start + length)
        kp[rows, left], kp[rows, right] = kp[rows, right].copy(), kp[rows, left].copy()
        scores[rows, left] *= 0.6
        scores[rows, right] *= 0.6
    error = np.linalg.norm(offset, axis=-1) / height
    scores *= np.clip(1.0 - 3.0 * error + rng.normal(0, 0.05, (T, J)), 0.05, 1.0).astype(np.float32)
    hidden = rng.random((T, J)) < config.dropout_prob
    kp[hidden] = 0.0
    scores[hidden] = 0.0
    return Noisy2D(kp, scores, hidden)
