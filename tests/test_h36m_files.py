"""VideoPose3D Human3.6M files: generated files of the standard format, read through the restricted unpickler."""

from __future__ import annotations

import numpy as np
import pytest

from mpm_core.errors import PoseDataError
from mpm_core.model.h36m_files import H36M32_TO_17, H36M_CAMERA_SIZES, read_h36m_2d, read_h36m_3d


def _positions_3d(rng, frames=(20, 12)) -> dict:
    return {
        "S1": {"Walking": rng.normal(size=(frames[0], 32, 3)).astype(np.float32)},
        "S9": {"Eating 2": rng.normal(size=(frames[1], 32, 3)).astype(np.float32)},
    }


def test_read_3d_maps_32_to_17_and_z_up_to_y_up(tmp_path):
    rng = np.random.default_rng(0)
    pos = _positions_3d(rng)
    path = tmp_path / "data_3d_h36m.npz"
    np.savez_compressed(path, positions_3d=pos)
    out = read_h36m_3d(path)
    assert sorted(out) == ["S1", "S9"]
    seq = out["S1"]["Walking"]
    assert seq.keypoints.shape == (20, 17, 3) and seq.fps == 50.0 and seq.coords == "world" and seq.units == "m"
    src = pos["S1"]["Walking"][:, list(H36M32_TO_17)]
    np.testing.assert_allclose(seq.keypoints[..., 0], src[..., 0], atol=1e-6)
    np.testing.assert_allclose(seq.keypoints[..., 1], src[..., 2], atol=1e-6)  # up: Z -> Y
    np.testing.assert_allclose(seq.keypoints[..., 2], -src[..., 1], atol=1e-6)
    assert out["S9"]["Eating 2"].num_frames == 12


def test_read_2d_cameras_and_metadata(tmp_path):
    rng = np.random.default_rng(1)
    pos2d = {"S11": {"Directions": [rng.uniform(0, 1000, size=(30, 17, 2)).astype(np.float32) for _ in range(4)]}}
    meta = {
        "layout_name": "h36m",
        "num_joints": 17,
        "keypoints_symmetry": [[4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]],
    }
    path = tmp_path / "data_2d_h36m_cpn_ft_h36m_dbb.npz"
    np.savez_compressed(path, positions_2d=pos2d, metadata=meta)
    result = read_h36m_2d(path)
    assert result.metadata["num_joints"] == 17
    cams = result.sequences["S11"]["Directions"]
    assert len(cams) == 4
    for c, seq in enumerate(cams):
        assert seq.image_size == H36M_CAMERA_SIZES[c]
        np.testing.assert_allclose(seq.keypoints, pos2d["S11"]["Directions"][c])
        assert seq.layout == "h36m17"


def test_read_2d_ground_truth_32_and_coco_layout(tmp_path):
    rng = np.random.default_rng(2)
    gt = {"S1": {"Sitting": [rng.uniform(0, 1000, size=(5, 32, 2)).astype(np.float32)]}}
    path = tmp_path / "data_2d_h36m_gt.npz"
    np.savez(path, positions_2d=gt, metadata={"layout_name": "h36m", "num_joints": 17})
    seq = read_h36m_2d(path).sequences["S1"]["Sitting"][0]
    np.testing.assert_allclose(seq.keypoints, gt["S1"]["Sitting"][0][:, list(H36M32_TO_17)])

    coco = {"S1": {"Sitting": [rng.uniform(0, 1000, size=(5, 17, 2)).astype(np.float32)]}}
    path = tmp_path / "data_2d_h36m_detectron_pt_coco.npz"
    np.savez(path, positions_2d=coco, metadata={"layout_name": "coco", "num_joints": 17})
    seq = read_h36m_2d(path).sequences["S1"]["Sitting"][0]
    # COCO -> H36M: the pelvis is the mid-hip (COCO 11 and 12).
    np.testing.assert_allclose(seq.keypoints[:, 0], coco["S1"]["Sitting"][0][:, [11, 12]].mean(axis=1), rtol=1e-5)


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_malicious_pickle_is_refused(tmp_path, capsys):
    path = tmp_path / "data_3d_h36m.npz"
    np.savez(path, positions_3d=np.array({"S1": {"x": _Evil()}}, dtype=object))
    with pytest.raises(PoseDataError, match="refused|unsafe"):
        read_h36m_3d(path)
    assert "pwned" not in capsys.readouterr().out


@pytest.mark.parametrize(
    "content, message",
    [
        (
            {"S1": {"Walk": np.zeros((10, 20, 3), np.float32)}},
            r"positions_3d\[S1\]\[Walk\].*expected \(T, 32 or 17, 3\)",
        ),
        ({"S1": {"Walk": np.zeros((0, 32, 3), np.float32)}}, "zero frames"),
        ({"S1": {"Walk": np.full((3, 32, 3), np.nan, np.float32)}}, "non-finite coordinate at frame 0"),
        ({"S1": ["not", "a", "dict"]}, "subject S1.*dict of actions"),
    ],
)
def test_bad_3d_files_name_the_place(tmp_path, content, message):
    path = tmp_path / "bad.npz"
    np.savez(path, positions_3d=content)
    with pytest.raises(PoseDataError, match=message) as info:
        read_h36m_3d(path)
    assert str(path) in str(info.value)


def test_missing_key_and_broken_files(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, something=np.zeros(3))
    with pytest.raises(PoseDataError, match="no 'positions_3d' array"):
        read_h36m_3d(path)
    truncated = tmp_path / "trunc.npz"
    good = tmp_path / "good.npz"
    np.savez(good, positions_3d=_positions_3d(np.random.default_rng(0)))
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(PoseDataError):
        read_h36m_3d(truncated)
    with pytest.raises(PoseDataError, match="not found"):
        read_h36m_3d(tmp_path / "none.npz")
    path = tmp_path / "layout.npz"
    np.savez(path, positions_2d={"S1": {"A": [np.zeros((3, 17, 2))]}}, metadata={"layout_name": "mpii"})
    with pytest.raises(PoseDataError, match="unknown layout_name 'mpii'"):
        read_h36m_2d(path)
