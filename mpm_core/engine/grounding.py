"""Grounding: the body stands on the floor in every frame where it rests on something, not only on average.

A single camera measures depth from the body's size in the image, and a depth error moves the body along the
camera ray, which has a vertical part unless the camera looks level at it: the feet then float or sink by a few
centimetres as the person moves. With the floor known (``world``), each frame whose lowest support point (a sole,
or a hip, knee or hand when lower; ``world.support_heights``) is still should have it on the floor. Those frames'
height errors are smoothed over time (a weighted Whittaker smoother, cut-off ``GROUNDING_SMOOTH_HZ``; frames in
motion weigh little unless they would sink below the floor or hang in the air longer than a jump could, so a jump
keeps its flight) and removed by moving the
whole body along the camera ray through its pelvis (a depth correction: the image stays the same), by at most
``MAX_DEPTH_SHARE`` of the depth; what that cannot do is done by a vertical shift.

Input and output: world positions ``(T, 17, 3)`` metres (Y up, floor y = 0) and the camera centre in world
coordinates.
"""

from __future__ import annotations

import numpy as np

from mpm_core.engine.trajectory import FLAT_SMOOTH_HZ, whittaker, whittaker_penalty
from mpm_core.engine.world import STILL_SPEED_M_S, joint_speeds, support_heights
from mpm_core.skeleton import H36M_JOINTS

PELVIS = H36M_JOINTS.index("pelvis")
#: Cut-off of the height correction (Hz): slow drifts of depth, not steps.
GROUNDING_SMOOTH_HZ = 2.0
#: The depth may be corrected by at most this share of itself.
MAX_DEPTH_SHARE = 0.25
#: Weight of a frame in motion (still frames weigh 1): a short jump between planted frames keeps its flight, a
#: long stretch without any still frame (no person stays in the air for seconds) is brought down.
MOVING_WEIGHT = 0.05
#: Flight: a support point more than this above the floor is in the air (metres); in the air it may rise at most
#: as a ballistic flight over the airborne time allows, plus a tuck of the legs (metres).
AIR_CLEARANCE_M = 0.03
GRAVITY_M_S2 = 9.81
TUCK_M = 0.15
#: Rounds of the one-sided constraint, and how far a moving frame may dip below the floor before it is pulled
#: up (metres).
SINK_ROUNDS = 4
SINK_SLACK_M = 0.01
#: Damping of the depth correction for rays near level (cosine with up): below about this vertical part a ray
#: carries less and less of the correction as a depth change.
RAY_DAMPING = 0.1


def _flight_bounds(air: np.ndarray, fps: float) -> np.ndarray:
    """``(T,)`` the highest a support point may be above the floor in each airborne frame (``air`` ``(T,)``
    bool): a ballistic flight over the airborne run, ``g/2 tau (T - tau)``, plus ``TUCK_M``; inf on the ground."""
    bounds = np.full(len(air), np.inf)
    padded = np.concatenate([[False], air, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    for start, stop in zip(edges[::2], edges[1::2]):
        duration = (stop - start + 1) / fps  # from the last frame on the ground to the next
        tau = (np.arange(start, stop) - start + 1) / fps
        bounds[start:stop] = 0.5 * GRAVITY_M_S2 * tau * (duration - tau) + TUCK_M
    return bounds


def ground_corrections(world: np.ndarray, fps: float, ankle_height: float) -> np.ndarray:
    """``(T,)`` metres: the smoothed height error of each frame's support point, to be removed.

    Frames whose support point is still are pulled onto the floor, frames in motion weakly (``MOVING_WEIGHT``);
    then, for ``SINK_ROUNDS`` rounds, frames that would sink below the floor are pulled onto it and frames that
    would hang in the air higher than a ballistic flight allows are pulled down to that height."""
    if len(world) < 2:
        return np.zeros(len(world))
    heights = world[..., 1]
    lowest, joint = support_heights(heights, ankle_height)
    rows = np.arange(len(world))
    still = joint_speeds(world, fps)[rows, joint] < STILL_SPEED_M_S
    lam2 = whittaker_penalty(GROUNDING_SMOOTH_HZ, fps, 2)
    lam1 = whittaker_penalty(FLAT_SMOOTH_HZ, fps, 1)
    weights = np.where(still, 1.0, MOVING_WEIGHT)
    targets = lowest.copy()
    correction = whittaker(targets[:, None], weights, lam2, lam1)[:, 0]
    for _ in range(SINK_ROUNDS):
        height = lowest - correction
        sinking = height < -SINK_SLACK_M
        bounds = _flight_bounds(height > AIR_CLEARANCE_M, fps)
        floating = height > bounds
        if not (sinking.any() or floating.any()):
            break
        weights = np.where(sinking | floating, 1.0, weights)
        targets = np.where(floating, lowest - bounds, targets)
        targets = np.where(sinking, lowest, targets)
        correction = whittaker(targets[:, None], weights, lam2, lam1)[:, 0]
    return correction


def ground_body(world: np.ndarray, fps: float, ankle_height: float, camera_position: np.ndarray) -> np.ndarray:
    """World positions ``(T, 17, 3)`` with each frame moved so its resting support point meets the floor."""
    world = np.asarray(world, np.float64)
    error = ground_corrections(world, fps, ankle_height)  # (T,) height above the floor to remove
    ray = world[:, PELVIS] - np.asarray(camera_position, np.float64)
    depth = np.linalg.norm(ray, axis=-1)
    ray_u = ray / np.maximum(depth, 1e-9)[:, None]
    up_part = ray_u[:, 1]
    # Move by s along the ray: height changes by s * up_part. A damped inverse keeps s continuous where the ray
    # turns level (up_part through 0); s is limited to a share of the depth.
    s = -error * up_part / (up_part**2 + RAY_DAMPING**2)
    s = np.clip(s, -MAX_DEPTH_SHARE * depth, MAX_DEPTH_SHARE * depth)
    shift = s[:, None] * ray_u
    shift[:, 1] -= error + shift[:, 1]  # what the ray could not do, vertically: total height change = -error
    return world + shift[:, None, :]


__all__ = ["GROUNDING_SMOOTH_HZ", "ground_body", "ground_corrections"]
