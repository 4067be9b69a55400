"""Virtual pinhole cameras for training data: world (Y up, metres) -> camera frame (x right, y down, z forward,
metres) -> pixels (origin top-left).

``random_camera`` places a camera around a window of motion so that the whole body stays in frame in every frame:
random image size, horizontal field of view, yaw around the body, pitch, small roll, distance from a random
"fill" (share of the image height the body takes) and a random off-centre shift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the config module imports torch; projecting a pose must not (the app's UI thread does it)
    from mpm_core.model.config import CameraConfig

#: World up axis (the mocap readers return Y-up).
WORLD_UP = np.array([0.0, 1.0, 0.0])
#: Share of each image half-size kept free at the border (detectors lose joints at the edge).
BORDER_MARGIN = 0.05
#: Closest a joint may come to the camera plane, metres.
MIN_DEPTH_M = 0.5
#: Tries to meet the camera-height range before accepting the last draw.
HEIGHT_TRIES = 8


@dataclass
class PinholeCamera:
    """A pinhole camera with square pixels and no distortion.

    ``rotation``: (3, 3) world -> camera; its rows are the camera's x (right), y (down), z (forward) axes in world
    coordinates. ``position``: (3,) camera centre, world metres. ``focal``: focal length, pixels. ``center``:
    principal point (cx, cy), pixels. ``image_size``: (width, height), pixels.
    """

    rotation: np.ndarray
    position: np.ndarray
    focal: float
    center: tuple[float, float]
    image_size: tuple[int, int]

    def world_to_camera(self, points: np.ndarray) -> np.ndarray:
        """``(..., 3)`` world metres -> ``(..., 3)`` camera frame metres."""
        return ((np.asarray(points, np.float64) - self.position) @ self.rotation.T).astype(np.float32)

    def project(self, points_cam: np.ndarray) -> np.ndarray:
        """``(..., 3)`` camera-frame metres (z > 0) -> ``(..., 2)`` pixels."""
        p = np.asarray(points_cam, np.float64)
        z = np.maximum(p[..., 2:3], 1e-6)
        uv = p[..., :2] / z * self.focal + np.asarray(self.center)
        return uv.astype(np.float32)

    @property
    def fov_deg(self) -> float:
        """Horizontal field of view, degrees."""
        return math.degrees(2 * math.atan(self.image_size[0] / 2 / self.focal))


def focal_from_fov(fov_deg: float, width: float) -> float:
    """Focal length in pixels for a horizontal field of view over ``width`` pixels."""
    return width / 2 / math.tan(math.radians(fov_deg) / 2)


def rotation_from_angles(yaw: float, pitch: float, roll: float = 0.0) -> np.ndarray:
    """World -> camera rotation of a camera whose forward axis has heading ``yaw`` (radians about world Y, 0 =
    looking along world -Z) and tilt ``pitch`` (radians, positive looks down), rolled by ``roll`` about forward."""
    cp = math.cos(pitch)
    forward = np.array([-math.sin(yaw) * cp, -math.sin(pitch), -math.cos(yaw) * cp])
    right = np.cross(forward, WORLD_UP)
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    if roll:
        c, s = math.cos(roll), math.sin(roll)
        right, down = c * right + s * down, -s * right + c * down
    return np.stack([right, down, forward])


def _shift_range(coord: np.ndarray, depth: np.ndarray, half_extent: float) -> tuple[float, float]:
    """Range of camera-plane shifts o that keep ``|coord - o| / depth <= half_extent`` for every point."""
    lo = float(np.max(coord - half_extent * depth))
    hi = float(np.min(coord + half_extent * depth))
    return lo, hi


def place_camera(
    joints_world: np.ndarray,
    rotation: np.ndarray,
    focal: float,
    image_size: tuple[int, int],
    fill: float,
    shift: tuple[float, float] = (0.5, 0.5),
) -> PinholeCamera:
    """Place a camera of given orientation so that every joint of every frame is in the image.

    ``joints_world``: (T, J, 3) metres. The distance makes the body's vertical extent about ``fill`` of the image
    height (or more distant when needed to fit everything); ``shift`` in [0, 1]^2 picks where, inside the range
    that keeps everything in frame, the body sits (0.5 = centred).
    """
    w, h = image_size
    pts = joints_world.reshape(-1, 3).astype(np.float64)
    target = pts.mean(axis=0)
    rel = (pts - target) @ rotation.T  # camera-aligned coordinates around the target
    ax = (w / 2) * (1 - BORDER_MARGIN) / focal
    ay = (h / 2) * (1 - BORDER_MARGIN) / focal
    extent_y = float(np.ptp(rel[:, 1])) if len(rel) > 1 else 1.0
    d_fill = focal * max(extent_y, 0.3) / (fill * h)
    d_fit = max(
        float(np.max(np.abs(rel[:, 0]) / ax - rel[:, 2])),
        float(np.max(np.abs(rel[:, 1]) / ay - rel[:, 2])),
        float(MIN_DEPTH_M - rel[:, 2].min()),
    )
    d = max(d_fill, d_fit)
    depth = rel[:, 2] + d
    offsets = []
    for axis, a, s in ((0, ax, shift[0]), (1, ay, shift[1])):
        lo, hi = _shift_range(rel[:, axis], depth, a)
        offsets.append(lo + (hi - lo) * s if hi >= lo else 0.0)
    # Camera centre: target moved back along forward by d and sideways by the offsets (camera axes).
    position = target - d * rotation[2] + offsets[0] * rotation[0] + offsets[1] * rotation[1]
    return PinholeCamera(rotation, position, float(focal), (w / 2.0, h / 2.0), (int(w), int(h)))


def random_camera(rng: np.random.Generator, joints_world: np.ndarray, config: CameraConfig) -> PinholeCamera:
    """A random camera that sees every joint of ``joints_world`` (T, J, 3) world metres (Y up, floor near y=0).

    The camera height above the lowest joint is kept within ``config.height_m`` where the drawn pitch and
    distance allow it (a few redraws), else the last draw is used.
    """
    sizes = config.image_sizes
    w, h = sizes[int(rng.integers(len(sizes)))]
    floor = float(joints_world[..., 1].min())
    camera = None
    for _ in range(HEIGHT_TRIES):
        fov = rng.uniform(*config.fov_deg)
        focal = focal_from_fov(fov, w)
        rotation = rotation_from_angles(
            yaw=rng.uniform(0, 2 * math.pi),
            pitch=math.radians(rng.uniform(*config.pitch_deg)),
            roll=math.radians(rng.uniform(-config.roll_deg, config.roll_deg)),
        )
        camera = place_camera(
            joints_world, rotation, focal, (w, h), rng.uniform(*config.fill), (rng.random(), rng.random())
        )
        height = camera.position[1] - floor
        if config.height_m[0] <= height <= config.height_m[1]:
            break
    assert camera is not None
    return camera
