"""The pose sequence model: validation, masking of missing values, derived sequences."""

from __future__ import annotations

import numpy as np
import pytest

from mpm_core.errors import PoseDataError
from mpm_core.sequence import PoseSequence2D, PoseSequence3D


def test_non_finite_coordinates_become_masked_not_nan():
    kp = np.ones((4, 17, 2), np.float32)
    kp[1, 3] = np.nan
    kp[2, 5, 0] = np.inf
    seq = PoseSequence2D(kp, fps=25)
    assert not seq.visible[1, 3] and not seq.visible[2, 5]
    assert np.isfinite(seq.keypoints).all()
    assert seq.scores[1, 3] == 0 and seq.scores[0, 0] == 1
    assert np.isnan(kp[1, 3]).all(), "the caller's array is not modified"
    np.testing.assert_allclose(seq.missing_share()[3], 0.25)


def test_invisible_joints_are_zeroed_and_scored_zero():
    kp = np.full((2, 17, 3), 5.0, np.float32)
    vis = np.ones((2, 17), bool)
    vis[0, 0] = False
    seq = PoseSequence3D(kp, visible=vis, scores=np.full((2, 17), 0.7))
    assert (seq.joints[0, 0] == 0).all() and seq.scores[0, 0] == 0 and seq.scores[1, 0] == pytest.approx(0.7)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"keypoints": np.zeros((0, 17, 2))}, "zero frames"),
        ({"keypoints": np.zeros((3, 17, 3))}, r"shape \(T, J, 2\)"),
        ({"keypoints": np.zeros((3, 16, 2))}, "16 joints given for layout h36m17"),
        ({"keypoints": np.zeros((3, 17, 2)), "fps": -5}, r"fps -5(\.0)? is not in"),
        ({"keypoints": np.zeros((3, 17, 2)), "fps": 1e9}, "is not in"),
        ({"keypoints": np.zeros((3, 17, 2)), "fps": "fast"}, "is not a number"),
        ({"keypoints": np.zeros((3, 17, 2)), "image_size": (0, 10)}, "must be positive"),
        ({"keypoints": np.zeros((3, 17, 2)), "layout": "nope"}, "unknown layout"),
        ({"keypoints": np.zeros((3, 17, 2)), "scores": np.zeros((2, 17))}, "do not match"),
    ],
)
def test_bad_sequences_raise_with_the_problem(kwargs, message):
    with pytest.raises(PoseDataError, match=message):
        PoseSequence2D(**{"source": "x.csv", **kwargs})


def test_error_names_the_source_file():
    with pytest.raises(PoseDataError, match=r"^clip\.bvh: zero frames"):
        PoseSequence3D(np.zeros((0, 17, 3)), source="clip.bvh")


def test_slice_keeps_frame_numbers_and_to_h36m_converts():
    kp = np.arange(10 * 25 * 2, dtype=np.float32).reshape(10, 25, 2)
    seq = PoseSequence2D(kp, layout="body_25", start_frame=100, fps=50)
    part = seq.slice(2, 5)
    assert part.num_frames == 3 and list(part.frame_numbers) == [102, 103, 104]
    np.testing.assert_allclose(part.times, [0, 0.02, 0.04])
    h = part.to_h36m()
    assert h.layout == "h36m17" and h.num_joints == 17 and h.start_frame == 102
    with pytest.raises(PoseDataError, match="frame range"):
        seq.slice(5, 50)


def test_units_and_coords():
    seq = PoseSequence3D(np.full((1, 17, 3), 100.0), units="cm", coords="camera")
    assert seq.in_metres().units == "m" and seq.in_metres().joints[0, 0, 0] == pytest.approx(1.0)
    with pytest.raises(PoseDataError, match="unknown coords"):
        PoseSequence3D(np.zeros((1, 17, 3)), coords="screen")
    with pytest.raises(PoseDataError, match="unknown units"):
        PoseSequence3D(np.zeros((1, 17, 3)), units="ft")


def test_guess_image_size():
    kp = np.full((1, 17, 2), 100.0)
    kp[0, 0] = (1500, 900)
    assert PoseSequence2D(kp).guess_image_size() == (1920, 1080)
    assert PoseSequence2D(kp, image_size=(4000, 3000)).guess_image_size() == (4000, 3000)
