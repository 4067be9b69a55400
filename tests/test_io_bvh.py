"""BVH reader: forward kinematics against scipy, file-format variations, and malformed input."""

from __future__ import annotations

import gzip
import re

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from mpm_core.errors import PoseDataError
from mpm_core.io.bvh import load_bvh_h36m, parse_bvh, read_bvh

SMALL_REAL = "mocap/bandai/dataset-1_dash_normal_001.bvh"  # 20 frames, 6 channels on every joint
CMU_REAL = "mocap/cmu_bvh/131_01.bvh"  # 3 channels on non-root joints

ORDERS = ["ZXY", "XYZ", "YZX", "ZYX", "YXZ", "XZY"]


def _two_joint_bvh(root_order: str, child_order: str, frames: np.ndarray, child_pos: bool = False) -> str:
    rot = lambda order: " ".join(f"{a}rotation" for a in order)  # noqa: E731
    child_channels = ("Xposition Yposition Zposition " if child_pos else "") + rot(child_order)
    n_child = 3 + (3 if child_pos else 0)
    body = "\n".join(" ".join(f"{v:.6f}" for v in row) for row in frames)
    return (
        "HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0 0\n"
        f"  CHANNELS 6 Xposition Yposition Zposition {rot(root_order)}\n"
        "  JOINT Knee\n  {\n    OFFSET 1.5 -2.0 0.25\n"
        f"    CHANNELS {n_child} {child_channels}\n"
        "    End Site\n    {\n      OFFSET 0.3 -1.0 0.7\n    }\n  }\n}\n"
        f"MOTION\nFrames: {len(frames)}\nFrame Time: 0.025\n{body}\n"
    )


@pytest.mark.parametrize("root_order", ORDERS)
def test_fk_matches_scipy_for_every_euler_order(root_order: str) -> None:
    rng = np.random.default_rng(ORDERS.index(root_order))
    child_order = ORDERS[(ORDERS.index(root_order) + 2) % len(ORDERS)]
    t = 7
    root_pos = rng.uniform(-50, 50, (t, 3))
    root_ang = rng.uniform(-170, 170, (t, 3))
    child_ang = rng.uniform(-170, 170, (t, 3))
    motion = parse_bvh(_two_joint_bvh(root_order, child_order, np.hstack([root_pos, root_ang, child_ang])))
    pos, glob = motion.forward_kinematics()

    # BVH: channels compose in the listed order as intrinsic rotations (scipy upper-case = intrinsic).
    r_root = Rotation.from_euler(root_order, root_ang, degrees=True).as_matrix()
    r_child = Rotation.from_euler(child_order, child_ang, degrees=True).as_matrix()
    knee = root_pos + np.einsum("tab,b->ta", r_root, [1.5, -2.0, 0.25])
    end = knee + np.einsum("tab,b->ta", r_root @ r_child, [0.3, -1.0, 0.7])
    assert motion.point_names == ["Hips", "Knee", "Knee_End"]
    np.testing.assert_allclose(pos[:, 0], root_pos, atol=1e-5)
    np.testing.assert_allclose(pos[:, 1], knee, atol=1e-4)
    np.testing.assert_allclose(pos[:, 2], end, atol=1e-4)
    np.testing.assert_allclose(glob[:, 1], r_root @ r_child, atol=1e-6)
    assert motion.fps == pytest.approx(40.0)


def test_position_channels_on_a_child_replace_its_offset() -> None:
    frames = np.array([[1, 2, 3, 0, 0, 90, 4, 5, 6, 0, 0, 0]], float)  # root ZXY: 90 deg about Y last
    motion = parse_bvh(_two_joint_bvh("ZXY", "ZXY", frames, child_pos=True))
    pos, _ = motion.forward_kinematics()
    r = Rotation.from_euler("Y", 90, degrees=True).as_matrix()
    np.testing.assert_allclose(pos[0, 1], np.array([1, 2, 3]) + r @ np.array([4, 5, 6]), atol=1e-9)


def test_names_with_spaces_braces_on_keyword_lines_and_partial_channels() -> None:
    text = (
        "HIERARCHY\nROOT Bip01 Pelvis {\n OFFSET 0 0 0\n CHANNELS 4 Xposition Yposition Zposition Zrotation\n"
        " JOINT Bip01 L Thigh {\n  OFFSET 0 -1 0\n  CHANNELS 0\n  End Site {\n   OFFSET 0 -1 0\n  }\n }\n}\n"
        "MOTION\nFrames: 2\nFrame Time: 0.5\n0 0 0 0\n0 0 0 90\n"
    )
    motion = parse_bvh(text)
    assert motion.joint_names == ["Bip01 Pelvis", "Bip01 L Thigh"]
    pos, _ = motion.forward_kinematics()
    np.testing.assert_allclose(pos[1, 2], [2.0, 0.0, 0.0], atol=1e-9)  # 90 deg about Z swings -Y to +X


def test_gzip_crlf_and_tabs_read_identically(shared_data, tmp_path) -> None:
    src = shared_data(SMALL_REAL)
    raw = src.read_bytes()
    reference = read_bvh(src)
    crlf = tmp_path / "crlf.bvh"
    crlf.write_bytes(raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    tabs = tmp_path / "tabs.bvh"
    tabs.write_bytes(re.sub(rb"[ ]+", b"\t", raw))
    gz = tmp_path / "clip.bvh.gz"
    gz.write_bytes(gzip.compress(raw))
    bom = tmp_path / "bom.bvh"
    bom.write_bytes(b"\xef\xbb\xbf" + raw)
    for variant in (crlf, tabs, gz, bom):
        other = read_bvh(variant)
        assert other.joint_names == reference.joint_names
        assert other.channels == reference.channels
        np.testing.assert_array_equal(other.motion, reference.motion)
        np.testing.assert_array_equal(other.offsets, reference.offsets)


def test_real_files_expose_structure(shared_data) -> None:
    bandai = read_bvh(shared_data(SMALL_REAL))
    assert bandai.num_joints == 22 and len(bandai.end_sites) == 5
    assert all(len(c) == 6 for c in bandai.channels)
    assert bandai.motion.shape == (bandai.num_frames, 132)
    cmu = read_bvh(shared_data(CMU_REAL))
    assert cmu.channels[0] == ("Xposition", "Yposition", "Zposition", "Zrotation", "Yrotation", "Xrotation")
    assert cmu.channels[1] == ("Zrotation", "Yrotation", "Xrotation")
    pos, glob = cmu.forward_kinematics()
    assert pos.shape == (cmu.num_frames, 31 + 7, 3) and glob.shape == (cmu.num_frames, 31, 3, 3)
    np.testing.assert_allclose(
        glob[0] @ np.swapaxes(glob[0], -1, -2), np.broadcast_to(np.eye(3), (31, 3, 3)), atol=1e-9
    )


def test_load_bvh_h36m_returns_metres_world_and_file_fps(shared_data) -> None:
    seq, info = load_bvh_h36m(shared_data(CMU_REAL), return_info=True)
    assert seq.layout == "h36m17" and seq.units == "m" and seq.coords == "world"
    assert seq.fps == pytest.approx(120.0, rel=1e-4)
    assert info.unit == "cmu" and info.scale == pytest.approx(0.0254 / 0.45)
    assert info.landmarks["left_shoulder"] == "LeftShoulder"  # cgspeed: LeftShoulder is the humerus
    pelvis_height = float(np.median(seq.keypoints[:, 0, 1] - seq.keypoints[:, [3, 6], 1].min(axis=1)))
    assert 0.6 < pelvis_height < 1.1


# -- malformed input, built from a real file ---------------------------------------------------------------------


@pytest.fixture
def real_lines(shared_data) -> list[str]:
    return shared_data(SMALL_REAL).read_text().splitlines()


def _write(tmp_path, lines: list[str], name: str = "bad.bvh"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def _motion_line(lines: list[str]) -> int:
    return next(i for i, s in enumerate(lines) if s.strip() == "MOTION")


def _expect(path, *fragments: str) -> None:
    with pytest.raises(PoseDataError) as err:
        read_bvh(path)
    msg = str(err.value)
    assert str(path) in msg
    for frag in fragments:
        assert frag in msg, msg


def test_empty_file(tmp_path) -> None:
    path = tmp_path / "empty.bvh"
    path.write_text("  \n")
    _expect(path, "empty file")


def test_missing_hierarchy_and_missing_motion(tmp_path, real_lines) -> None:
    _expect(_write(tmp_path, real_lines[1:], "nohier.bvh"), "expected HIERARCHY", "line 1")
    m = _motion_line(real_lines)
    _expect(_write(tmp_path, real_lines[:m], "nomotion.bvh"), "no MOTION")


def test_unknown_channel_reports_line(tmp_path, real_lines) -> None:
    lines = list(real_lines)
    k = next(i for i, s in enumerate(lines) if "CHANNELS" in s and i > 10)
    lines[k] = lines[k].replace("Yrotation", "Wrotation")
    _expect(_write(tmp_path, lines), "unknown channel 'Wrotation'", f"line {k + 1}")


def test_channel_count_mismatch_reports_frame(tmp_path, real_lines) -> None:
    lines = list(real_lines)
    m = _motion_line(lines)
    lines[m + 3 + 5] = lines[m + 3 + 5].rsplit(None, 1)[0]  # frame 5 loses its last value
    _expect(_write(tmp_path, lines), "frame 5", "131 values, expected 132", f"line {m + 3 + 5 + 1}")


def test_short_and_long_lines_that_cancel_out_are_caught(tmp_path, real_lines) -> None:
    lines = list(real_lines)
    m = _motion_line(lines)
    last = lines[m + 3 + 2].split()[-1]
    lines[m + 3 + 2] = lines[m + 3 + 2].rsplit(None, 1)[0]
    lines[m + 3 + 3] = lines[m + 3 + 3] + " " + last
    _expect(_write(tmp_path, lines), "frame 2", "131 values")


def test_truncated_motion(tmp_path, real_lines) -> None:
    _expect(_write(tmp_path, real_lines[:-3]), "truncated motion", "Frames says 20, only 17")


def test_extra_data_lines(tmp_path, real_lines) -> None:
    _expect(_write(tmp_path, real_lines + [real_lines[-1]]), "21 data lines but Frames says 20")


def test_non_numeric_value_reports_frame_and_column(tmp_path, real_lines) -> None:
    lines = list(real_lines)
    m = _motion_line(lines)
    vals = lines[m + 3 + 7].split()
    vals[10] = "1.2.3"
    lines[m + 3 + 7] = " ".join(vals)
    _expect(_write(tmp_path, lines), "frame 7", "value 11 '1.2.3' is not a number")


@pytest.mark.parametrize("frame_time", ["0", "-0.0333", "abc"])
def test_bad_frame_time(tmp_path, real_lines, frame_time: str) -> None:
    lines = list(real_lines)
    m = _motion_line(lines)
    lines[m + 2] = f"Frame Time: {frame_time}"
    _expect(_write(tmp_path, lines), "Frame Time", f"line {m + 3}")


def test_zero_frames(tmp_path, real_lines) -> None:
    m = _motion_line(real_lines)
    lines = real_lines[: m + 1] + ["Frames: 0", "Frame Time: 0.0333333"]
    _expect(_write(tmp_path, lines), "zero frames")


def test_unbalanced_braces(tmp_path, real_lines) -> None:
    lines = list(real_lines)
    k = next(i for i, s in enumerate(lines) if s.strip() == "}")
    del lines[k]
    _expect(_write(tmp_path, lines), "unbalanced braces")


def test_corrupt_gzip(tmp_path, shared_data) -> None:
    data = gzip.compress(shared_data(SMALL_REAL).read_bytes())
    path = tmp_path / "broken.bvh.gz"
    path.write_bytes(data[: len(data) // 2])
    _expect(path, "corrupt gzip")


def test_missing_file(tmp_path) -> None:
    _expect(tmp_path / "nope.bvh", "cannot read")
