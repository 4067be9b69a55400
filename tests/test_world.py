"""World frame from the ground plane under the feet, and its level-camera fallback (synthetic scenes)."""

from __future__ import annotations

import numpy as np
import pytest

from mpm_core.engine.world import FALLBACK_FLOOR_PERCENTILE, LEVEL_CAMERA, MIN_GROUND_FRAMES, camera_to_world
from mpm_core.errors import PoseDataError
from tests.synthetic_motion import ANKLE_HEIGHT, camera_pose, walk_world, world_to_camera

ANKLES = [3, 6]


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip(a @ b / np.linalg.norm(a) / np.linalg.norm(b), -1, 1))))


@pytest.mark.parametrize(("pitch", "roll"), [(15.0, 3.0), (25.0, -6.0), (0.0, 0.0)])
def test_tilted_camera_floor_is_recovered(pitch, roll):
    world = walk_world(120)
    r_cw, centre = camera_pose(pitch_deg=pitch, roll_deg=roll)
    cam = world_to_camera(world, r_cw, centre)
    rng = np.random.default_rng(3)
    noisy = cam + rng.normal(0.0, 0.01, cam.shape)  # 1 cm noise on every joint
    out, tf = camera_to_world(noisy)
    assert tf.method == "ground_plane", tf.reason
    true_up_cam = r_cw @ np.array([0.0, 1.0, 0.0])
    assert _angle_deg(tf.rotation[1], true_up_cam) < 2.0
    assert tf.tilt_deg == pytest.approx(_angle_deg(true_up_cam, np.array([0.0, -1.0, 0.0])), abs=2.0)
    lowest = out[:, ANKLES, 1].min(axis=1)
    assert np.median(np.abs(lowest)) < 0.02  # the supporting ankle is on y = 0
    # Heights above the floor match the truth (the floor is at the ankle plane, ANKLE_HEIGHT below the truth's 0).
    np.testing.assert_allclose(out[..., 1], world[..., 1] - ANKLE_HEIGHT, atol=0.06)
    # The head is up, the transform is a proper rotation, and the camera sits at its true height.
    assert (out[:, 10, 1] > out[:, 0, 1]).all()
    assert np.linalg.det(tf.rotation) == pytest.approx(1.0)
    assert tf.camera_position[1] == pytest.approx(centre[1] - ANKLE_HEIGHT, abs=0.08)
    np.testing.assert_allclose(out[0, 0, [0, 2]], 0.0, atol=1e-9)  # origin under the first pelvis


def test_walking_straight_at_the_camera_fits_pitch_only():
    world = walk_world(90, turn_rate=0.0)
    world[..., 0] *= 0.3  # narrow track: floor points spread along the walking direction only
    r_cw, centre = camera_pose(pitch_deg=12.0, roll_deg=0.0, yaw_deg=0.0)
    cam = world_to_camera(world, r_cw, centre)
    out, tf = camera_to_world(cam)
    assert tf.method == "ground_plane_pitch"
    assert _angle_deg(tf.rotation[1], r_cw @ np.array([0.0, 1.0, 0.0])) < 1.0
    assert np.abs(out[:, ANKLES, 1].min(axis=1)).max() < 0.01


def test_short_sequence_falls_back_to_a_level_camera():
    world = walk_world(MIN_GROUND_FRAMES - 1)
    r_cw, centre = camera_pose()
    out, tf = camera_to_world(world_to_camera(world, r_cw, centre))
    assert tf.method == "level_camera" and "too short" in tf.reason
    np.testing.assert_array_equal(tf.rotation, LEVEL_CAMERA)
    lowest = out[:, ANKLES, 1].min(axis=1)
    assert np.percentile(lowest, FALLBACK_FLOOR_PERCENTILE) == pytest.approx(0.0, abs=1e-9)
    assert (out[:, 10, 1] > 1.0).all()  # the head is up: y points away from the camera's floor


def test_standing_still_falls_back():
    pose = walk_world(1)[0]
    world = np.repeat(pose[None], 60, axis=0) + np.random.default_rng(0).normal(0, 0.003, (60, 17, 3))
    r_cw, centre = camera_pose()
    _, tf = camera_to_world(world_to_camera(world, r_cw, centre))
    assert tf.method == "level_camera" and "spread" in tf.reason


def test_steep_plane_falls_back():
    world = walk_world(120)
    r_cw, centre = camera_pose(pitch_deg=45.0, roll_deg=0.0)
    _, tf = camera_to_world(world_to_camera(world, r_cw, centre))
    assert tf.method == "level_camera" and "tilted" in tf.reason


def test_scattered_feet_fall_back():
    world = walk_world(60)
    world[:, ANKLES, 1] += np.random.default_rng(2).uniform(0.0, 0.6, (60, 2))  # feet all over the place
    r_cw, centre = camera_pose()
    _, tf = camera_to_world(world_to_camera(world, r_cw, centre))
    assert tf.method == "level_camera" and "plane" in tf.reason


def test_bad_shapes_raise():
    with pytest.raises(PoseDataError, match=r"\(T, 17, 3\)"):
        camera_to_world(np.zeros((10, 16, 3)))
    bad = np.zeros((20, 17, 3))
    bad[3, 2, 1] = np.nan
    with pytest.raises(PoseDataError, match="non-finite"):
        camera_to_world(bad)
