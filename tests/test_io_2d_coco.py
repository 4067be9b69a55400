"""COCO / AlphaPose results JSON: the three real AlphaPose files, and malformed copies."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from mpm_core.errors import PoseDataError
from mpm_core.io import load_2d, read_2d
from mpm_core.skeleton import COCO17, H36M_JOINTS, HALPE26

NBA = "inputs/alphapose/nba_multi_person/alphapose-results.json"
HALPE = "inputs/alphapose/motionbert_halpe26/alphapose-results.json"
ARNIS = "inputs/alphapose/arnis_single_person/alphapose-results.json"


def _images(path):
    entries = json.loads(path.read_text())
    return entries, sorted({e["image_id"] for e in entries})


def test_nba_many_people(shared_data):
    path = shared_data(NBA)
    entries, images = _images(path)
    loaded = load_2d(path)
    assert loaded.layout == "coco17" and loaded.format == "coco-results"
    assert loaded.num_detections == len(entries) == 1385
    assert loaded.frames[0] == 1 and loaded.frames[-1] == len(images) == 130  # frame_00001..frame_00130
    assert not loaded.tracked_by_file  # idx is [0.0]: not a track id
    assert len(loaded.tracks) > 33  # up to 33 people in a frame, and people come and go
    for t in loaded.tracks:
        assert 1 <= t.start_frame and t.start_frame + t.num_frames - 1 <= 130
    assert sum(int(t.visible.any(axis=1).sum()) for t in loaded.tracks) == len(entries)
    h36 = read_2d(path).to_h36m()
    assert h36.num_joints == 17


def test_halpe26_single_person(shared_data):
    path = shared_data(HALPE)
    entries, images = _images(path)
    tracks = load_2d(path).tracks
    assert tracks[0].layout == "halpe26"
    seq = read_2d(path)
    assert seq.num_frames == len(images) == 809 and seq.start_frame == 0
    # the one extra detection is its own short track
    assert sum(int(t.visible.any(axis=1).sum()) for t in tracks) == len(entries)
    h36 = seq.to_h36m()
    # left joints stay left: H36M left_wrist is the source left_wrist
    lw = HALPE26.index("left_wrist")
    np.testing.assert_allclose(h36.keypoints[:, H36M_JOINTS.index("left_wrist")], seq.keypoints[:, lw])
    lh, rh = H36M_JOINTS.index("left_hip"), H36M_JOINTS.index("right_hip")
    assert np.linalg.norm(h36.keypoints[:, lh] - h36.keypoints[:, rh], axis=1).mean() > 1.0


def test_arnis_values_match_file(shared_data):
    path = shared_data(ARNIS)
    entries, images = _images(path)
    seq = read_2d(path)
    assert seq.num_frames == 122 and seq.layout == "coco17"
    assert seq.fps == 30.0  # nothing in the file or beside it
    arr = np.array(entries[5]["keypoints"]).reshape(17, 3)
    np.testing.assert_allclose(seq.keypoints[5], arr[:, :2], rtol=1e-6)
    np.testing.assert_allclose(seq.scores[5], arr[:, 2], rtol=1e-6)
    h36 = seq.to_h36m()
    np.testing.assert_allclose(
        h36.keypoints[:, H36M_JOINTS.index("pelvis")],
        (seq.keypoints[:, COCO17.index("left_hip")] + seq.keypoints[:, COCO17.index("right_hip")]) / 2,
        rtol=1e-5,
    )


def test_real_track_ids_are_used(shared_data, tmp_path):
    entries = json.loads(shared_data(ARNIS).read_text())[:10]
    for i, e in enumerate(entries):
        e["idx"] = 4
        e["image_id"] = i
    dup = dict(entries[3], idx=9)  # a second, tracked person in frame 3
    f = tmp_path / "tracked.json"
    f.write_text(json.dumps(entries + [dup]))
    loaded = load_2d(f)
    assert loaded.tracked_by_file
    assert sorted(t.person_id for t in loaded.tracks) == [4, 9]
    assert read_2d(f, person=9).num_frames == 1


def _corrupt(shared_data, tmp_path, edit):
    entries = json.loads(shared_data(ARNIS).read_text())
    edit(entries)
    f = tmp_path / "alphapose-results.json"
    f.write_text(json.dumps(entries))
    return f


def test_truncated(shared_data, tmp_path):
    f = tmp_path / "alphapose-results.json"
    shutil.copy(shared_data(ARNIS), f)
    f.write_bytes(f.read_bytes()[:5000])
    with pytest.raises(PoseDataError, match=r"line 1 column \d+: invalid JSON.*truncated"):
        read_2d(f)


def test_non_numeric(shared_data, tmp_path):
    def edit(e):
        e[7]["keypoints"][10] = "abc"

    with pytest.raises(PoseDataError, match=r"entry 7 \(image '7.jpg'\)\.keypoints: value 10 is 'abc'"):
        read_2d(_corrupt(shared_data, tmp_path, edit))


def test_mixed_layouts(shared_data, tmp_path):
    def edit(e):
        e[4]["keypoints"] = e[4]["keypoints"] + [1.0, 2.0, 0.5] * 9  # 26 joints among 17

    with pytest.raises(PoseDataError, match="entry 4.*mixed layouts: 26 joints here, 17"):
        read_2d(_corrupt(shared_data, tmp_path, edit))


def test_dropped_value(shared_data, tmp_path):
    def edit(e):
        e[0]["keypoints"].pop()

    with pytest.raises(PoseDataError, match="entry 0.*50 values is not a multiple of 3"):
        read_2d(_corrupt(shared_data, tmp_path, edit))


def test_unknown_joint_count(shared_data, tmp_path):
    def edit(e):
        for x in e:
            x["keypoints"] = x["keypoints"][:30]

    with pytest.raises(PoseDataError, match="10 joints per person matches no known layout"):
        read_2d(_corrupt(shared_data, tmp_path, edit))


def test_image_id_without_number(shared_data, tmp_path):
    def edit(e):
        e[2]["image_id"] = "cover.jpg"

    with pytest.raises(PoseDataError, match=r"entry 2\.image_id: cannot read a frame number from image id 'cover.jpg'"):
        read_2d(_corrupt(shared_data, tmp_path, edit))


def test_empty_list(tmp_path):
    f = tmp_path / "alphapose-results.json"
    f.write_text("[]")
    with pytest.raises(PoseDataError, match="empty JSON list"):
        read_2d(f)
