"""World frame: up from the camera prior (the trunk) refined by planted feet, the floor at the soles (synthetic)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mpm_core.engine.stature import ANKLE_HEIGHT_RATIO, stature
from mpm_core.engine.world import (
    LEVEL_CAMERA,
    MAX_REFINE_DEG,
    MIN_GROUND_FRAMES,
    body_up,
    camera_to_world,
    floor_height,
)
from mpm_core.errors import PoseDataError
from tests.synthetic_motion import ANKLE_HEIGHT, J, camera_pose, planted_walk, walk_world, world_to_camera

ANKLES = [3, 6]


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip(a @ b / np.linalg.norm(a) / np.linalg.norm(b), -1, 1))))


def _seen_without(joints: list[int], frames: int) -> np.ndarray:
    seen = np.ones((frames, 17), bool)
    seen[:, joints] = False
    return seen


@pytest.mark.parametrize(("pitch", "roll"), [(15.0, 3.0), (25.0, -6.0), (0.0, 0.0)])
def test_tilted_camera_floor_is_recovered(pitch, roll):
    world, _ = planted_walk(120)
    r_cw, centre = camera_pose(pitch_deg=pitch, roll_deg=roll)
    cam = world_to_camera(world, r_cw, centre)
    noisy = cam + np.random.default_rng(3).normal(0.0, 0.01, cam.shape)  # 1 cm noise on every joint
    out, tf = camera_to_world(noisy)
    assert tf.method == "ground_plane", tf.reason
    true_up_cam = r_cw @ np.array([0.0, 1.0, 0.0])
    assert _angle_deg(tf.rotation[1], true_up_cam) < 2.0
    assert tf.tilt_deg == pytest.approx(_angle_deg(true_up_cam, np.array([0.0, -1.0, 0.0])), abs=2.0)
    # The floor is the sole plane: a planted ankle stands ANKLE_HEIGHT_RATIO x stature above it.
    assert tf.ankle_height == pytest.approx(ANKLE_HEIGHT_RATIO * stature(noisy), rel=1e-9)
    np.testing.assert_allclose(out[..., 1], world[..., 1] - ANKLE_HEIGHT + tf.ankle_height, atol=0.06)
    assert (out[:, 10, 1] > out[:, 0, 1]).all()
    assert np.linalg.det(tf.rotation) == pytest.approx(1.0)
    np.testing.assert_allclose(out[0, 0, [0, 2]], 0.0, atol=1e-9)  # origin under the first pelvis
    assert "planted-foot" in tf.description and "floor:" in tf.description


def test_hidden_feet_leave_the_trunk_prior():
    world = walk_world(120)
    r_cw, centre = camera_pose(pitch_deg=20.0, roll_deg=0.0)
    cam = world_to_camera(world, r_cw, centre)
    out, tf = camera_to_world(cam, seen=_seen_without(ANKLES, 120))  # ankles never seen: no ground refinement
    assert tf.method == "body_up" and "planted-foot frames" in tf.reason
    # The walker leans 0.08 rad (4.6 deg) forward; the prior is the trunk, so within that of the truth.
    assert _angle_deg(tf.rotation[1], r_cw @ np.array([0.0, 1.0, 0.0])) < 6.0
    assert (out[:, 10, 1] > out[:, 0, 1]).all()


def test_no_seen_trunk_is_the_level_camera():
    world = walk_world(60)
    r_cw, centre = camera_pose(pitch_deg=10.0, roll_deg=0.0)
    cam = world_to_camera(world, r_cw, centre)
    _, tf = camera_to_world(cam, seen=_seen_without([1, 4] + ANKLES, 60))
    assert tf.method == "level_camera"
    np.testing.assert_allclose(tf.rotation[1], [0.0, -1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(tf.rotation, LEVEL_CAMERA, atol=1e-12)


def test_a_lying_trunk_is_not_a_prior():
    pose = walk_world(1)[0]
    lying = pose @ np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]]).T  # turned 90 deg about x
    cam = np.repeat(lying[None], 30, axis=0) @ LEVEL_CAMERA.T
    up, frames = body_up(cam)
    assert up is None and frames == 0


def test_ground_plane_far_from_the_prior_is_not_taken():
    world, _ = planted_walk(120)
    r_cw, centre = camera_pose(pitch_deg=15.0, roll_deg=0.0)
    cam = world_to_camera(world, r_cw, centre)
    # A prior 2 * MAX_REFINE_DEG away from the truth: the planted feet disagree too much, the prior stays.
    tilt = math.radians(2 * MAX_REFINE_DEG)
    true_up = r_cw @ np.array([0.0, 1.0, 0.0])
    prior = true_up * math.cos(tilt) + np.cross(true_up, [1.0, 0.0, 0.0]) * math.sin(tilt)
    _, tf = camera_to_world(cam, up_prior=prior)
    assert tf.method == "body_up" and "from the camera prior" in tf.reason
    assert _angle_deg(tf.rotation[1], prior) < 1e-6


def test_short_sequence_keeps_the_prior():
    world = walk_world(MIN_GROUND_FRAMES - 1)
    r_cw, centre = camera_pose()
    _, tf = camera_to_world(world_to_camera(world, r_cw, centre))
    assert tf.method in ("body_up", "level_camera") and str(MIN_GROUND_FRAMES) in tf.reason


def test_seated_floor_is_under_the_hips():
    """A person sitting on the floor, legs stretched out: the floor comes from the hips and knees."""
    pose = walk_world(1)[0]
    seated = pose.copy()
    for side in ("left", "right"):
        hip, knee, ankle = J[f"{side}_hip"], J[f"{side}_knee"], J[f"{side}_ankle"]
        seated[knee] = seated[hip] + [0.0, 0.0, 0.45]  # thigh forward, level
        seated[ankle] = seated[knee] + [0.0, 0.08, 0.3]  # shin forward, the heel on the floor
    seated[[J["left_wrist"], J["right_wrist"]]] += [0.0, 0.2, 0.0]  # hands in the lap
    seated -= [0.0, seated[:, 1].min(), 0.0]  # hips and knees on the floor at y = 0
    seq = np.repeat(seated[None], 40, axis=0) + np.random.default_rng(0).normal(0, 0.002, (40, 17, 3))
    cam = seq @ LEVEL_CAMERA.T + [0.0, 0.0, 3.0]
    out, tf = camera_to_world(cam)
    assert np.abs(out[:, [J["left_hip"], J["right_hip"]], 1]).max() < 0.03  # (the trunk leans 4.6 deg)
    assert tf.ankle_height < 0.08  # the heels rest above the floor: the hips and knees decide
    assert "other joints" in tf.floor


def test_floor_keeps_bodies_above_it():
    """Most frames planted, a few deep outliers: the floor is lowered so that no more than 4% sink."""
    world = walk_world(100)
    world[::10, 3, 1] -= 0.3  # every tenth frame the right ankle dips 30 cm (a bad guess)
    up = np.array([0.0, 1.0, 0.0])
    floor, text = floor_height(world, up, 30.0, ANKLE_HEIGHT)
    lowest = (world[..., 1] - floor).min(axis=1)
    assert (lowest < -0.05).mean() <= 0.05 and "lowered" in text


def test_transform_inverse_and_turn():
    world = walk_world(60)
    r_cw, centre = camera_pose()
    cam = world_to_camera(world, r_cw, centre)
    out, tf = camera_to_world(cam)
    np.testing.assert_allclose(tf.to_camera(out), cam, atol=1e-9)
    turned = tf.turned(math.pi / 2)
    out2 = turned.apply(cam)
    np.testing.assert_allclose(out2[..., 1], out[..., 1], atol=1e-9)  # the floor stays
    np.testing.assert_allclose(out2[..., 0], out[..., 2], atol=1e-9)  # x <- z after a quarter turn
    np.testing.assert_allclose(out2[..., 2], -out[..., 0], atol=1e-9)


def test_bad_shapes_raise():
    with pytest.raises(PoseDataError, match=r"\(T, 17, 3\)"):
        camera_to_world(np.zeros((10, 16, 3)))
    bad = np.zeros((20, 17, 3))
    bad[3, 2, 1] = np.nan
    with pytest.raises(PoseDataError, match="non-finite"):
        camera_to_world(bad)
    with pytest.raises(PoseDataError, match="seen flags"):
        camera_to_world(np.ones((20, 17, 3)), seen=np.ones((19, 17), bool))
