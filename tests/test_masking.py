"""Mask samplers: ratios, determinism, structure."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mpm_core.model import masking
from mpm_core.skeleton import H36M_JOINTS


def test_spatio_temporal_ratio_is_the_papers():
    jm, fm = masking.spatio_temporal(200, 81, 17, rng=0)
    assert jm.shape == (200, 81, 17) and fm.shape == (200, 81)
    assert jm.dtype == bool and fm.dtype == bool
    hidden_frames = round(0.6 * 81)
    assert (fm.sum(1) == hidden_frames).all()
    # Exactly 5 joints in every visible frame, none flagged inside hidden frames.
    assert (jm.sum(-1)[~fm] == 5).all()
    assert not jm[fm].any()
    expected = hidden_frames / 81 + (1 - hidden_frames / 81) * 5 / 17
    assert masking.mask_ratio(jm, fm) == pytest.approx(expected)
    assert masking.mask_ratio(jm, fm) == pytest.approx(0.6 + 0.4 * 5 / 17, abs=0.005)  # 71.8 %


def test_spatio_temporal_positions_are_spread():
    jm, fm = masking.spatio_temporal(2000, 20, 17, rng=1)
    # Each frame position and each joint is hidden about equally often (uniform sampling).
    assert np.allclose(fm.mean(0), 0.6, atol=0.05)
    visible_rows = jm[~fm]
    assert np.allclose(visible_rows.mean(0), 5 / 17, atol=0.03)


def test_configurable_ratio_and_at_least_one_visible_frame():
    jm, fm = masking.spatio_temporal(10, 9, 17, frame_ratio=0.99, joints_per_frame=0, rng=2)
    assert (fm.sum(1) == 8).all() and not jm.any()
    jm, fm = masking.spatio_temporal(10, 9, 17, frame_ratio=0.0, joints_per_frame=17, rng=2)
    assert not fm.any() and jm.all()


def test_seed_determinism_and_variation():
    a = masking.spatio_temporal(4, 81, 17, rng=7)
    b = masking.spatio_temporal(4, 81, 17, rng=7)
    c = masking.spatio_temporal(4, 81, 17, rng=8)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])
    ga, gb = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert np.array_equal(masking.limb(4, 30, rng=ga)[0], masking.limb(4, 30, rng=gb)[0])
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    assert np.array_equal(masking.mixed(8, 30, 17, rng=g1)[0], masking.mixed(8, 30, 17, rng=g2)[0])


def test_limb_masks_hide_exactly_a_limbs_joints_over_a_stretch():
    jm, fm = masking.limb(300, 40, 17, min_frames=5, max_frames=12, rng=4)
    assert not fm.any()
    limb_sets = {frozenset(v) for v in masking.LIMB_INDICES.values()}
    for b in range(300):
        joints = frozenset(np.flatnonzero(jm[b].any(0)).tolist())
        assert joints in limb_sets
        frames = np.flatnonzero(jm[b].any(1))
        assert 5 <= len(frames) <= 12 and frames[-1] - frames[0] + 1 == len(frames)  # contiguous
        # Every limb joint is hidden in every frame of the stretch.
        assert jm[b][np.ix_(frames, sorted(joints))].all()
    assert masking.LIMBS["left_arm"] == ("left_shoulder", "left_elbow", "left_wrist")
    assert [H36M_JOINTS[i] for i in masking.LIMB_INDICES["right_leg"]] == ["right_hip", "right_knee", "right_ankle"]


def test_limb_choice_and_count():
    jm, _ = masking.limb(50, 10, limbs=["left_leg"], min_frames=10, rng=0)
    assert np.array_equal(np.flatnonzero(jm.any((0, 1))), sorted(masking.LIMB_INDICES["left_leg"]))
    assert jm[:, :, list(masking.LIMB_INDICES["left_leg"])].all()
    jm, _ = masking.limb(50, 10, num_limbs=2, min_frames=10, rng=0)
    assert (jm.sum(-1) == 6).all()
    with pytest.raises(ValueError, match="unknown limb"):
        masking.limb(1, 10, limbs=["tail"])
    with pytest.raises(ValueError, match="H36M-17"):
        masking.limb(1, 10, J=25)


def test_held_joints_same_joints_across_a_stretch():
    jm, fm = masking.held_joints(200, 30, 17, num_joints=(2, 4), min_frames=3, max_frames=8, rng=9)
    assert not fm.any()
    for b in range(200):
        frames = np.flatnonzero(jm[b].any(1))
        assert 3 <= len(frames) <= 8 and frames[-1] - frames[0] + 1 == len(frames)
        rows = jm[b, frames]
        assert (rows == rows[0]).all()  # the same joints held in every frame of the stretch
        assert 2 <= rows[0].sum() <= 4


def test_frame_block_is_contiguous_whole_frames():
    jm, fm = masking.frame_block(100, 27, 17, min_frames=4, max_frames=10, rng=11)
    assert not jm.any()
    for b in range(100):
        frames = np.flatnonzero(fm[b])
        assert 4 <= len(frames) <= 10 and frames[-1] - frames[0] + 1 == len(frames)


def test_score_driven_threshold_and_all_hidden_frames():
    scores = np.full((2, 4, 17), 0.9, np.float32)
    scores[0, 1, 3] = 0.1
    scores[0, 2, 5] = np.nan
    scores[1, 3, :] = 0.0
    jm, fm = masking.score_driven(scores, threshold=0.3)
    assert jm.shape == (2, 4, 17) and fm.shape == (2, 4)
    assert jm[0, 1, 3] and jm[0, 2, 5] and jm.sum() == 2
    assert fm.tolist() == [[False] * 4, [False, False, False, True]]
    jm2, fm2 = masking.score_driven(torch.from_numpy(scores[0]), threshold=0.95)
    assert jm2.shape == (4, 17) and fm2.all() and not jm2.any()


def test_mixed_covers_every_sampler():
    jm, fm = masking.mixed(400, 30, 17, rng=12)
    per_sample = masking.mask_ratio(jm[:1], fm[:1])
    assert 0 <= per_sample <= 1
    assert fm.any(1).sum() > 0 and (~fm.any(1) & jm.any((1, 2))).sum() > 0
    jm, fm = masking.mixed(20, 30, 25, rng=12)  # no limb masks off H36M-17
    assert jm.shape == (20, 30, 25)
    with pytest.raises(ValueError, match="unknown sampler"):
        masking.mixed(2, 3, 17, weights={"nope": 1.0})


def test_mask_ratio_counts_union():
    jm = np.zeros((1, 2, 4), bool)
    fm = np.array([[True, False]])
    jm[0, 1, 0] = True
    jm[0, 0, 1] = True  # inside a hidden frame: counted once
    assert masking.mask_ratio(jm, fm) == pytest.approx(5 / 8)
    assert masking.mask_ratio(torch.from_numpy(jm)) == pytest.approx(2 / 8)
