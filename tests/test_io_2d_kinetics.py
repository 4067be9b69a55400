"""Kinetics-skeleton JSON: GAST-Net's nested baseball files and generated st-gcn flat variants."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mpm_core.errors import PoseDataError
from mpm_core.io import load_2d, read_2d
from mpm_core.skeleton import COCO17, H36M_JOINTS

BASEBALL = "inputs/gastnet/data/keypoints/baseball.json"
WHOLEBODY = "inputs/gastnet/data/keypoints/baseball_wholebody.json"


def test_baseball_nested(shared_data):
    path = shared_data(BASEBALL)
    data = json.loads(path.read_text())["data"]
    seq = read_2d(path)
    assert seq.layout == "coco17" and seq.num_frames == len(data) == 277
    assert seq.start_frame == data[0]["frame_index"] == 1
    np.testing.assert_allclose(seq.keypoints[10], np.array(data[10]["skeleton"][0]["pose"]), rtol=1e-6)
    np.testing.assert_allclose(seq.scores[10], np.array(data[10]["skeleton"][0]["score"])[:, 0], rtol=1e-6)
    h36 = seq.to_h36m()
    li, ri = H36M_JOINTS.index("left_knee"), H36M_JOINTS.index("right_knee")
    np.testing.assert_allclose(h36.keypoints[:, li], seq.keypoints[:, COCO17.index("left_knee")])
    assert np.linalg.norm(h36.keypoints[:, li] - h36.keypoints[:, ri], axis=1).mean() > 1.0


def test_baseball_wholebody(shared_data):
    path = shared_data(WHOLEBODY)
    loaded = load_2d(path)
    seq = loaded.tracks[0]
    assert loaded.layout == "coco_wholebody133" and seq.num_frames == 277
    body = read_2d(shared_data(BASEBALL)).to_h36m()
    whole = seq.to_h36m()
    assert whole.num_joints == 17
    # the same video: the body part of the whole-body estimate is near the body-only one
    both = body.visible & whole.visible
    assert np.median(np.linalg.norm(body.keypoints[both] - whole.keypoints[both], axis=1)) < 30


def _flat_file(tmp_path, shared_data, normalise: bool, start: int = 0, drop_frame: int | None = None):
    """A st-gcn-style flat file made from the real baseball poses."""
    data = json.loads(shared_data(BASEBALL).read_text())["data"][:20]
    out = []
    for i, entry in enumerate(data):
        if i == drop_frame:
            continue
        skel = entry["skeleton"][0]
        pose = np.array(skel["pose"], float)
        if normalise:
            pose = pose / [1000.0, 800.0]
        out.append(
            {
                "frame_index": i + start,
                "skeleton": [{"pose": pose.ravel().round(5).tolist(), "score": [s[0] for s in skel["score"]]}],
            }
        )
    f = tmp_path / "clip.json"
    f.write_text(json.dumps({"data": out, "label": "x", "label_index": 0}))
    return f, data


def test_flat_pixels_with_gap(tmp_path, shared_data):
    f, data = _flat_file(tmp_path, shared_data, normalise=False, start=5, drop_frame=3)
    seq = read_2d(f)
    assert seq.start_frame == 5 and seq.num_frames == 20 and not seq.visible[3].any()
    np.testing.assert_allclose(seq.keypoints[4], np.array(data[4]["skeleton"][0]["pose"]), atol=1e-3)


def test_flat_normalised_needs_image_size(tmp_path, shared_data):
    f, data = _flat_file(tmp_path, shared_data, normalise=True)
    with pytest.raises(PoseDataError, match="normalised to 0..1; give the video size"):
        read_2d(f)
    seq = read_2d(f, image_size=(1000, 800))
    np.testing.assert_allclose(seq.keypoints[0], np.array(data[0]["skeleton"][0]["pose"]), atol=0.01)


def test_bad_kinetics(tmp_path, shared_data):
    f, _ = _flat_file(tmp_path, shared_data, normalise=False)
    doc = json.loads(f.read_text())
    doc["data"][2]["frame_index"] = doc["data"][1]["frame_index"]
    f.write_text(json.dumps(doc))
    with pytest.raises(PoseDataError, match="duplicate frame_index 1"):
        read_2d(f)
    doc = json.loads(shared_data(BASEBALL).read_text())
    doc["data"][4]["skeleton"][0]["pose"][3] = [1.0, "abc"]
    f.write_text(json.dumps(doc))
    with pytest.raises(PoseDataError, match=r"data\[4\]\.skeleton\[0\] \(frame 5\)\.pose\[3\]: value 1 is 'abc'"):
        read_2d(f)
    doc = json.loads(shared_data(BASEBALL).read_text())
    doc["data"][6]["skeleton"][0]["score"].pop()
    f.write_text(json.dumps(doc))
    with pytest.raises(PoseDataError, match=r"data\[6\].*16 scores for 17 joints"):
        read_2d(f)
    f.write_text(json.dumps({"data": [], "label": "x"}))
    with pytest.raises(PoseDataError, match="zero frames"):
        read_2d(f)
