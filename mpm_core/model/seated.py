"""Seated, kneeling and floor poses made from standing motion: the real upper body on synthesised legs.

The training motion holds almost no seated people (about 1.6 of 111 minutes near the floor, all of it ACCAD
crawling, lying and crouching, and no one sitting), so a lifter has never seen someone sit cross-legged and
facing the camera. ``seat_window`` keeps a window's real trunk, arms and head (their motion relative to the pelvis,
and the pelvis's turning) and replaces the legs with one of ``SEAT_STYLES``, with the window's own thigh and shin
lengths, the pelvis lowered to the style's height above the floor and held nearly still. Each style's angles are
drawn per window and wobble slowly over it.

Works on world joints ``(T, 17, 3)`` metres, Y up, H36M-17; the floor is the window's lowest point.
"""

from __future__ import annotations

import math

import numpy as np

from mpm_core.skeleton import H36M_JOINTS

_J = {name: i for i, name in enumerate(H36M_JOINTS)}
UP = np.array([0.0, 1.0, 0.0])

#: The leg styles, drawn with these relative weights.
SEAT_STYLES: dict[str, float] = {
    "cross_legged": 0.35,
    "kneel_sit": 0.15,
    "chair": 0.2,
    "long_sit": 0.15,
    "kneel_up": 0.15,
}
#: Windows whose trunk leans further than this from vertical (median, degrees) keep their own legs: a lying or
#: crawling upper body on seated legs would be a pose no one takes.
MAX_TRUNK_LEAN_DEG = 35.0
#: Share of the pelvis's horizontal travel kept (seated people sway, they do not walk).
PELVIS_SWAY_KEEP = 0.1
#: Heights of a knee / ankle joint centre resting on the floor, metres.
KNEE_ON_FLOOR_M = 0.06
ANKLE_ON_FLOOR_M = 0.07

_LEGS = (
    (_J["right_hip"], _J["right_knee"], _J["right_ankle"], -1.0),
    (_J["left_hip"], _J["left_knee"], _J["left_ankle"], 1.0),
)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def trunk_angles_deg(joints: np.ndarray, up: np.ndarray = UP) -> np.ndarray:
    """``(T,)`` angle between pelvis -> thorax and the direction ``up`` (3,), degrees, of ``(T, 17, 3)`` joints (any
    frame: world Y up by default; the camera's up is ``(0, -1, 0)``)."""
    p = np.asarray(joints, np.float64)
    trunk = _unit(p[:, _J["thorax"]] - p[:, _J["pelvis"]])
    return np.degrees(np.arccos(np.clip(trunk @ _unit(np.asarray(up, np.float64)), -1.0, 1.0)))


def trunk_lean_deg(joints: np.ndarray) -> float:
    """Median angle between pelvis -> thorax and world up over ``(T, 17, 3)`` world joints, degrees."""
    return float(np.median(trunk_angles_deg(joints)))


def _wobble(rng: np.random.Generator, t: int, amplitude: float) -> np.ndarray:
    """(T,) a slow sine (one period over 1-4 windows) of random phase: parameters drift, they do not jump."""
    period = rng.uniform(1.0, 4.0) * max(t, 2)
    return amplitude * np.sin(2 * math.pi * np.arange(t) / period + rng.uniform(0, 2 * math.pi))


def _toward(start: np.ndarray, target: np.ndarray, length: float) -> np.ndarray:
    """Points ``length`` from ``start`` (T, 3) in the direction of ``target`` (T, 3)."""
    return start + _unit(target - start) * length


def _at_height(
    start: np.ndarray, horizontal: np.ndarray, height: np.ndarray | float, length: float, floor: float
) -> np.ndarray:
    """Points ``length`` from ``start`` (T, 3) at world height ``floor + height`` where reachable, along the
    horizontal direction ``horizontal`` (T, 3, unit, y = 0)."""
    dy = np.clip(floor + np.asarray(height) - start[:, 1], -0.97 * length, 0.97 * length)
    reach = np.sqrt(np.maximum(length**2 - dy**2, 0.0))
    out = start + horizontal * reach[:, None]
    out[:, 1] = start[:, 1] + dy
    return out


def seat_window(rng: np.random.Generator, joints: np.ndarray, style: str | None = None) -> np.ndarray:
    """The window ``(T, 17, 3)`` world metres (Y up) with seated/kneeling legs of ``style`` (None = drawn from
    ``SEAT_STYLES``); returned unchanged when its trunk is not upright (``MAX_TRUNK_LEAN_DEG``)."""
    src = np.asarray(joints, np.float64)
    if trunk_lean_deg(src) > MAX_TRUNK_LEAN_DEG:
        return np.asarray(joints, np.float32)
    if style is None:
        names = list(SEAT_STYLES)
        p = np.array([SEAT_STYLES[n] for n in names])
        style = names[int(rng.choice(len(names), p=p / p.sum()))]
    t = len(src)
    floor = float(src[..., 1].min())
    thigh = float(np.median([np.linalg.norm(src[:, k] - src[:, h], axis=-1) for h, k, _, _ in _LEGS]))
    shin = float(np.median([np.linalg.norm(src[:, a] - src[:, k], axis=-1) for _, k, a, _ in _LEGS]))

    # Pelvis: nearly still horizontally, at the style's height; the upper body and hips follow it rigidly.
    pelvis_src = src[:, _J["pelvis"]]
    mean_xz = pelvis_src.mean(axis=0)
    pelvis = mean_xz + (pelvis_src - mean_xz) * PELVIS_SWAY_KEEP
    height = _pelvis_height(rng, style, thigh, shin) + _wobble(rng, t, 0.01)
    pelvis[:, 1] = floor + height
    out = src - pelvis_src[:, None] + pelvis[:, None]

    side = out[:, _J["left_hip"]] - out[:, _J["right_hip"]]
    side[:, 1] = 0.0
    side = _unit(side)
    forward = _unit(np.cross(side, UP))  # the body's facing direction (checked on walking clips)
    down = -UP
    for hip_j, knee_j, ankle_j, s in _LEGS:
        hip = out[:, hip_j]
        knee, ankle = _leg(rng, style, hip, pelvis, forward, side * s, down, thigh, shin, floor, t)
        out[:, knee_j], out[:, ankle_j] = knee, ankle
    # The floor stays the lowest point.
    out[..., 1] += floor - out[..., 1].min()
    return out.astype(np.float32)


def _pelvis_height(rng: np.random.Generator, style: str, thigh: float, shin: float) -> float:
    """Height of the pelvis joint above the floor for ``style``, metres."""
    if style in ("cross_legged", "long_sit"):
        return rng.uniform(0.09, 0.16)
    if style == "kneel_sit":  # sitting on the heels
        return ANKLE_ON_FLOOR_M + rng.uniform(0.18, 0.3)
    if style == "chair":
        return shin + rng.uniform(0.04, 0.14)
    if style == "kneel_up":
        return KNEE_ON_FLOOR_M + thigh * rng.uniform(0.85, 0.98)
    raise ValueError(f"unknown seat style {style!r}")


def _leg(
    rng: np.random.Generator,
    style: str,
    hip: np.ndarray,
    pelvis: np.ndarray,
    forward: np.ndarray,
    outward: np.ndarray,
    down: np.ndarray,
    thigh: float,
    shin: float,
    floor: float,
    t: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Knee and ankle (T, 3) of one leg; ``outward`` points away from the body's midline on this leg's side."""
    if style == "cross_legged":
        spread = np.radians(rng.uniform(30, 65)) + _wobble(rng, t, 0.05)
        direction = _unit(forward * np.cos(spread)[:, None] + outward * np.sin(spread)[:, None])
        knee = _at_height(hip, direction, KNEE_ON_FLOOR_M + rng.uniform(0.0, 0.12), thigh, floor)
        # The ankle tucks under the other leg: in front of the pelvis, across the midline.
        target = pelvis + forward * rng.uniform(0.12, 0.3) - outward * rng.uniform(0.05, 0.2)
        target[:, 1] = floor + ANKLE_ON_FLOOR_M
        return knee, _toward(knee, target, shin)
    if style == "kneel_sit":
        spread = np.radians(rng.uniform(0, 25))
        direction = _unit(forward * math.cos(spread) + outward * math.sin(spread))
        knee = _at_height(hip, direction, KNEE_ON_FLOOR_M, thigh, floor)
        back = _unit(-forward + outward * rng.uniform(-0.1, 0.3))
        return knee, _at_height(knee, back, ANKLE_ON_FLOOR_M + rng.uniform(0.0, 0.05), shin, floor)
    if style == "chair":
        spread = np.radians(rng.uniform(0, 30))
        direction = _unit(forward * math.cos(spread) + outward * math.sin(spread))
        lift = np.radians(rng.uniform(-15, 10))  # thigh a little above or below horizontal
        knee = hip + thigh * _unit(direction * math.cos(lift) - down * math.sin(lift))
        shin_dir = _unit(down + forward * rng.uniform(-0.35, 0.6) + outward * rng.uniform(-0.1, 0.2))
        return knee, knee + shin * shin_dir
    if style == "long_sit":
        spread = np.radians(rng.uniform(0, 25))
        direction = _unit(forward * math.cos(spread) + outward * math.sin(spread))
        raise_deg = rng.uniform(0, 60) if rng.random() < 0.6 else 0.0  # knees up, feet flat on the floor
        r = math.radians(raise_deg)
        knee = hip + thigh * _unit(direction * math.cos(r) - down * math.sin(r))
        knee[:, 1] = np.maximum(knee[:, 1], floor + KNEE_ON_FLOOR_M)
        return knee, _at_height(knee, direction, ANKLE_ON_FLOOR_M, shin, floor)
    if style == "kneel_up":
        lean = np.radians(rng.uniform(-10, 20))
        knee = hip + thigh * _unit(down * math.cos(lean) + forward * math.sin(lean))
        back = _unit(-forward + outward * rng.uniform(-0.1, 0.3))
        return knee, _at_height(knee, back, ANKLE_ON_FLOOR_M, shin, floor)
    raise ValueError(f"unknown seat style {style!r}")
