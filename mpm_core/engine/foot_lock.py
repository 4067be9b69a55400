"""Foot locking: a planted foot holds its place on the floor, reached by two-bone leg IK, blended in and out.

For every contact (``contacts.detect_contacts``) the ankle gets one anchor on the floor: the median of its floor
position over the contact. Over the contact the ankle is held there; its height is shifted so that the contact's
low part (``FLAT_FOOT_QUANTILE`` of its frames: the flat foot) stands exactly a planted ankle's height above the
floor, the heel's rise over the rest of the contact is kept up to ``MAX_HEEL_RISE_M``, and it never goes lower.
Between two contacts of a foot (a swing of up to ``MAX_BRIDGE_S``) the correction slides from the one at the end
of the first to the one at the start of the next with a smoothstep over the whole swing, so the foot travels from
footprint to footprint without a jump; before a first and after a last contact it eases in and out over
``BLEND_S``.

The leg reaches the target by two-bone IK: the hip stays, the thigh and shin keep their lengths in that frame,
the knee stays in the plane of the hip, the target and the original knee (the leg bends the way the model bent
it). Where a held foot is beyond the leg's reach the whole body is lowered (by up to ``MAX_HIP_DROP_M``, eased
in and out); what remains is approached with a straight leg (and left as slip).

Input and output: world positions ``(T, 17, 3)`` metres (Y up, floor y = 0).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import maximum_filter1d, uniform_filter1d

from mpm_core.engine.contacts import FOOT_ANKLES, contact_runs
from mpm_core.errors import PoseDataError, check_fps
from mpm_core.skeleton import H36M_JOINTS

_J = {name: i for i, name in enumerate(H36M_JOINTS)}
#: (hip, knee, ankle) per foot, in contact-column order: left, right.
LEGS = ((_J["left_hip"], _J["left_knee"], _J["left_ankle"]), (_J["right_hip"], _J["right_knee"], _J["right_ankle"]))
#: Ease-in / ease-out time before a foot's first contact and after its last (seconds).
BLEND_S = 0.2
#: Swings up to this long (seconds) carry the correction from one contact's end over to the next one's start.
MAX_BRIDGE_S = 1.0
#: The share of a contact's frames taken as the flat foot (the rest may have the heel raised).
FLAT_FOOT_QUANTILE = 0.2
#: Over a contact the ankle rises at most this much above its planted height (metres): a little heel motion is
#: kept, more is the model's noise on a planted foot.
MAX_HEEL_RISE_M = 0.04
#: The body may be lowered by at most this much (metres) so that a held foot stays within the leg's reach (more
#: was measured to cost more root accuracy than it gains in foot skate).
MAX_HIP_DROP_M = 0.03
#: A leg is never stretched fully straight (share of its length): the knee keeps a defined bend direction.
MAX_REACH_SHARE = 0.9995


def two_bone_ik(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, target: np.ndarray) -> tuple:
    """``(knee (N, 3), ankle (N, 3))`` reaching ``target`` ``(N, 3)`` from ``hip`` with the thigh and shin lengths
    of ``hip``-``knee``-``ankle``, the knee in the plane of hip, target and the original knee."""
    thigh = np.linalg.norm(knee - hip, axis=-1)
    shin = np.linalg.norm(ankle - knee, axis=-1)
    to_target = target - hip
    dist = np.linalg.norm(to_target, axis=-1)
    reach_max = (thigh + shin) * MAX_REACH_SHARE
    reach_min = np.abs(thigh - shin) * 1.0005 + 1e-9
    d = np.clip(dist, reach_min, reach_max)
    axis = to_target / np.maximum(dist, 1e-12)[:, None]
    # Pole: the original knee's offset from the hip-target line (the bend direction).
    pole = knee - hip
    pole = pole - np.sum(pole * axis, axis=-1, keepdims=True) * axis
    pole_n = np.linalg.norm(pole, axis=-1, keepdims=True)
    # A straight original leg has no bend direction: use the original leg's forward-ish perpendicular.
    fallback = np.cross(axis, np.array([1.0, 0.0, 0.0]))
    fallback /= np.maximum(np.linalg.norm(fallback, axis=-1, keepdims=True), 1e-12)
    pole = np.where(pole_n > 1e-6, pole / np.maximum(pole_n, 1e-12), fallback)
    cos_a = np.clip((thigh**2 + d**2 - shin**2) / np.maximum(2.0 * thigh * d, 1e-12), -1.0, 1.0)
    sin_a = np.sqrt(1.0 - cos_a**2)
    new_knee = hip + thigh[:, None] * (cos_a[:, None] * axis + sin_a[:, None] * pole)
    new_ankle = hip + d[:, None] * axis
    return new_knee, new_ankle


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _corrections(world: np.ndarray, contacts: np.ndarray, fps: float, ankle_h: float) -> np.ndarray:
    """``(T, 2, 3)``: what to add to each ankle (see the module docstring); 0 where the foot is free."""
    t = len(world)
    ankles = world[:, FOOT_ANKLES]  # (T, 2, 3)
    delta = np.zeros((t, 2, 3))
    blend = max(1, int(round(BLEND_S * fps)))
    bridge = int(round(MAX_BRIDGE_S * fps))
    runs = contact_runs(contacts)
    for foot in range(2):
        mine = [(a, b) for f, a, b in runs if f == foot]
        for a, b in mine:
            anchor = np.median(ankles[a:b, foot], axis=0)
            delta[a:b, foot] = anchor - ankles[a:b, foot]
            # Height: the contact's low part (the flat foot) on the floor, the rise of the heel kept.
            y = ankles[a:b, foot, 1]
            lift = ankle_h - float(np.quantile(y, FLAT_FOOT_QUANTILE))
            delta[a:b, foot, 1] = np.clip(y + lift, ankle_h, ankle_h + MAX_HEEL_RISE_M) - y
        for k, (a, b) in enumerate(mine):
            # Before the first contact and after a contact with no near next one: ease the offset in / out.
            nxt = mine[k + 1] if k + 1 < len(mine) else None
            if nxt is not None and nxt[0] - b <= bridge:
                rows = np.arange(b, nxt[0])
                s = _smoothstep((rows - b + 1) / (nxt[0] - b + 1))[:, None]
                delta[b : nxt[0], foot] = (1 - s) * delta[b - 1, foot] + s * delta[nxt[0], foot]
            else:
                hi = min(t, b + blend)
                rows = np.arange(b, hi)
                delta[b:hi, foot] = (1 - _smoothstep((rows - b + 1) / (blend + 1)))[:, None] * delta[b - 1, foot]
            prev = mine[k - 1] if k > 0 else None
            if prev is None or a - prev[1] > bridge:
                lo = max(0, a - blend)
                rows = np.arange(lo, a)
                delta[lo:a, foot] = (1 - _smoothstep((a - rows) / (blend + 1)))[:, None] * delta[a, foot]
    return delta


def _hip_drop(world: np.ndarray, delta: np.ndarray, fps: float) -> np.ndarray:
    """``(T,)`` metres to lower the body by so that each held foot's target is within the leg's reach (at most
    ``MAX_HIP_DROP_M``), eased over ``BLEND_S`` so the body does not pop."""
    t = len(world)
    need = np.zeros(t)
    for foot, (hip, knee, ankle) in enumerate(LEGS):
        held = np.abs(delta[:, foot]).max(axis=1) > 0
        if not held.any():
            continue
        reach = (
            np.linalg.norm(world[:, knee] - world[:, hip], axis=-1)
            + np.linalg.norm(world[:, ankle] - world[:, knee], axis=-1)
        ) * MAX_REACH_SHARE
        v = world[:, hip] - (world[:, ankle] + delta[:, foot])  # target to hip
        disc = v[:, 1] ** 2 - np.sum(v**2, axis=-1) + reach**2
        # Lowering by s brings the hip to distance |v - s y|; the smallest s reaching the target.
        s = np.where(disc >= 0, v[:, 1] - np.sqrt(np.maximum(disc, 0.0)), 0.0)
        need = np.maximum(need, np.where(held, np.clip(s, 0.0, MAX_HIP_DROP_M), 0.0))
    if not need.any():
        return need
    size = 2 * max(1, int(round(BLEND_S * fps))) + 1
    eased = uniform_filter1d(maximum_filter1d(need, size, mode="nearest"), size, mode="nearest")
    return np.maximum(need, eased)


def lock_feet(world: np.ndarray, contacts: np.ndarray, fps: float, ankle_height: float) -> np.ndarray:
    """World positions ``(T, 17, 3)`` with the planted feet held (see the module docstring); a copy."""
    world = np.asarray(world, np.float64)
    contacts = np.asarray(contacts, bool)
    if world.ndim != 3 or world.shape[1:] != (len(H36M_JOINTS), 3):
        raise PoseDataError(f"world poses must have shape (T, 17, 3), got {world.shape}")
    if contacts.shape != (len(world), 2):
        raise PoseDataError(f"contacts must have shape ({len(world)}, 2), got {contacts.shape}")
    fps = check_fps(fps, where="foot locking")
    delta = _corrections(world, contacts, fps, float(ankle_height))
    out = world.copy()
    out[..., 1] -= _hip_drop(world, delta, fps)[:, None]
    for foot, (hip, knee, ankle) in enumerate(LEGS):
        rows = np.flatnonzero(np.abs(delta[:, foot]).max(axis=1) > 0)
        if len(rows) == 0:
            continue
        goal = world[rows, ankle] + delta[rows, foot]
        new_knee, new_ankle = two_bone_ik(out[rows, hip], out[rows, knee], out[rows, ankle], goal)
        out[rows, knee] = new_knee
        out[rows, ankle] = new_ankle
    return out


__all__ = ["BLEND_S", "lock_feet", "two_bone_ik"]
