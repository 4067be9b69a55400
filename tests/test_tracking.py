"""The tracker on synthetic detections: crossing, gaps, gating, selection."""

from __future__ import annotations

import numpy as np
import pytest

from mpm_core.errors import PoseDataError
from mpm_core.io.common import Detection
from mpm_core.tracking import DEFAULT_MAX_GAP, select_track, track_detections

J = 17


def _person(cx: float, cy: float, rng, height=200.0) -> Detection:
    base = np.stack([np.linspace(-0.2, 0.2, J), np.linspace(-0.5, 0.5, J)], axis=1) * height
    kp = base + [cx, cy] + rng.normal(0, 1.0, (J, 2))
    return Detection(kp, np.ones(J), np.ones(J, bool))


def test_two_walkers_cross_without_swap():
    rng = np.random.default_rng(0)
    frames = {}
    for f in range(60):
        a = _person(100 + 10 * f, 300, rng)  # walks right
        b = _person(700 - 10 * f, 330, rng)  # walks left, passes close to a
        frames[f] = [b, a] if f % 2 else [a, b]  # detection order shuffles
    tracks = track_detections(frames)
    assert len(tracks) == 2
    for t in tracks:
        assert t.num_detections == 60
        xs = np.array([t.detections[f].keypoints[:, 0].mean() for f in range(60)])
        steps = np.diff(xs)
        assert (np.sign(steps) == np.sign(steps[0])).all()  # always the same direction: no swap


def test_gap_within_tolerance_continues_and_long_gap_splits():
    rng = np.random.default_rng(1)
    short = {f: ([] if 10 <= f < 10 + DEFAULT_MAX_GAP else [_person(300 + f, 300, rng)]) for f in range(30)}
    tracks = track_detections(short)
    assert len(tracks) == 1 and tracks[0].first_frame == 0 and tracks[0].last_frame == 29
    long = {f: ([] if 10 <= f < 10 + DEFAULT_MAX_GAP + 3 else [_person(300 + f, 300, rng)]) for f in range(30)}
    tracks = track_detections(long)
    assert len(tracks) == 2 and tracks[0].last_frame == 9 and tracks[1].first_frame == 10 + DEFAULT_MAX_GAP + 3


def test_gate_starts_new_track_for_a_far_jump():
    rng = np.random.default_rng(2)
    frames = {f: [_person(200 if f < 5 else 1500, 300, rng)] for f in range(10)}
    tracks = track_detections(frames)
    assert [t.num_detections for t in tracks] == [5, 5]


def test_empty_detection_ignored_and_selection():
    rng = np.random.default_rng(3)
    empty = Detection(np.zeros((J, 2)), np.zeros(J), np.zeros(J, bool))
    frames = {f: [_person(200, 300, rng), empty] + ([_person(900, 300, rng)] if f < 3 else []) for f in range(8)}
    tracks = track_detections(frames)
    assert sorted(t.num_detections for t in tracks) == [3, 8]
    assert select_track(tracks, "longest").num_detections == 8
    assert select_track(tracks, 1).track_id == 1
    with pytest.raises(PoseDataError, match="no person with id 5; ids: 0, 1"):
        select_track(tracks, 5)
    with pytest.raises(PoseDataError, match="must be 'longest' or a track id"):
        select_track(tracks, "tallest")
