"""OpenPose JSON folders and files: the real raga examples, and malformed copies of them."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from mpm_core.errors import PoseDataError
from mpm_core.io import load_2d, read_2d, read_2d_tracks
from mpm_core.skeleton import BODY25, H36M_JOINTS

ONE = "inputs/openpose_raga/example_1person/output_json"
THREE = "inputs/openpose_raga/example_3people/output_json"
TEST_JSON = "inputs/openpose_raga/tests/test_json"


def _raw_people(folder):
    """(frame file count, [people per file]) read straight from the JSON, independent of the reader."""
    files = sorted(folder.glob("*.json"))
    return len(files), [len(json.loads(f.read_text())["people"]) for f in files]


def _copy_folder(shared_data, tmp_path, rel=TEST_JSON, count=6):
    src = shared_data(rel)
    dst = tmp_path / "output_json"
    dst.mkdir()
    for f in sorted(src.glob("*.json"))[:count]:
        shutil.copy(f, dst / f.name)
    return dst


def test_one_person_folder(shared_data):
    folder = shared_data(ONE)
    n_files, people = _raw_people(folder)
    loaded = load_2d(folder)
    assert loaded.format == "openpose" and loaded.layout == "body25"
    assert len(loaded.tracks) == 1
    seq = loaded.tracks[0]
    assert seq.num_frames == n_files == 125
    assert seq.start_frame == 0
    # fps and image size from short_video.mp4 beside output_json/ (25 fps, 1920x1080 per the README)
    assert loaded.fps == pytest.approx(25.0) and "video" in loaded.fps_source
    assert loaded.image_size == (1920, 1080)
    # OpenPose marks missing joints with confidence 0: they must be invisible, and none of the others
    first = json.loads(sorted(folder.glob("*.json"))[0].read_text())["people"][0]["pose_keypoints_2d"]
    conf = np.array(first).reshape(25, 3)[:, 2]
    np.testing.assert_array_equal(seq.visible[0], conf > 0)


def test_one_person_to_h36m_keeps_sides(shared_data):
    seq = read_2d(shared_data(ONE))
    h36 = seq.to_h36m()
    assert h36.layout == "h36m17" and h36.num_frames == seq.num_frames
    for side in ("left", "right"):
        for part in ("hip", "knee", "ankle", "shoulder", "elbow", "wrist"):
            src = seq.keypoints[:, BODY25.index(f"{side}_{part}")]
            dst_j = H36M_JOINTS.index(f"{side}_{part}")
            both = h36.visible[:, dst_j]
            np.testing.assert_allclose(h36.keypoints[both, dst_j], src[both])
    lh, rh = H36M_JOINTS.index("left_hip"), H36M_JOINTS.index("right_hip")
    both = h36.visible[:, lh] & h36.visible[:, rh]
    assert both.sum() > 50
    assert np.linalg.norm(h36.keypoints[both, lh] - h36.keypoints[both, rh], axis=1).mean() > 5.0


def test_three_people_tracks_without_swaps(shared_data):
    folder = shared_data(THREE)
    n_files, people = _raw_people(folder)
    loaded = load_2d(folder)
    assert loaded.fps == pytest.approx(25.0) and loaded.image_size == (768, 576)
    long_tracks = [t for t in loaded.tracks if t.visible.any(axis=1).sum() >= 100]
    assert len(long_tracks) == 3 == max(people)
    centroids = []
    for t in long_tracks:
        rows = range(t.num_frames)
        c = np.array([t.keypoints[i][t.visible[i]].mean(axis=0) if t.visible[i].any() else [np.nan] * 2 for i in rows])
        centroids.append(c)
        # frame-to-frame motion of joints seen in both frames
        both = t.visible[1:] & t.visible[:-1]
        steps = np.linalg.norm(t.keypoints[1:] - t.keypoints[:-1], axis=2)
        per_frame = np.array([steps[i][both[i]].mean() for i in range(len(both)) if both[i].any()])
        t.max_step = per_frame.max()
    gaps = []
    for a in range(3):
        for b in range(a + 1, 3):
            gaps.append(np.nanmin(np.linalg.norm(centroids[a] - centroids[b], axis=1)))
    # no identity swap: the biggest jump of any track is small next to the closest two people ever get
    assert max(t.max_step for t in long_tracks) < 0.25 * min(gaps)


def test_test_json_folder_default_fps(shared_data):
    folder = shared_data(TEST_JSON)
    n_files, people = _raw_people(folder)
    loaded = load_2d(folder)
    assert n_files == 26 and len(loaded.tracks) == 3
    assert all(t.num_frames == 26 for t in loaded.tracks)
    assert loaded.fps == 30.0 and loaded.fps_source == "default" and loaded.image_size is None
    assert loaded.num_detections == sum(people)


def test_explicit_fps_and_size_win(shared_data):
    loaded = load_2d(shared_data(ONE), fps=50, image_size=(1000, 800))
    assert loaded.fps == 50 and loaded.fps_source == "argument"
    assert loaded.tracks[0].image_size == (1000, 800) and loaded.image_size_source == "argument"


def test_single_file_and_person_choice(shared_data, tmp_path):
    src = sorted(shared_data(TEST_JSON).glob("*.json"))[3]
    tracks = read_2d_tracks(src)
    assert len(tracks) == 3 and all(t.num_frames == 1 and t.start_frame == 3 for t in tracks)
    assert read_2d(src, person=2).person_id == 2
    with pytest.raises(PoseDataError, match="no person with id 7"):
        read_2d(src, person=7)


def test_frame_gap_kept_as_missing(shared_data, tmp_path):
    folder = _copy_folder(shared_data, tmp_path, ONE, 6)
    (sorted(folder.glob("*.json"))[2]).unlink()
    seq = read_2d(folder)
    assert seq.num_frames == 6
    assert not seq.visible[2].any() and seq.visible[1].any() and seq.visible[3].any()


def test_layout_argument_checked(shared_data):
    assert read_2d(shared_data(TEST_JSON), layout="body_25").layout == "body25"
    with pytest.raises(PoseDataError, match="coco17 has 17 joints but the file has 25"):
        read_2d(shared_data(TEST_JSON), layout="coco17")
    with pytest.raises(PoseDataError, match="unknown layout 'nosuch'"):
        read_2d(shared_data(TEST_JSON), layout="nosuch")


# -- malformed copies of the real files ------------------------------------------------------------------------------
def _first(folder):
    return sorted(folder.glob("*.json"))[0]


def test_truncated_file(shared_data, tmp_path):
    folder = _copy_folder(shared_data, tmp_path)
    f = _first(folder)
    f.write_text(f.read_text()[:200])
    with pytest.raises(PoseDataError, match=r"video_000000000000_keypoints\.json: line 1 column \d+: invalid JSON"):
        read_2d(folder)


def test_empty_file(shared_data, tmp_path):
    folder = _copy_folder(shared_data, tmp_path)
    _first(folder).write_text("")
    with pytest.raises(PoseDataError, match="000000_keypoints.json: file is empty"):
        read_2d(folder)


def test_non_numeric_value(shared_data, tmp_path):
    folder = _copy_folder(shared_data, tmp_path)
    f = _first(folder)
    data = json.loads(f.read_text())
    data["people"][1]["pose_keypoints_2d"][4] = "abc"
    f.write_text(json.dumps(data))
    with pytest.raises(PoseDataError, match=r"people\[1\]\.pose_keypoints_2d: value 4 is 'abc', not a number"):
        read_2d(folder)


def test_dropped_value_74(shared_data, tmp_path):
    folder = _copy_folder(shared_data, tmp_path)
    f = sorted(folder.glob("*.json"))[2]
    data = json.loads(f.read_text())
    del data["people"][0]["pose_keypoints_2d"][-1]
    f.write_text(json.dumps(data))
    with pytest.raises(PoseDataError, match=r"000002_keypoints.json: people\[0\].*74 values is not a multiple of 3"):
        read_2d(folder)


def test_mixed_layouts(shared_data, tmp_path):
    folder = _copy_folder(shared_data, tmp_path)
    f = sorted(folder.glob("*.json"))[3]
    data = json.loads(f.read_text())
    data["people"][0]["pose_keypoints_2d"] = data["people"][0]["pose_keypoints_2d"][:54]  # COCO-18 among BODY_25
    f.write_text(json.dumps(data))
    with pytest.raises(PoseDataError, match="mixed layouts: 18 joints here, 25"):
        read_2d(folder)


def test_duplicate_frame_numbers(shared_data, tmp_path):
    folder = _copy_folder(shared_data, tmp_path)
    shutil.copy(_first(folder), folder / "other_000000000000_keypoints.json")
    with pytest.raises(PoseDataError, match="duplicate frame number 0"):
        read_2d(folder)


def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(PoseDataError, match="empty: folder has no .json files"):
        read_2d(tmp_path / "empty")


def test_no_people_key(shared_data, tmp_path):
    folder = _copy_folder(shared_data, tmp_path)
    _first(folder).write_text('{"version": 1.3}')
    with pytest.raises(PoseDataError, match="not an OpenPose file: no 'people' key"):
        read_2d(folder)


def test_bad_fps_argument(shared_data):
    for bad in (-5, 0, 1e6, float("nan")):
        with pytest.raises(PoseDataError, match="fps argument: fps"):
            read_2d(shared_data(TEST_JSON), fps=bad)
