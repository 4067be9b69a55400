"""Stature by named ratios, guessed lower bodies kept upright, and grounding (synthetic)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mpm_core.engine.grounding import ground_body
from mpm_core.engine.stature import (
    ANKLE_HEIGHT_RATIO,
    EYE_HEIGHT_RATIO,
    check_height,
    height_scale,
    standing_chain,
    stature,
)
from mpm_core.engine.upright import MAX_HIDDEN_TRUNK_TILT_DEG, upright_hidden_lower_body
from mpm_core.engine.world import LEVEL_CAMERA, support_heights
from mpm_core.errors import PoseDataError
from tests.synthetic_motion import ANKLE_HEIGHT, HEAD, NECK, SHIN, SPINE, THIGH, THORAX, J, planted_walk, walk_world

FPS = 30.0


def test_stature_from_the_standing_chain():
    world = walk_world(60)
    chain = standing_chain(world)
    # Leg (thigh + shin) + pelvis-spine + spine-thorax + thorax-head (neck and head bones, bent at the nose).
    thorax_head = np.median(np.linalg.norm(world[:, J["head"]] - world[:, J["thorax"]], axis=1))
    assert chain == pytest.approx(THIGH + SHIN + SPINE + THORAX + thorax_head, rel=1e-6)
    assert thorax_head < NECK + HEAD
    assert stature(world) == pytest.approx(chain / (EYE_HEIGHT_RATIO - ANKLE_HEIGHT_RATIO))
    # Pose-independent: a crouched copy (knees bent) has the same stature.
    assert stature(world * 1.1) == pytest.approx(1.1 * stature(world))
    assert height_scale(world, 1.9) * stature(world) == pytest.approx(1.9)
    for bad in (0.3, 3.5, float("nan"), "tall"):
        with pytest.raises(PoseDataError, match="height"):
            check_height(bad)


def test_seen_frames_give_the_lengths():
    world = walk_world(60)
    seen = np.ones((60, 17), bool)
    bent = world.copy()
    bent[:30, J["left_knee"]] += [0.0, 0.0, 0.3]  # a wrong guess where the knee was hidden
    seen[:30, J["left_knee"]] = False
    assert standing_chain(bent, seen) == pytest.approx(standing_chain(world), rel=1e-6)


def _lying_guess(frames: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """A seated upper body (camera frame) whose hidden pelvis and legs were guessed lying toward the camera."""
    pose = walk_world(1)[0] @ LEVEL_CAMERA.T  # camera frame: y down, z forward
    pose = pose - pose[0]
    lower = [J[n] for n in ("pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle")]
    lower += [J["spine"]]
    thorax = pose[J["thorax"]]
    turn = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])  # 90 deg about x
    guessed = pose.copy()
    guessed[lower] = (pose[lower] - thorax) @ turn.T + thorax
    guessed = guessed - guessed[0]
    hidden = np.zeros((frames, 17), bool)
    hidden[:, lower] = True
    return np.repeat(guessed[None], frames, axis=0), hidden


def test_guessed_lower_body_is_turned_upright():
    poses, hidden = _lying_guess()
    up = np.array([0.0, -1.0, 0.0])  # a level camera
    trunk = poses[0, J["thorax"]] - poses[0, J["pelvis"]]
    assert math.degrees(math.acos(trunk @ up / np.linalg.norm(trunk))) > 60  # lying
    out, moved = upright_hidden_lower_body(poses, hidden, up)
    trunk = out[:, J["thorax"]] - out[:, J["pelvis"]]
    tilt = np.degrees(np.arccos(trunk @ up / np.linalg.norm(trunk, axis=1)))
    assert np.allclose(tilt, MAX_HIDDEN_TRUNK_TILT_DEG, atol=1e-6)
    assert (out[:, J["head"]] @ up > out[:, J["pelvis"]] @ up).all()
    np.testing.assert_array_equal(moved, hidden)
    np.testing.assert_allclose(out[:, 0], 0.0, atol=1e-12)  # re-rooted at the new pelvis
    # Seen joints keep their place relative to each other.
    seen = ~hidden[0]
    rel_in = poses[:, seen] - poses[:, [J["thorax"]]]
    rel_out = out[:, seen] - out[:, [J["thorax"]]]
    np.testing.assert_allclose(rel_out, rel_in, atol=1e-12)
    # A seen pelvis is never moved, and an upright guess is left alone.
    untouched, none = upright_hidden_lower_body(poses, np.zeros_like(hidden), up)
    np.testing.assert_array_equal(untouched, poses)
    assert not none.any()


def test_grounding_removes_drift_and_keeps_a_jump():
    world, contacts = planted_walk(150, FPS)
    drift = 0.05 * np.sin(np.arange(150) / FPS * 2 * np.pi * 0.4)  # a depth error seen as height, +-5 cm
    drifted = world + drift[:, None, None] * [0.0, 1.0, 0.0]
    grounded = ground_body(drifted, FPS, ANKLE_HEIGHT)
    lowest, _ = support_heights(grounded[..., 1], ANKLE_HEIGHT)
    err = np.abs(lowest[contacts.any(axis=1)])
    print(f"support height after grounding: median {np.median(err) * 1000:.1f} mm, max {err.max() * 1000:.1f} mm")
    assert np.median(err) < 0.01 and err.max() < 0.03
    # A standing jump: 0.4 s of ballistic flight between still frames keeps its height.
    stand = np.repeat(world[:1], 60, axis=0)
    t = (np.arange(60) - 24) / FPS
    flight = np.where((t >= 0) & (t <= 0.4), 0.5 * 9.81 * t * (0.4 - t), 0.0)
    jump = stand + flight[:, None, None] * [0.0, 1.0, 0.0]
    kept = ground_body(jump, FPS, ANKLE_HEIGHT)
    apex = np.argmax(flight)
    assert kept[apex, 0, 1] - kept[0, 0, 1] == pytest.approx(flight[apex], abs=0.03)
    # Hanging in the air for two seconds is not a jump: it is brought down.
    hang = stand + np.where((t >= -0.5) & (t <= 1.5), 0.3, 0.0)[:, None, None] * [0.0, 1.0, 0.0]
    down = ground_body(hang, FPS, ANKLE_HEIGHT)
    assert (support_heights(down[..., 1], ANKLE_HEIGHT)[0][20:50] < 0.2).all()
