"""Masks: origins kept apart, confidence and missing-input masking, user ranges and the CLI mask spec."""

from __future__ import annotations

import numpy as np
import pytest

from mpm_core.engine.masks import (
    DEFAULT_CONFIDENCE_THRESHOLD,
    JOINT_GROUPS,
    Mask,
    apply_mask_specs,
    joint_indices,
    parse_mask_spec,
)
from mpm_core.errors import PoseDataError
from mpm_core.sequence import PoseSequence2D
from mpm_core.skeleton import H36M_JOINTS


def _seq(frames: int = 6) -> PoseSequence2D:
    rng = np.random.default_rng(0)
    kp = rng.uniform(100, 500, (frames, 17, 2)).astype(np.float32)
    scores = np.full((frames, 17), 0.9, np.float32)
    scores[1, 3] = 0.1  # low confidence
    scores[2, 5] = 0.29
    kp[4, 7] = np.nan  # non-finite input: missing
    visible = np.ones((frames, 17), bool)
    visible[5, 0] = False  # reported missing
    return PoseSequence2D(kp, scores, visible, image_size=(640, 480))


def test_from_sequence_keeps_origins_apart():
    mask = Mask.from_sequence(_seq(), 0.3)
    assert mask.low_confidence[1, 3] and mask.low_confidence[2, 5]
    assert mask.missing[4, 7] and mask.missing[5, 0]
    assert not mask.user.any()
    assert not (mask.missing & mask.low_confidence).any()  # a missing joint is counted as missing only
    assert mask.low_confidence.sum() == 2 and mask.missing.sum() == 2
    np.testing.assert_array_equal(mask.combined, mask.low_confidence | mask.missing)


def test_threshold_zero_disables_confidence_masking_and_default_is_used():
    seq = _seq()
    assert not Mask.from_sequence(seq, 0.0).low_confidence.any()
    default = Mask.from_sequence(seq)
    assert default.threshold == DEFAULT_CONFIDENCE_THRESHOLD
    assert default == Mask.from_sequence(seq, DEFAULT_CONFIDENCE_THRESHOLD)
    assert Mask.from_sequence(seq, 0.2).low_confidence.sum() == 1  # only the 0.1 joint


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "abc"])
def test_bad_threshold_raises(bad):
    with pytest.raises(PoseDataError, match="threshold"):
        Mask.from_sequence(_seq(), bad)


def test_from_sequence_needs_h36m():
    seq = PoseSequence2D(np.zeros((3, 17, 2), np.float32), layout="coco17")
    with pytest.raises(PoseDataError, match="h36m17"):
        Mask.from_sequence(seq, 0.3)
    Mask.from_sequence(seq.to_h36m(), 0.3)  # the converted one is fine


def test_user_range_by_name_group_and_index_returns_new_mask():
    base = Mask.from_sequence(_seq(), 0.3)
    edited = base.with_user_range(["left_wrist"], 1, 4)
    assert not base.user.any()  # the original is unchanged (undo keeps it)
    li = H36M_JOINTS.index("left_wrist")
    assert edited.user[1:4, li].all() and edited.user.sum() == 3
    arm = base.with_user_range("right_arm", 0, 2)
    assert arm.user.sum() == 2 * len(JOINT_GROUPS["right_arm"])
    assert base.with_user_range([0, 16], 0, 1).user[0, [0, 16]].all()
    everything = base.with_user_range("all", 0, base.num_frames)
    assert everything.combined.all()


def test_unhide_clears_only_the_user_mask():
    base = Mask.from_sequence(_seq(), 0.3).with_user_range("all", 0, 6)
    cleared = base.with_user_range("all", 0, 6, hidden=False)
    assert not cleared.user.any()
    assert cleared.combined[1, 3] and cleared.combined[4, 7]  # automatic masks stay


def test_with_threshold_keeps_user_edits():
    seq = _seq()
    mask = Mask.from_sequence(seq, 0.3).with_user_range("head", 0, 2)
    relaxed = mask.with_threshold(seq, 0.0)
    assert not relaxed.low_confidence.any()
    np.testing.assert_array_equal(relaxed.user, mask.user)
    assert relaxed.threshold == 0.0


@pytest.mark.parametrize("start,stop", [(-1, 3), (3, 3), (0, 7), (5, 2)])
def test_bad_user_range_raises(start, stop):
    with pytest.raises(PoseDataError, match="frame range"):
        Mask.empty(6).with_user_range("pelvis", start, stop)


def test_mask_shape_is_checked():
    with pytest.raises(PoseDataError, match="shape"):
        Mask(np.zeros((4, 16), bool), np.zeros((4, 16), bool), np.zeros((4, 16), bool))
    with pytest.raises(PoseDataError, match="differ"):
        Mask(np.zeros((4, 17), bool), np.zeros((5, 17), bool), np.zeros((4, 17), bool))


def test_unknown_joint_lists_known_ones():
    with pytest.raises(PoseDataError, match="left_wrist"):
        joint_indices(["left_pinky"])
    with pytest.raises(PoseDataError, match="outside"):
        joint_indices([17])


@pytest.mark.parametrize(
    "spec,joints,start,stop",
    [
        ("left_wrist:10-50", ["left_wrist"], 10, 51),
        ("LEFT_WRIST : 3 - 3", ["left_wrist"], 3, 4),
        ("left_arm:0-9", list(JOINT_GROUPS["left_arm"]), 0, 10),
        ("pelvis,head:5", ["pelvis", "head"], 5, 6),
        ("all:7-", list(H36M_JOINTS), 7, None),
    ],
)
def test_parse_mask_spec(spec, joints, start, stop):
    indices, got_start, got_stop = parse_mask_spec(spec)
    assert indices == sorted(H36M_JOINTS.index(j) for j in joints)
    assert (got_start, got_stop) == (start, stop)


@pytest.mark.parametrize(
    "spec,problem",
    [
        ("left_wrist", "JOINT:START-END"),
        ("left_wrist:a-b", "JOINT:START-END"),
        ("left_wrist:-5", "JOINT:START-END"),
        (":1-2", "JOINT:START-END"),
        ("left_wrist:9-3", "before"),
        ("left_pinky:1-2", "unknown joint"),
        ("pelvis,:1-2", "empty joint"),
    ],
)
def test_bad_mask_spec_names_it(spec, problem):
    with pytest.raises(PoseDataError, match=problem) as info:
        parse_mask_spec(spec)
    assert "--mask" in str(info.value)


def test_apply_mask_specs_and_out_of_range():
    mask = apply_mask_specs(Mask.empty(20), ["left_wrist:2-4", "right_leg:15-"])
    assert mask.user[2:5, H36M_JOINTS.index("left_wrist")].all()
    assert mask.user[15:, H36M_JOINTS.index("right_knee")].all() and not mask.user[:15, 2].any()
    with pytest.raises(PoseDataError, match="outside"):
        apply_mask_specs(Mask.empty(20), ["pelvis:10-20"])
    with pytest.raises(PoseDataError, match="outside"):
        apply_mask_specs(Mask.empty(20), ["pelvis:20-"])


def test_forced_visible_overrides_low_confidence_only():
    seq = _seq()
    mask = Mask.from_sequence(seq, 0.3)
    forced = np.zeros_like(mask.user)
    forced[1, 3] = True  # low confidence: can be forced
    forced[4, 7] = True  # missing: forcing it has no effect
    forced[0, 0] = True  # visible anyway: nothing to force
    out = mask.with_forced(forced)
    assert out is not mask and not mask.forced.any()
    assert out.forced[1, 3] and not out.forced[4, 7] and not out.forced[0, 0]
    assert not out.combined[1, 3] and out.combined[4, 7] and out.combined[2, 5]
    # The user can still hide a forced joint; a new threshold keeps forcing where the joint is still low.
    assert out.with_user_range("left_hip", 1, 2).combined[1, 4]
    assert out.with_threshold(seq, 0.3).forced[1, 3]
    assert not out.with_threshold(seq, 0.05).forced[1, 3]
    assert out != mask and out == mask.with_forced(forced)


def test_with_rows_restores_a_span():
    mask = Mask.from_sequence(_seq(), 0.3)
    edited = mask.with_user_range("left_arm", 2, 4)
    restored = edited.with_rows(2, mask.user[2:4], mask.forced[2:4])
    assert restored == mask
    with pytest.raises(PoseDataError):
        mask.with_rows(5, np.zeros((3, 17), bool))


def test_invert_and_clear():
    mask = Mask.from_sequence(_seq(), 0.3).with_user_range("pelvis", 0, 2)
    inv = mask.inverted()
    # Everything the model saw is now hidden and vice versa, except missing joints, which stay hidden.
    np.testing.assert_array_equal(inv.combined, ~mask.combined | mask.missing)
    assert inv.inverted().combined.sum() == mask.combined.sum()
    cleared = inv.cleared()
    np.testing.assert_array_equal(cleared.combined, mask.low_confidence | mask.missing)


def test_random_joints_ratio_seed_and_range():
    mask = Mask.empty(50)
    a = mask.with_random_joints(0.3, seed=7, start=10, stop=40)
    b = mask.with_random_joints(0.3, seed=7, start=10, stop=40)
    c = mask.with_random_joints(0.3, seed=8, start=10, stop=40)
    assert a == b and a != c
    per_frame = a.user.sum(axis=1)
    assert (per_frame[10:40] == round(0.3 * 17)).all() and per_frame[:10].sum() == 0 and per_frame[40:].sum() == 0
    for bad in (-0.1, 1.5):
        with pytest.raises(PoseDataError):
            mask.with_random_joints(bad, seed=0)
