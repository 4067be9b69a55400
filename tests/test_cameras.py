"""Virtual pinhole cameras: rotation conventions, projection, framing of random cameras."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mpm_core.model.cameras import (
    PinholeCamera,
    focal_from_fov,
    place_camera,
    random_camera,
    rotation_from_angles,
)
from mpm_core.model.config import CameraConfig
from mpm_core.skeleton import H36M_JOINTS


def _standing_person(facing_z: float = 1.0, x0: float = 0.0) -> np.ndarray:
    """(1, 17, 3) a T-ish standing pose, world Y up, facing +Z (facing_z=1) or -Z; its left side is +X when
    facing +Z (right-handed frame)."""
    side = facing_z  # performer's left is +x when facing +z
    pts = {
        "pelvis": (0, 0.95, 0),
        "right_hip": (-0.1 * side, 0.95, 0),
        "right_knee": (-0.1 * side, 0.5, 0),
        "right_ankle": (-0.1 * side, 0.08, 0),
        "left_hip": (0.1 * side, 0.95, 0),
        "left_knee": (0.1 * side, 0.5, 0),
        "left_ankle": (0.1 * side, 0.08, 0),
        "spine": (0, 1.15, 0),
        "thorax": (0, 1.4, 0),
        "neck": (0, 1.5, 0.05 * facing_z),
        "head": (0, 1.62, 0.02 * facing_z),
        "left_shoulder": (0.18 * side, 1.4, 0),
        "left_elbow": (0.2 * side, 1.15, 0),
        "left_wrist": (0.22 * side, 0.9, 0),
        "right_shoulder": (-0.18 * side, 1.4, 0),
        "right_elbow": (-0.2 * side, 1.15, 0),
        "right_wrist": (-0.22 * side, 0.9, 0),
    }
    arr = np.array([pts[n] for n in H36M_JOINTS], np.float32)
    arr[:, 0] += x0
    return arr[None]


def test_rotation_is_proper_and_axes_follow_convention():
    for yaw, pitch, roll in [(0, 0, 0), (1.0, 0.3, 0.05), (-2.5, -0.2, -0.08)]:
        r = rotation_from_angles(yaw, pitch, roll)
        np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(r) == pytest.approx(1.0)
    r = rotation_from_angles(0.0, 0.0)
    # yaw 0: looking along world -Z, x right = world +X, y down = world -Y.
    np.testing.assert_allclose(r, [[1, 0, 0], [0, -1, 0], [0, 0, -1]], atol=1e-12)
    # Positive pitch looks down: forward has a negative world-Y component.
    assert rotation_from_angles(0.0, 0.3)[2, 1] < 0


def test_projection_of_known_points():
    cam = PinholeCamera(np.eye(3), np.zeros(3), 1000.0, (960.0, 540.0), (1920, 1080))
    uv = cam.project(np.array([[0.0, 0.0, 2.0], [1.0, -0.5, 4.0]]))
    np.testing.assert_allclose(uv, [[960, 540], [1210, 415]], atol=1e-3)
    assert focal_from_fov(90.0, 1920) == pytest.approx(960.0)
    assert PinholeCamera(np.eye(3), np.zeros(3), 960.0, (960, 540), (1920, 1080)).fov_deg == pytest.approx(90.0)


def test_camera_in_front_sees_performer_left_on_image_right():
    person = _standing_person(facing_z=1.0)
    rot = rotation_from_angles(math.pi, 0.0)  # yaw pi: looking along world +Z
    assert rot[2, 2] > 0.99
    # The person faces +Z: a camera looking along -Z (yaw 0) sees the front, one looking along +Z the back.
    front = place_camera(person, rotation_from_angles(0.0, 0.0), 1000.0, (1920, 1080), 0.6)
    uv = front.project(front.world_to_camera(person))[0]
    left = [H36M_JOINTS.index(n) for n in ("left_shoulder", "left_hip", "left_wrist")]
    right = [H36M_JOINTS.index(n) for n in ("right_shoulder", "right_hip", "right_wrist")]
    assert uv[left, 0].mean() > uv[right, 0].mean()  # facing the camera: the performer's left is image right
    back = place_camera(person, rot, 1000.0, (1920, 1080), 0.6)
    uv = back.project(back.world_to_camera(person))[0]
    assert uv[left, 0].mean() < uv[right, 0].mean()


@pytest.mark.parametrize("seed", range(12))
def test_random_camera_keeps_every_joint_in_frame(seed):
    rng = np.random.default_rng(seed)
    # A walking-like window: the person moves 2 m sideways over 40 frames.
    frames = np.concatenate([_standing_person(x0=x) for x in np.linspace(-1.0, 1.0, 40)])
    config = CameraConfig()
    cam = random_camera(rng, frames, config)
    pts = cam.world_to_camera(frames)
    assert (pts[..., 2] > 0.4).all()
    uv = cam.project(pts)
    w, h = cam.image_size
    assert [w, h] in config.image_sizes
    assert (uv[..., 0] >= 0).all() and (uv[..., 0] <= w).all()
    assert (uv[..., 1] >= 0).all() and (uv[..., 1] <= h).all()
    lo, hi = config.fov_deg
    assert lo - 1e-6 <= cam.fov_deg <= hi + 1e-6
    # Upright person: head above feet in the image (roll is small).
    head, ankle = H36M_JOINTS.index("head"), H36M_JOINTS.index("left_ankle")
    assert (uv[:, head, 1] < uv[:, ankle, 1]).all()


def test_fill_sets_person_size():
    person = _standing_person()
    rot = rotation_from_angles(0.3, 0.1)
    small = place_camera(person, rot, 1000.0, (1920, 1080), 0.3)
    large = place_camera(person, rot, 1000.0, (1920, 1080), 0.8)

    def height(cam):
        uv = cam.project(cam.world_to_camera(person))
        return float(np.ptp(uv[..., 1]))

    assert height(large) > 2 * height(small)
    assert height(large) == pytest.approx(0.8 * 1080, rel=0.15)
