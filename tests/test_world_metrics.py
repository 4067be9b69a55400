"""World-frame figures: plausibility (what the real-input tests assert), alignment, up error, skate, penetration."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from mpm_core.engine.world_metrics import align_on_floor, foot_skate, penetration, plausibility, up_error_deg
from tests.synthetic_motion import ANKLE_HEIGHT, planted_walk

FPS = 30.0


def test_plausibility_of_a_good_and_of_bad_motion():
    world, _ = planted_walk(90, FPS)
    good = plausibility(world, FPS, ANKLE_HEIGHT)
    assert good.head_above_pelvis == 1.0 and good.above_floor == 1.0 and good.grounded == 1.0
    assert good.grounded_frames > 30 and good.max_pelvis_speed == pytest.approx(1.1, rel=0.1)
    lying = world[..., [0, 2, 1]] * [1.0, -1.0, 1.0]  # turned onto its back, through the floor
    bad = plausibility(lying, FPS, ANKLE_HEIGHT)
    assert bad.head_above_pelvis < 0.05 and bad.above_floor < 0.05
    floating = world + [0.0, 0.2, 0.0]
    assert plausibility(floating, FPS, ANKLE_HEIGHT).grounded == 0.0
    hidden = np.zeros((90, 17), bool)
    hidden[:, [3, 6]] = True  # no ankle seen: nothing to judge
    m = plausibility(floating, FPS, ANKLE_HEIGHT, hidden)
    assert m.grounded_frames == 0 and math.isnan(m.grounded)
    jumpy = world.copy()
    jumpy[45:] += [1.0, 0.0, 0.0]  # a 1 m jump in one frame: 30 m/s
    assert plausibility(jumpy, FPS, ANKLE_HEIGHT).max_pelvis_speed > 25.0


def test_alignment_on_the_floor_undoes_a_turn_and_a_shift():
    world, _ = planted_walk(60, FPS)
    turned = world @ Rotation.from_euler("y", 40, degrees=True).as_matrix().T + [3.0, 0.0, -2.0]
    np.testing.assert_allclose(align_on_floor(turned, world), world, atol=1e-9)
    assert up_error_deg(np.array([0.0, 1.0, 0.0]), np.array([0.0, 1.0, 1.0])) == pytest.approx(45.0)


def test_skate_and_penetration():
    world, contacts = planted_walk(90, FPS)
    assert foot_skate(world, contacts, FPS) < 15.0  # planted feet do not move (central differences at the edges)
    sliding = world.copy()
    sliding[:, [3, 6], 0] += np.arange(90)[:, None] * (0.1 / FPS)  # both ankles slide at 0.1 m/s
    inner = contacts & np.roll(contacts, 1, axis=0) & np.roll(contacts, -1, axis=0)  # away from the stance edges
    assert foot_skate(world, inner, FPS) < 1e-6
    assert foot_skate(sliding, inner, FPS) == pytest.approx(100.0, abs=1e-6)
    assert math.isnan(foot_skate(world, np.zeros((90, 2), bool), FPS))
    depth, share = penetration(world - [0.0, 0.05, 0.0], ANKLE_HEIGHT)
    assert share == 1.0 and depth == pytest.approx(50.0)  # the planted soles 5 cm under the floor
    assert penetration(world, ANKLE_HEIGHT) == pytest.approx((0.0, 0.0), abs=1e-9)
