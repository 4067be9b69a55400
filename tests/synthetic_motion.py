"""Synthetic H36M-17 motion and cameras for the trajectory, world, clean-up and export tests (no files).

World frame: Y up, metres, floor y = 0. A simple walker: legs swing, knees bend in swing, arms swing opposite,
the pelvis height keeps the lowest ankle at ``ANKLE_HEIGHT`` above the floor, the walker follows a gentle arc.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from mpm_core.skeleton import H36M_JOINTS

J = {name: i for i, name in enumerate(H36M_JOINTS)}
ANKLE_HEIGHT = 0.08
THIGH, SHIN, HIP_HALF = 0.45, 0.44, 0.13
SPINE, THORAX, NECK, HEAD = 0.23, 0.25, 0.10, 0.12
SHOULDER_HALF, UPPER_ARM, FOREARM = 0.17, 0.28, 0.25


def walk_world(frames: int = 90, fps: float = 30.0, speed: float = 1.2, turn_rate: float = 0.25) -> np.ndarray:
    """``(T, 17, 3)`` world positions (Y up, metres) of a person walking along an arc."""
    t = np.arange(frames) / fps
    phase = 2 * np.pi * 0.9 * t  # ~0.9 strides per second
    heading = turn_rate * t
    out = np.zeros((frames, 17, 3))
    for k in range(frames):
        swing = 0.45 * np.sin(phase[k])
        legs = {}
        for side, sgn in (("right", 1.0), ("left", -1.0)):
            hip_a = sgn * swing  # hip flexion (forward swing positive)
            knee_a = max(0.0, 0.9 * np.sin(phase[k] + sgn * np.pi / 2 + np.pi))  # knee bends during swing
            thigh = np.array([0.0, -np.cos(hip_a), np.sin(hip_a)]) * THIGH
            shin_a = hip_a - knee_a
            shin = np.array([0.0, -np.cos(shin_a), np.sin(shin_a)]) * SHIN
            x = sgn * -HIP_HALF  # right hip at -x (the walker faces +z, left is +x)
            legs[side] = (np.array([x, 0.0, 0.0]), thigh, shin)
        drop = max(-(th[1] + sh[1]) for _, th, sh in legs.values())
        pose = np.zeros((17, 3))
        pose[J["pelvis"]] = [0.0, ANKLE_HEIGHT + drop, 0.0]
        for side, (hip, thigh, shin) in legs.items():
            pose[J[f"{side}_hip"]] = pose[0] + hip
            pose[J[f"{side}_knee"]] = pose[J[f"{side}_hip"]] + thigh
            pose[J[f"{side}_ankle"]] = pose[J[f"{side}_knee"]] + shin
        lean = 0.08
        up = np.array([0.0, np.cos(lean), np.sin(lean)])
        pose[J["spine"]] = pose[0] + SPINE * up
        pose[J["thorax"]] = pose[J["spine"]] + THORAX * up
        pose[J["neck"]] = pose[J["thorax"]] + NECK * up
        pose[J["head"]] = pose[J["neck"]] + HEAD * np.array([0.0, 0.9, 0.44])
        for side, sgn in (("left", 1.0), ("right", -1.0)):
            arm_a = -sgn * swing * 0.8
            sh = pose[J["thorax"]] + np.array([sgn * SHOULDER_HALF, -0.02, 0.0])
            upper = np.array([sgn * 0.15, -np.cos(arm_a), np.sin(arm_a)])
            upper = UPPER_ARM * upper / np.linalg.norm(upper)
            fore_a = arm_a + 0.5
            fore = np.array([sgn * 0.1, -np.cos(fore_a), np.sin(fore_a)])
            fore = FOREARM * fore / np.linalg.norm(fore)
            pose[J[f"{side}_shoulder"]] = sh
            pose[J[f"{side}_elbow"]] = sh + upper
            pose[J[f"{side}_wrist"]] = sh + upper + fore
        # Turn about the pelvis and move along the heading.
        rot = Rotation.from_euler("y", heading[k]).as_matrix()
        pose = (pose - [0, 0, 0]) @ rot.T
        out[k] = pose
    # Integrate the forward motion along the heading.
    step = speed / fps
    pos = np.cumsum(np.stack([np.sin(heading) * step, np.zeros(frames), np.cos(heading) * step], axis=1), axis=0)
    return out + pos[:, None, :]


def camera_pose(pitch_deg: float = 15.0, roll_deg: float = 3.0, yaw_deg: float = 10.0, height: float = 1.6):
    """``(R_cw (3, 3), centre (3,))``: camera-from-world rotation (camera x right, y down, z forward) and the
    camera centre in world coordinates, looking roughly along +z from behind the origin, pitched down."""
    level = np.diag([-1.0, -1.0, 1.0])  # world (Y up, camera looking along +z) -> camera (x right, y down)
    tilt = Rotation.from_euler("ZXY", [roll_deg, pitch_deg, yaw_deg], degrees=True).as_matrix()
    r_cw = level @ tilt.T
    centre = np.array([0.3, height, -4.5])
    return r_cw, centre


def world_to_camera(world: np.ndarray, r_cw: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Camera-frame coordinates ``(..., 3)`` (x right, y down, z forward) of world points."""
    return (np.asarray(world) - centre) @ r_cw.T


def planted_walk(
    frames: int = 120, fps: float = 30.0, speed: float = 1.1, radius: float = 6.0, cadence_hz: float = 0.9
) -> tuple[np.ndarray, np.ndarray]:
    """``(world (T, 17, 3), contacts (T, 2) [left, right])``: a walker whose stance feet stand exactly still.

    The pelvis follows an arc of ``radius`` metres at ``speed``; each foot is planted (ankle ``ANKLE_HEIGHT``
    above the floor, not moving) for 60% of the gait cycle and swings to the next foothold with a 10 cm lift;
    knees by two-bone IK, upper body as in ``walk_world``.
    """
    from mpm_core.engine.foot_lock import two_bone_ik

    t = np.arange(frames) / fps
    pelvis_h = 0.86

    def along(s: np.ndarray, lateral: np.ndarray | float) -> np.ndarray:
        """Points at arc length ``s`` and ``lateral`` offset (+ = walker's left, +x at the start) on the floor."""
        th = s / radius
        centre = np.stack([radius * (1 - np.cos(th)), np.zeros_like(th), radius * np.sin(th)], -1)
        left = np.stack([np.cos(th), np.zeros_like(th), -np.sin(th)], -1)
        return centre + np.asarray(lateral)[..., None] * left

    base = walk_world(frames, fps, speed=0.0, turn_rate=0.0)  # upper body in place, facing +z
    out = np.zeros((frames, 17, 3))
    contacts = np.zeros((frames, 2), bool)
    s_pelvis = speed * t
    heading = s_pelvis / radius
    rot = np.stack([Rotation.from_euler("y", h).as_matrix() for h in heading])
    upper = [J[n] for n in H36M_JOINTS if "hip" not in n and "knee" not in n and "ankle" not in n]
    rel = base - base[:, :1]
    rel[:, :, 1] += pelvis_h
    out[:, upper] = np.einsum("tab,tjb->tja", rot, rel[:, upper]) + along(s_pelvis, 0.0)[:, None, :]
    for foot, (side, sgn, offset) in enumerate((("left", 1.0, 0.5), ("right", -1.0, 0.0))):
        hip_j, knee_j, ankle_j = J[f"{side}_hip"], J[f"{side}_knee"], J[f"{side}_ankle"]
        cycle = t * cadence_hz + offset
        k = np.floor(cycle)
        phase = cycle - k
        stance = phase < 0.6
        mid = lambda kk, o=offset: speed * (kk + 0.3 - o) / cadence_hz  # noqa: E731  arc length mid-stance
        s_now = np.where(stance, mid(k), mid(k) + (mid(k + 1) - mid(k)) * _smooth((phase - 0.6) / 0.4))
        ankle = along(s_now, sgn * HIP_HALF)
        lift = np.where(stance, 0.0, 0.1 * np.sin(np.pi * (phase - 0.6) / 0.4))
        ankle[:, 1] = ANKLE_HEIGHT + lift
        hip = out[:, 0] + np.einsum("tab,b->ta", rot, [sgn * HIP_HALF, 0.0, 0.0])
        # A bent-knee guess with the knee forward, then IK onto the ankle.
        forward = np.einsum("tab,b->ta", rot, [0.0, 0.0, 1.0])
        guess_knee = hip + THIGH * (0.9 * np.array([0.0, -1.0, 0.0]) + 0.44 * forward)
        guess_ankle = guess_knee + SHIN * np.array([0.0, -1.0, 0.0])
        knee, reached = two_bone_ik(hip, guess_knee, guess_ankle, ankle)
        out[:, hip_j], out[:, knee_j], out[:, ankle_j] = hip, knee, reached
        contacts[:, foot] = stance
    return out, contacts


def _smooth(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)
