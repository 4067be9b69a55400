"""MMPose predictions and MediaPipe landmark files (no real samples exist: built from the documented formats,
with poses taken from a real AlphaPose file)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mpm_core.errors import PoseDataError
from mpm_core.io import load_2d, read_2d, read_2d_tracks
from mpm_core.skeleton import MEDIAPIPE33

ARNIS = "inputs/alphapose/arnis_single_person/alphapose-results.json"


def _real_poses(shared_data, n=12):
    entries = json.loads(shared_data(ARNIS).read_text())[:n]
    return [np.array(e["keypoints"]).reshape(17, 3) for e in entries]


def _mmpose_doc(poses, dataset="coco", two_people=False):
    info = []
    for i, p in enumerate(poses):
        inst = [{"keypoints": p[:, :2].tolist(), "keypoint_scores": p[:, 2].tolist(), "bbox": [[0, 0, 10, 10]]}]
        if two_people:
            inst.append({"keypoints": (p[:, :2] + 600).tolist(), "keypoint_scores": p[:, 2].tolist()})
        info.append({"frame_id": i + 1, "instances": inst})
    return {"meta_info": {"dataset_name": dataset, "num_keypoints": 17}, "instance_info": info}


def test_mmpose_video(tmp_path, shared_data):
    poses = _real_poses(shared_data)
    f = tmp_path / "results_clip.json"
    f.write_text(json.dumps(_mmpose_doc(poses, two_people=True)))
    tracks = read_2d_tracks(f)
    assert len(tracks) == 2 and all(t.layout == "coco17" and t.start_frame == 1 for t in tracks)
    np.testing.assert_allclose(tracks[0].keypoints[3], poses[3][:, :2], rtol=1e-6)
    np.testing.assert_allclose(tracks[1].keypoints[3], poses[3][:, :2] + 600, rtol=1e-6)
    f.write_text(json.dumps(_mmpose_doc(poses, dataset="h36m")))
    assert read_2d(f).layout == "h36m17"


def test_mmpose_image_list_and_errors(tmp_path, shared_data):
    poses = _real_poses(shared_data, 1)
    f = tmp_path / "img.json"
    f.write_text(json.dumps([{"keypoints": poses[0][:, :2].tolist(), "keypoint_scores": poses[0][:, 2].tolist()}]))
    assert read_2d(f).num_frames == 1
    doc = _mmpose_doc(_real_poses(shared_data, 4))
    doc["instance_info"][2]["instances"][0]["keypoints"][5] = [1.0]
    f.write_text(json.dumps(doc))
    with pytest.raises(
        PoseDataError, match=r"instance_info\[2\]\.instances\[0\] \(frame 3\)\.keypoints\[5\]: expected 2"
    ):
        read_2d(f)
    doc = _mmpose_doc(_real_poses(shared_data, 4))
    doc["instance_info"][3]["frame_id"] = 1
    f.write_text(json.dumps(doc))
    with pytest.raises(PoseDataError, match="duplicate frame_id 1"):
        read_2d(f)
    doc["instance_info"] = []
    f.write_text(json.dumps(doc))
    with pytest.raises(PoseDataError, match="zero frames"):
        read_2d(f)


def _mediapipe_from_real(shared_data, size=(1920, 1080), n=8):
    """33 landmarks per frame: the COCO joints of a real pose where names match, the rest near the nose."""
    out = []
    for p in _real_poses(shared_data, n):
        lm = np.zeros((33, 3))
        lm[:] = [p[0, 0], p[0, 1], 0.5]
        from mpm_core.skeleton import COCO17

        for j, name in enumerate(COCO17.joint_names):
            lm[MEDIAPIPE33.index(name)] = [p[j, 0], p[j, 1], 0.9]
        lm[:, 0] /= size[0]
        lm[:, 1] /= size[1]
        out.append(lm)
    return out


def test_mediapipe_csv_wide_long_and_json(tmp_path, shared_data):
    frames = _mediapipe_from_real(shared_data)
    names = MEDIAPIPE33.joint_names
    wide = tmp_path / "pose.csv"
    header = "frame," + ",".join(f"{n}_{c}" for n in names for c in ("x", "y", "z", "visibility"))
    rows = [f"{i}," + ",".join(f"{x:.9f},{y:.9f},0,{v}" for x, y, v in lm) for i, lm in enumerate(frames)]
    wide.write_text("# width=1920\n# height=1080\n# fps=24\n" + header + "\n" + "\n".join(rows) + "\n")
    loaded = load_2d(wide)
    seq = loaded.tracks[0]
    assert seq.layout == "mediapipe33" and seq.num_frames == 8 and loaded.fps == 24 and seq.image_size == (1920, 1080)
    np.testing.assert_allclose(seq.keypoints[2], frames[2][:, :2] * [1920, 1080], rtol=1e-5)
    assert seq.to_h36m().num_joints == 17

    long = tmp_path / "long.csv"
    lines = ["frame,landmark,x,y,z,visibility"]
    for i, lm in enumerate(frames):
        lines += [f"{i},{j},{x:.9f},{y:.9f},0,{v}" for j, (x, y, v) in enumerate(lm)]
    long.write_text("\n".join(lines) + "\n")
    with pytest.raises(PoseDataError, match="normalised to 0..1: give the image size"):
        read_2d(long)
    np.testing.assert_allclose(read_2d(long, image_size=(1920, 1080)).keypoints, seq.keypoints, rtol=1e-5)

    js = tmp_path / "pose.json"
    doc = {"width": 1920, "height": 1080, "frames": []}
    for i, lm in enumerate(frames):
        doc["frames"].append({"frame": i, "landmarks": [{"x": x, "y": y, "z": 0, "visibility": v} for x, y, v in lm]})
    doc["frames"][4]["landmarks"] = []  # no pose detected
    js.write_text(json.dumps(doc))
    seq_js = read_2d(js)
    assert not seq_js.visible[4].any() and seq_js.visible[3].all()
    np.testing.assert_allclose(seq_js.keypoints[5], seq.keypoints[5], rtol=1e-5)


def test_mediapipe_bad(tmp_path, shared_data):
    names = MEDIAPIPE33.joint_names
    f = tmp_path / "pose.csv"
    header = "frame," + ",".join(f"{n}_{c}" for n in names for c in ("x", "y", "visibility"))
    row = "0," + ",".join(["0.5"] * 99)
    f.write_text("# width=10\n# height=10\n" + header + "\n" + row.replace("0.5", "abc", 1) + "\n")
    with pytest.raises(PoseDataError, match=r"line 4 column 'nose_x': 'abc' is not a number"):
        read_2d(f)
    f.write_text("# width=10\n# height=10\n" + header.replace("nose_x", "noze_x") + "\n" + row + "\n")
    with pytest.raises(PoseDataError, match="unknown MediaPipe landmark 'noze'"):
        read_2d(f)
    js = tmp_path / "pose.json"
    js.write_text(
        json.dumps({"width": 10, "height": 10, "frames": [{"frame": 0, "landmarks": [{"x": 0, "y": 0}] * 32}]})
    )
    with pytest.raises(PoseDataError, match=r"frames\[0\]: 32 landmarks, expected 33"):
        read_2d(js)
