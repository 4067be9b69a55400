"""Mask samplers for training (MPM's spatio-temporal masking) and for real occlusion patterns.

Every sampler returns ``(joint_mask, frame_mask)`` as numpy bool arrays: ``joint_mask`` ``(B, T, J)``, True = that
joint is hidden in that frame; ``frame_mask`` ``(B, T)``, True = the whole frame is hidden (it is left out of the
encoder). ``torch.from_numpy`` turns them into tensors without a copy.

Randomness comes from ``rng``: a ``numpy.random.Generator``, a ``torch.Generator`` (a seed is drawn from it), an
int seed, or None (fresh entropy). The same seed gives the same masks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from mpm_core.skeleton import H36M_JOINTS

RngLike = np.random.Generator | torch.Generator | int | None

#: The paper's sampler: 60% of frames hidden, 5 of 17 joints hidden in each other frame (71.8% in all).
DEFAULT_FRAME_RATIO = 0.6
DEFAULT_JOINTS_PER_FRAME = 5

#: Limbs as H36M-17 joint names (shoulder/elbow/wrist, hip/knee/ankle).
LIMBS: dict[str, tuple[str, ...]] = {
    "left_arm": ("left_shoulder", "left_elbow", "left_wrist"),
    "right_arm": ("right_shoulder", "right_elbow", "right_wrist"),
    "left_leg": ("left_hip", "left_knee", "left_ankle"),
    "right_leg": ("right_hip", "right_knee", "right_ankle"),
}
LIMB_INDICES: dict[str, tuple[int, ...]] = {k: tuple(H36M_JOINTS.index(n) for n in v) for k, v in LIMBS.items()}

#: Share of joints hidden by ``random_joints`` (finetuning, and the validation's masked condition).
RANDOM_JOINT_RATIO = 0.3

#: Default score below which a detected joint is treated as hidden.
DEFAULT_SCORE_THRESHOLD = 0.3


def make_rng(rng: RngLike) -> np.random.Generator:
    """A numpy Generator from a Generator, a torch Generator, an int seed or None."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, torch.Generator):
        seed = int(torch.randint(0, 2**62, (1,), generator=rng).item())
        return np.random.default_rng(seed)
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be a numpy Generator, torch Generator, int or None, got {type(rng).__name__}")


def _check_dims(B: int, T: int, J: int) -> None:
    for name, v in (("B", B), ("T", T), ("J", J)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")


def _empty(B: int, T: int, J: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((B, T, J), bool), np.zeros((B, T), bool)


def _random_subsets(rng: np.random.Generator, rows: int, n: int, k: int) -> np.ndarray:
    """(rows, n) bool with exactly k True per row, uniformly chosen (argsort of uniform noise: no Python loop)."""
    order = np.argsort(rng.random((rows, n)), axis=1)
    out = np.zeros((rows, n), bool)
    np.put_along_axis(out, order[:, :k], True, axis=1)
    return out


def _stretches(rng: np.random.Generator, B: int, T: int, min_frames: int, max_frames: int | None) -> np.ndarray:
    """(B, T) bool: one contiguous stretch per sample, its length uniform in [min_frames, max_frames]."""
    hi = T if max_frames is None else min(int(max_frames), T)
    lo = max(1, min(int(min_frames), hi))
    lengths = rng.integers(lo, hi + 1, size=B)
    starts = (rng.random(B) * (T - lengths + 1)).astype(np.int64)
    t = np.arange(T)
    return (t >= starts[:, None]) & (t < (starts + lengths)[:, None])


def spatio_temporal(
    B: int,
    T: int,
    J: int,
    frame_ratio: float = DEFAULT_FRAME_RATIO,
    joints_per_frame: int = DEFAULT_JOINTS_PER_FRAME,
    rng: RngLike = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The paper's sampler: ``round(frame_ratio*T)`` whole frames hidden per sample, and ``joints_per_frame``
    random joints hidden in every other frame. Overall ratio ``f + (1 - f) * k / J`` (0.6, 5/17 -> 71.8%).

    At least one frame stays visible when ``frame_ratio < 1``.
    """
    _check_dims(B, T, J)
    if not 0 <= frame_ratio <= 1:
        raise ValueError(f"frame_ratio must be in [0, 1], got {frame_ratio}")
    if not 0 <= joints_per_frame <= J:
        raise ValueError(f"joints_per_frame must be in [0, {J}], got {joints_per_frame}")
    g = make_rng(rng)
    hidden_frames = int(round(frame_ratio * T))
    if frame_ratio < 1:
        hidden_frames = min(hidden_frames, T - 1)
    frame_mask = _random_subsets(g, B, T, hidden_frames)
    joint_mask = _random_subsets(g, B * T, J, joints_per_frame).reshape(B, T, J)
    joint_mask &= ~frame_mask[:, :, None]
    return joint_mask, frame_mask


def limb(
    B: int,
    T: int,
    J: int = len(H36M_JOINTS),
    limbs: Sequence[str] | None = None,
    num_limbs: int = 1,
    min_frames: int = 1,
    max_frames: int | None = None,
    rng: RngLike = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Whole limbs hidden over one contiguous stretch of frames per sample (e.g. an arm behind the body).

    ``num_limbs`` distinct limbs per sample are drawn from ``limbs`` (default: all of ``LIMBS``), each with its own
    stretch, length uniform in ``[min_frames, max_frames]`` (default up to T). H36M-17 only.
    """
    _check_dims(B, T, J)
    if J != len(H36M_JOINTS):
        raise ValueError(f"limb masks use the H36M-17 layout; got J={J}")
    names = list(LIMBS) if limbs is None else list(limbs)
    unknown = [n for n in names if n not in LIMBS]
    if unknown or not names:
        raise ValueError(f"unknown limb(s) {unknown}; known: {', '.join(LIMBS)}")
    if not 1 <= num_limbs <= len(names):
        raise ValueError(f"num_limbs must be in [1, {len(names)}], got {num_limbs}")
    g = make_rng(rng)
    joint_mask, frame_mask = _empty(B, T, J)
    chosen = _random_subsets(g, B, len(names), num_limbs)  # (B, L)
    for li, name in enumerate(names):
        span = _stretches(g, B, T, min_frames, max_frames) & chosen[:, li : li + 1]
        joint_mask[:, :, list(LIMB_INDICES[name])] |= span[:, :, None]
    return joint_mask, frame_mask


def limb_window(B: int, T: int, J: int = len(H36M_JOINTS), rng: RngLike = None) -> tuple[np.ndarray, np.ndarray]:
    """One limb hidden in every frame of the window (out of frame or behind the body the whole time)."""
    return limb(B=B, T=T, J=J, min_frames=T, rng=rng)


def random_joints(
    B: int, T: int, J: int, ratio: float = RANDOM_JOINT_RATIO, rng: RngLike = None
) -> tuple[np.ndarray, np.ndarray]:
    """Each (frame, joint) hidden independently with probability ``ratio``; no whole frames hidden."""
    _check_dims(B, T, J)
    return make_rng(rng).random((B, T, J)) < ratio, np.zeros((B, T), bool)


def held_joints(
    B: int,
    T: int,
    J: int,
    num_joints: int | tuple[int, int] = (1, 3),
    min_frames: int = 1,
    max_frames: int | None = None,
    rng: RngLike = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Random joints hidden over one contiguous stretch of frames (held across frames), like a static occluder.

    ``num_joints``: a count, or an inclusive (low, high) range drawn per sample.
    """
    _check_dims(B, T, J)
    lo, hi = (num_joints, num_joints) if isinstance(num_joints, (int, np.integer)) else num_joints
    if not 0 <= lo <= hi <= J:
        raise ValueError(f"num_joints must be within [0, {J}], got {num_joints}")
    g = make_rng(rng)
    counts = g.integers(lo, hi + 1, size=B)
    order = np.argsort(g.random((B, J)), axis=1)
    which = np.zeros((B, J), bool)
    np.put_along_axis(which, order, np.arange(J)[None, :] < counts[:, None], axis=1)
    span = _stretches(g, B, T, min_frames, max_frames)
    joint_mask = span[:, :, None] & which[:, None, :]
    return joint_mask, np.zeros((B, T), bool)


def frame_block(
    B: int,
    T: int,
    J: int,
    min_frames: int = 1,
    max_frames: int | None = None,
    rng: RngLike = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One contiguous block of whole frames hidden per sample (a dropped detection / cut), length uniform in
    ``[min_frames, max_frames]`` (default up to T // 2)."""
    _check_dims(B, T, J)
    g = make_rng(rng)
    frame_mask = _stretches(g, B, T, min_frames, max(1, T // 2) if max_frames is None else max_frames)
    return np.zeros((B, T, J), bool), frame_mask


def score_driven(
    scores: np.ndarray | torch.Tensor, threshold: float = DEFAULT_SCORE_THRESHOLD
) -> tuple[np.ndarray, np.ndarray]:
    """Hide joints whose confidence is below ``threshold`` (or not finite). ``scores``: ``(B, T, J)`` or ``(T, J)``.

    A frame whose every joint is hidden becomes a hidden frame. Returns arrays with the leading dims of ``scores``.
    """
    s = scores.detach().cpu().numpy() if isinstance(scores, torch.Tensor) else np.asarray(scores)
    if s.ndim not in (2, 3):
        raise ValueError(f"scores must be (T, J) or (B, T, J), got shape {s.shape}")
    with np.errstate(invalid="ignore"):
        joint_mask = ~(s >= threshold)  # NaN compares False -> hidden
    frame_mask = joint_mask.all(axis=-1)
    return joint_mask & ~frame_mask[..., None], frame_mask


#: Structured occlusion samplers (``mixed`` draws among them).
STRUCTURED_SAMPLERS = {
    "spatio_temporal": spatio_temporal,
    "limb": limb,
    "held_joints": held_joints,
    "frame_block": frame_block,
}
#: Every sampler a finetuning ``mask_mix`` may name (besides "clean"), called with ``B, T, J, rng`` only.
SAMPLERS = {**STRUCTURED_SAMPLERS, "random_joints": random_joints, "limb_window": limb_window}

#: Structured masks mixed by ``mixed`` with their default weights.
MIXED_WEIGHTS: dict[str, float] = {"spatio_temporal": 0.5, "limb": 0.2, "held_joints": 0.15, "frame_block": 0.15}


def mixed(
    B: int, T: int, J: int, weights: dict[str, float] | None = None, rng: RngLike = None
) -> tuple[np.ndarray, np.ndarray]:
    """Each sample gets one sampler drawn by ``weights`` (default ``MIXED_WEIGHTS``) with default arguments.

    ``limb`` needs J == 17; for other J its weight is dropped.
    """
    _check_dims(B, T, J)
    w = dict(MIXED_WEIGHTS if weights is None else weights)
    funcs = STRUCTURED_SAMPLERS
    unknown = sorted(set(w) - set(funcs))
    if unknown:
        raise ValueError(f"unknown sampler(s) {unknown}; known: {', '.join(funcs)}")
    if J != len(H36M_JOINTS):
        w.pop("limb", None)
    names = [n for n, v in w.items() if v > 0]
    if not names:
        raise ValueError("mixed: no sampler has a positive weight")
    p = np.array([w[n] for n in names], float)
    g = make_rng(rng)
    pick = g.choice(len(names), size=B, p=p / p.sum())
    joint_mask, frame_mask = _empty(B, T, J)
    for i, name in enumerate(names):
        rows = np.flatnonzero(pick == i)
        if rows.size:
            jm, fm = funcs[name](B=rows.size, T=T, J=J, rng=g)
            joint_mask[rows], frame_mask[rows] = jm, fm
    return joint_mask, frame_mask


def mask_ratio(joint_mask: np.ndarray | torch.Tensor, frame_mask: np.ndarray | torch.Tensor | None = None) -> float:
    """Fraction of (frame, joint) entries hidden by either mask (a hidden frame hides all its joints)."""
    jm = joint_mask.detach().cpu().numpy() if isinstance(joint_mask, torch.Tensor) else np.asarray(joint_mask, bool)
    hidden = jm.astype(bool)
    if frame_mask is not None:
        fm = frame_mask.detach().cpu().numpy() if isinstance(frame_mask, torch.Tensor) else np.asarray(frame_mask)
        if fm.shape != jm.shape[:-1]:
            raise ValueError(f"frame_mask shape {fm.shape} does not match joint_mask {jm.shape}")
        hidden = hidden | fm.astype(bool)[..., None]
    return float(hidden.mean())
