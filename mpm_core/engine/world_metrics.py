"""Figures of world-frame motion: is it upright, on the floor, moving like a person; and, against ground truth,
how far the trajectory, the joints, the up direction and the feet are off.

Plausibility (no ground truth; what the tests assert for every real input), on world poses ``(T, 17, 3)`` metres,
Y up, floor y = 0 at the soles:

- ``head_above_pelvis``: share of frames with the head higher than the pelvis;
- ``above_floor``: share of frames where no joint is more than ``SINK_LIMIT_M`` below the floor (ankles count as
  themselves);
- ``grounded``: over the frames where an ankle is seen (not filled in by the model) and still (speed below
  ``STILL_SPEED_M_S`` over ``SPEED_SPAN_S``), the share whose lowest ankle stands within ``FLOAT_LIMIT_M`` of the
  floor (its sole: the ankle less ``ankle_height``); NaN without such frames;
- ``max_pelvis_speed``: the largest frame-to-frame pelvis speed (m/s).

Against ground truth (``evaluate.evaluate_world``): root trajectory error and world MPJPE after aligning the
estimate to the truth by a turn about up and a shift on the floor (the world's heading and origin are free),
the up direction's error in degrees, foot skate (horizontal ankle speed in the truth's contact frames, mm/s) and
ground penetration (how deep and how often the soles go below the floor).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mpm_core.engine.contacts import FOOT_ANKLES, SPEED_SPAN_S, ankle_speeds
from mpm_core.skeleton import H36M_JOINTS

HEAD, PELVIS = H36M_JOINTS.index("head"), H36M_JOINTS.index("pelvis")
#: A joint more than this below the floor is sinking (metres).
SINK_LIMIT_M = 0.05
#: A still, seen foot whose sole is more than this above the floor is floating (metres).
FLOAT_LIMIT_M = 0.05
#: An ankle is still below this speed (m/s, over ``contacts.SPEED_SPAN_S``).
STILL_SPEED_M_S = 0.3

__all__ = [
    "FLOAT_LIMIT_M",
    "SINK_LIMIT_M",
    "SPEED_SPAN_S",
    "STILL_SPEED_M_S",
    "Plausibility",
    "align_on_floor",
    "foot_skate",
    "penetration",
    "plausibility",
    "up_error_deg",
]


@dataclass
class Plausibility:
    """See the module docstring; shares in [0, 1], speed in m/s, ``grounded_frames`` the frames it counts."""

    head_above_pelvis: float
    above_floor: float
    grounded: float
    grounded_frames: int
    max_pelvis_speed: float


def plausibility(world: np.ndarray, fps: float, ankle_height: float, hidden: np.ndarray | None = None) -> Plausibility:
    """The plausibility figures of world poses ``(T, 17, 3)``; ``hidden`` ``(T, 17)``: joints the model filled in."""
    p = np.asarray(world, np.float64)
    t = len(p)
    head = float((p[:, HEAD, 1] > p[:, PELVIS, 1]).mean())
    above = float((p[..., 1].min(axis=1) >= -SINK_LIMIT_M).mean())
    seen = np.ones((t, 2), bool) if hidden is None else ~np.asarray(hidden, bool)[:, FOOT_ANKLES]
    still = seen & (ankle_speeds(p, fps) < STILL_SPEED_M_S)
    frames = still.any(axis=1)
    sole = p[:, FOOT_ANKLES, 1].min(axis=1) - ankle_height
    grounded = float((sole[frames] <= FLOAT_LIMIT_M).mean()) if frames.any() else math.nan
    speed = float(np.linalg.norm(np.diff(p[:, PELVIS], axis=0), axis=1).max() * fps) if t > 1 else 0.0
    return Plausibility(head, above, grounded, int(frames.sum()), speed)


def align_on_floor(estimate: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """``estimate`` ``(T, J, 3)`` (Y up) turned about up and shifted on the floor to best fit ``truth`` (least
    squares over all joints and frames; heights are kept: both floors are y = 0)."""
    est = np.asarray(estimate, np.float64)
    gt = np.asarray(truth, np.float64)
    e = est[..., [0, 2]].reshape(-1, 2)
    g = gt[..., [0, 2]].reshape(-1, 2)
    me, mg = e.mean(axis=0), g.mean(axis=0)
    h = (e - me).T @ (g - mg)
    u, _, vt = np.linalg.svd(h)
    r = (u @ vt).T
    if np.linalg.det(r) < 0:  # a reflection is not a turn
        vt[-1] *= -1
        r = (u @ vt).T
    out = est.copy()
    xz = (e - me) @ r.T + mg
    out[..., 0] = xz[:, 0].reshape(est.shape[:-1])
    out[..., 2] = xz[:, 1].reshape(est.shape[:-1])
    return out


def up_error_deg(up_estimate: np.ndarray, up_truth: np.ndarray) -> float:
    """Angle (degrees) between two up directions ``(3,)`` (same coordinates, e.g. the camera's)."""
    a = np.asarray(up_estimate, np.float64)
    b = np.asarray(up_truth, np.float64)
    c = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))


def foot_skate(world: np.ndarray, contacts: np.ndarray, fps: float) -> float:
    """Mean horizontal ankle speed (mm/s) of ``world`` ``(T, 17, 3)`` over the contact frames ``(T, 2)``
    ``[left, right]`` (central differences); NaN without contacts."""
    ankles = np.asarray(world, np.float64)[:, FOOT_ANKLES][..., [0, 2]]
    contacts = np.asarray(contacts, bool)
    if len(ankles) < 2 or not contacts.any():
        return math.nan
    speed = np.linalg.norm(np.gradient(ankles, axis=0), axis=-1) * fps * 1000.0
    return float(speed[contacts].mean())


def penetration(world: np.ndarray, ankle_height: float) -> tuple[float, float]:
    """``(mean depth mm, share of frames)`` of the lowest sole below the floor (depth 0 where it is above)."""
    sole = np.asarray(world, np.float64)[:, FOOT_ANKLES, 1].min(axis=1) - ankle_height
    depth = np.clip(-sole, 0.0, None) * 1000.0
    return float(depth.mean()), float((sole < -0.01).mean())
