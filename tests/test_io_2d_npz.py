"""VideoPose3D npz files (restricted unpickling) and keypoint .npy arrays."""

from __future__ import annotations

import io
import os
import shutil
import zipfile

import numpy as np
import pytest

from mpm_core.errors import PoseDataError
from mpm_core.io import load_2d, read_2d
from mpm_core.io.videopose3d import load_npz_restricted

CUSTOM = "inputs/videopose3d_custom/psychomugs/data_2d_custom_myvideos.npz"
D2 = "inputs/videopose3d_custom/psychomugs/inference_output/floss_test.mp4.npz"


def test_custom_npz(shared_data):
    path = shared_data(CUSTOM)
    loaded = load_2d(path)
    seq = loaded.tracks[0]
    assert seq.layout == "coco17" and seq.num_frames == 287
    assert loaded.image_size == (640, 480) and loaded.image_size_source == "file"
    assert loaded.fps == 30.0 and "video name" in loaded.fps_source  # ..._30fps.mp4 in the metadata
    with np.load(path, allow_pickle=True) as trusted:  # our own, known file: compare with numpy's loader
        arr = next(iter(trusted["positions_2d"].item().values()))["custom"][0]
    np.testing.assert_allclose(seq.keypoints, arr, rtol=1e-6)
    h36 = seq.to_h36m()
    assert h36.num_joints == 17 and h36.visible.all()


def test_detectron2_npz_best_box(shared_data):
    path = shared_data(D2)
    loaded = load_2d(path)
    seq = loaded.tracks[0]
    assert len(loaded.tracks) == 1 and seq.num_frames == 106 and loaded.image_size == (640, 480)
    with np.load(path, allow_pickle=True) as trusted:
        boxes, kps = trusted["boxes"], trusted["keypoints"]
        t = 50
        best = int(np.argmax(boxes[t][1][:, 4]))
        np.testing.assert_allclose(seq.keypoints[t], kps[t][1][best][:2].T, rtol=1e-6)
    assert (seq.scores > 0).all() and (seq.scores < 1).all()  # logits mapped to 0..1


def test_detectron2_missing_frame(shared_data, tmp_path):
    """A frame without a box becomes a missing row (made by rewriting the real file)."""
    with np.load(shared_data(D2), allow_pickle=True) as trusted:
        arrays = {k: trusted[k] for k in trusted.files}
    arrays["boxes"][10][1] = np.zeros((0, 5), np.float32)
    arrays["keypoints"][10][1] = np.zeros((0, 4, 17), np.float32)
    f = tmp_path / "d2.npz"
    np.savez(f, **arrays)
    seq = read_2d(f)
    assert seq.num_frames == 106 and not seq.visible[10].any() and seq.visible[9].all()


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch " + str(_Evil.marker),))


def test_malicious_pickle_is_refused(tmp_path):
    _Evil.marker = tmp_path / "pwned"
    payload = np.empty((), dtype=object)
    payload[()] = {"video.mp4": {"custom": [_Evil()]}}
    f = tmp_path / "evil.npz"
    np.savez(f, positions_2d=payload, metadata=np.array({"layout_name": "coco"}, dtype=object))
    with pytest.raises(
        PoseDataError, match=r"evil.npz: key 'positions_2d': unsafe or broken pickled data.*posix.system"
    ):
        read_2d(f)
    assert not _Evil.marker.exists()
    # a raw pickle stream built by hand, with builtins.eval
    raw = io.BytesIO()
    np.lib.format.write_array_header_1_0(raw, {"descr": "|O", "fortran_order": False, "shape": ()})
    raw.write(b"cbuiltins\neval\n(S'1+1'\ntR.")
    with zipfile.ZipFile(tmp_path / "evil2.npz", "w") as z:
        z.writestr("positions_2d.npy", raw.getvalue())
    with pytest.raises(PoseDataError, match="refused to load builtins.eval"):
        load_npz_restricted(tmp_path / "evil2.npz")


def test_broken_npz(shared_data, tmp_path):
    f = tmp_path / "x.npz"
    shutil.copy(shared_data(CUSTOM), f)
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    with pytest.raises(PoseDataError, match="x.npz: not a valid .npz"):
        read_2d(f)
    f.write_bytes(b"")
    with pytest.raises(PoseDataError, match="x.npz: not a valid .npz|file is empty"):
        read_2d(f)


def test_npy_body25(tmp_path, shared_data):
    # stack the real one-person OpenPose frames into (T, 25, 3)
    import json

    files = sorted(shared_data("inputs/openpose_raga/example_1person/output_json").glob("*.json"))[:30]
    arr = np.stack(
        [np.array(json.loads(p.read_text())["people"][0]["pose_keypoints_2d"]).reshape(25, 3) for p in files]
    )
    f = tmp_path / "body25.npy"
    np.save(f, arr)
    seq = read_2d(f)
    assert seq.layout == "body25" and seq.num_frames == 30
    np.testing.assert_array_equal(seq.visible, arr[..., 2] > 0)
    np.save(f, arr[..., :2])
    assert read_2d(f).visible.all()
    np.save(f, arr[:, :24])
    with pytest.raises(PoseDataError, match="24 joints per person matches no known layout"):
        read_2d(f)
    np.save(f, np.zeros((0, 25, 3)))
    with pytest.raises(PoseDataError, match="zero frames"):
        read_2d(f)
    np.save(f, np.array([[[None]]], dtype=object), allow_pickle=True)
    with pytest.raises(PoseDataError, match="body25.npy: cannot read array"):
        read_2d(f)
