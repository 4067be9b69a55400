"""Foot contacts from 3D world motion: a foot is planted while its ankle is low and nearly still.

Input: world positions ``(T, 17, 3)`` metres (Y up, floor at y = 0, the sole plane; see ``world``) and the
height of a planted ankle above the sole (``stature.ankle_height``). For each foot (H36M-17 has ankles only):

- height: the ankle's height above the floor less the ankle height (the sole's height);
- speed: the ankle's 3D speed, measured over ``SPEED_SPAN_S`` (averages out frame-to-frame jitter).

A contact starts where both are below the *on* thresholds and lasts while both stay below the looser *off*
thresholds (hysteresis: no flicker at the edges). Gaps shorter than ``MAX_GAP_S`` inside a contact are closed and
contacts shorter than ``MIN_CONTACT_S`` are dropped. The same detector runs on ground truth in the evaluation.

Output: ``(T, 2)`` bool, columns ``[left, right]`` (the order of the CSV's ``left_contact,right_contact``).
"""

from __future__ import annotations

import numpy as np

from mpm_core.errors import PoseDataError, check_fps
from mpm_core.skeleton import H36M_JOINTS

#: Ankle joints in contact-column order: left, right.
FOOT_ANKLES = (H36M_JOINTS.index("left_ankle"), H36M_JOINTS.index("right_ankle"))
#: A contact starts below both of these (sole height m, ankle speed m/s) ... H36M-17 has no toes: while the
#: heel rises and the toes push off, the foot is still planted but its ankle rises by several centimetres and
#: moves at up to about 1 m/s, so the limits are those of the ankle, not of a flat foot.
HEIGHT_ON_M = 0.10
SPEED_ON_M_S = 0.8
#: ... and ends when either goes above these.
HEIGHT_OFF_M = 0.12
SPEED_OFF_M_S = 1.2
#: Speed measured as the distance travelled over this span around each frame (seconds).
SPEED_SPAN_S = 0.1
#: Shorter gaps inside a contact are closed; shorter contacts are dropped (seconds).
MAX_GAP_S = 0.07
MIN_CONTACT_S = 0.1


def ankle_speeds(world: np.ndarray, fps: float) -> np.ndarray:
    """``(T, 2)`` 3D speed (m/s) of the left and right ankle, over ``SPEED_SPAN_S`` around each frame."""
    ankles = np.asarray(world, np.float64)[:, FOOT_ANKLES]
    t = len(ankles)
    half = max(1, int(round(SPEED_SPAN_S * fps / 2)))
    idx = np.arange(t)
    a, b = np.maximum(idx - half, 0), np.minimum(idx + half, t - 1)
    span = np.maximum(b - a, 1)[:, None]
    return np.linalg.norm(ankles[b] - ankles[a], axis=-1) * fps / span


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` of the True runs of a 1D bool array."""
    padded = np.concatenate([[False], flags, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def _hysteresis(on: np.ndarray, stay: np.ndarray) -> np.ndarray:
    """True from a frame where ``on`` holds while ``stay`` keeps holding (both ``(T,)`` bool), in both directions
    in time (a contact is the run of ``stay`` frames that holds an ``on`` frame)."""
    out = np.zeros_like(on)
    for start, stop in _runs(stay):
        if on[start:stop].any():
            out[start:stop] = True
    return out


def detect_contacts(world: np.ndarray, fps: float, ankle_height: float) -> np.ndarray:
    """``(T, 2)`` bool foot contacts ``[left, right]`` of world poses ``(T, 17, 3)`` (see the module docstring)."""
    world = np.asarray(world, np.float64)
    if world.ndim != 3 or world.shape[1:] != (len(H36M_JOINTS), 3) or len(world) == 0:
        raise PoseDataError(f"world poses must have shape (T, 17, 3), got {world.shape}")
    fps = check_fps(fps, where="foot contacts")
    height = world[:, FOOT_ANKLES, 1] - float(ankle_height)
    speed = ankle_speeds(world, fps)
    on = (height < HEIGHT_ON_M) & (speed < SPEED_ON_M_S)
    stay = (height < HEIGHT_OFF_M) & (speed < SPEED_OFF_M_S)
    max_gap = int(round(MAX_GAP_S * fps))
    min_len = max(1, int(round(MIN_CONTACT_S * fps)))
    out = np.zeros(on.shape, bool)
    for foot in range(2):
        contact = _hysteresis(on[:, foot], stay[:, foot])
        for start, stop in _runs(~contact):  # close short gaps between contacts
            if 0 < start and stop < len(contact) and stop - start <= max_gap:
                contact[start:stop] = True
        for start, stop in _runs(contact):
            if stop - start < min_len:
                contact[start:stop] = False
        out[:, foot] = contact
    return out


def contact_runs(contacts: np.ndarray) -> list[tuple[int, int, int]]:
    """``[(foot, start, stop), ...]``: every contact of ``(T, 2)`` flags (foot 0 = left, 1 = right)."""
    contacts = np.asarray(contacts, bool)
    return [(foot, a, b) for foot in range(contacts.shape[1]) for a, b in _runs(contacts[:, foot])]


__all__ = ["FOOT_ANKLES", "ankle_speeds", "contact_runs", "detect_contacts"]
