"""CSV (wide/long), NPZ and JSON exports, export options, and the reconstruction-to-file pipeline."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from mpm_core.engine.masks import Mask
from mpm_core.engine.placement import place_in_world
from mpm_core.engine.result import Reconstruction
from mpm_core.engine.stature import stature
from mpm_core.engine.trajectory import CameraIntrinsics
from mpm_core.errors import PoseDataError
from mpm_core.export import ExportOptions, build_output, build_output_sequence, write_output
from mpm_core.io.bvh import read_bvh
from mpm_core.io.canonical import read_csv_3d, read_npz_3d
from mpm_core.sequence import PoseSequence2D, PoseSequence3D
from mpm_core.skeleton import H36M_JOINTS
from tests.synthetic_motion import ANKLE_HEIGHT, camera_pose, planted_walk, walk_world, world_to_camera


@pytest.fixture()
def seq3d():
    world = walk_world(12, 25.0)
    visible = np.ones((12, 17), bool)
    visible[4, 13] = False
    return PoseSequence3D(world, visible=visible, fps=25.0, coords="world", source="clip.mp4", start_frame=100)


def _comments(path) -> dict[str, str]:
    meta = {}
    for line in path.read_text().splitlines():
        if line.startswith("# ") and "=" in line:
            k, v = line[2:].split("=", 1)
            meta[k] = v
    return meta


def test_wide_csv_reads_back_with_the_canonical_reader(tmp_path, seq3d):
    hidden = np.zeros((12, 17), bool)
    hidden[2:5, 16] = True
    path = write_output(tmp_path / "o.csv", seq3d, hidden, ExportOptions(model_name="mpm-h36m"))
    meta = _comments(path)
    assert meta["coords"] == "world" and meta["units"] == "m" and meta["layout"] == "h36m17"
    assert meta["source"] == "clip.mp4" and meta["model"] == "mpm-h36m" and float(meta["fps"]) == 25.0
    header = next(line for line in path.read_text().splitlines() if not line.startswith("#"))
    assert header.startswith("frame,time_s,pelvis_x,pelvis_y,pelvis_z,right_hip_x")
    back = read_csv_3d(path)
    np.testing.assert_array_equal(back.hidden, hidden)
    assert back.sequence.start_frame == 100 and back.sequence.fps == 25.0
    np.testing.assert_array_equal(back.sequence.visible, seq3d.visible)
    np.testing.assert_allclose(back.sequence.keypoints, seq3d.keypoints, atol=1e-6)


def test_long_csv_rows_and_units(tmp_path, seq3d):
    hidden = np.zeros((12, 17), bool)
    hidden[0, 0] = True
    path = write_output(tmp_path / "l.csv", seq3d, hidden, ExportOptions(csv_long=True, units="cm"))
    assert _comments(path)["units"] == "cm"
    rows = list(csv.reader(line for line in path.read_text().splitlines() if not line.startswith("#")))
    assert rows[0] == ["frame", "time_s", "joint", "x", "y", "z", "confidence", "masked"]
    assert len(rows) == 1 + 12 * 17
    first = rows[1]
    assert first[:3] == ["100", "0", "pelvis"] and first[7] == "1"
    assert float(first[4]) == pytest.approx(seq3d.keypoints[0, 0, 1] * 100, rel=1e-6)
    missing = rows[1 + 4 * 17 + 13]
    assert missing[2] == "left_wrist" and missing[3:6] == ["", "", ""]
    assert float(rows[1 + 17][1]) == pytest.approx(1 / 25.0)


def test_npz_and_json(tmp_path, seq3d):
    hidden = np.zeros((12, 17), bool)
    hidden[5] = True
    npz = write_output(tmp_path / "o.npz", seq3d, hidden, ExportOptions(model_name="m1"))
    data = np.load(npz, allow_pickle=False)
    assert str(data["format"]) == "mpm-studio-3d" and str(data["coords"]) == "world" and str(data["model"]) == "m1"
    assert np.isnan(data["joints"][4, 13]).all()
    back = read_npz_3d(npz)
    np.testing.assert_array_equal(back.hidden, hidden)
    np.testing.assert_allclose(back.sequence.keypoints, seq3d.keypoints, atol=1e-6)
    js = write_output(tmp_path / "o.json", seq3d, hidden, ExportOptions(units="mm"))
    doc = json.loads(js.read_text())
    assert doc["format"] == "mpm-studio-3d" and doc["version"] == 2 and doc["units"] == "mm"
    assert doc["joint_names"] == list(H36M_JOINTS) and doc["num_frames"] == 12
    assert doc["frame_numbers"][0] == 100 and doc["frames"][4][13] is None
    np.testing.assert_allclose(doc["frames"][3][10], seq3d.keypoints[3, 10] * 1000, atol=1e-3)
    assert doc["hidden"][5] == [True] * 17 and doc["hidden"][0][0] is False


def test_write_output_rejects_unknown_types_and_bad_options(tmp_path, seq3d):
    with pytest.raises(PoseDataError, match="unknown output type '.txt'"):
        write_output(tmp_path / "o.txt", seq3d, None, ExportOptions())
    with pytest.raises(PoseDataError, match="BVH units"):
        write_output(tmp_path / "o.bvh", seq3d, None, ExportOptions(units="mm"))
    with pytest.raises(PoseDataError, match="hidden flags"):
        write_output(tmp_path / "o.csv", seq3d, np.zeros((3, 17), bool), ExportOptions())
    assert list(tmp_path.iterdir()) == []  # nothing half-written
    for bad in ({"coords": "pixels"}, {"smooth": "median"}, {"units": "inch"}, {"up_axis": "x"}, {"fov_deg": 0}):
        with pytest.raises(PoseDataError):
            ExportOptions(**bad)


def _reconstruction(frames: int = 60) -> tuple[Reconstruction, np.ndarray, np.ndarray]:
    world, _ = planted_walk(frames, 30.0)
    r_cw, centre = camera_pose(pitch_deg=12.0, roll_deg=2.0)
    cam = world_to_camera(world, r_cw, centre)
    k = CameraIntrinsics.from_image_size(1920, 1080)
    kp = k.project(cam)
    hidden = np.zeros((frames, 17), bool)
    hidden[10:20, 13] = True
    kp_in = kp.copy()
    kp_in[10:20, 13] += 400.0  # wrong 2D where the joint is hidden: must not be used
    seq2d = PoseSequence2D(kp_in, fps=30.0, image_size=(1920, 1080), source="in.json")
    mask = Mask.empty(frames).with_user(hidden)
    rel = (cam - cam[:, :1]).astype(np.float32)
    kp32 = kp.astype(np.float32)
    recon = Reconstruction(rel, kp32, kp32, hidden, mask, seq2d, 30.0, (1920, 1080), "t")
    return recon, cam, r_cw


def test_pipeline_camera_coords_keep_the_raw_pose():
    recon, cam, _ = _reconstruction()
    seq, hidden = build_output_sequence(recon, ExportOptions(coords="camera"))
    assert seq.coords == "camera" and seq.units == "m" and seq.fps == 30.0
    np.testing.assert_allclose(seq.keypoints, recon.poses_3d)
    np.testing.assert_array_equal(hidden, recon.hidden)
    assert seq.scores[15, 13] == 0.0 and seq.scores[15, 12] == 1.0
    smooth, _ = build_output_sequence(recon, ExportOptions(coords="camera", smooth="lowpass", bone_normalize=True))
    assert not np.allclose(smooth.keypoints, recon.poses_3d)
    np.testing.assert_array_equal(smooth.keypoints[:, 0], 0.0)
    lengths = np.linalg.norm(smooth.keypoints[:, 13] - smooth.keypoints[:, 12], axis=-1)
    np.testing.assert_allclose(lengths, lengths[0], rtol=1e-5)
    assert recon.poses_3d.flags.writeable and np.allclose(recon.poses_3d, cam - cam[:, :1])  # raw untouched


def test_pipeline_world_coords_recover_the_scene(tmp_path):
    recon, cam, r_cw = _reconstruction()
    seq, hidden = build_output_sequence(recon, ExportOptions(coords="world", fov_deg=55.0))
    assert seq.coords == "world"
    # Heights above the floor (the sole plane: ankles a stature ratio above it) match the truth to a few cm.
    truth, _ = planted_walk(60, 30.0)
    ankle_h = place_in_world(recon, ExportOptions(coords="world", fov_deg=55.0)).ankle_height
    np.testing.assert_allclose(seq.keypoints[..., 1], truth[..., 1] - ANKLE_HEIGHT + ankle_h, atol=0.05)
    # The path length on the floor matches (the world's x/z axes are the camera's, turned).
    step = np.linalg.norm(np.diff(seq.keypoints[:, 0, [0, 2]], axis=0), axis=1).sum()
    true_step = np.linalg.norm(np.diff(truth[:, 0, [0, 2]], axis=0), axis=1).sum()
    assert step == pytest.approx(true_step, rel=0.05)
    path = write_output(tmp_path / "w.bvh", seq, hidden, ExportOptions())
    motion = read_bvh(path)
    assert motion.num_frames == 60 and motion.fps == pytest.approx(30.0)


# -- contacts, notes, versions, height, resampling, root motion ------------------------------------------------
def test_world_export_writes_contacts_and_notes_in_every_format(tmp_path):
    recon, _, _ = _reconstruction(90)
    options = ExportOptions(coords="world", fov_deg=55.0)
    out = build_output(recon, options)
    assert out.contacts is not None and out.contacts.shape == (90, 2) and out.contacts.any()
    assert "planted-foot" in out.notes["floor"] and float(out.notes["stature_m"]) > 1.0
    csv_path = write_output(
        tmp_path / "w.csv", out.sequence, out.hidden, options, contacts=out.contacts, notes=out.notes
    )
    text = csv_path.read_text()
    meta = _comments(csv_path)
    assert meta["version"] == "2" and meta["floor"] == out.notes["floor"] and meta["foot_locking"] == "on"
    header = next(line for line in text.splitlines() if not line.startswith("#"))
    assert header.endswith(",left_contact,right_contact")
    back = read_csv_3d(csv_path)
    np.testing.assert_array_equal(back.contacts, out.contacts)
    np.testing.assert_allclose(back.sequence.keypoints, out.sequence.keypoints, atol=1e-6)
    long_path = tmp_path / "l.csv"
    write_output(long_path, out.sequence, out.hidden, ExportOptions(csv_long=True), contacts=out.contacts)
    rows = list(csv.reader(line for line in long_path.read_text().splitlines() if not line.startswith("#")))
    assert rows[0][-2:] == ["left_contact", "right_contact"] and len(rows[1]) == 10
    npz = write_output(tmp_path / "w.npz", out.sequence, out.hidden, options, contacts=out.contacts, notes=out.notes)
    data = np.load(npz, allow_pickle=False)
    np.testing.assert_array_equal(data["contacts"], out.contacts)
    assert any(str(n).startswith("floor=") for n in data["notes"]) and int(data["version"]) == 2
    np.testing.assert_array_equal(read_npz_3d(npz).contacts, out.contacts)
    js = write_output(tmp_path / "w.json", out.sequence, out.hidden, options, contacts=out.contacts, notes=out.notes)
    doc = json.loads(js.read_text())
    assert doc["contacts"] == out.contacts.tolist() and doc["notes"]["floor"] == out.notes["floor"]


def test_reader_accepts_version_1_and_refuses_newer(tmp_path, seq3d):
    v1 = tmp_path / "v1.csv"
    write_output(v1, seq3d, None, ExportOptions())
    v1.write_text(v1.read_text().replace("# version=2", "# version=1"))
    back = read_csv_3d(v1)
    assert back.contacts is None and back.sequence.num_frames == 12
    v3 = tmp_path / "v3.csv"
    v3.write_text(v1.read_text().replace("# version=1", "# version=3"))
    with pytest.raises(PoseDataError, match="version 3"):
        read_csv_3d(v3)
    half = tmp_path / "half.csv"
    lines = v1.read_text().splitlines()
    k = next(i for i, line in enumerate(lines) if line.startswith("frame"))
    lines[k] += ",left_contact"
    lines[k + 1 :] = [line + ",1" for line in lines[k + 1 :]]
    half.write_text("\n".join(lines) + "\n")
    with pytest.raises(PoseDataError, match="left_contact,right_contact"):
        read_csv_3d(half)


def test_height_scales_the_skeleton_to_the_stature():
    recon, _, _ = _reconstruction(60)
    for coords in ("world", "camera"):
        out = build_output(recon, ExportOptions(coords=coords, height_m=1.9, fov_deg=55.0))
        assert stature(out.sequence.keypoints) == pytest.approx(1.9, rel=0.01), coords
        assert out.notes["height_m"] == "1.9"
    plain = place_in_world(recon, ExportOptions(coords="world", fov_deg=55.0, foot_locking=False))
    tall = place_in_world(recon, ExportOptions(coords="world", fov_deg=55.0, foot_locking=False, height_m=1.9))
    # The trajectory scales with the body (the camera sees the same image): depth grows by the same factor.
    ratio = tall.root_camera[:, 2] / plain.root_camera[:, 2]
    assert ratio.mean() == pytest.approx(tall.scale, rel=0.03) and tall.scale > 1.0
    with pytest.raises(PoseDataError, match="height"):
        ExportOptions(height_m=5.0)


def test_output_fps_resamples_positions_flags_and_contacts():
    recon, _, _ = _reconstruction(90)
    full = build_output(recon, ExportOptions(coords="world", fov_deg=55.0))
    half = build_output(recon, ExportOptions(coords="world", fov_deg=55.0, output_fps=15.0))
    assert half.sequence.fps == 15.0 and half.sequence.num_frames == 45
    assert half.contacts.shape == (45, 2) and half.hidden.shape == (45, 17)
    np.testing.assert_array_equal(half.contacts, full.contacts[::2])
    np.testing.assert_allclose(half.sequence.keypoints[:, 0], full.sequence.keypoints[::2, 0], atol=0.02)
    double = build_output(recon, ExportOptions(coords="world", fov_deg=55.0, output_fps=60.0))
    assert double.sequence.num_frames == 179 and double.notes["resampled_from_fps"] == "30"
    np.testing.assert_allclose(double.sequence.keypoints[::2], full.sequence.keypoints, atol=1e-5)


def test_root_in_place_and_facing_z():
    recon, _, _ = _reconstruction(90)
    travel = build_output(recon, ExportOptions(coords="world", fov_deg=55.0)).sequence.keypoints
    still = build_output(recon, ExportOptions(coords="world", fov_deg=55.0, root_motion="in_place")).sequence.keypoints
    np.testing.assert_allclose(still[:, 0, [0, 2]], 0.0, atol=1e-6)
    np.testing.assert_allclose(still[:, 0, 1], travel[:, 0, 1], atol=1e-6)  # height kept
    assert np.linalg.norm(travel[-1, 0, [0, 2]]) > 1.0
    faced = build_output(recon, ExportOptions(coords="world", fov_deg=55.0, face_z=True)).sequence.keypoints
    left = faced[:15, 4] - faced[:15, 1]  # right hip -> left hip: the performer's left
    forward = np.cross(left.mean(axis=0), [0.0, 1.0, 0.0])
    assert forward[2] / np.linalg.norm(forward) > 0.99  # facing +Z
    np.testing.assert_allclose(faced[0, 0, [0, 2]], 0.0, atol=1e-6)


def test_bvh_preset_goes_through_write_output(tmp_path, seq3d):
    full = PoseSequence3D(seq3d.keypoints, fps=25.0, coords="world")
    path = write_output(tmp_path / "m.bvh", full, None, ExportOptions(bvh_preset="mixamo"))
    assert read_bvh(path).joint_names[0] == "mixamorig:Hips"
    with pytest.raises(PoseDataError, match="BVH preset"):
        ExportOptions(bvh_preset="unity")
