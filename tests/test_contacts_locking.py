"""Foot contacts from 3D, and foot locking with two-bone leg IK (synthetic walker whose stance feet stand still)."""

from __future__ import annotations

import numpy as np
import pytest

from mpm_core.engine.contacts import FOOT_ANKLES, contact_runs, detect_contacts
from mpm_core.engine.foot_lock import LEGS, MAX_HIP_DROP_M, lock_feet, two_bone_ik
from mpm_core.engine.world_metrics import foot_skate
from mpm_core.errors import PoseDataError
from tests.synthetic_motion import ANKLE_HEIGHT, planted_walk

FPS = 30.0


def test_contacts_follow_the_stance_phases():
    world, truth = planted_walk(150, FPS)
    found = detect_contacts(world, FPS, ANKLE_HEIGHT)
    agree = (found == truth).mean()
    print(f"contact agreement with the walker's stance phases: {agree:.1%}")
    assert agree > 0.9
    assert all(b - a >= 3 for _, a, b in contact_runs(found))  # no flicker
    # A foot high above the floor is never in contact, however still.
    lifted = world.copy()
    lifted[:, FOOT_ANKLES[0], 1] += 0.3
    assert not detect_contacts(lifted, FPS, ANKLE_HEIGHT)[:, 0].any()


def test_two_bone_ik_reaches_and_keeps_lengths():
    rng = np.random.default_rng(0)
    n = 200
    hip = rng.normal(0, 0.1, (n, 3)) + [0, 0.9, 0]
    knee = hip + [0, -0.45, 0.1]
    ankle = knee + [0, -0.44, -0.05]
    target = hip + rng.normal(0, 1, (n, 3)) * [0.2, 0.05, 0.2] + [0, -0.75, 0]
    reach = np.linalg.norm(knee - hip, axis=1) + np.linalg.norm(ankle - knee, axis=1)
    keep = np.linalg.norm(target - hip, axis=1) < 0.98 * reach  # reachable ones
    hip, knee, ankle, target = hip[keep], knee[keep], ankle[keep], target[keep]
    assert keep.sum() > 100
    new_knee, new_ankle = two_bone_ik(hip, knee, ankle, target)
    np.testing.assert_allclose(new_ankle, target, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(new_knee - hip, axis=1), np.linalg.norm(knee - hip, axis=1), atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(new_ankle - new_knee, axis=1), np.linalg.norm(ankle - knee, axis=1))
    # The knee bends the way it did: on the same side of the hip-target line as the original knee.
    axis = (target - hip) / np.linalg.norm(target - hip, axis=1, keepdims=True)
    perp = lambda k: (k - hip) - np.sum((k - hip) * axis, axis=1, keepdims=True) * axis  # noqa: E731
    assert (np.sum(perp(new_knee) * perp(knee), axis=1) > 0).all()
    # Out of reach: a straight leg toward the target.
    far = hip + [0.0, -2.0, 0.0]
    _, reached = two_bone_ik(hip, knee, ankle, far)
    length = np.linalg.norm(reached - hip, axis=1)
    assert (length <= reach[keep]).all() and (length > 0.99 * reach[keep]).all()
    np.testing.assert_allclose((reached - hip) / length[:, None], np.broadcast_to([0.0, -1.0, 0.0], hip.shape))


def test_locking_plants_skating_feet():
    world, truth = planted_walk(150, FPS)
    rng = np.random.default_rng(1)
    noisy = world.copy()
    # A model's feet skate: the whole body drifts back and forth by a few cm and every joint jitters.
    noisy += (0.04 * np.sin(np.arange(150) / FPS * 2 * np.pi * 0.7))[:, None, None] * [1.0, 0.0, 0.5]
    noisy += rng.normal(0.0, 0.004, noisy.shape)
    contacts = detect_contacts(noisy, FPS, ANKLE_HEIGHT)
    locked = lock_feet(noisy, contacts, FPS, ANKLE_HEIGHT)
    before, after = foot_skate(noisy, truth, FPS), foot_skate(locked, truth, FPS)
    print(f"foot skate in the stance frames: {before:.0f} mm/s before locking, {after:.0f} mm/s after")
    assert after < 0.5 * before and after < 40.0
    # Legs keep their bone lengths; the upper body is untouched (or lowered as a whole, within the limit).
    for hip, knee, _ in LEGS:
        np.testing.assert_allclose(
            np.linalg.norm(locked[:, knee] - locked[:, hip], axis=1),
            np.linalg.norm(noisy[:, knee] - noisy[:, hip], axis=1),
            atol=1e-9,
        )
    drop = noisy[:, 10] - locked[:, 10]
    np.testing.assert_allclose(drop[:, [0, 2]], 0.0, atol=1e-12)
    assert (drop[:, 1] >= -1e-12).all() and (drop[:, 1] <= MAX_HIP_DROP_M + 1e-9).all()
    # Planted ankles stand on the floor: never lower than a planted ankle's height.
    held = locked[:, FOOT_ANKLES, 1][contacts]
    assert held.min() >= ANKLE_HEIGHT - 1e-9 and np.median(held) == pytest.approx(ANKLE_HEIGHT, abs=0.01)


def test_nothing_planted_changes_nothing():
    world, _ = planted_walk(40, FPS)
    out = lock_feet(world, np.zeros((40, 2), bool), FPS, ANKLE_HEIGHT)
    np.testing.assert_array_equal(out, world)
    with pytest.raises(PoseDataError, match="contacts"):
        lock_feet(world, np.zeros((39, 2), bool), FPS, ANKLE_HEIGHT)
    with pytest.raises(PoseDataError, match=r"\(T, 17, 3\)"):
        detect_contacts(np.zeros((5, 16, 3)), FPS, ANKLE_HEIGHT)
