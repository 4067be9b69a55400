"""Seated, kneeling and floor legs grafted onto standing motion (``mpm_core.model.seated``)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from mpm_core.model.augment import augment_3d
from mpm_core.model.config import AugmentConfig
from mpm_core.model.seated import SEAT_STYLES, seat_window, trunk_lean_deg
from mpm_core.skeleton import H36M_JOINTS
from tests.synthetic_motion import SHIN, THIGH, walk_world

J = {name: i for i, name in enumerate(H36M_JOINTS)}
UPPER = [J[n] for n in H36M_JOINTS[7:]]
LEGS = (("right_hip", "right_knee", "right_ankle"), ("left_hip", "left_knee", "left_ankle"))


@pytest.fixture(scope="module")
def walk():
    return walk_world(81).astype(np.float32)


def _facing(world: np.ndarray) -> np.ndarray:
    """(T, 3) unit direction of travel of the walker (its facing, found without the module's convention)."""
    v = np.gradient(world[:, J["pelvis"]], axis=0)
    v[:, 1] = 0
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("style", list(SEAT_STYLES))
def test_legs_keep_their_lengths_and_the_upper_body_its_motion(walk, style):
    out = seat_window(np.random.default_rng(3), walk, style)
    assert out.shape == walk.shape and np.isfinite(out).all()
    for hip, knee, ankle in LEGS:
        thigh = np.linalg.norm(out[:, J[knee]] - out[:, J[hip]], axis=1)
        shin = np.linalg.norm(out[:, J[ankle]] - out[:, J[knee]], axis=1)
        np.testing.assert_allclose(thigh, THIGH, atol=2e-3)
        np.testing.assert_allclose(shin, SHIN, atol=2e-3)
    rel_in = walk[:, UPPER] - walk[:, :1]
    rel_out = out[:, UPPER] - out[:, :1]
    np.testing.assert_allclose(rel_out, rel_in, atol=1e-5)
    # The floor stays the lowest point, and the pelvis does not walk away.
    assert out[..., 1].min() == pytest.approx(walk[..., 1].min(), abs=1e-5)
    travel_in = np.ptp(walk[:, 0, [0, 2]], axis=0).max()
    assert np.ptp(out[:, 0, [0, 2]], axis=0).max() <= 0.11 * travel_in + 1e-6


def test_cross_legged_sits_low_with_knees_forward_and_wide_and_shins_folded_in(walk):
    out = seat_window(np.random.default_rng(5), walk, "cross_legged")
    floor = out[..., 1].min()
    assert np.all(out[:, 0, 1] - floor < 0.25)  # the pelvis near the floor
    facing = _facing(walk)
    side = out[:, J["left_hip"]] - out[:, J["right_hip"]]
    side /= np.linalg.norm(side, axis=1, keepdims=True)
    for hip, knee, _ankle in LEGS:
        ahead = np.sum((out[:, J[knee]] - out[:, J[hip]]) * facing, axis=1)
        assert np.all(ahead > 0.1), f"{knee} is not in front of its hip"
    hip_width = np.linalg.norm(out[:, J["left_hip"]] - out[:, J["right_hip"]], axis=1)
    knee_width = np.sum((out[:, J["left_knee"]] - out[:, J["right_knee"]]) * side, axis=1)
    assert np.all(knee_width > 1.5 * hip_width)  # knees splayed
    # The shins fold inwards: each ankle lies well inside its knee, near or across the midline.
    mid = out[:, J["pelvis"]]
    for (_, knee, ankle), outward in zip(LEGS, (-1.0, 1.0)):
        ankle_out = outward * np.sum((out[:, J[ankle]] - mid) * side, axis=1)
        knee_out = outward * np.sum((out[:, J[knee]] - mid) * side, axis=1)
        assert np.all(ankle_out < 0.15) and np.all(knee_out - ankle_out > 0.25)


@pytest.mark.parametrize("style", ["kneel_sit", "kneel_up"])
def test_kneeling_puts_the_knees_on_the_floor_below_or_before_the_hips(walk, style):
    out = seat_window(np.random.default_rng(7), walk, style)
    floor = out[..., 1].min()
    facing = _facing(walk)
    for hip, knee, ankle in LEGS:
        assert np.all(out[:, J[knee], 1] - floor < 0.12)
        assert np.all(out[:, J[hip], 1] > out[:, J[knee], 1] + 0.15)
        behind = np.sum((out[:, J[ankle]] - out[:, J[knee]]) * facing, axis=1)
        assert np.all(behind < -0.2), f"{ankle} is not behind its knee"


def test_chair_sits_at_shin_height(walk):
    out = seat_window(np.random.default_rng(9), walk, "chair")
    height = out[:, 0, 1] - out[..., 1].min()
    assert np.all(height > 0.8 * SHIN) and np.all(height < SHIN + 0.35)


def test_a_lying_window_keeps_its_legs(walk):
    lying = walk.copy()
    lying[..., [1, 2]] = walk[..., [2, 1]]  # trunk horizontal
    assert trunk_lean_deg(lying) > 60
    np.testing.assert_array_equal(seat_window(np.random.default_rng(0), lying), lying)


def test_augment_seats_the_share_asked_for(walk):
    config = replace(AugmentConfig(), mirror_prob=0.0, bone_scale_std=0.0, body_scale=[1.0, 1.0])
    rng = np.random.default_rng(11)
    standing = walk[:, 0, 1].mean() - walk[..., 1].min()
    for prob, expect in ((0.0, 0), (1.0, 20)):
        low = 0
        for _ in range(20):
            out = augment_3d(rng, walk, replace(config, seated_prob=prob))
            low += int(out[:, 0, 1].mean() - out[..., 1].min() < 0.8 * standing)
        assert low == expect
