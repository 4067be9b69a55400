"""Time series for the plots: joint tracks, smoothing with gaps, bone lengths over time, probe errors over time."""

from __future__ import annotations

import numpy as np
import pytest

from mpm_core.engine.cleanup import bone_lengths, lowpass_filter, one_euro_filter
from mpm_core.engine.probe import ProbeErrors
from mpm_core.engine.series import (
    all_bones,
    bone_length_series,
    joint_error_series,
    joint_track,
    length_spread,
    limb_bones,
    mpjpe_series,
    smooth_track,
)
from mpm_core.errors import PoseDataError
from mpm_core.skeleton import H36M17, H36M_JOINTS
from tests.synthetic_motion import walk_world


def test_joint_track_by_index_and_name_is_a_copy():
    poses = np.arange(4 * 17 * 3, dtype=np.float64).reshape(4, 17, 3)
    track = joint_track(poses, "left_wrist")
    np.testing.assert_array_equal(track, poses[:, 13])
    track[0, 0] = -1.0
    assert poses[0, 13, 0] == 13 * 3  # the input is untouched
    np.testing.assert_array_equal(joint_track(poses, 0), poses[:, 0])
    # Relative to the pelvis: every joint of this array is 3 * index further along each axis than the pelvis.
    np.testing.assert_array_equal(joint_track(poses, 13, relative_to="pelvis"), np.full((4, 3), 39.0))
    with pytest.raises(PoseDataError):
        joint_track(poses, 17)


def test_named_bones_are_the_right_joints():
    bones = limb_bones()
    assert bones["left forearm"] == (H36M_JOINTS.index("left_elbow"), H36M_JOINTS.index("left_wrist"))
    assert bones["right shin"] == (H36M_JOINTS.index("right_knee"), H36M_JOINTS.index("right_ankle"))
    assert len(bones) == 8 and sum(n.startswith("left") for n in bones) == 4
    assert sorted(all_bones().values()) == sorted(H36M17.bones) and len(all_bones()) == 16


def test_bone_lengths_of_a_3_4_5_triangle_and_nan_ends():
    poses = np.zeros((3, 17, 3))
    poses[:, 12] = [0.0, 0.0, 0.0]  # left elbow
    poses[:, 13] = [[3.0, 4.0, 0.0], [0.0, 0.0, 2.0], [np.nan, 0.0, 0.0]]  # left wrist
    series = bone_length_series(poses, [(12, 13), (0, 1)])
    assert series.shape == (3, 2)
    np.testing.assert_allclose(series[:2, 0], [5.0, 2.0])
    assert np.isnan(series[2, 0])
    np.testing.assert_array_equal(series[:, 1], 0.0)
    spread = length_spread(series)
    assert spread[0] == pytest.approx(1.5)  # std of {5, 2}, the NaN frame left out
    assert spread[1] == 0.0
    with pytest.raises(PoseDataError):
        bone_length_series(poses, [(12, 17)])


def test_bone_length_series_agrees_with_the_librarys_medians():
    poses = walk_world(50) + np.random.default_rng(1).normal(0.0, 0.01, (50, 17, 3))
    series = bone_length_series(poses, H36M17.bones)
    medians = bone_lengths(poses, symmetric=False)
    np.testing.assert_allclose(np.median(series, axis=0), [medians[c] for _p, c in H36M17.bones])


def test_smoothing_a_constant_keeps_it_and_matches_the_library():
    const = np.tile([[0.1, 1.0, -2.0]], (40, 1))
    np.testing.assert_allclose(smooth_track(const, 30.0), const)
    np.testing.assert_allclose(smooth_track(const, 30.0, "lowpass"), const, atol=1e-12)
    rng = np.random.default_rng(0)
    track = np.cumsum(rng.normal(0, 0.01, (60, 3)), axis=0)
    np.testing.assert_allclose(smooth_track(track, 50.0), one_euro_filter(track[:, None], 50.0)[:, 0])
    low = smooth_track(track, 50.0, "lowpass", 4.0)
    np.testing.assert_allclose(low, lowpass_filter(track[:, None], 50.0, 4.0)[:, 0])
    # Smoothing removes jitter: the frame-to-frame steps shrink.
    assert np.abs(np.diff(low, axis=0)).mean() < np.abs(np.diff(track, axis=0)).mean()


def test_smoothing_bridges_gaps_and_keeps_them_nan():
    track = np.tile(np.arange(10, dtype=np.float64)[:, None], (1, 3))  # a straight ramp
    track[4:6] = np.nan
    out = smooth_track(track, 25.0, "lowpass", 12.4)  # cut-off just under Nyquist: nearly the input
    assert np.isnan(out[4:6]).all() and np.isfinite(np.delete(out, [4, 5], axis=0)).all()
    # The filter saw the ramp bridged linearly: a ramp stays a ramp (zero-phase filter, linear signal).
    np.testing.assert_allclose(out[[0, 3, 6, 9], 0], [0, 3, 6, 9], atol=0.05)
    assert np.isnan(smooth_track(np.full((5, 3), np.nan), 25.0)).all()
    with pytest.raises(PoseDataError):
        smooth_track(track, 25.0, "median")


def test_error_series_read_the_probe_errors():
    err = np.array([[10.0] * 17, [20.0] * 17, [np.nan] * 17], np.float32)
    err[1, 13] = 50.0
    errors = ProbeErrors(
        mpjpe_mm=0.0,
        p_mpjpe_mm=0.0,
        per_frame_mm=np.array([10.0, (20.0 * 16 + 50.0) / 17, np.nan], np.float32),
        per_joint_mm=np.full(17, np.nan, np.float32),
        joint_error_mm=err,
    )
    np.testing.assert_array_equal(joint_error_series(errors, "left_wrist")[:2], [10.0, 50.0])
    assert np.isnan(joint_error_series(errors, 13)[2])
    np.testing.assert_allclose(mpjpe_series(errors)[:2], [10.0, (20.0 * 16 + 50.0) / 17])
